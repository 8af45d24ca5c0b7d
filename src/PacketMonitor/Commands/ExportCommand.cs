using System.CommandLine;

namespace PacketMonitor.Cli.Commands;

/// <summary>Validated settings of `packet-monitor export`.</summary>
public sealed record ExportSettings
{
    /// <summary>The capture, filters, --count and --duration, validated as for `watch`.</summary>
    public required WatchSettings Watch { get; init; }

    /// <summary>The pcapng file to write, or "-" for standard output.</summary>
    public required string Output { get; init; }

    public bool ToStdout => Output == "-";
}

/// <summary>`packet-monitor export --pcapng FILE`: options, and their translation into <see cref="ExportSettings"/>.</summary>
/// <remarks>
/// Events come from a live capture with the filters of `watch`. Reading them from the history database
/// (--from/--to) is another event source for <see cref="ExportRunner.WriteAsync"/>, which takes any sequence of
/// event batches.
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
            + "length, the drop time and a comment with the reason, kernel location and CPU context.")
        {
            Pcapng, WatchCommand.Count, WatchCommand.DurationOption,
            WatchCommand.Reason, WatchCommand.ExcludeReason, WatchCommand.Protocol, WatchCommand.Port, WatchCommand.Host,
            WatchCommand.Interface, WatchCommand.Netns, WatchCommand.IncludeUnspecified, WatchCommand.RingSize,
            WatchCommand.SnapLen, WatchCommand.Attach, WatchCommand.Verbose,
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
        return new ExportSettings { Watch = WatchCommand.Settings(result), Output = output };
    }
}
