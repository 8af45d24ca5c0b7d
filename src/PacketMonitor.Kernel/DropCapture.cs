using System.Buffers.Binary;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Counters;
using PacketMonitor.Kernel.Abi;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>
/// The loaded and attached kernel program: one per monitor. Owns the bpf_object and its link;
/// disposing detaches (links are file descriptors, so a killed process leaves nothing attached).
/// </summary>
public sealed unsafe partial class DropCapture : IDisposable
{
    private const string ObjectResource = "packet_monitor.bpf.o";
    private const string VmlinuxBtf = "/sys/kernel/btf/vmlinux";

    private static readonly AttachMode[] FallbackOrder = [AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint];

    private readonly BpfObjectHandle _object;
    private readonly BpfLinkHandle _link;
    private readonly int _programFd;
    private readonly int _countersFd;
    private readonly int _lossesFd;
    private readonly int _configFd;
    private readonly int _reasonFilterFd;
    private readonly int _stackReasonsFd;
    private readonly int _possibleCpus;
    private readonly Lock _filterGate = new();
    private readonly HashSet<uint> _reasonFilterKeys = [];
    private readonly HashSet<uint> _stackReasonKeys = [];

    /// <summary>Stacks kept in the kernel's stack map when stacks are on: distinct drop paths are few.</summary>
    public const int StackMapEntries = 8192;

    private DropCapture(BpfObjectHandle obj, BpfLinkHandle link, AttachMode mode, int programFd, CaptureOptions options)
    {
        _object = obj;
        _link = link;
        AttachMode = mode;
        Options = options;
        _programFd = programFd;
        _countersFd = MapFd(obj, "counters");
        _lossesFd = MapFd(obj, "losses");
        _configFd = MapFd(obj, "config");
        _reasonFilterFd = MapFd(obj, "reason_filter");
        _stackReasonsFd = MapFd(obj, "stack_reasons");
        EventsMapFd = MapFd(obj, "events");
        nint stacks = FindMap(obj, "stacks");
        StacksMapFd = MapFd(obj, "stacks");
        StackDepth = (int)(Interop.bpf_map__value_size(stacks) / sizeof(ulong));
        StackCapacity = options.Filter.AnyStacks ? StackMapEntries : 1;
        _possibleCpus = Math.Max(1, Interop.libbpf_num_possible_cpus());
    }

    /// <summary>The attach mode that loaded (never Auto).</summary>
    public AttachMode AttachMode { get; }

    public CaptureOptions Options { get; }

    internal int EventsMapFd { get; }

    /// <summary>The BPF_MAP_TYPE_STACK_TRACE map, its frames per stack and its entries.</summary>
    internal int StacksMapFd { get; }
    internal int StackDepth { get; }
    internal int StackCapacity { get; }

    internal BpfObjectHandle ObjectHandle => _object;

