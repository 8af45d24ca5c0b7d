using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Monitoring;

/// <summary>The state everyone sees: running or not, how it attached, since when.</summary>
public sealed record MonitorStatus(bool Running, string? AttachMode, DateTimeOffset? StartedAt);

/// <summary>
/// The one owner of the capture. Start and Stop are idempotent and safe from any caller
/// (CLI, HTTP, SignalR). While running, a pump fans each batch of events out to the recent-events
/// ring, the statistics and every subscriber, never waiting on any of them (a full subscriber
/// loses the batch and the loss is counted), and a poller turns the exact kernel counters into a
/// <see cref="StatsSnapshot"/> once a second.
/// </summary>
public sealed partial class MonitorSession : IAsyncDisposable
{
    private const int SourceBacklogEvents = 256 * 1024;

    private readonly IDropSource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _statsGate = new();
    private readonly StatisticsCalculator _calculator;
    private readonly List<Subscription> _subscribers = [];
    private readonly Lock _subscribersGate = new();
    private readonly TimeSpan _pollInterval;
    private readonly IBlindSpotSampler? _blindSpots;
    private readonly BlindSpotTracker _blindSpotTracker = new();

    private IActiveCapture? _capture;
    private Task? _pump;
    private CancellationTokenSource? _pollStop;
    private Task? _poller;
    private ulong _slowClientLosses;
    private long _captureNumber;

    /// <param name="blindSpots">Device and softnet counters sampled with every poll (<see cref="StatsSnapshot.BlindSpots"/>); none when null.</param>
    public MonitorSession(IDropSource source, TimeProvider time, ILogger<MonitorSession> logger,
        int recentCapacity = RecentEvents.DefaultCapacity, TimeSpan? pollInterval = null, IBlindSpotSampler? blindSpots = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _time = time ?? TimeProvider.System;
        _logger = logger;
        _calculator = new StatisticsCalculator(source.Reasons);
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _blindSpots = blindSpots;
        Recent = new RecentEvents(recentCapacity);
        Stats = StatsSnapshot.Stopped(_time.GetUtcNow());
        Status = new MonitorStatus(false, null, null);
    }

    public MonitorStatus Status { get; private set; }

    /// <summary>The latest statistics (updated once a second while running; kept after stop).</summary>
    public StatsSnapshot Stats { get; private set; }

    public RecentEvents Recent { get; }

    public IReasonNames Reasons => _source.Reasons;

    /// <summary>Raised after every start or stop (from the caller's thread).</summary>
    public event Action<MonitorStatus>? StatusChanged;

    /// <summary>Raised once a second while running (from the poller).</summary>
    public event Action<StatsSnapshot>? StatsUpdated;

    /// <summary>
    /// Raised with every read of the exact counters: once a second while running and once more at stop
    /// (the capture's final totals), so that a consumer can keep totals monotonic across captures.
    /// </summary>
    public event Action<CounterReading>? CountersRead;

    public async Task<MonitorStatus> StartAsync(CancellationToken cancel = default)
    {
        await _gate.WaitAsync(cancel);
        try
        {
            if (_capture is not null)
                return Status;
            var backlog = new EventBacklog(SourceBacklogEvents);
            var capture = _source.Start(backlog.Writer);
            _capture = capture;
            var startedAt = _time.GetUtcNow();
            var blindSpotBaseline = SampleBlindSpots();
            lock (_statsGate)
            {
                _calculator.Reset();
                _slowClientLosses = 0;
                _captureNumber++;
                _blindSpotTracker.Reset();
                if (blindSpotBaseline is not null)
                    _blindSpotTracker.Observe(blindSpotBaseline, _blindSpots!.Coverage);
            }
            Status = new MonitorStatus(true, capture.AttachMode, startedAt);
            _pump = Task.Run(() => PumpAsync(backlog), CancellationToken.None);
            _pollStop = new CancellationTokenSource();
            _poller = Task.Run(() => PollAsync(capture, startedAt, _pollStop.Token), CancellationToken.None);
            Log.Started(_logger, capture.AttachMode);
        }
        finally
        {
            _gate.Release();
        }
        StatusChanged?.Invoke(Status);
        return Status;
    }

    public async Task<MonitorStatus> StopAsync(CancellationToken cancel = default)
    {
        await _gate.WaitAsync(cancel);
        try
        {
            if (_capture is null)
                return Status;
            var capture = _capture;
            _capture = null;
            await _pollStop!.CancelAsync();
            await _poller!;
            UpdateStats(capture, Status.StartedAt ?? _time.GetUtcNow()); // final exact totals
            capture.Dispose(); // detaches; the source completes the backlog
            await _pump!;
            _pollStop.Dispose();
            Status = new MonitorStatus(false, null, null);
            lock (_statsGate)
                Stats = Stats with { Running = false };
            Log.Stopped(_logger);
        }
        finally
        {
            _gate.Release();
        }
        StatusChanged?.Invoke(Status);
        return Status;
    }

