using System.CommandLine;
using PacketMonitor.Core.Capture;
using PacketMonitor.Kernel;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor watch`: options, and their translation into <see cref="WatchSettings"/>.</summary>
public static class WatchCommand
{
    public static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object per drop (snake_case fields)" };
    public static readonly Option<bool> Summary = new("--summary") { Description = "No per-event lines: print drops/s and totals by reason, protocol and interface once a second" };
    public static readonly Option<bool> CountsOnly = new("--counts-only") { Description = "Turn event emission off in the kernel (cheapest mode); print totals at exit" };
    public static readonly Option<string?> Count = new("--count", "-c") { Description = "Exit after N events", HelpName = "N" };
    public static readonly Option<string?> DurationOption = new("--duration", "-d") { Description = "Exit after this long (e.g. 30s, 5m, 1h)", HelpName = "TIME" };
    public static readonly Option<string[]> Reason = new("--reason") { Description = "Only these drop reasons (names as in `packet-monitor reasons`; repeat or comma-separate)", HelpName = "NAME", AllowMultipleArgumentsPerToken = false };
    public static readonly Option<string[]> ExcludeReason = new("--exclude-reason") { Description = "Hide these drop reasons (still counted)", HelpName = "NAME" };
    public static readonly Option<string?> Protocol = new("--protocol", "-p") { Description = "Only this L4 protocol: tcp, udp, icmp, icmpv6 or a number", HelpName = "PROTO" };
    public static readonly Option<string?> Port = new("--port") { Description = "Only packets with this source or destination port", HelpName = "PORT" };
    public static readonly Option<string?> Host = new("--host") { Description = "Only packets from or to this address or CIDR block", HelpName = "ADDR" };
    public static readonly Option<string?> Interface = new("--interface", "-i") { Description = "Only drops on this interface name", HelpName = "IFNAME" };
    public static readonly Option<string?> Netns = new("--netns") { Description = "Only drops in this network namespace: inode, name in /run/netns, or path", HelpName = "NS" };
    public static readonly Option<bool> IncludeUnspecified = new("--include-unspecified") { Description = "Also show NOT_SPECIFIED drops (plain kfree_skb; hidden by default, always counted)" };
    public static readonly Option<string?> RingSize = new("--ring-size") { Description = "Ring buffer size, a power of two (default 16M)", HelpName = "SIZE" };
    public static readonly Option<string?> SnapLen = new("--snap-len") { Description = "Bytes of packet headers captured per event, 0-1024 (default 128)", HelpName = "BYTES" };
    public static readonly Option<string?> Attach = new("--attach") { Description = "Attach mode: auto, tp_btf, raw_tp, tracepoint (default auto)", HelpName = "MODE" };
    public static readonly Option<bool> Stacks = new("--stacks") { Description = "Record the kernel stack of every drop event (costs time per event; off by default)" };
    public static readonly Option<string[]> StacksFor = new("--stacks-for") { Description = "Record the kernel stack only for these reasons, e.g. NOT_SPECIFIED (repeat or comma-separate)", HelpName = "NAME" };
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging, including libbpf's and the verifier's log" };
    public static readonly Option<string?> MetricsListen = new("--metrics-listen") { Description = "Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9810; beyond loopback with --metrics-token)", HelpName = "ADDR" };
    public static readonly Option<string?> MetricsToken = new("--metrics-token") { Description = "Require this bearer token for /metrics (needed beyond loopback; or PACKET_MONITOR_METRICS_TOKEN)", HelpName = "TOKEN" };
    public static readonly Option<string?> MetricsMaxInterfaces = new("--metrics-max-interfaces") { Description = $"Most interface names in metric labels; the rest count as 'other' (default {PacketMonitor.Core.Metrics.InterfaceLabels.DefaultMaxNames})", HelpName = "N" };
    public static readonly Option<string?> RingReader = new("--ring-reader") { Description = "How to read the ring buffer: mapped (default) or libbpf; for benchmarks", Hidden = true, HelpName = "KIND" };

    public static Command Create(Func<WatchSettings, CancellationToken, Task<int>> run)
    {
        var command = new Command("watch", "Print every packet the kernel drops, as it happens")
        {
            Json, Summary, CountsOnly, Count, DurationOption, Reason, ExcludeReason, Protocol, Port, Host, Interface, Netns,
            IncludeUnspecified, Stacks, StacksFor, RingSize, SnapLen, Attach, Verbose, RingReader, MetricsListen, MetricsToken, MetricsMaxInterfaces,
            HistorySettings.History, HistorySettings.DataDir, HistorySettings.Retention, HistorySettings.MaxDbSize,
        };
        command.SetAction((result, token) => run(Settings(result), token));
        return command;
    }

    /// <summary>Validates the parsed options; throws <see cref="CliException"/> with one clear line.</summary>
    public static WatchSettings Settings(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        int modes = (result.GetValue(Json) ? 1 : 0) + (result.GetValue(Summary) ? 1 : 0) + (result.GetValue(CountsOnly) ? 1 : 0);
        if (modes > 1)
            throw new CliException("--json, --summary and --counts-only exclude each other: pick one");
        var output = result.GetValue(Json) ? OutputMode.Json
            : result.GetValue(Summary) ? OutputMode.Summary
            : result.GetValue(CountsOnly) ? OutputMode.CountsOnly
            : OutputMode.Text;

        long? count = null;
        if (result.GetValue(Count) is string countText)
        {
            if (!long.TryParse(countText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n <= 0)
                throw new CliException($"--count: '{countText}' is not a positive number");
            if (output is OutputMode.Summary or OutputMode.CountsOnly)
                throw new CliException("--count counts events: it cannot be combined with --summary or --counts-only (use --duration)");
            count = n;
        }

        var reasons = Names("--reason", result.GetValue(Reason));
        var excluded = Names("--exclude-reason", result.GetValue(ExcludeReason));
        if (reasons.Count > 0 && excluded.Count > 0)
            throw new CliException("--reason and --exclude-reason exclude each other: pick one");

        var stackReasons = Names("--stacks-for", result.GetValue(StacksFor));
        bool stacks = result.GetValue(Stacks);
        if (stacks && stackReasons.Count > 0)
            throw new CliException("--stacks and --stacks-for exclude each other: --stacks records every event's stack, --stacks-for only some");
        if ((stacks || stackReasons.Count > 0) && output is (OutputMode.Summary or OutputMode.CountsOnly))
            throw new CliException("--stacks and --stacks-for record stacks with events: they cannot be combined with --summary or --counts-only");

        var ringSize = result.GetValue(RingSize) is string ring ? ValueParsers.Size("--ring-size", ring) : CaptureOptions.DefaultRingSizeBytes;
        if (ringSize < Environment.SystemPageSize || ringSize > 1L << 30 || !long.IsPow2(ringSize))
            throw new CliException($"--ring-size: {ringSize} bytes must be a power of two between {Environment.SystemPageSize} and 1G (e.g. 16M)");

        int snapLen = CaptureOptions.DefaultSnapLength;
        if (result.GetValue(SnapLen) is string snap
            && (!int.TryParse(snap, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out snapLen)
                || snapLen > CaptureOptions.MaxSnapLength))
            throw new CliException($"--snap-len: '{snap}' must be a number of bytes from 0 to {CaptureOptions.MaxSnapLength}");

        string? ifname = result.GetValue(Interface);
        // The kernel's own rule (dev_valid_name): 1-15 bytes, no '/', ':' or white space, not "." or "..".
        if (ifname is not null && (ifname.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(ifname) > 15 || ifname is "." or ".."
            || ifname.AsSpan().IndexOfAny('/', ':') >= 0 || ifname.Any(char.IsWhiteSpace)))
            throw new CliException($"--interface: '{ifname}' is not an interface name (1-15 bytes)");

        var filter = new EventFilter
        {
            EmitEvents = output is OutputMode.Text or OutputMode.Json,
            Reasons = reasons,
            ExcludeReasons = excluded,
            // Asking for NOT_SPECIFIED by name (events or their stacks) means showing them.
            IncludeUnspecified = result.GetValue(IncludeUnspecified) || reasons.Contains("NOT_SPECIFIED") || stackReasons.Contains("NOT_SPECIFIED"),
            Stacks = stacks,
            StackReasons = stackReasons,
            Protocol = result.GetValue(Protocol) is string p ? ValueParsers.Protocol("--protocol", p) : null,
            Port = result.GetValue(Port) is string port ? ValueParsers.Port("--port", port) : null,
            Host = result.GetValue(Host) is string host ? ValueParsers.Host("--host", host) : null,
            Interface = ifname,
            Netns = result.GetValue(Netns) is string ns ? ValueParsers.Netns("--netns", ns) : null,
        };
        return new WatchSettings
        {
            Capture = new CaptureOptions
            {
                RingSizeBytes = (int)ringSize,
                SnapLength = snapLen,
                Attach = result.GetValue(Attach) is string attach ? ValueParsers.Attach("--attach", attach) : AttachMode.Auto,
                Filter = filter,
            },
            Output = output,
            Count = count,
            Duration = result.GetValue(DurationOption) is string d ? ValueParsers.Duration("--duration", d) : null,
            Verbose = result.GetValue(Verbose),
            Metrics = MetricsSettingsOf(result),
            RingReader = result.GetValue(RingReader) switch
            {
                null or "mapped" => RingReaderKind.Mapped,
                "libbpf" => RingReaderKind.Libbpf,
                var other => throw new CliException($"--ring-reader: '{other}' is not a reader (mapped, libbpf)"),
            },
            History = result.CommandResult.Command.Name == "watch" && HistorySettings.Parse(result, onByDefault: false) is { } history
                ? history with { Netns = filter.Netns }
                : null,
        };
    }

    private static MetricsSettings MetricsSettingsOf(ParseResult result)
    {
        int maxInterfaces = PacketMonitor.Core.Metrics.InterfaceLabels.DefaultMaxNames;
        if (result.GetValue(MetricsMaxInterfaces) is string max
            && (!int.TryParse(max, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxInterfaces)
                || maxInterfaces is < 1 or > 10_000))
            throw new CliException($"--metrics-max-interfaces: '{max}' must be a number from 1 to 10000");
        if (result.GetValue(MetricsToken) is string given && string.IsNullOrWhiteSpace(given))
            throw new CliException($"--metrics-token: '{given}' is blank: give a secret string (or leave it out on loopback)");
        var token = result.GetValue(MetricsToken) ?? Environment.GetEnvironmentVariable("PACKET_MONITOR_METRICS_TOKEN");
        return new MetricsSettings(result.GetValue(MetricsListen), string.IsNullOrEmpty(token) ? null : token, maxInterfaces);
    }

    /// <summary>Reason names, upper-cased, prefix removed, commas split.</summary>
    private static List<string> Names(string option, string[]? values)
    {
        // An empty value would otherwise mean "no filter": the opposite of what was asked.
        if ((values ?? []).FirstOrDefault(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0) is string empty)
            throw new CliException($"{option}: '{empty}' names no drop reason (`packet-monitor reasons` lists them)");
        return (values ?? [])
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(v => v.ToUpperInvariant())
            .Select(v => v.StartsWith("SKB_DROP_REASON_", StringComparison.Ordinal) ? v["SKB_DROP_REASON_".Length..] : v)
            .Distinct()
            .ToList();
    }
}
