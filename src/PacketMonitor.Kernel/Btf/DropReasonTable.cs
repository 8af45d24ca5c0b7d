using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Kernel.Btf;

/// <summary>One drop reason of the running kernel: raw code (with subsystem bits) and name.</summary>
public readonly record struct DropReasonInfo(uint Code, string Name);

/// <summary>
/// Drop reason names as the running kernel defines them. Nothing is hard-coded: the kernel renumbers
/// reasons between versions, so names come from BTF (<c>enum skb_drop_reason</c> plus subsystem enums
/// such as <c>ovs_drop_reason</c>), else from the kfree_skb tracepoint's <c>print fmt</c>.
/// </summary>
/// <remarks>
/// Placeholders for codes without a name are stable strings that <see cref="TryGetCode"/> accepts back:
/// <c>SUBSYS_&lt;SUBSYSTEM&gt;:0x&lt;low bits, hex&gt;</c> (e.g. <c>SUBSYS_OPENVSWITCH:0x000c</c> when the
/// openvswitch module's BTF is absent, or <c>SUBSYS_7:0x0003</c> when the subsystem id itself is unknown)
/// for codes with subsystem bits, and <c>UNKNOWN_&lt;code&gt;</c> otherwise. The subsystem names come from
/// <c>enum skb_drop_reason_subsys</c> in vmlinux BTF, never from a table here.
/// </remarks>
public sealed partial class DropReasonTable : IReasonNames
{
    private const string ReasonPrefix = "SKB_DROP_REASON_";
    private const string SubsysPrefix = "SKB_DROP_REASON_SUBSYS_";
    private const string UnknownPrefix = "UNKNOWN_";
    private const string SubsysPlaceholder = "SUBSYS_";
    private const int DefaultSubsysShift = 16; // SKB_DROP_REASON_SUBSYS_SHIFT is a #define, absent from BTF
    private const int MaxCachedPlaceholders = 1024;

    private readonly Dictionary<uint, string> _names = [];
    private readonly Dictionary<string, uint> _codes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<uint, string> _subsystems;
    private readonly ConcurrentDictionary<uint, string> _placeholders = new();

    private DropReasonTable(string source, IEnumerable<(uint Code, string Name)> entries,
        Dictionary<uint, string> subsystems, int subsysShift)
    {
        Source = source;
        SubsystemShift = subsysShift;
        _subsystems = subsystems;
        var listed = new List<DropReasonInfo>();
        foreach (var (code, name) in entries)
        {
            // First name for a code wins; sentinels are named but not listed.
            if (!_names.TryAdd(code, name))
                continue;
            _codes.TryAdd(name, code);
            if (!IsSentinel(name))
                listed.Add(new DropReasonInfo(code, name));
        }
        listed.Sort((a, b) => a.Code.CompareTo(b.Code));
        All = listed;
    }

    /// <summary>Where the names came from: "btf", "tracefs" or "none".</summary>
    public string Source { get; }

    /// <summary>Every named reason (core and subsystem), sorted by code; sentinels like MAX are left out.</summary>
    public IReadOnlyList<DropReasonInfo> All { get; }

    /// <summary>Bit position of the subsystem id inside a reason code.</summary>
    public int SubsystemShift { get; }

    /// <summary>A table without names: every code becomes a placeholder.</summary>
    public static DropReasonTable Empty() => new("none", [], [], DefaultSubsysShift);

    /// <inheritdoc />
    public string NameOf(uint code)
    {
        if (_names.TryGetValue(code, out var name) || _placeholders.TryGetValue(code, out name))
            return name;
        name = Placeholder(code);
        if (_placeholders.Count < MaxCachedPlaceholders) // bounded: garbage codes must not grow memory
            _placeholders.TryAdd(code, name);
        return name;
    }

    /// <summary>
    /// Code of a reason name for CLI filters: case-insensitive, with or without the SKB_DROP_REASON_ (or SKB_)
    /// prefix; placeholders from <see cref="NameOf"/> and plain numbers (decimal or 0x hex) are accepted too.
    /// </summary>
    public bool TryGetCode(string name, out uint code)
    {
        code = 0;
        var n = name?.Trim() ?? "";
        if (n.Length == 0)
            return false;
        if (_codes.TryGetValue(n, out code))
            return true;
        foreach (var prefix in (ReadOnlySpan<string>)[ReasonPrefix, "SKB_"])
        {
            if (n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && _codes.TryGetValue(n[prefix.Length..], out code))
                return true;
        }
        if (n.StartsWith(UnknownPrefix, StringComparison.OrdinalIgnoreCase))
            return TryNumber(n.AsSpan(UnknownPrefix.Length), out code);
        if (n.StartsWith(SubsysPlaceholder, StringComparison.OrdinalIgnoreCase))
            return TrySubsysPlaceholder(n.AsSpan(SubsysPlaceholder.Length), out code);
        return TryNumber(n, out code);
    }

