using System.Globalization;

namespace PacketMonitor.Core.BlindSpots;

/// <summary>
/// Parses <c>/proc/net/softnet_stat</c>: one line per online CPU of hexadecimal 32-bit columns.
/// </summary>
/// <remarks>
/// The layout grew over the years (net/core/net-procfs.c): columns 0-2 (processed, dropped,
/// time_squeeze) are always there; 9 (received_rps) and 10 (flow_limit_count) since 3.x; 11
/// (backlog length) and 12 (the CPU number) since 5.10; 13-14 (input and process queue lengths)
/// since 6.x. Offline CPUs have no line, so the line number is the CPU only on kernels without
/// column 12. Lines that do not fit are skipped and counted, never guessed.
/// </remarks>
public static class SoftnetStat
{
    private const int MinColumns = 3;
    private const int FlowLimitColumn = 10;
    private const int CpuColumn = 12;
    private const int MaxColumns = 64;
    private const int MaxCpus = 8192;

    /// <summary>The usual path.</summary>
    public const string Path = "/proc/net/softnet_stat";

    /// <summary>Parses the file's text; <paramref name="malformedLines"/> counts the non-empty lines that were skipped.</summary>
    public static IReadOnlyList<SoftnetCounters> Parse(string text, out int malformedLines)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rows = new List<SoftnetCounters>();
        var seen = new HashSet<int>();
        malformedLines = 0;
        int lineNumber = -1;
        Span<uint> columns = stackalloc uint[MaxColumns];
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var line = text.AsSpan()[range].Trim();
            if (line.IsEmpty)
                continue;
            lineNumber++;
            int count = ParseColumns(line, columns);
            int cpu = count > CpuColumn ? (int)Math.Min(columns[CpuColumn], int.MaxValue) : lineNumber;
            if (count < MinColumns || cpu >= MaxCpus || !seen.Add(cpu))
            {
                malformedLines++;
                continue;
            }
            rows.Add(new SoftnetCounters(cpu, columns[0], columns[1], columns[2],
                count > FlowLimitColumn ? columns[FlowLimitColumn] : null));
        }
        return rows;
    }

    /// <summary>Hex columns of one line; -1 when a token is not an 8-digit-or-shorter hex number or there are too many.</summary>
    private static int ParseColumns(ReadOnlySpan<char> line, Span<uint> columns)
    {
        int count = 0;
        foreach (var range in line.Split(' '))
        {
            var token = line[range];
            if (token.IsEmpty)
                continue;
            if (count == columns.Length || token.Length > 8
                || !uint.TryParse(token, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out columns[count]))
                return -1;
            count++;
        }
        return count;
    }
}
