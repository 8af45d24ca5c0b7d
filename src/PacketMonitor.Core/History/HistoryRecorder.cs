using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.History;

/// <summary>
/// Records drops into the history database from a thread of its own, off the capture's path: events
/// arrive through a bounded queue (a full queue loses the batch and counts it, stage "history"), the
/// exact counters as per-second deltas. Every <see cref="HistoryOptions.FlushInterval"/>, or sooner when
/// <see cref="HistoryOptions.MaxBatchEvents"/> are waiting, one transaction commits them; every
/// <see cref="HistoryOptions.MaintenanceInterval"/> retention and the size limit are enforced.
/// </summary>
/// <remarks>
/// A database that cannot be opened or written (corrupt, read-only, disk full, deleted) is logged once
/// as an error and the state becomes <see cref="HistoryState.Failed"/>: monitoring goes on, what arrives is
/// counted as lost, and the database is tried again every <see cref="HistoryOptions.ReopenInterval"/>.
/// Nothing here ever throws at the caller after construction.
/// </remarks>
public sealed partial class HistoryRecorder : IDisposable
{
    private const int MaxPendingCountSnapshots = 600;

    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CounterDeltas _deltas;
    private readonly Func<uint, uint, string?>? _interfaceFallback;
    private readonly ChannelReader<IReadOnlyList<DropEvent>> _events;
    private readonly Action<int> _release;
    private readonly EventBacklog? _ownQueue;
    private readonly MonitorSession? _session;
    private readonly MonitorSession.Subscription? _subscription;
    private readonly ConcurrentQueue<IReadOnlyList<CountRow>> _counts = new();
    private readonly Dictionary<(uint Ifindex, uint Netns), string> _interfaceNames = [];
    private readonly Lock _deltasGate = new();
    private readonly Lock _statusGate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _writer;

    private HistoryDatabase? _database;
    private HistoryState _state = HistoryState.Ok;
    private string? _message;
    private long _rowsWritten;
    private long _eventsWritten;
    private long _eventsLost;
    private long _countRowsLost;
    private long _databaseBytes;
    private DateTimeOffset? _lastWrite;
    private bool _disposed;

