using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.Tests.History;

public sealed class HistoryRecorderTests : IDisposable
{
    private const uint HostNetns = 4026531840; // the sample events' namespace
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private HistoryOptions Options(Func<HistoryOptions, HistoryOptions>? change = null)
    {
        var options = new HistoryOptions
        {
            DatabasePath = _folder.Database,
            FlushInterval = TimeSpan.FromMilliseconds(100),
            MaintenanceInterval = TimeSpan.FromMilliseconds(200),
            ReopenInterval = TimeSpan.FromMilliseconds(300),
        };
        return change is null ? options : change(options);
    }

    private static MonitorSession Session(ScriptedSource source) =>
        new(source, TimeProvider.System, NullLogger<MonitorSession>.Instance, pollInterval: TimeSpan.FromMilliseconds(50));

    private static List<DropEvent> Batch(int count, int first = 0) =>
        Enumerable.Range(first, count).Select(i => HistorySamples.Full(DateTimeOffset.UtcNow, i)).ToList();

    [Fact]
    public async Task Session_EventsAndCounters_AreQueryableAfterTheRecorderIsClosed()
    {
        var source = new ScriptedSource();
        var started = DateTimeOffset.UtcNow;
        await using (var session = Session(source))
        {
            using var recorder = HistoryRecorder.Start(session, Options(), TimeProvider.System, NullLogger.Instance);
            await session.StartAsync(TestContext.Current.CancellationToken);
            for (int i = 0; i < 10; i++)
            {
                Assert.True(source.Events!.TryWrite(Batch(100, i * 100)));
                source.SetCounters(
                    new CounterEntry(3, 17, 1, HostNetns, (ulong)(i + 1) * 100, (ulong)(i + 1) * 6400, Location: 0xffffffff81000000),
                    new CounterEntry(3, 17, 1, HostNetns, (ulong)(i + 1) * 5, (ulong)(i + 1) * 320, Location: 0xffffffff81000100),
                    new CounterEntry(14, 6, 2, 7, 1, 60));
                await Task.Delay(30, TestContext.Current.CancellationToken);
            }
            await session.StopAsync(TestContext.Current.CancellationToken); // the final counter read is recorded too
            Assert.Equal(HistoryState.Ok, recorder.Status.State);
        }

        var reader = new HistoryReader(_folder.Database);
        var summary = reader.Summary(started.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal([("NO_SOCKET", 1050L, 67200L, 1000L), ("NETFILTER_DROP", 1L, 60L, 0L)],
            summary.Reasons.Select(r => (r.Reason, r.Packets, r.Bytes, r.Events)));
        var events = reader.Events(new EventQuery { Limit = 2000 });
        Assert.Equal(1000, events.Count);
        HistorySamples.AssertSame(HistorySamples.Full(events[0].Event.Timestamp, 999), events[0].Event);
        // The interface name learned from the events names the counts too.
        Assert.Equal(1050, reader.Rates(new RateQuery(started.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60, 1) { Interface = "lo" }).TotalPackets);
    }

    [Fact]
    public async Task Session_RestartedCapture_CountsFromZeroAgain()
    {
        var source = new ScriptedSource();
        var started = DateTimeOffset.UtcNow;
        await using (var session = Session(source))
        {
            using var recorder = HistoryRecorder.Start(session, Options(), TimeProvider.System, NullLogger.Instance);
            foreach (ulong packets in new ulong[] { 7, 5 })
            {
                source.SetCounters();
                await session.StartAsync(TestContext.Current.CancellationToken);
                source.SetCounters(new CounterEntry(3, 17, 1, 7, packets, packets * 10));
                await Task.Delay(120, TestContext.Current.CancellationToken);
                await session.StopAsync(TestContext.Current.CancellationToken);
            }
        }
        var summary = new HistoryReader(_folder.Database).Summary(started.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(12, summary.TotalPackets);
    }

    [Fact]
    public void Offer_QueueFull_NeverWaitsAndCountsTheLoss()
    {
        using var recorder = HistoryRecorder.Start(Options(o => o with { QueueCapacityEvents = 50 }), new TestReasons(), TimeProvider.System, NullLogger.Instance);
        var clock = Stopwatch.StartNew();
        var batch = Batch(40);
        for (int i = 0; i < 1000; i++)
            recorder.Offer(batch);
        clock.Stop();

        Assert.True(recorder.EventsLost > 0);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"offering took {clock.Elapsed}");
        recorder.Dispose();
        var status = recorder.Status;
        Assert.Equal(40_000, status.EventsWritten + status.EventsLost);
        Assert.Equal(status.EventsWritten, new HistoryReader(_folder.Database).Events(new EventQuery { Limit = 10_000 }).Count);
    }

    [Fact]
    public async Task Start_CorruptFile_FailsWithOneLoggedErrorAndTheMonitorKeepsRunning()
    {
        await File.WriteAllBytesAsync(_folder.Database, Enumerable.Repeat((byte)0x5a, 64 * 1024).ToArray(), TestContext.Current.CancellationToken);
        var logger = new ListLogger();
        var source = new ScriptedSource();
        await using var session = Session(source);
        using var recorder = HistoryRecorder.Start(session, Options(), TimeProvider.System, logger);
        await session.StartAsync(TestContext.Current.CancellationToken);

        Assert.True(source.Events!.TryWrite(Batch(10)));
        Assert.True(await HistorySamples.EventuallyAsync(() => session.Recent.Query(new EventQuery()).Count == 10));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.RowsLost >= 10));
        await Task.Delay(700, TestContext.Current.CancellationToken); // a few reopen attempts

