namespace PacketMonitor.Core.BlindSpots;

/// <summary>
/// Turns successive <see cref="BlindSpotSample"/>s into totals since the first sample and rates over the
/// last interval. Not thread-safe: one caller (the session's poller, or the summary loop).
/// </summary>
/// <remarks>
/// Device counters are 64-bit and only grow; one that goes back (a driver that resets its statistics, a
/// device re-created with the same index) restarts from its new value without counting anything, so no
/// drop is ever invented. softnet_stat columns are 32-bit and wrap around: their deltas are taken modulo
/// 2^32. A device or CPU seen for the first time is counted from that sample on.
/// </remarks>
public sealed class BlindSpotTracker
{
    /// <summary>Most devices listed in <see cref="BlindSpotStats.Interfaces"/>: the ones with the most drops.</summary>
    public const int MaxInterfacesShown = 64;

    /// <summary>Most devices followed at once (a bound on memory; the rest are counted but not followed).</summary>
    public const int MaxInterfacesTracked = 4096;

    private const int MaxMissedSamples = 5;

    private readonly Dictionary<(uint Netns, int Ifindex), DeviceState> _devices = [];
    private readonly Dictionary<int, SoftnetCounters> _cpus = [];
    private DateTimeOffset? _lastTaken;
    private ulong _softnetDropped, _timeSqueeze, _flowLimit;

    public void Reset()
    {
        _devices.Clear();
        _cpus.Clear();
        _lastTaken = null;
        _softnetDropped = _timeSqueeze = _flowLimit = 0;
    }

    /// <summary>Adds a sample and returns the totals and rates it makes.</summary>
    public BlindSpotStats Observe(BlindSpotSample sample, string coverage)
    {
        ArgumentNullException.ThrowIfNull(sample);
        bool first = _lastTaken is null;
        double seconds = first ? 0 : Math.Max((sample.Taken - _lastTaken!.Value).TotalSeconds, 0.001);
        _lastTaken = sample.Taken;

        var present = new HashSet<(uint, int)>();
        foreach (var device in sample.Interfaces)
        {
            var key = (device.Netns, device.Ifindex);
            if (!present.Add(key))
                continue;
            if (_devices.TryGetValue(key, out var state))
                state.Advance(device);
            else if (_devices.Count < MaxInterfacesTracked)
                _devices[key] = new DeviceState(device);
        }
        // A device missing from a namespace that was read is gone. A whole namespace may be missing for one
        // failed read: its devices keep their totals for a few samples before they are forgotten.
        var namespacesRead = sample.Interfaces.Select(i => i.Netns).ToHashSet();
        foreach (var (key, state) in _devices.Where(d => !present.Contains(d.Key)).ToList())
        {
            if (namespacesRead.Contains(key.Netns) || state.MissOne() > MaxMissedSamples)
                _devices.Remove(key);
        }

        var (dropped, squeeze, flowLimit, hasFlowLimit) = AdvanceSoftnet(sample.Softnet);

        var devices = _devices.Values.ToList();
        var shown = devices
            .OrderByDescending(d => d.Total.RxDropped + d.Total.TxDropped + d.Total.RxMissed)
            .ThenByDescending(d => d.Delta.RxDropped + d.Delta.TxDropped + d.Delta.RxMissed)
            .ThenBy(d => d.Current.Netns).ThenBy(d => d.Current.Ifindex)
            .Take(MaxInterfacesShown)
            .Select(d => d.View(seconds))
            .ToList();

        return new BlindSpotStats
        {
            Coverage = coverage ?? "",
            Namespaces = sample.Interfaces.Select(i => i.Netns).Distinct().Count(),
            InterfaceCount = present.Count,
            Interfaces = shown,
            AllInterfaces = new InterfaceTotals(
                Sum(devices, d => d.Total.RxDropped, d => d.Delta.RxDropped, seconds),
                Sum(devices, d => d.Total.TxDropped, d => d.Delta.TxDropped, seconds),
                Sum(devices, d => d.Total.RxMissed, d => d.Delta.RxMissed, seconds),
                Sum(devices, d => d.Total.RxFifo, d => d.Delta.RxFifo, seconds)),
            Softnet = new SoftnetBlindSpot(sample.Softnet.Count,
                Rate(_softnetDropped, dropped, seconds),
                Rate(_timeSqueeze, squeeze, seconds),
                hasFlowLimit ? Rate(_flowLimit, flowLimit, seconds) : null),
            Problems = sample.Problems,
        };
    }