    private HistoryRecorder(HistoryOptions options, IReasonNames reasons, TimeProvider? time, ILogger logger,
        Func<uint, uint, string?>? interfaceFallback, MonitorSession? session)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reasons);
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger;
        _deltas = new CounterDeltas(reasons);
        _interfaceFallback = interfaceFallback;
        Reader = new HistoryReader(options.DatabasePath);
        if (session is null)
        {
            _ownQueue = new EventBacklog(options.QueueCapacityEvents);
            _events = _ownQueue.Reader;
            _release = _ownQueue.Release;
        }
        else
        {
            _session = session;
            _subscription = session.Subscribe(options.QueueCapacityEvents, countAsSlowClients: false);
            _events = _subscription.Reader;
            _release = _subscription.Release;
            session.CountersRead += OnCountersRead;
        }
        TryOpen(firstTime: true);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "history-writer" };
        _writer.Start();
    }

    /// <summary>Records what <see cref="Offer"/> and <see cref="RecordCounters"/> are given (<c>watch --history</c>).</summary>
    public static HistoryRecorder Start(HistoryOptions options, IReasonNames reasons, TimeProvider? time, ILogger logger,
        Func<uint, uint, string?>? interfaceFallback = null) =>
        new(options, reasons, time, logger, interfaceFallback, session: null);

    /// <summary>Records a session's events (as a subscriber of its fan-out) and its counters (<c>serve</c>).</summary>
    public static HistoryRecorder Start(MonitorSession session, HistoryOptions options, TimeProvider? time, ILogger logger,
        Func<uint, uint, string?>? interfaceFallback = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new(options, session.Reasons, time, logger, interfaceFallback, session);
    }

    /// <summary>Queries of the same database (usable whatever the recorder's state).</summary>
    public HistoryReader Reader { get; }

    public HistoryOptions Options => _options;

    /// <summary>Events not recorded (queue full, or the database failed): stage "history" of the event losses.</summary>
    public long EventsLost => Interlocked.Read(ref _eventsLost) + (_subscription?.Lost ?? 0);

    /// <summary>Events and count rows not recorded.</summary>
    public long RowsLost => EventsLost + Interlocked.Read(ref _countRowsLost);

    public HistoryStatus Status
    {
        get
        {
            lock (_statusGate)
            {
                return new HistoryStatus
                {
                    State = _state,
                    Message = _message,
                    Path = _options.DatabasePath,
                    RowsWritten = _rowsWritten,
                    EventsWritten = _eventsWritten,
                    RowsLost = RowsLost,
                    EventsLost = EventsLost,
                    DatabaseBytes = _databaseBytes,
                    MaxDatabaseBytes = _options.MaxDatabaseBytes,
                    RetentionSeconds = (long)_options.Retention.TotalSeconds,
                    LastWrite = _lastWrite,
                };
            }
        }
    }

    /// <summary>Queues a batch of events without waiting; a batch that does not fit is counted as lost.</summary>
    public void Offer(IReadOnlyList<DropEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_ownQueue is null)
            throw new InvalidOperationException("this recorder takes its events from the monitor session");
        if (!_ownQueue.Writer.TryWrite(batch))
            Interlocked.Add(ref _eventsLost, batch.Count);
    }

    /// <summary>Queues the drops since the previous snapshot of the same capture (cheap; never waits).</summary>
    private void OnCountersRead(CounterReading reading) => RecordCounters(reading.Counters, reading.StartedAt);

    public void RecordCounters(CounterSnapshot snapshot, DateTimeOffset captureStartedAt)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_options.Netns is uint netns)
            snapshot = snapshot with { Entries = snapshot.Entries.Where(e => e.Netns == netns).ToList() };
        IReadOnlyList<CountRow> rows;
        lock (_deltasGate)
            rows = _deltas.Next(snapshot, captureStartedAt);
        if (rows.Count == 0)
            return;
        if (_counts.Count >= MaxPendingCountSnapshots)
        {
            Interlocked.Add(ref _countRowsLost, rows.Count);
            return;
        }
        _counts.Enqueue(rows);
    }

    private void WriteLoop()
    {
        try
        {
            WriteUntilStopped();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Fail(e); // the writer is gone: what arrives from now on waits in a full queue and is counted as lost
        }
        finally
        {
            _database?.Dispose();
            _database = null;
        }
    }

    private void WriteUntilStopped()
    {
        var batches = new List<IReadOnlyList<DropEvent>>();
        var counts = new List<CountRow>();
        var nextMaintenance = _time.GetUtcNow();
        var nextReopen = nextMaintenance + _options.ReopenInterval;
        bool draining = false;
        // A batch stays a small part of the size limit (assuming at most 512 bytes an event), so that the
        // check after each commit keeps the file close to its limit even with a small --max-db-size.
        int maxBatch = (int)Math.Clamp(_options.MaxDatabaseBytes / 20 / 512, 100, _options.MaxBatchEvents);
        while (true)
        {
            int events = 0;
            var flushAt = _time.GetUtcNow() + _options.FlushInterval;
            while (events < maxBatch)
            {
                if (_events.TryRead(out var batch))
                {
                    _release(batch.Count);
                    batches.Add(batch);
                    events += batch.Count;
                    continue;
                }
                var wait = flushAt - _time.GetUtcNow();
                if (draining || wait <= TimeSpan.Zero)
                    break;
                if (!WaitForEvents(wait))
                {
                    draining = true; // stopping or the feed completed: one more pass takes what is left
                }
            }
            while (_counts.TryDequeue(out var rows))
                counts.AddRange(rows);
            if (events > 0 || counts.Count > 0)
                Flush(batches, events, counts);
            var now = _time.GetUtcNow();
            // Growing fast: enforce the size limit now rather than at the next periodic pass.
            if (_database is not null && (events > 0 || counts.Count > 0) && AboveWatermark(_database))
                nextMaintenance = now;
            if (_database is null && now >= nextReopen)
            {
                nextReopen = now + _options.ReopenInterval;
                if (!draining)
                    TryOpen(firstTime: false);
            }
            if (_database is not null && now >= nextMaintenance)
            {
                nextMaintenance = now + _options.MaintenanceInterval;
                Maintain(now);
            }
            batches.Clear();
            counts.Clear();
            if (draining && !_events.TryPeek(out _) && _counts.IsEmpty)
                break;
        }
    }

    /// <summary>Waits for events until the timeout; false when stopping or the feed has completed.</summary>
    private bool WaitForEvents(TimeSpan timeout)
    {
        if (_stop.IsCancellationRequested)
            return false;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        wait.CancelAfter(timeout);
        try
        {
            return _events.WaitToReadAsync(wait.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return !_stop.IsCancellationRequested;
        }
    }

    private void Flush(List<IReadOnlyList<DropEvent>> batches, int events, List<CountRow> counts)
    {
        var database = _database;
        if (database is null)
        {
            Interlocked.Add(ref _eventsLost, events);
            Interlocked.Add(ref _countRowsLost, counts.Count);
            return;
        }
        foreach (var batch in batches)
        {
            foreach (var e in batch)
            {
                if (e.Ifname.Length > 0)
                    _interfaceNames[(e.Ifindex, e.Netns)] = e.Ifname;
            }
        }
        try
        {
            long rows = database.Write(batches, counts, InterfaceName);
            database.CheckpointIfLarge();
            long bytes = database.FileBytes();
            lock (_statusGate)
            {
                _rowsWritten += rows;
                _eventsWritten += events;
                _databaseBytes = bytes;
                _lastWrite = _time.GetUtcNow();
            }
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            Interlocked.Add(ref _eventsLost, events);
            Interlocked.Add(ref _countRowsLost, counts.Count);
            Fail(e);
        }
    }

    private void Maintain(DateTimeOffset now)
    {
        try
        {
            var result = _database!.Maintain(now, _options.Retention, _options.MaxDatabaseBytes, _options.SizeHighWatermark, _options.SizeLowWatermark);
            lock (_statusGate)
                _databaseBytes = result.DatabaseBytes;
            if (result.EventsDeleted + result.SecondRowsDeleted + result.MinuteRowsDeleted > 0)
                Log.Deleted(_logger, result.EventsDeleted, result.SecondRowsDeleted, result.MinuteRowsDeleted, result.DatabaseBytes);
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            Fail(e);
        }
    }

    private bool AboveWatermark(HistoryDatabase database)
    {
        try
        {
            return database.AboveWatermark(_options.MaxDatabaseBytes, _options.SizeHighWatermark);
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            return true; // the maintenance pass will report it
        }
    }

    private string? InterfaceName(uint ifindex, uint netns) =>
        _interfaceNames.TryGetValue((ifindex, netns), out var name) ? name : _interfaceFallback?.Invoke(ifindex, netns);

    private void TryOpen(bool firstTime)
    {
        try
        {
            var database = HistoryDatabase.Open(_options.DatabasePath, _options.MaxDatabaseBytes);
            long bytes = database.FileBytes();
            _database = database;
            bool recovered;
            lock (_statusGate)
            {
                recovered = _state == HistoryState.Failed;
                _state = HistoryState.Ok;
                _message = null;
                _databaseBytes = bytes;
            }
            if (recovered)
                Log.Recovered(_logger, _options.DatabasePath);
            else if (firstTime)
                Log.Recording(_logger, _options.DatabasePath);
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            Fail(e);
        }
    }

    private void Fail(Exception e)
    {
        string message = HistoryDatabase.Describe(_options.DatabasePath, e).Message;
        _database?.Dispose();
        _database = null;
        bool changed;
        lock (_statusGate)
        {
            changed = _state != HistoryState.Failed || _message != message;
            _state = HistoryState.Failed;
            _message = message;
        }
        // Once per distinct problem: a database that stays broken is retried quietly.
        if (changed)
            Log.Failed(_logger, message);
    }

    /// <summary>
    /// Whatever goes wrong while writing ends recording, never the process: the writer thread has no caller
    /// to hand an exception to, and an unhandled one would take monitoring down with it.
    /// </summary>
    private static bool IsDatabaseFailure(Exception e) => e is not OutOfMemoryException;

    /// <summary>Commits what is queued (up to a few seconds' worth), closes the database and detaches from the session.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_session is not null)
            _session.CountersRead -= OnCountersRead;
        _subscription?.Dispose();
        _ownQueue?.Writer.TryComplete();
        _stop.Cancel();
        if (!_writer.Join(TimeSpan.FromSeconds(15)))
            Log.SlowStop(_logger);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Recording history into {Path}")]
        public static partial void Recording(ILogger logger, string path);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Message}; monitoring goes on without history")]
        public static partial void Failed(ILogger logger, string message);

        [LoggerMessage(Level = LogLevel.Warning, Message = "History database {Path} works again: recording resumed")]
        public static partial void Recovered(ILogger logger, string path);

        [LoggerMessage(Level = LogLevel.Debug, Message = "History retention: deleted {Events} events, {Seconds} per-second and {Minutes} per-minute rows; database now {Bytes} bytes")]
        public static partial void Deleted(ILogger logger, long events, long seconds, long minutes, long bytes);

        [LoggerMessage(Level = LogLevel.Warning, Message = "The history writer did not finish within 15 s; the last batch may be lost")]
        public static partial void SlowStop(ILogger logger);
    }
}