        var status = recorder.Status;
        Assert.Equal(HistoryState.Failed, status.State);
        Assert.Contains("corrupt or not a SQLite database", status.Message, StringComparison.Ordinal);
        Assert.Equal(0, status.RowsWritten);
        Assert.True(session.Status.Running);
        var error = Assert.Single(logger.Lines, l => l.Level == LogLevel.Error); // retried quietly
        Assert.Contains(_folder.Database, error.Text, StringComparison.Ordinal);
        Assert.Contains("without history", error.Text, StringComparison.Ordinal);
        Assert.Equal(64 * 1024, new FileInfo(_folder.Database).Length); // never "repaired" away
    }

    [Fact]
    public async Task Running_FileOverwrittenWithGarbage_ReportsFailedAndMonitoringGoesOn()
    {
        var source = new ScriptedSource();
        await using var session = Session(source);
        using var recorder = HistoryRecorder.Start(session, Options(), TimeProvider.System, NullLogger.Instance);
        await session.StartAsync(TestContext.Current.CancellationToken);
        Assert.True(source.Events!.TryWrite(Batch(10)));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == 10));

        await using (var file = new FileStream(_folder.Database, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            await file.WriteAsync(Enumerable.Range(0, 8192).Select(i => (byte)(i * 13 + 1)).ToArray(), TestContext.Current.CancellationToken);

        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Failed), "state stays ok");
        Assert.Contains("corrupt", recorder.Status.Message, StringComparison.Ordinal);
        Assert.True(source.Events!.TryWrite(Batch(5)));
        Assert.True(await HistorySamples.EventuallyAsync(() => session.Recent.Query(new EventQuery()).Count == 15));
        Assert.True(session.Status.Running);
    }

    [Fact]
    public async Task Running_FileDeleted_IsNoticedAndCreatedAgain()
    {
        using var recorder = HistoryRecorder.Start(Options(), new TestReasons(), TimeProvider.System, NullLogger.Instance);
        recorder.Offer(Batch(3));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == 3));

        foreach (var file in Directory.GetFiles(_folder.Path))
            File.Delete(file);
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Failed));
        Assert.Contains("deleted", recorder.Status.Message, StringComparison.Ordinal);

        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Ok), "not reopened");
        recorder.Offer(Batch(4));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == 7));
        Assert.Equal(4, new HistoryReader(_folder.Database).Events(new EventQuery()).Count);
    }

    [Fact]
    public async Task Running_FileMadeImmutable_ReportsFailedAndRecordsAgainWhenWritable()
    {
        RootOnly.Require();
        using var recorder = HistoryRecorder.Start(Options(), new TestReasons(), TimeProvider.System, NullLogger.Instance);
        recorder.Offer(Batch(3));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == 3));
        string[] files = [_folder.Database, _folder.Database + "-wal"];
        // chattr +i: read-only even for root, and for the descriptors already open.
        Run("chattr", ["+i", .. files]);
        try
        {
            for (int i = 0; i < 50 && recorder.Status.State == HistoryState.Ok; i++)
            {
                recorder.Offer(Batch(500));
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            Assert.Equal(HistoryState.Failed, recorder.Status.State);
            Assert.Matches("read-only|not accessible|cannot be read or written", recorder.Status.Message);
            Assert.True(recorder.Status.RowsLost > 0);
        }
        finally
        {
            Run("chattr", ["-i", .. files]);
        }
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Ok), "not reopened");
        long before = recorder.Status.EventsWritten;
        recorder.Offer(Batch(2));
        Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == before + 2));
    }

    [Fact]
    public async Task Running_DiskFullThenFreed_ReportsFailedWithTheReasonThenResumes()
    {
        RootOnly.Require();
        string mount = Path.Combine(_folder.Path, "small");
        Directory.CreateDirectory(mount);
        Run("mount", ["-t", "tmpfs", "-o", "size=2m", "pm-history-test", mount]);
        try
        {
            var options = Options(o => o with { DatabasePath = Path.Combine(mount, "history.db") });
            using (var recorder = HistoryRecorder.Start(options, new TestReasons(), TimeProvider.System, NullLogger.Instance))
            {
                Assert.Equal(HistoryState.Ok, recorder.Status.State);
                for (int i = 0; i < 200 && recorder.Status.State == HistoryState.Ok; i++)
                {
                    recorder.Offer(Batch(200, i * 200));
                    await Task.Delay(20, TestContext.Current.CancellationToken);
                }
                Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Failed), "never failed");
                Assert.Contains("disk is full", recorder.Status.Message, StringComparison.Ordinal);
                Assert.True(recorder.Status.EventsWritten > 0);
                recorder.Offer(Batch(10)); // still accepted, counted as lost

                // Space freed again (the file system grown): recording resumes by itself.
                Run("mount", ["-o", "remount,size=64m", mount]);
                Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.State == HistoryState.Ok), "did not resume");
                long before = recorder.Status.EventsWritten;
                recorder.Offer(Batch(5, 1_000_000));
                Assert.True(await HistorySamples.EventuallyAsync(() => recorder.Status.EventsWritten == before + 5), "nothing written after the space came back");
            }
        }
        finally
        {
            Run("umount", [mount]);
        }
    }

    private static void Run(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Text)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Text)> Lines
        {
            get { lock (_lines) return [.. _lines]; }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
                _lines.Add((logLevel, formatter(state, exception)));
        }
    }
}
