using System.Diagnostics.CodeAnalysis;

namespace PacketMonitor.Kernel.Attribution;

/// <summary>When a <see cref="RefreshingTable{TKey,TValue}"/> reloads and how long a lookup may wait for it.</summary>
internal sealed record RefreshPolicy
{
    /// <summary>Loads start at most this often, however many misses ask for one.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Lookups that miss may wait for a load that is running (or can start at once), but all of them
    /// together wait at most this long per load: the reader thread is never held up for longer.
    /// </summary>
    public TimeSpan WaitBudget { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>A key that a load started after its miss did not find is not looked for again for this long.</summary>
    public TimeSpan UnknownFor { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A table older than this is reloaded in the background on the next lookup (names and owners change).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A lookup table read from the system (procfs, cgroupfs, /run/netns), replaced as a whole by each
/// load. Hits are lock-free reads of the current table. A miss asks for a load on a background
/// thread, rate-limited by <see cref="RefreshPolicy.MinInterval"/>, and waits for it only within
/// <see cref="RefreshPolicy.WaitBudget"/>; keys that stay unknown are remembered for a while so
/// they do not keep asking. Every collection is bounded.
/// </summary>
internal sealed class RefreshingTable<TKey, TValue> : IDisposable where TKey : notnull
{
    private const int MaxMissed = 4096;
    private const int MaxUnknown = 65_536;
    private const uint AgeCheckHits = 1024; // the table's age is checked once per this many hits, not per hit

    private readonly Func<Dictionary<TKey, TValue>> _load;
    private readonly RefreshPolicy _policy;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, long> _missed = [];      // key -> when it was missed (timestamp)
    // Read without the lock on every miss of an unknown key (a socket whose owner is not visible).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TKey, long> _unknownUntil = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationToken _stopToken;
    private volatile Dictionary<TKey, TValue> _table = [];
    private long _loadedAt;                                    // start of the load that made _table
    private long? _lastStart;
    private bool _loading;
    private bool _loopRunning;
    private bool _staleRequested;
    private TaskCompletionSource _loadDone = NewSignal();      // completes when the running (or next) load ends
    private int _loads;
    private uint _hits;

    public RefreshingTable(Func<Dictionary<TKey, TValue>> load, RefreshPolicy policy, TimeProvider time)
    {
        _load = load;
        _policy = policy;
        _time = time;
        _stopToken = _stop.Token;
    }

    /// <summary>Loads completed so far.</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>Entries in the current table.</summary>
    public int Count => _table.Count;

    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_table.TryGetValue(key, out value))
        {
            if (++_hits % AgeCheckHits == 0 && Volatile.Read(ref _loads) > 0
                && _time.GetElapsedTime(Volatile.Read(ref _loadedAt)) > _policy.MaxAge)
                RequestStaleReload();
            return true;
        }
        if (_unknownUntil.TryGetValue(key, out long until) && _time.GetTimestamp() < until)
            return false;

        Task waitFor;
        TimeSpan budget;
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            _unknownUntil.TryRemove(key, out _);
            if (_missed.Count < MaxMissed)
                _missed.TryAdd(key, now);
            EnsureLoop();
            // Wait only for a load that runs now or may start now, and only within its budget.
            budget = _loading ? _policy.WaitBudget - SinceLastStart()
                : UntilNextStart() <= TimeSpan.Zero ? _policy.WaitBudget
                : TimeSpan.Zero;
            waitFor = _loadDone.Task;
            if (budget <= TimeSpan.Zero)
            {
                // Nothing to wait for yet: let this key's next misses return at once until a load can have seen it.
                MarkUnknown(key, now, _loading ? _policy.WaitBudget : UntilNextStart());
            }
        }
        if (budget > TimeSpan.Zero)
            waitFor.Wait(budget, CancellationToken.None);
        return _table.TryGetValue(key, out value);
    }

    // Under _gate.
    private TimeSpan SinceLastStart() => _lastStart is long start ? _time.GetElapsedTime(start) : TimeSpan.MaxValue;

    // Under _gate.
    private TimeSpan UntilNextStart() => _lastStart is null ? TimeSpan.Zero : _policy.MinInterval - SinceLastStart();

    /// <summary>Starts a load in the background now, so the first lookups find a table.</summary>
    public void Preload() => RequestStaleReload();

    private void RequestStaleReload()
    {
        lock (_gate)
        {
            if (_staleRequested)
                return;
            _staleRequested = true;
            EnsureLoop();
        }
    }

    // Under _gate.
    private void EnsureLoop()
    {
        if (_loopRunning || _stopToken.IsCancellationRequested)
            return;
        _loopRunning = true;
        _ = Task.Run(LoopAsync);
    }

    /// <summary>Loads while misses (or an old table) ask for it, at most once per MinInterval; then ends.</summary>
    private async Task LoopAsync()
    {
        while (true)
        {
            TaskCompletionSource done;
            long start;
            TimeSpan wait;
            lock (_gate)
            {
                if ((_missed.Count == 0 && !_staleRequested) || _stopToken.IsCancellationRequested)
                {
                    _loopRunning = false;
                    return;
                }
                wait = UntilNextStart();
                start = _time.GetTimestamp();
                done = _loadDone;
                if (wait <= TimeSpan.Zero)
                {
                    _lastStart = start;
                    _loading = true;
                    _staleRequested = false;
                }
            }
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, _stopToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    lock (_gate)
                        _loopRunning = false;
                    return;
                }
                continue;
            }

            Dictionary<TKey, TValue>? table = null;
            try
            {
                table = _load();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Keep the previous table; the next miss or age check tries again.
            }
            Finish(start, table);
            done.TrySetResult();
        }
    }

    private void Finish(long start, Dictionary<TKey, TValue>? table)
    {
        lock (_gate)
        {
            if (table is not null)
            {
                _table = table;
                Volatile.Write(ref _loadedAt, start);
            }
            // Keys missed before this load began and still absent are unknown for a while.
            foreach (var (key, missedAt) in _missed.ToList())
            {
                if (missedAt > start)
                    continue; // missed while it ran: the next load looks again
                _missed.Remove(key);
                if (_table.ContainsKey(key))
                    continue;
                MarkUnknown(key, start, _policy.UnknownFor);
            }
            _loading = false;
            _loadDone = NewSignal();
            Interlocked.Increment(ref _loads);
        }
    }

    // Under _gate. Bounded: a flood of distinct unknown keys clears it rather than growing it.
    private void MarkUnknown(TKey key, long from, TimeSpan duration)
    {
        if (_unknownUntil.Count >= MaxUnknown)
            _unknownUntil.Clear();
        _unknownUntil[key] = from + (long)(Math.Max(duration.TotalSeconds, 0) * _time.TimestampFrequency);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
