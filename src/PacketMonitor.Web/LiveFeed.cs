using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>Payload of <c>packet_events</c>: the newest events (newest first) and how many were left out.</summary>
internal sealed record PacketEventsMessage(RawJson Events, long Omitted);

/// <summary>Payload of <c>initial_data</c>: the statistics and the last events (newest first).</summary>
internal sealed record InitialData(StatsSnapshot Stats, IReadOnlyList<EventView> Events);

/// <summary>
/// Pushes the session's live data to every hub client: <c>packet_events</c> at most once per
/// <see cref="DashboardOptions.LiveInterval"/> (10 a second) with at most
/// <see cref="DashboardOptions.LiveMaxEvents"/> events (200), the newest kept and the rest counted in
/// <c>omitted</c>; <c>stats</c> after every poll of the exact counters (once a second); <c>status</c>
/// after every start and stop.
/// </summary>
/// <remarks>
/// A slow or dead client never slows the monitor or the others. The session's feed is drained at once
/// into a window of at most 200 events, so the session never waits here. Nothing in the send loop
/// awaits a client: each connection has at most one <c>packet_events</c> and one <c>stats</c> message
/// in flight (in SignalR's per-connection pipe, bounded by its transport buffer); while one is still
/// being written, that connection skips the next ones, and the events it skips are counted in
/// <c>events_lost.slow_clients</c>. <c>status</c> (one per start or stop) is always queued. A client
/// that stops reading altogether is closed by SignalR when it has not been heard from for 30 s.
/// </remarks>
internal sealed partial class LiveFeed(MonitorSession session, IHubContext<MonitorHub> hub, DashboardOptions options, ILogger<LiveFeed> logger,
    HistoryAccess history)
    : BackgroundService
{
    /// <summary>Room in the session's feed: only references, drained continuously.</summary>
    private const int SubscriptionCapacityEvents = 64 * 1024;

    private readonly ConcurrentDictionary<string, Client> _clients = new();
    private readonly Lock _gate = new();
    private readonly List<Segment> _window = []; // oldest first
    private int _windowEvents;
    private long _omitted;
    private long _slowClientEvents;
    private long _lostSeen;
    private long _expectedNextId = 1;
    private int _statsPending;
    private MonitorSession.Subscription? _subscription;

    /// <summary>Events not sent to a client because it was still busy with an earlier message (since the last start).</summary>
    public long SlowClientEvents => Interlocked.Read(ref _slowClientEvents);

    public int ClientCount => _clients.Count;

    /// <summary>Starts sending to a connection that has the events up to <paramref name="seenThroughId"/> already.</summary>
    public void Register(string connectionId, long seenThroughId) =>
        _clients[connectionId] = new Client(connectionId) { SeenThroughId = seenThroughId };

    public void Unregister(string connectionId) => _clients.TryRemove(connectionId, out _);

    /// <summary>
    /// The statistics to show now: the session's latest snapshot with the current status (an empty one
    /// just after a start, before the first poll) and the events skipped for slow live clients.
    /// </summary>
    public StatsSnapshot CurrentStats()
    {
        var stats = session.Stats;
        var status = session.Status;
        if (status.Running)
        {
            if (stats.StartedAt != status.StartedAt)
                stats = StatsSnapshot.Stopped(DateTimeOffset.UtcNow);
            stats = stats with { Running = true, AttachMode = status.AttachMode, StartedAt = status.StartedAt };
        }
        else if (stats.Running)
        {
            stats = stats with { Running = false };
        }
        long slow = SlowClientEvents;
        if (slow > 0)
            stats = stats with { EventsLost = stats.EventsLost with { SlowClients = stats.EventsLost.SlowClients + (ulong)slow } };
        var recording = history.Status;
        return stats with { History = recording, EventsLost = stats.EventsLost with { History = (ulong)recording.EventsLost } };
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = session.Subscribe(SubscriptionCapacityEvents);
        session.StatusChanged += OnStatusChanged;
        session.StatsUpdated += OnStatsUpdated;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        session.StatusChanged -= OnStatusChanged;
        session.StatsUpdated -= OnStatsUpdated;
        _subscription?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        session.StatusChanged -= OnStatusChanged;
        session.StatsUpdated -= OnStatsUpdated;
        _subscription?.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            Task.Run(() => DrainAsync(_subscription!, stoppingToken), CancellationToken.None),
            Task.Run(() => SendLoopAsync(stoppingToken), CancellationToken.None));

    private void OnStatusChanged(MonitorStatus status)
    {
        if (status.Running)
            Interlocked.Exchange(ref _slowClientEvents, 0); // the session's own counts restart too
        // Not awaited: a busy connection queues it in its own pipe.
        Observe(hub.Clients.All.SendAsync("status", status));
    }

    private void OnStatsUpdated(StatsSnapshot stats) => Volatile.Write(ref _statsPending, 1);

    private async Task DrainAsync(MonitorSession.Subscription subscription, CancellationToken stop)
    {
        var reader = subscription.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stop))
            {
                while (reader.TryRead(out var batch))
                {
                    subscription.Release(batch.Count);
                    long firstId = FirstIdOf(batch);
                    lock (_gate)
                        Keep(batch, firstId);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Adds a batch to the window, dropping (and counting) the oldest events beyond the limit.</summary>
    private void Keep(IReadOnlyList<DropEvent> batch, long firstId)
    {
        int max = options.LiveMaxEvents;
        if (batch.Count == 0)
            return;
        if (batch.Count >= max)
        {
            _omitted += _windowEvents + (batch.Count - max);
            _window.Clear();
            _window.Add(new Segment(batch, firstId, batch.Count - max));
            _windowEvents = max;
            return;
        }
        _window.Add(new Segment(batch, firstId, 0));
        _windowEvents += batch.Count;
        while (_windowEvents > max)
        {
            var oldest = _window[0];
            int excess = _windowEvents - max;
            int available = oldest.Batch.Count - oldest.Start;
            if (available <= excess)
            {
                _window.RemoveAt(0);
                _windowEvents -= available;
                _omitted += available;
            }
            else
            {
                _window[0] = oldest with { Start = oldest.Start + excess };
                _windowEvents -= excess;
                _omitted += excess;
            }
        }
    }

    /// <summary>
    /// The id the recent-events window gave the batch's first event (the session adds a batch there,
    /// contiguously, before offering it to subscribers); 0 when it has already left the window.
    /// </summary>
    private long FirstIdOf(IReadOnlyList<DropEvent> batch)
    {
        if (batch.Count == 0)
            return 0;
        var recent = session.Recent;
        long first = 0;
        if (ReferenceEquals(recent.Find(_expectedNextId), batch[0]))
        {
            first = _expectedNextId;
        }
        else
        {
            // After a lost batch or a cleared window: look for the batch's last event, newest first.
            long last = recent.LastId;
            for (long id = last; id >= 1 && id > last - recent.Capacity; id--)
            {
                if (ReferenceEquals(recent.Find(id), batch[^1]))
                {
                    first = id - batch.Count + 1;
                    break;
                }
            }
        }
        if (first > 0)
            _expectedNextId = first + batch.Count;
        return first;
    }

    private async Task SendLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.LiveInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    SendEvents();
                    SendStats();
                }
                catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
                {
                    Log.SendFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void SendEvents()
    {
        Segment[] segments;
        int count;
        long omitted;
        lock (_gate)
        {
            segments = [.. _window];
            count = _windowEvents;
            omitted = _omitted;
            _window.Clear();
            _windowEvents = 0;
            _omitted = 0;
        }
        if (_subscription is { } subscription)
        {
            long lost = subscription.Lost; // the session counts these in slow_clients itself
            omitted += lost - _lostSeen;
            _lostSeen = lost;
        }
        if (count == 0 && omitted == 0)
            return;

        var events = NewestFirst(segments).ToList();
        long oldestId = events.Count == 0 ? 0 : events[^1].Id;
        PacketEventsMessage? shared = null;
        foreach (var client in _clients.Values)
        {
            if (client.Events is { IsCompleted: false })
            {
                Interlocked.Add(ref _slowClientEvents, count);
                continue;
            }
            PacketEventsMessage message;
            if (client.SeenThroughId > 0 && oldestId > 0 && oldestId <= client.SeenThroughId)
            {
                // Just connected: leave out what its initial_data already had.
                long seen = client.SeenThroughId;
                message = new PacketEventsMessage(EventJson.Array(events.Where(e => e.Id == 0 || e.Id > seen)), omitted);
            }
            else
            {
                client.SeenThroughId = 0;
                message = shared ??= new PacketEventsMessage(EventJson.Array(events), omitted);
            }
            client.Events = Observe(hub.Clients.Client(client.ConnectionId).SendAsync("packet_events", message));
        }
    }

    private void SendStats()
    {
        if (Interlocked.Exchange(ref _statsPending, 0) == 0)
            return;
        var stats = CurrentStats();
        foreach (var client in _clients.Values)
        {
            if (client.Stats is { IsCompleted: false })
                continue; // the next second's statistics supersede these
            client.Stats = Observe(hub.Clients.Client(client.ConnectionId).SendAsync("stats", stats));
        }
    }

    private static IEnumerable<(long Id, DropEvent Event)> NewestFirst(Segment[] segments)
    {
        for (int s = segments.Length - 1; s >= 0; s--)
        {
            var (batch, firstId, start) = segments[s];
            for (int i = batch.Count - 1; i >= start; i--)
                yield return (firstId == 0 ? 0 : firstId + i, batch[i]);
        }
    }

    private Task Observe(Task send)
    {
        if (!send.IsCompleted)
            _ = send.ContinueWith(static (t, state) => Log.SendFailed((ILogger)state!, t.Exception!.GetBaseException().Message),
                logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        else if (send.IsFaulted)
            Log.SendFailed(logger, send.Exception!.GetBaseException().Message);
        return send;
    }

    private readonly record struct Segment(IReadOnlyList<DropEvent> Batch, long FirstId, int Start);

    private sealed class Client(string connectionId)
    {
        public string ConnectionId { get; } = connectionId;
        public Task? Events { get; set; }
        public Task? Stats { get; set; }

        /// <summary>Newest event id its initial_data had; 0 once the feed has moved past it.</summary>
        public long SeenThroughId { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Sending to a live client failed: {Reason}")]
        public static partial void SendFailed(ILogger logger, string reason);
    }
}