    /// <summary>The compiled BPF object shipped inside this assembly.</summary>
    public static byte[] EmbeddedObject()
    {
        using var stream = typeof(DropCapture).Assembly.GetManifestResourceStream(ObjectResource)
            ?? throw new KernelFeatureException($"the BPF object '{ObjectResource}' is missing from this build: rebuild with `make all`");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Loads and attaches the program. With <see cref="AttachMode.Auto"/> tries tp_btf, raw_tp and
    /// tracepoint in turn and keeps the first that loads and attaches.
    /// </summary>
    /// <param name="resolveReason">Maps a reason name from the filter to the running kernel's code.</param>
    public static DropCapture Attach(CaptureOptions options, Func<string, uint?> resolveReason, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateSizes(options);
        LibbpfLog.Install(logger);
        Privileges.ThrowIfMissing();
        if (!File.Exists(VmlinuxBtf))
            throw new KernelFeatureException(
                $"this kernel has no BTF ({VmlinuxBtf} is missing): packet-monitor needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");

        var bytes = EmbeddedObject();
        var modes = options.Attach == AttachMode.Auto ? FallbackOrder : [options.Attach];
        var failures = new List<Exception>();
        foreach (var mode in modes)
        {
            try
            {
                var capture = LoadAndAttach(bytes, mode, options, logger);
                try
                {
                    capture.SetFilter(options.Filter, resolveReason);
                }
                catch
                {
                    capture.Dispose();
                    throw;
                }
                if (logger.IsEnabled(LogLevel.Information))
                    Log.Attached(logger, AttachModes.Name(mode));
                return capture;
            }
            catch (Exception e) when (e is BpfException or KernelFeatureException)
            {
                if (logger.IsEnabled(LogLevel.Debug))
                    Log.AttachFailed(logger, AttachModes.Name(mode), e.Message);
                failures.Add(e);
            }
        }
        throw Summarise(failures, options.Attach);
    }

    private static void ValidateSizes(CaptureOptions options)
    {
        if (options.RingSizeBytes < Environment.SystemPageSize || !int.IsPow2(options.RingSizeBytes))
            throw new ArgumentException($"ring size {options.RingSizeBytes} must be a power of two of at least {Environment.SystemPageSize} bytes");
        if (options.SnapLength is < 0 or > CaptureOptions.MaxSnapLength)
            throw new ArgumentException($"snap length {options.SnapLength} must be between 0 and {CaptureOptions.MaxSnapLength}");
    }

    private static Exception Summarise(List<Exception> failures, AttachMode requested)
    {
        // A permission problem explains every mode's failure: report it alone.
        var permission = failures.OfType<BpfException>().FirstOrDefault(e => e.Errno is 1 or 13);
        if (permission is not null)
            return new BpfException(permission.Operation, permission.Errno,
                "packet-monitor needs root or CAP_BPF + CAP_PERFMON: run it with sudo") { VerifierLog = permission.VerifierLog };
        if (failures.Count == 1)
            return failures[0];
        var detail = string.Join("; ", failures.Select(f => f.Message));
        return new KernelFeatureException(
            $"no attach mode for skb:kfree_skb worked ({detail}). Run `packet-monitor check` to see what this kernel lacks");
    }

    private static DropCapture LoadAndAttach(byte[] bytes, AttachMode mode, CaptureOptions options, ILogger logger)
    {
        BpfObjectHandle obj = OpenObject(bytes);
        try
        {
            string wanted = ProgramName(mode);
            nint wantedProgram = 0;
            foreach (var candidate in FallbackOrder)
            {
                nint prog = Interop.bpf_object__find_program_by_name(obj, ProgramName(candidate));
                if (prog == 0)
                    throw new KernelFeatureException($"program {ProgramName(candidate)} missing from the BPF object");
                Interop.bpf_program__set_autoload(prog, candidate == mode);
                if (candidate == mode)
                    wantedProgram = prog;
            }

            nint events = FindMap(obj, "events");
            Check(Interop.bpf_map__set_max_entries(events, (uint)options.RingSizeBytes), "size ring buffer");
            // The stack map is preallocated: one entry unless stacks were asked for.
            if (options.Filter.AnyStacks)
                Check(Interop.bpf_map__set_max_entries(FindMap(obj, "stacks"), StackMapEntries), "size stack map");
            WriteLoadConfig(obj, options);

            LibbpfLog.TakeRecent();
            int err = Interop.bpf_object__load(obj);
            if (err < 0)
            {
                var log = LibbpfLog.TakeRecent();
                throw new BpfException($"load {AttachModes.Name(mode)}/kfree_skb", -err, LoadHint(-err, log)) { VerifierLog = log };
            }

            nint link = Interop.bpf_program__attach(wantedProgram);
            if (link == 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (mode == AttachMode.Tracepoint && errno == 2 && !TracefsMounted())
                    throw new KernelFeatureException(
                        "the classic tracepoint needs tracefs, which is not mounted: mount -t tracefs nodev /sys/kernel/tracing");
                throw new BpfException($"attach {AttachModes.Name(mode)}/kfree_skb", errno);
            }
            var linkHandle = new BpfLinkHandle(link, obj);
            Log.Loaded(logger, wanted);
            return new DropCapture(obj, linkHandle, mode, Interop.bpf_program__fd(wantedProgram), options);
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    private static bool TracefsMounted() =>
        Directory.Exists("/sys/kernel/tracing/events/skb") || Directory.Exists("/sys/kernel/debug/tracing/events/skb");

    private static string? LoadHint(int errno, IReadOnlyList<string> log) =>
        errno is 1 or 13 && !log.Any(l => l.Contains("processed", StringComparison.Ordinal))
            ? null
            : log.Count > 0 ? "the kernel rejected the program; run with --verbose to see the verifier log" : null;

    private static BpfObjectHandle OpenObject(byte[] bytes)
    {
        fixed (byte* data = bytes)
        fixed (byte* name = "packet_monitor\0"u8)
        {
            var opts = new Interop.BpfObjectOpenOpts { Size = (nuint)sizeof(Interop.BpfObjectOpenOpts), ObjectName = name };
            nint obj = Interop.bpf_object__open_mem(data, (nuint)bytes.Length, &opts);
            if (obj == 0)
                throw new BpfException("open BPF object", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            return new BpfObjectHandle(obj);
        }
    }

    private static void WriteLoadConfig(BpfObjectHandle obj, CaptureOptions options)
    {
        nint rodata = FindMap(obj, ".rodata");
        nuint size;
        byte* value = (byte*)Interop.bpf_map__initial_value(rodata, &size);
        if (value == null || (int)size < MapLayouts.LoadConfigSize)
            throw new KernelFeatureException("the BPF object's .rodata does not hold struct load_config");
        var span = new Span<byte>(value, MapLayouts.LoadConfigSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MapLayouts.LoadSnapLen..], (uint)options.SnapLength);
        // Wake the reader early once about an eighth of the ring is pending (counted per CPU);
        // otherwise it polls on a short timer.
        int recordSize = DropEventLayout.Size + options.SnapLength + 8;
        int perCpu = Math.Max(1, options.RingSizeBytes / 8 / recordSize / Math.Max(1, Environment.ProcessorCount));
        BinaryPrimitives.WriteUInt32LittleEndian(span[MapLayouts.LoadWakeupEvents..], (uint)perCpu);
    }

    private static string ProgramName(AttachMode mode) => mode switch
    {
        AttachMode.TpBtf => "handle_tp_btf",
        AttachMode.RawTp => "handle_raw_tp",
        AttachMode.Tracepoint => "handle_tracepoint",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    private static nint FindMap(BpfObjectHandle obj, string name)
    {
        nint map = Interop.bpf_object__find_map_by_name(obj, name);
        return map != 0 ? map : throw new KernelFeatureException($"map {name} missing from the BPF object");
    }

    private static int MapFd(BpfObjectHandle obj, string name)
    {
        int fd = Interop.bpf_map__fd(FindMap(obj, name));
        return fd >= 0 ? fd : throw new BpfException($"map {name} fd", -fd);
    }

    private static void Check(int result, string operation)
    {
        if (result < 0)
            throw new BpfException(operation, -result);
    }

    /// <summary>Writes the run-time filters into the kernel's maps; takes effect for the next drop.</summary>
    public void SetFilter(EventFilter filter, Func<string, uint?> resolveReason)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(resolveReason);
        uint Code(string name) => resolveReason(name)
            ?? throw new ArgumentException($"unknown drop reason '{name}': `packet-monitor reasons` lists this kernel's reasons");

        var config = new byte[MapLayouts.FilterConfigSize];
        uint flags = filter.EmitEvents ? MapLayouts.EmitEvents : 0;
        var reasonKeys = new HashSet<uint>();
        if (filter.Reasons.Count > 0)
        {
            flags |= MapLayouts.FilterReasonInclude;
            foreach (var name in filter.Reasons)
                reasonKeys.Add(Code(name));
        }
        else
        {
            foreach (var name in filter.ExcludeReasons)
                reasonKeys.Add(Code(name));
            if (!filter.IncludeUnspecified && resolveReason("NOT_SPECIFIED") is uint unspecified)
                reasonKeys.Add(unspecified);
            if (reasonKeys.Count > 0)
                flags |= MapLayouts.FilterReasonExclude;
        }
        if (filter.Protocol is byte protocol)
        {
            flags |= MapLayouts.FilterProtocolFlag;
            config[MapLayouts.FilterProtocol] = protocol;
        }
        if (filter.Port is ushort port)
        {
            flags |= MapLayouts.FilterPortFlag;
            BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(MapLayouts.FilterPort), port);
        }
        if (filter.Host is { } host)
        {
            flags |= MapLayouts.FilterHostFlag;
            var (address, mask) = HostMask(host);
            config[MapLayouts.FilterHostFamily] = (byte)(host.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 4 : 6);
            address.CopyTo(config.AsSpan(MapLayouts.FilterHostAddr));
            mask.CopyTo(config.AsSpan(MapLayouts.FilterHostMask));
        }
        if (filter.Interface is { Length: > 0 } ifname)
        {
            var name = Encoding.UTF8.GetBytes(ifname);
            if (name.Length >= DropEventLayout.IfnameLength)
                throw new ArgumentException($"interface name '{ifname}' is longer than {DropEventLayout.IfnameLength - 1} bytes");
            flags |= MapLayouts.FilterIfnameFlag;
            name.CopyTo(config.AsSpan(MapLayouts.FilterIfname));
        }
        if (filter.Netns is uint netns)
        {
            flags |= MapLayouts.FilterNetnsFlag;
            BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(MapLayouts.FilterNetns), netns);
        }
        var stackKeys = filter.StackReasons.Select(Code).ToHashSet();
        if (stackKeys.Count > 0)
            flags |= MapLayouts.FilterStacksListed;
        else if (filter.Stacks)
            flags |= MapLayouts.FilterStacksAll;
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(MapLayouts.FilterFlags), flags);

        lock (_filterGate)
        {
            // Reasons first, then the flags that make the program read them.
            ReplaceReasonSet(_reasonFilterFd, _reasonFilterKeys, reasonKeys, "update reason filter");
            ReplaceReasonSet(_stackReasonsFd, _stackReasonKeys, stackKeys, "update stack reasons");
            uint zero = 0;
            fixed (byte* value = config)
                Check(Interop.bpf_map_update_elem(_configFd, &zero, value, 0), "update filter config");
        }
    }

