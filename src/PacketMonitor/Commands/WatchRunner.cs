using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.History;
using PacketMonitor.Kernel;
using PacketMonitor.Kernel.BlindSpots;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Symbols;

namespace PacketMonitor.Cli.Commands;

/// <summary>
/// Runs `watch`: attach, stream events (or counters) to stdout until Ctrl-C, SIGTERM,
/// --count or --duration, then detach and print a summary to stderr.
/// </summary>
public sealed class WatchRunner(TextWriter stdout, Stream rawStdout, TextWriter stderr)
{
    /// <summary>
    /// Events queued between the reader and the writer: about a second at the highest rates
    /// measured here (roughly 100 MB at most), so a writer starved of CPU for a moment loses nothing.
    /// </summary>
    private const int QueueEvents = 256 * 1024;

    public async Task<int> RunAsync(WatchSettings settings, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var loggers = Logging.Create(stderr, settings.Verbose);
        var logger = loggers.CreateLogger("packet-monitor");

        var reasons = KernelReasons.LoadChecked(logger, settings.Capture.Filter);
        uint? ResolveReason(string name) => reasons.TryGetCode(name, out var code) ? code : null;
        var metrics = settings.Metrics.Listen is null ? null : MetricsSetup.Create(settings.Metrics, reasons);
        await using var metricsServer = metrics is null ? null : MetricsSetup.Server(settings.Metrics, metrics);

        // --history: events are offered to the recorder (never waiting), the exact counters once a second.
        using var history = settings.History is { } historyOptions
            ? HistoryRecorder.Start(historyOptions, reasons, TimeProvider.System, loggers.CreateLogger<HistoryRecorder>(), HistorySettings.HostInterfaceNames())
            : null;
        if (history?.Status.State == HistoryState.Ok)
            await stderr.WriteLineAsync($"packet-monitor: recording history into {history.Options.DatabasePath}");

        var startedAt = KernelClock.MonotonicNow();
        using var capture = DropCapture.Attach(settings.Capture, ResolveReason, logger);
        var attachMs = (KernelClock.MonotonicNow() - startedAt) / 1_000_000.0;

        // Drops kfree_skb cannot see (device and softnet counters): the baseline before saying "attached", totals at exit.
        var blindSpotSampler = new KernelBlindSpotSampler(logger);
        var blindSpotTracker = new BlindSpotTracker();
        BlindSpotStats ObserveBlindSpots() => ScopedBlindSpots(blindSpotTracker.Observe(blindSpotSampler.Sample(), blindSpotSampler.Coverage), settings);
        ObserveBlindSpots();

        await stderr.WriteLineAsync(
            $"packet-monitor: attached to skb:kfree_skb ({AttachModes.Name(capture.AttachMode)}) in {attachMs:F0} ms; Ctrl-C to stop");
        await stderr.FlushAsync(CancellationToken.None);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        if (settings.Duration is TimeSpan duration)
            stop.CancelAfter(duration);

        var attachedAt = DateTimeOffset.UtcNow;
        using var countersStop = new CancellationTokenSource();
        var recordingCounters = history is null ? Task.CompletedTask
            : EverySecondAsync(() => history.RecordCounters(Scoped(capture.ReadCounters(), settings), attachedAt), countersStop.Token);

        long written = 0;
        RingBufferReader? reader = null;
        CounterReading ReadForMetrics()
        {
            var kernel = capture.ReadKernelLosses();
            var losses = new LossStats(kernel.RingBufferFull, (ulong)(reader?.QueueFull ?? 0), 0, kernel.Filtered);
            return new CounterReading(1, Scoped(capture.ReadCounters(), settings), losses, attachedAt);
        }
        Task? publishing = null;
        if (metrics is not null && metricsServer is not null)
        {
            if (history is not null)
                metrics.HistoryLost = () => (ulong)history.EventsLost;
            metrics.SetStatus(true, AttachModes.Name(capture.AttachMode));
            metrics.Record(ReadForMetrics());
            await MetricsSetup.StartAsync(metricsServer, stderr, stop.Token);
            await stderr.FlushAsync(CancellationToken.None);
            publishing = EverySecondAsync(() =>
            {
                metrics.Record(ReadForMetrics());
                metrics.RecordBlindSpots(ObserveBlindSpots(), attachedAt);
            }, stop.Token);
        }
        switch (settings.Output)
        {
            case OutputMode.Text or OutputMode.Json:
                var symbols = KallsymsTable.Load();
                var queue = new EventBacklog(QueueEvents);
                reader = RingBufferReader.Create(capture, reasons, symbols, KernelClock.Sample(), queue.Writer, settings.RingReader);
                reader.Start();
                var writing = WriteEventsAsync(queue, settings, history);
                await Task.WhenAny(writing, WaitAsync(stop.Token));
                // Stop reading (what is in the ring is drained into the queue), then let the writer finish the queue.
                reader.Stop();
                written = await writing;
                break;
            case OutputMode.Summary:
                await PrintSummariesAsync(() => Scoped(capture.ReadCounters(), settings), ObserveBlindSpots, reasons, stop.Token);
                break;
            default:
                await WaitAsync(stop.Token);
                break;
        }

        // Counters are read while still attached, then the program is detached by Dispose.
        await countersStop.CancelAsync();
        await recordingCounters;
        if (publishing is not null)
        {
            await publishing;
            metrics!.Record(ReadForMetrics());
            metrics.SetStatus(false, null);
        }
        var counters = Scoped(capture.ReadCounters(), settings);
        history?.RecordCounters(counters, attachedAt);
        var losses = capture.ReadKernelLosses() with { QueueFull = (ulong)(reader?.QueueFull ?? 0) };
        await stderr.WriteAsync(SummaryText.Final(counters, losses, reasons, reader?.Received, written,
            settings.Output is OutputMode.Text or OutputMode.Json));
        await stderr.WriteAsync(SummaryText.BlindSpots(ObserveBlindSpots(), periodic: false));
        await stderr.FlushAsync(CancellationToken.None);
        reader?.Dispose();
        return (int)ExitCode.Ok;
    }