    /// <summary>A live feed of event batches; batches that do not fit in <paramref name="capacityEvents"/> are counted as lost.</summary>
    /// <param name="countAsSlowClients">
    /// Whether this subscriber's losses are part of <c>events_lost.slow_clients</c>; a subscriber that reports its
    /// losses as a stage of its own (history) passes false and reads <see cref="Subscription.Lost"/>.
    /// </param>
    public Subscription Subscribe(int capacityEvents = 10_000, bool countAsSlowClients = true)
    {
        var subscription = new Subscription(this, new EventBacklog(capacityEvents), countAsSlowClients);
        lock (_subscribersGate)
            _subscribers.Add(subscription);
        return subscription;
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_subscribersGate)
            _subscribers.Remove(subscription);
    }

    private async Task PumpAsync(EventBacklog backlog)
    {
        var reader = backlog.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var batch))
            {
                backlog.Release(batch.Count);
                Recent.Add(batch);
                lock (_statsGate)
                    _calculator.Observe(batch);
                Subscription[] subscribers;
                lock (_subscribersGate)
                    subscribers = [.. _subscribers];
                foreach (var s in subscribers)
                    s.Offer(batch);
            }
        }
    }

    private async Task PollAsync(IActiveCapture capture, DateTimeOffset startedAt, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_pollInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var stats = UpdateStats(capture, startedAt);
                StatsUpdated?.Invoke(stats);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.PollFailed(_logger, e.Message);
        }
    }

    private StatsSnapshot UpdateStats(IActiveCapture capture, DateTimeOffset startedAt)
    {
        var counters = capture.ReadCounters();
        var locations = capture.Locations(counters);
        var sourceLosses = capture.ReadLosses();
        StatsSnapshot stats;
        CounterReading reading;
        var blindSpots = SampleBlindSpots();
        lock (_statsGate)
        {
            var losses = new LossStats(sourceLosses.RingBufferFull, sourceLosses.QueueFull, _slowClientLosses, sourceLosses.Filtered);
            Stats = stats = _calculator.Compute(counters, locations, losses, capture.AttachMode, startedAt) with
            {
                BlindSpots = blindSpots is null ? null : _blindSpotTracker.Observe(blindSpots, _blindSpots!.Coverage),
            };
            reading = new CounterReading(_captureNumber, counters, losses, startedAt);
        }
        CountersRead?.Invoke(reading);
        return stats;
    }

    /// <summary>One reading of the device and softnet counters; null without a sampler or when it failed.</summary>
    private BlindSpotSample? SampleBlindSpots()
    {
        try
        {
            return _blindSpots?.Sample();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.BlindSpotsFailed(_logger, e.Message);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _gate.Dispose();
    }

    /// <summary>One consumer of the live feed (a SignalR broadcaster, a test).</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly MonitorSession _session;
        private readonly EventBacklog _backlog;
        private readonly bool _countAsSlowClients;
        private long _lost;

        internal Subscription(MonitorSession session, EventBacklog backlog, bool countAsSlowClients)
        {
            _session = session;
            _backlog = backlog;
            _countAsSlowClients = countAsSlowClients;
        }

        public ChannelReader<IReadOnlyList<DropEvent>> Reader => _backlog.Reader;

        /// <summary>Events this subscriber was too slow to take.</summary>
        public long Lost => Interlocked.Read(ref _lost);

        /// <summary>Call after taking a batch from <see cref="Reader"/> to free its room.</summary>
        public void Release(int events) => _backlog.Release(events);

        internal void Offer(IReadOnlyList<DropEvent> batch)
        {
            if (_backlog.Writer.TryWrite(batch))
                return;
            Interlocked.Add(ref _lost, batch.Count);
            if (!_countAsSlowClients)
                return;
            lock (_session._statsGate)
                _session._slowClientLosses += (ulong)batch.Count;
        }

        public void Dispose()
        {
            _session.Unsubscribe(this);
            _backlog.Writer.TryComplete();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Monitoring started ({Mode})")]
        public static partial void Started(ILogger logger, string mode);

        [LoggerMessage(Level = LogLevel.Information, Message = "Monitoring stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the kernel counters failed: {Reason}")]
        public static partial void PollFailed(ILogger logger, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the device and softnet counters failed: {Reason}")]
        public static partial void BlindSpotsFailed(ILogger logger, string reason);
    }
}
