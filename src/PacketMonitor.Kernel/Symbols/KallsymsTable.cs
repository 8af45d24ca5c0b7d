using System.Globalization;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Kernel.Symbols;

/// <summary>
/// Kernel text symbols from /proc/kallsyms, sorted once by address and resolved by binary search
/// to <c>function+0xoff</c> (module symbols get a <c> [module]</c> suffix).
/// </summary>
/// <remarks>
/// Addresses that cannot be attributed honestly print as <c>0x</c> + 16 hex digits: below the first symbol,
/// more than <see cref="MaxOffset"/> past the nearest symbol (e.g. beyond the last one), or when the
/// kernel hid the addresses (kptr_restrict prints them as zero; see <see cref="HasAddresses"/>).
/// </remarks>
public sealed class KallsymsTable : ISymbolResolver
{
    /// <summary>No kernel function is this large: a bigger offset means the address lies in a gap.</summary>
    public const ulong MaxOffset = 1 << 20;

    private readonly ulong[] _addresses;
    private readonly string[] _names;
    private readonly string?[] _modules;

    private KallsymsTable(ulong[] addresses, string[] names, string?[] modules)
    {
        _addresses = addresses;
        _names = names;
        _modules = modules;
    }

    /// <summary>Number of distinct text symbol addresses kept.</summary>
    public int Count => _addresses.Length;

    /// <summary>False when no usable address was read (kptr_restrict zeroes them for unprivileged readers).</summary>
    public bool HasAddresses => _addresses.Length > 0;

    /// <summary>A table that resolves nothing.</summary>
    public static KallsymsTable Empty() => new([], [], []);

    /// <summary>Reads /proc/kallsyms (or a copy); an unreadable file gives an empty table rather than an exception.</summary>
    public static KallsymsTable Load(string path = "/proc/kallsyms")
    {
        try
        {
            using var reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16 });
            return Parse(reader);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Empty();
        }
    }

    /// <summary>
    /// Parses lines "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[module]". Keeps text symbols
    /// (t/T and weak w/W); skips other symbols, zero addresses and malformed lines.
    /// </summary>
    public static KallsymsTable Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var symbols = new List<(ulong Address, bool Global, string Name, string? Module)>();
        var moduleNames = new Dictionary<string, string>(StringComparer.Ordinal); // one string per module
        var lookup = moduleNames.GetAlternateLookup<ReadOnlySpan<char>>();
        while (reader.ReadLine() is { } line)
        {
            var rest = line.AsSpan().TrimStart();
            var space = rest.IndexOfAny(' ', '\t');
            if (space <= 0 || !ulong.TryParse(rest[..space], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var address))
                continue;
            rest = rest[space..].TrimStart();
            if (rest.Length < 2 || rest[0] is not ('t' or 'T' or 'w' or 'W') || !char.IsWhiteSpace(rest[1]))
                continue;
            var global = char.IsUpper(rest[0]);
            rest = rest[1..].Trim();
            var end = rest.IndexOfAny(' ', '\t');
            var name = end < 0 ? rest : rest[..end];
            var tail = end < 0 ? [] : rest[end..].Trim();
            if (name.IsEmpty || address == 0)
                continue;
            string? module = null;
            if (tail.Length > 2 && tail[0] == '[' && tail[^1] == ']')
            {
                var m = tail[1..^1];
                if (!lookup.TryGetValue(m, out module))
                {
                    module = m.ToString();
                    moduleNames[module] = module;
                }
            }
            symbols.Add((address, global, name.ToString(), module));
        }

        // Aliases share an address: keep one deterministically (a global symbol over a local, then file order).
        var order = new SortKey[symbols.Count];
        for (var i = 0; i < order.Length; i++)
            order[i] = new SortKey(symbols[i].Address, (symbols[i].Global ? 0 : 1L << 32) | (uint)i);
        Array.Sort(order);
        var addresses = new List<ulong>(order.Length);
        var names = new List<string>(order.Length);
        var modules = new List<string?>(order.Length);
        foreach (var key in order)
        {
            var s = symbols[(int)(uint)key.Rank];
            if (addresses.Count > 0 && addresses[^1] == s.Address)
                continue;
            addresses.Add(s.Address);
            names.Add(s.Name);
            modules.Add(s.Module);
        }
        return new KallsymsTable([.. addresses], [.. names], [.. modules]);
    }

    /// <inheritdoc />
    public string Resolve(ulong address)
    {
        var i = Array.BinarySearch(_addresses, address);
        if (i < 0)
            i = ~i - 1; // the last symbol at or below the address
        if (i < 0 || address == 0)
            return Raw(address);
        var offset = address - _addresses[i];
        if (offset >= MaxOffset)
            return Raw(address);
        var text = string.Create(CultureInfo.InvariantCulture, $"{_names[i]}+0x{offset:x}");
        return _modules[i] is { } module ? $"{text} [{module}]" : text;
    }

    /// <summary>The address of a text symbol by exact name (a linear scan: meant for setup and tests).</summary>
    public bool TryGetAddress(string name, out ulong address)
    {
        var i = Array.IndexOf(_names, name);
        address = i >= 0 ? _addresses[i] : 0;
        return i >= 0;
    }

    private readonly record struct SortKey(ulong Address, long Rank) : IComparable<SortKey>
    {
        public int CompareTo(SortKey other) =>
            Address != other.Address ? Address.CompareTo(other.Address) : Rank.CompareTo(other.Rank);
    }

    private static string Raw(ulong address) => string.Create(CultureInfo.InvariantCulture, $"0x{address:x16}");
}