    /// <summary>
    /// With --netns the totals are that namespace's (the counters are keyed by namespace);
    /// otherwise every drop on the machine. The other filters select events, not totals.
    /// </summary>
    private static CounterSnapshot Scoped(CounterSnapshot all, WatchSettings settings) =>
        settings.Capture.Filter.Netns is uint netns
            ? all with { Entries = all.Entries.Where(e => e.Netns == netns).ToList() }
            : all;

    /// <summary>With --netns only that namespace's devices are listed (the softnet backlog is per CPU, for every namespace).</summary>
    private static BlindSpotStats ScopedBlindSpots(BlindSpotStats all, WatchSettings settings) =>
        settings.Capture.Filter.Netns is uint netns
            ? all with { Interfaces = all.Interfaces.Where(i => i.Netns == netns).ToList() }
            : all;

    private static async Task WaitAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Writes events until the queue completes (after stop), --count is reached or stdout closes;
    /// flushes whenever the queue runs empty. Returns the number written.
    /// </summary>
    private async Task<long> WriteEventsAsync(EventBacklog queue, WatchSettings settings, HistoryRecorder? history)
    {
        await Task.Yield(); // run on the thread pool, not on the caller's stack
        long written = 0;
        long limit = settings.Count ?? long.MaxValue;
        bool json = settings.Output == OutputMode.Json;
        try
        {
            // Disposal flushes too, so it stays inside the try: a closed stdout must not throw.
            using var buffered = new BufferedStream(rawStdout, 1 << 16);
            using var jsonWriter = new Utf8JsonWriter(buffered, EventJsonWriter.LineOptions);
            using var text = new StreamWriter(buffered, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            var batches = queue.Reader;
            while (written < limit && await batches.WaitToReadAsync())
            {
                while (written < limit && batches.TryRead(out var batch))
                {
                    queue.Release(batch.Count);
                    history?.Offer(batch);
                    for (int i = 0; i < batch.Count && written < limit; i++, written++)
                    {
                        if (json)
                        {
                            EventJsonWriter.Write(jsonWriter, batch[i]);
                            jsonWriter.Flush();
                            buffered.WriteByte((byte)'\n');
                            jsonWriter.Reset(buffered);
                        }
                        else
                        {
                            EventTextFormatter.Write(text, batch[i]);
                        }
                    }
                }
                if (!json)
                    await text.FlushAsync(CancellationToken.None);
                await buffered.FlushAsync(CancellationToken.None);
            }
        }
        catch (IOException)
        {
            // stdout closed (e.g. piped into `head`): stop quietly.
        }
        return written;
    }

    /// <summary>Once a second until cancelled: feeds the metrics or the history recorder from the exact counters.</summary>
    private static async Task EverySecondAsync(Action tick, CancellationToken token)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(token))
                tick();
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Once a second: drops/s and totals by reason, protocol and interface from the exact counters, then
    /// the device and softnet counters that kfree_skb cannot see.
    /// </summary>
    private async Task PrintSummariesAsync(Func<CounterSnapshot> read, Func<BlindSpotStats> blindSpots, IReasonNames reasons, CancellationToken token)
    {
        var previous = read();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                var now = read();
                await stdout.WriteAsync(SummaryText.Periodic(previous, now, reasons).TrimEnd('\n') + "\n"
                    + SummaryText.BlindSpots(blindSpots(), periodic: true) + "\n");
                await stdout.FlushAsync(CancellationToken.None);
                previous = now;
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
    }
}

/// <summary>The running kernel's reason table, with the filter's reason names checked against it.</summary>
internal static class KernelReasons
{
    public static DropReasonTable LoadChecked(ILogger logger, PacketMonitor.Core.Capture.EventFilter filter)
    {
        var reasons = DropReasonTable.Load(logger);
        foreach (var name in filter.Reasons.Concat(filter.ExcludeReasons).Concat(filter.StackReasons))
        {
            if (!reasons.TryGetCode(name, out _))
                throw new CliException($"unknown drop reason '{name}': `packet-monitor reasons` lists the reasons of this kernel");
        }
        return reasons;
    }
}

/// <summary>Console logging to stderr: information by default, debug (libbpf's log too) with --verbose.</summary>
internal static class Logging
{
    public static ILoggerFactory Create(TextWriter stderr, bool verbose) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning);
            builder.AddProvider(new StderrLoggerProvider(stderr));
        });
}

/// <summary>A minimal logger writing "level: message" lines to stderr (the console logger's queue would reorder them).</summary>
internal sealed class StderrLoggerProvider(TextWriter stderr) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new StderrLogger(stderr);

    public void Dispose() { }

    private sealed class StderrLogger(TextWriter stderr) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string level = logLevel switch
            {
                LogLevel.Warning => "warning",
                LogLevel.Error or LogLevel.Critical => "error",
                LogLevel.Information => "info",
                _ => "debug",
            };
            lock (stderr)
                stderr.WriteLine($"packet-monitor: {level}: {formatter(state, exception)}");
        }
    }
}