    /// <summary>Builds the table from kernel BTF: vmlinux plus any module BTF (split on vmlinux).</summary>
    public static DropReasonTable FromBtf(BtfReader vmlinux, IEnumerable<BtfReader> modules)
    {
        ArgumentNullException.ThrowIfNull(vmlinux);
        ArgumentNullException.ThrowIfNull(modules);
        var reasons = vmlinux.FindEnum("skb_drop_reason");
        var shift = DefaultSubsysShift;
        // SKB_DROP_REASON_SUBSYS_MASK (6.4+) reveals where the subsystem bits start.
        foreach (var v in reasons?.Values ?? [])
        {
            if (v.Name == SubsysPrefix + "MASK" && (uint)v.UnsignedValue != 0)
                shift = BitOperations.TrailingZeroCount((uint)v.UnsignedValue);
        }

        var subsystems = new Dictionary<uint, string>();
        foreach (var v in vmlinux.FindEnum("skb_drop_reason_subsys")?.Values ?? [])
        {
            var name = Strip(v.Name, SubsysPrefix);
            if (name != "NUM" && v.UnsignedValue <= uint.MaxValue)
                subsystems.TryAdd((uint)v.UnsignedValue, name);
        }

        var entries = new List<(uint, string)>();
        foreach (var v in reasons?.Values ?? [])
        {
            if (v.UnsignedValue <= uint.MaxValue && !v.Name.StartsWith(SubsysPrefix, StringComparison.Ordinal))
                entries.Add(((uint)v.UnsignedValue, ReasonName(v.Name)));
        }

        // Subsystem enums (ovs_drop_reason, mac80211_drop_reason, ...): only values that carry subsystem
        // bits are reasons of their own; markers such as __OVS_DROP_REASON (the subsystem base) are skipped.
        foreach (var btf in modules.Prepend(vmlinux))
        {
            foreach (var e in btf.Enums)
            {
                if (!e.Name.EndsWith("_drop_reason", StringComparison.Ordinal) || e.Name == "skb_drop_reason")
                    continue;
                foreach (var v in e.Values)
                {
                    if (v.UnsignedValue <= uint.MaxValue && (uint)v.UnsignedValue >> shift != 0 && !v.Name.StartsWith('_'))
                        entries.Add(((uint)v.UnsignedValue, v.Name));
                }
            }
        }
        return new DropReasonTable("btf", entries, subsystems, shift);
    }