    /// <summary>Makes a reason-keyed set map hold exactly <paramref name="wanted"/>; <paramref name="current"/> mirrors it.</summary>
    private static void ReplaceReasonSet(int mapFd, HashSet<uint> current, HashSet<uint> wanted, string operation)
    {
        byte one = 1;
        foreach (uint key in wanted)
        {
            uint k = key;
            Check(Interop.bpf_map_update_elem(mapFd, &k, &one, 0), operation);
        }
        foreach (uint stale in current.Except(wanted))
        {
            uint k = stale;
            _ = Interop.bpf_map_delete_elem(mapFd, &k);
        }
        current.Clear();
        current.UnionWith(wanted);
    }

    /// <summary>The masked network address and the mask, 4 or 16 bytes each, in network order.</summary>
    internal static (byte[] Address, byte[] Mask) HostMask(System.Net.IPNetwork network)
    {
        var address = network.BaseAddress.GetAddressBytes();
        var mask = new byte[address.Length];
        for (int bit = 0; bit < network.PrefixLength; bit++)
            mask[bit / 8] |= (byte)(0x80 >> (bit % 8));
        var padded = new byte[16];
        var paddedMask = new byte[16];
        for (int i = 0; i < address.Length; i++)
        {
            padded[i] = (byte)(address[i] & mask[i]);
            paddedMask[i] = mask[i];
        }
        return (padded, paddedMask);
    }

