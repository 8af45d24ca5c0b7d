using System.CommandLine;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Kernel;
using PacketMonitor.Kernel.BlindSpots;
using PacketMonitor.Kernel.Symbols;
using PacketMonitor.Web;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor serve`: the monitor session behind the web dashboard, REST API and live feed.</summary>
public static class ServeCommand
{
    public static readonly Option<string> Listen = new("--listen") { Description = "Address to listen on (host:port)", DefaultValueFactory = _ => "127.0.0.1:5000", HelpName = "ADDR" };
    public static readonly Option<string?> Token = new("--token") { Description = "Require this token for the page, API and live feed (needed to listen beyond loopback; or PACKET_MONITOR_TOKEN)", HelpName = "TOKEN" };
    public static readonly Option<bool> Paused = new("--paused") { Description = "Start with monitoring stopped (start it from the dashboard)" };

    public static Command Create(TextWriter stderr)
    {
        var command = new Command("serve", "Web dashboard with live drops on http://127.0.0.1:5000, REST API and /metrics")
        {
            Listen, Token, Paused,
            WatchCommand.Reason, WatchCommand.ExcludeReason, WatchCommand.Protocol, WatchCommand.Port, WatchCommand.Host,
            WatchCommand.Interface, WatchCommand.Netns, WatchCommand.IncludeUnspecified, WatchCommand.Stacks, WatchCommand.StacksFor, WatchCommand.RingSize,
            WatchCommand.SnapLen, WatchCommand.Attach, WatchCommand.Verbose,
            WatchCommand.MetricsListen, WatchCommand.MetricsToken, WatchCommand.MetricsMaxInterfaces,
            HistorySettings.DataDir, HistorySettings.NoHistory, HistorySettings.Retention, HistorySettings.MaxDbSize,
        };
        command.SetAction((result, token) => RunAsync(result, stderr, token));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, TextWriter stderr, CancellationToken stop)
    {
        var settings = WatchCommand.Settings(result);
        var historyOptions = HistorySettings.Parse(result, onByDefault: true) is { } parsed
            ? parsed with { Netns = settings.Capture.Filter.Netns }
            : null;
        string listen = result.GetValue(Listen) ?? "127.0.0.1:5000";
        string? token = result.GetValue(Token) ?? Environment.GetEnvironmentVariable("PACKET_MONITOR_TOKEN");
        if (result.GetValue(Token) is string given && string.IsNullOrWhiteSpace(given))
            throw new CliException($"--token: '{given}' is blank: give a secret string (or leave --token out when listening on loopback)");
        DashboardServer.CheckListen(listen, token); // before anything is opened or attached
        using var loggers = Logging.Create(stderr, settings.Verbose);
        var logger = loggers.CreateLogger("packet-monitor");

        var reasons = KernelReasons.LoadChecked(logger, settings.Capture.Filter);
        var source = new KernelDropSource(settings.Capture, reasons, KallsymsTable.Load(), logger, settings.RingReader);
        await using var session = new MonitorSession(source, TimeProvider.System, loggers.CreateLogger<MonitorSession>(),
            blindSpots: new KernelBlindSpotSampler(logger));
        var metrics = MetricsSetup.Create(settings.Metrics, reasons);
        await using var metricsServer = MetricsSetup.Server(settings.Metrics, metrics); // checks --metrics-listen before history opens
        // Subscribed before the first start so that no drop is missed; a database problem is logged, never fatal.
        using var history = historyOptions is null ? null
            : HistoryRecorder.Start(session, historyOptions, TimeProvider.System, loggers.CreateLogger<HistoryRecorder>(), HistorySettings.HostInterfaceNames());
        if (history?.Status.State == HistoryState.Ok)
        {
            await stderr.WriteLineAsync($"packet-monitor: recording history into {historyOptions!.DatabasePath} "
                + $"(retention {HistorySettings.Age(historyOptions.Retention)}, at most {HistorySettings.Size(historyOptions.MaxDatabaseBytes)})");
        }
        var app = DashboardServer.Build(session, new DashboardOptions
        {
            Listen = listen,
            Token = token,
            MetricsToken = settings.Metrics.Token,
            Metrics = metrics,
            ReasonList = () => reasons.All.Select(r => (r.Code, r.Name)).ToList(),
        }, history: history);
        if (!result.GetValue(Paused))
        {
            var status = await session.StartAsync(stop);
            await stderr.WriteLineAsync($"packet-monitor: attached to skb:kfree_skb ({status.AttachMode})");
        }
        if (metricsServer is not null)
            await MetricsSetup.StartAsync(metricsServer, stderr, stop);
        await stderr.WriteLineAsync($"packet-monitor: dashboard on http://{listen}/ ; Ctrl-C to stop");
        await stderr.FlushAsync(CancellationToken.None);
        try
        {
            await DashboardServer.RunAsync(app, stop);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("already in use", StringComparison.Ordinal))
        {
            throw new CliException(e.Message, ExitCode.Failure);
        }
        await session.StopAsync(CancellationToken.None);
        var stats = session.Stats;
        await stderr.WriteLineAsync($"packet-monitor: stopped; drops: total {stats.TotalDrops}");
        return (int)ExitCode.Ok;
    }
}