    /// <summary>
    /// Builds the table from the kfree_skb tracepoint format file, whose print fmt contains
    /// <c>__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)</c>. Text without that list gives an empty table.
    /// </summary>
    public static DropReasonTable FromTracepointFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<(uint, string)>();
        var list = SymbolicList(text);
        var pos = 0;
        while (pos < list.Length)
        {
            var open = list[pos..].IndexOf('{');
            if (open < 0)
                break;
            var close = list[(pos + open)..].IndexOf('}');
            if (close < 0)
                break;
            var pair = list.Slice(pos + open + 1, close - 1);
            pos += open + close + 1;
            var comma = pair.IndexOf(',');
            if (comma < 0)
                continue;
            var value = pair[..comma].Trim();
            var quoted = pair[(comma + 1)..].Trim();
            // An unresolved enum symbol instead of a number (no TRACE_DEFINE_ENUM) is skipped, not guessed.
            if (quoted.Length >= 2 && quoted[0] == '"' && quoted[^1] == '"' && TryNumber(value, out var code))
                entries.Add((code, Strip(quoted[1..^1].ToString(), ReasonPrefix)));
        }
        return new DropReasonTable("tracefs", entries, [], DefaultSubsysShift);
    }

    /// <summary>
    /// Loads names from kernel BTF (vmlinux and module files in <paramref name="btfDir"/>), falling back to the
    /// tracepoint format and then to an empty table; each fallback logs exactly one warning.
    /// </summary>
    public static DropReasonTable Load(ILogger logger, string btfDir = "/sys/kernel/btf",
        string tracefsFormat = "/sys/kernel/tracing/events/skb/kfree_skb/format")
    {
        ArgumentNullException.ThrowIfNull(logger);
        var vmlinuxPath = Path.Combine(btfDir, "vmlinux");
        string problem;
        try
        {
            var vmlinux = BtfReader.Parse(File.ReadAllBytes(vmlinuxPath));
            if (vmlinux.FindEnum("skb_drop_reason") is not null)
            {
                var table = FromBtf(vmlinux, ModuleBtf(logger, btfDir, vmlinux));
                Log.Loaded(logger, table.All.Count, vmlinuxPath);
                return table;
            }
            problem = $"{vmlinuxPath} has no enum skb_drop_reason";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            problem = $"{vmlinuxPath} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
        {
            problem = $"{vmlinuxPath} is unreadable: {e.Message}";
        }

        var candidates = new List<string> { tracefsFormat };
        const string tracefs = "/sys/kernel/tracing/";
        if (tracefsFormat.StartsWith(tracefs, StringComparison.Ordinal))
            candidates.Add("/sys/kernel/debug/tracing/" + tracefsFormat[tracefs.Length..]);
        foreach (var path in candidates)
        {
            try
            {
                var table = FromTracepointFormat(File.ReadAllText(path));
                if (table.All.Count > 0)
                {
                    Log.TracefsFallback(logger, problem, path);
                    return table;
                }
                Log.FormatSkipped(logger, path, "no __print_symbolic(REC->reason, ...) list");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.FormatSkipped(logger, path, e.Message);
            }
        }
        Log.NoNames(logger, problem, string.Join(", ", candidates));
        return Empty();
    }

    private static IEnumerable<BtfReader> ModuleBtf(ILogger logger, string btfDir, BtfReader vmlinux)
    {
        string[] files;
        try
        {
            files = Directory.GetFiles(btfDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.ModuleSkipped(logger, btfDir, e.Message);
            yield break;
        }
        Array.Sort(files, StringComparer.Ordinal); // stable order: the first name for a code wins
        foreach (var file in files)
        {
            if (Path.GetFileName(file) == "vmlinux")
                continue;
            BtfReader? module = null;
            try
            {
                var bytes = File.ReadAllBytes(file);
                // Cheap pre-filter: only a module whose strings name a *_drop_reason is worth parsing.
                if (bytes.AsSpan().IndexOf("_drop_reason\0"u8) >= 0)
                    module = BtfReader.Parse(bytes, vmlinux);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
            {
                Log.ModuleSkipped(logger, file, e.Message);
            }
            if (module is not null)
                yield return module;
        }
    }

    /// <summary>The argument list of the __print_symbolic call on REC->reason, or empty.</summary>
    private static ReadOnlySpan<char> SymbolicList(string text)
    {
        const string call = "__print_symbolic(";
        for (var at = text.IndexOf(call, StringComparison.Ordinal); at >= 0; at = text.IndexOf(call, at + 1, StringComparison.Ordinal))
        {
            var args = text.AsSpan(at + call.Length).TrimStart();
            if (!args.StartsWith("REC->reason", StringComparison.Ordinal))
                continue;
            // The list ends at the first ')' outside quotes.
            var inQuotes = false;
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == '"')
                    inQuotes = !inQuotes;
                else if (args[i] == ')' && !inQuotes)
                    return args[..i];
            }
            return args;
        }
        return [];
    }

    private string Placeholder(uint code)
    {
        var subsys = code >> SubsystemShift;
        if (subsys == 0)
            return UnknownPrefix + code.ToString(CultureInfo.InvariantCulture);
        var low = code & ((1u << SubsystemShift) - 1);
        var subsysName = _subsystems.TryGetValue(subsys, out var s) ? s : subsys.ToString(CultureInfo.InvariantCulture);
        // The low bits in hex, as wide as the field (4 digits for the usual 16-bit shift): 0x000c.
        var digits = (SubsystemShift + 3) / 4;
        return $"{SubsysPlaceholder}{subsysName}:0x{low.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)}";
    }

    private bool TrySubsysPlaceholder(ReadOnlySpan<char> rest, out uint code)
    {
        code = 0;
        var colon = rest.IndexOf(':');
        if (colon < 0 || !TryNumber(rest[(colon + 1)..], out var low) || low >> SubsystemShift != 0)
            return false;
        var subsysName = rest[..colon].ToString();
        uint? subsys = null;
        foreach (var (id, name) in _subsystems)
        {
            if (string.Equals(name, subsysName, StringComparison.OrdinalIgnoreCase))
                subsys = id;
        }
        if (subsys is null && TryNumber(subsysName, out var number))
            subsys = number;
        // Subsystem 0 is the core: its codes are never written in this form.
        if (subsys is not uint found || found == 0 || found > uint.MaxValue >> SubsystemShift)
            return false;
        code = found << SubsystemShift | low;
        return true;
    }

    private static bool TryNumber(ReadOnlySpan<char> text, out uint value)
    {
        text = text.Trim();
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static bool IsSentinel(string name) =>
        name == "MAX" || name.EndsWith("_MAX", StringComparison.Ordinal) || name.StartsWith('_');

    // SKB_DROP_REASON_SKB_CSUM is "SKB_CSUM" (as tracefs prints it); only SKB_NOT_DROPPED_YET and SKB_CONSUMED lose "SKB_".
    private static string ReasonName(string name) =>
        name.StartsWith(ReasonPrefix, StringComparison.Ordinal) ? name[ReasonPrefix.Length..] : Strip(name, "SKB_");

    private static string Strip(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
            Message = "Kernel BTF unusable ({Problem}); drop reason names come from the tracepoint format {Path}, so subsystem reasons (openvswitch, mac80211) show as SUBSYS_<id>:0x<n>")]
        public static partial void TracefsFallback(ILogger logger, string problem, string path);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
            Message = "No drop reason names: {Problem} and the kfree_skb tracepoint format is unreadable ({Paths}); reasons are shown as numbers (UNKNOWN_<code>)")]
        public static partial void NoNames(ILogger logger, string problem, string paths);

        [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Module BTF {Path} skipped: {Reason}")]
        public static partial void ModuleSkipped(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Tracepoint format {Path} skipped: {Reason}")]
        public static partial void FormatSkipped(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Loaded {Count} drop reason names from {Path} and module BTF")]
        public static partial void Loaded(ILogger logger, int count, string path);
    }
}