    private (ulong Dropped, ulong Squeeze, ulong FlowLimit, bool HasFlowLimit) AdvanceSoftnet(IReadOnlyList<SoftnetCounters> rows)
    {
        ulong dropped = 0, squeeze = 0, flowLimit = 0;
        bool hasFlowLimit = rows.Count > 0;
        var present = new HashSet<int>();
        foreach (var row in rows)
        {
            hasFlowLimit &= row.FlowLimit is not null;
            if (!present.Add(row.Cpu))
                continue;
            if (_cpus.TryGetValue(row.Cpu, out var before))
            {
                // 32-bit counters: the difference modulo 2^32 is right across one wrap-around.
                dropped += unchecked(row.Dropped - before.Dropped);
                squeeze += unchecked(row.TimeSqueeze - before.TimeSqueeze);
                if (row.FlowLimit is uint limit && before.FlowLimit is uint limitBefore)
                    flowLimit += unchecked(limit - limitBefore);
            }
            _cpus[row.Cpu] = row;
        }
        // A CPU that went offline keeps its last values: when it comes back its counters continue from there.
        _softnetDropped += dropped;
        _timeSqueeze += squeeze;
        _flowLimit += flowLimit;
        return (dropped, squeeze, flowLimit, hasFlowLimit);
    }

    private static CounterRate Rate(ulong total, ulong delta, double seconds) =>
        new(total, seconds > 0 ? Math.Round(delta / seconds, 1) : 0);

    private static CounterRate Sum(List<DeviceState> devices, Func<DeviceState, ulong> total, Func<DeviceState, ulong> delta, double seconds)
    {
        ulong t = 0, d = 0;
        foreach (var device in devices)
        {
            t += total(device);
            d += delta(device);
        }
        return Rate(t, d, seconds);
    }

    private sealed class DeviceState(InterfaceCounters first)
    {
        public InterfaceCounters Current { get; private set; } = first;
        public DeviceCounters Total { get; private set; }
        public DeviceCounters Delta { get; private set; }
        public int Missed { get; private set; }

        /// <summary>Not in this sample: nothing moved; returns how many samples in a row it was missing.</summary>
        public int MissOne()
        {
            Delta = default;
            return ++Missed;
        }

        public void Advance(InterfaceCounters now)
        {
            Missed = 0;
            DeviceCounters was = Current.Counters, @is = now.Counters;
            Delta = new DeviceCounters(
                Grow(was.RxDropped, @is.RxDropped), Grow(was.TxDropped, @is.TxDropped), Grow(was.RxMissed, @is.RxMissed),
                Grow(was.RxFifo, @is.RxFifo), Grow(was.TxFifo, @is.TxFifo), Grow(was.RxErrors, @is.RxErrors), Grow(was.TxErrors, @is.TxErrors));
            Total = new DeviceCounters(
                Total.RxDropped + Delta.RxDropped, Total.TxDropped + Delta.TxDropped, Total.RxMissed + Delta.RxMissed,
                Total.RxFifo + Delta.RxFifo, Total.TxFifo + Delta.TxFifo, Total.RxErrors + Delta.RxErrors, Total.TxErrors + Delta.TxErrors);
            Current = now;
        }

        public InterfaceBlindSpot View(double seconds) => new(
            Current.Name, Current.Ifindex, Current.Netns, Current.NetnsName,
            Rate(Total.RxDropped, Delta.RxDropped, seconds), Rate(Total.TxDropped, Delta.TxDropped, seconds),
            Rate(Total.RxMissed, Delta.RxMissed, seconds), Rate(Total.RxFifo, Delta.RxFifo, seconds),
            Rate(Total.TxFifo, Delta.TxFifo, seconds), Rate(Total.RxErrors, Delta.RxErrors, seconds),
            Rate(Total.TxErrors, Delta.TxErrors, seconds));

        // A counter that went back was reset: nothing is counted, the new value is the next reference.
        private static ulong Grow(ulong was, ulong now) => now >= was ? now - was : 0;
    }
}