    /// <summary>Reads the exact per-CPU counters and sums them over CPUs.</summary>
    public CounterSnapshot ReadCounters()
    {
        var entries = new List<CounterEntry>();
        int valueStride = MapLayouts.CounterValueSize;
        var values = new byte[valueStride * _possibleCpus];
        byte* key = stackalloc byte[MapLayouts.CounterKeySize];
        byte* next = stackalloc byte[MapLayouts.CounterKeySize];
        byte* previous = null;
        fixed (byte* valuePtr = values)
        {
            while (Interop.bpf_map_get_next_key(_countersFd, previous, next) == 0)
            {
                new Span<byte>(next, MapLayouts.CounterKeySize).CopyTo(new Span<byte>(key, MapLayouts.CounterKeySize));
                previous = key;
                if (Interop.bpf_map_lookup_elem(_countersFd, key, valuePtr) != 0)
                    continue; // deleted meanwhile
                ulong packets = 0, bytes = 0;
                for (int cpu = 0; cpu < _possibleCpus; cpu++)
                {
                    packets += BinaryPrimitives.ReadUInt64LittleEndian(values.AsSpan(cpu * valueStride));
                    bytes += BinaryPrimitives.ReadUInt64LittleEndian(values.AsSpan(cpu * valueStride + 8));
                }
                var k = new ReadOnlySpan<byte>(key, MapLayouts.CounterKeySize);
                entries.Add(new CounterEntry(
                    BinaryPrimitives.ReadUInt32LittleEndian(k[MapLayouts.CounterKeyReason..]),
                    k[MapLayouts.CounterKeyIpProto],
                    BinaryPrimitives.ReadUInt32LittleEndian(k[MapLayouts.CounterKeyIfindex..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(k[MapLayouts.CounterKeyNetns..]),
                    packets, bytes,
                    BinaryPrimitives.ReadUInt64LittleEndian(k[MapLayouts.CounterKeyLocation..])));
            }
        }
        return new CounterSnapshot(DateTimeOffset.UtcNow, entries);
    }

    /// <summary>Kernel-side event losses (ring full, filtered) and program recursion misses.</summary>
    public EventLosses ReadKernelLosses() => new()
    {
        RingBufferFull = ReadLossSlot(MapLayouts.LossRingbufFull),
        Filtered = ReadLossSlot(MapLayouts.LossFiltered),
        KernelRecursionMisses = ReadProgramStats().RecursionMisses,
    };

    private ulong ReadLossSlot(uint slot)
    {
        var values = stackalloc ulong[_possibleCpus];
        if (Interop.bpf_map_lookup_elem(_lossesFd, &slot, values) != 0)
            return 0;
        ulong sum = 0;
        for (int i = 0; i < _possibleCpus; i++)
            sum += values[i];
        return sum;
    }

    /// <summary>Run count, run time (when kernel.bpf_stats_enabled) and recursion misses of the attached program.</summary>
    public ProgramStats ReadProgramStats()
    {
        const int infoSize = 232, runTimeNs = 192, runCount = 200, recursionMisses = 208, id = 4;
        byte* info = stackalloc byte[infoSize];
        new Span<byte>(info, infoSize).Clear();
        uint length = infoSize;
        if (Interop.bpf_obj_get_info_by_fd(_programFd, info, &length) != 0)
            return new ProgramStats(0, 0, 0, 0);
        var span = new ReadOnlySpan<byte>(info, infoSize);
        return new ProgramStats(
            BinaryPrimitives.ReadUInt32LittleEndian(span[id..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[runCount..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[runTimeNs..]),
            length >= recursionMisses + 8 ? BinaryPrimitives.ReadUInt64LittleEndian(span[recursionMisses..]) : 0);
    }

    public void Dispose()
    {
        _link.Dispose();
        _object.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Loaded {Program}")]
        public static partial void Loaded(ILogger logger, string program);

        [LoggerMessage(Level = LogLevel.Information, Message = "Attached to skb:kfree_skb as {Mode}")]
        public static partial void Attached(ILogger logger, string mode);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Attach mode {Mode} failed: {Reason}")]
        public static partial void AttachFailed(ILogger logger, string mode, string reason);
    }
}

/// <summary>Kernel statistics of the attached program.</summary>
public readonly record struct ProgramStats(uint ProgramId, ulong RunCount, ulong RunTimeNs, ulong RecursionMisses);
