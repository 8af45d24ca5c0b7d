using System.CommandLine;
using PacketMonitor.Core.History;

namespace PacketMonitor.Cli.Commands;

/// <summary>Validated settings of `packet-monitor export`.</summary>
public sealed record ExportSettings
{
    /// <summary>The capture, filters, --count and --duration, validated as for `watch`.</summary>
    public required WatchSettings Watch { get; init; }

    /// <summary>The pcapng file to write, or "-" for standard output.</summary>
    public required string Output { get; init; }

    public bool ToStdout => Output == "-";

    /// <summary>Read from the history database instead of capturing: [From, To) of this file; null for live.</summary>
    public HistoryRange? History { get; init; }
}

/// <summary>The events of a time range in a history database.</summary>
public sealed record HistoryRange(string DatabasePath, DateTimeOffset From, DateTimeOffset To);

/// <summary>`packet-monitor export --pcapng FILE`: options, and their translation into <see cref="ExportSettings"/>.</summary>
/// <remarks>
/// Events come from a live capture with the filters of `watch`, or with --from/--to/--since from the history
/// database that `serve` (or `watch --history`) recorded.
/// </remarks>
public static class ExportCommand
{
    public static readonly Option<string> Pcapng = new("--pcapng")
    {
        Description = "Write a pcapng capture (Wireshark, tshark) to FILE, overwriting it; - writes to standard output (e.g. | wireshark -k -i -)",
        HelpName = "FILE",
        Required = true,
    };

    public static Command Create(Func<ExportSettings, CancellationToken, Task<int>> run)
    {
        var command = new Command("export",
            "Write the packets the kernel drops to a pcapng file for Wireshark, as they happen. Stops after --count packets, "
            + "after --duration, or at Ctrl-C (without either it runs until Ctrl-C, like tcpdump -w). Each packet carries its real "
            + "length, the drop time and a comment with the reason, kernel location and CPU context. With --from/--to or --since the "
            + "packets come from the history database instead (no capture; --count keeps the newest N of the range).")
        {
            Pcapng, WatchCommand.Count, WatchCommand.DurationOption,
            WatchCommand.Reason, WatchCommand.ExcludeReason, WatchCommand.Protocol, WatchCommand.Port, WatchCommand.Host,
            WatchCommand.Interface, WatchCommand.Netns, WatchCommand.IncludeUnspecified, WatchCommand.RingSize,
            WatchCommand.SnapLen, WatchCommand.Attach, WatchCommand.Verbose,
            HistoryCommand.From, HistoryCommand.To, HistoryCommand.Since, HistorySettings.DataDir,
        };
        command.SetAction((result, token) => run(Settings(result), token));
        return command;
    }

    /// <summary>Validates the parsed options; throws <see cref="CliException"/> with one clear line.</summary>
    public static ExportSettings Settings(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string output = result.GetValue(Pcapng) ?? "";
        if (output.Trim().Length == 0)
            throw new CliException("--pcapng: give a file name, or - for standard output");
        var watch = WatchCommand.Settings(result);
        bool fromHistory = result.GetValue(HistoryCommand.From) is not null || result.GetValue(HistoryCommand.To) is not null
            || result.GetValue(HistoryCommand.Since) is not null;
        if (!fromHistory)
        {
            if (result.GetValue(HistorySettings.DataDir) is not null)
                throw new CliException("--data-dir reads the history: give the time range with --from/--to or --since");
            return new ExportSettings { Watch = watch, Output = output };
        }
        if (watch.Duration is not null)
            throw new CliException("--duration is for a live capture: from history, the range is --from/--to or --since");
        var (from, to) = HistoryCommand.Range(result, DateTimeOffset.UtcNow);
        string dataDir = result.GetValue(HistorySettings.DataDir) is { } dir ? Path.GetFullPath(dir) : HistoryOptions.DefaultDataDirectory;
        return new ExportSettings
        {
            Watch = watch, Output = output,
            History = new HistoryRange(Path.Combine(dataDir, HistoryOptions.FileName), from, to),
        };
    }
}
