using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.History;

/// <summary>Drops of one (reason, protocol, interface, namespace) in one second, as stored in the per-second counts.</summary>
public readonly record struct CountRow(long Second, string Reason, uint ReasonCode, byte IpProtocol, uint Ifindex, uint Netns, ulong Packets, ulong Bytes);

/// <summary>
/// Turns successive cumulative counter snapshots of one capture into per-second deltas, summed over
/// kernel locations (history keys counts by reason, protocol, interface and namespace). Not thread-safe.
/// </summary>
/// <remarks>
/// The drops between two polls are put in the second that holds the middle of the interval (polls are a
/// second apart, so that is the second most of them happened in); totals stay exact whatever the jitter.
/// A new capture (another start time) counts from zero again.
/// </remarks>
public sealed class CounterDeltas(IReasonNames reasons)
{
    private Dictionary<(uint Reason, byte Protocol, uint Ifindex, uint Netns), (ulong Packets, ulong Bytes)> _previous = [];
    private DateTimeOffset _previousTaken;
    private DateTimeOffset? _captureStart;

    /// <summary>The rows for the drops since the previous snapshot (or since the capture started).</summary>
    public IReadOnlyList<CountRow> Next(CounterSnapshot snapshot, DateTimeOffset captureStartedAt)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_captureStart != captureStartedAt)
        {
            _captureStart = captureStartedAt;
            _previous = [];
            _previousTaken = captureStartedAt;
        }
        var current = new Dictionary<(uint, byte, uint, uint), (ulong Packets, ulong Bytes)>();
        foreach (var e in snapshot.Entries)
        {
            var key = (e.ReasonCode, e.IpProtocol, e.Ifindex, e.Netns);
            var sum = current.GetValueOrDefault(key);
            current[key] = (sum.Packets + e.Packets, sum.Bytes + e.Bytes);
        }
        var from = _previousTaken <= snapshot.Taken ? _previousTaken : snapshot.Taken;
        long second = (from + (snapshot.Taken - from) / 2).ToUnixTimeSeconds();
        var rows = new List<CountRow>();
        foreach (var (key, now) in current)
        {
            var was = _previous.GetValueOrDefault(key);
            // A counter never goes back within one capture; if it does, the map was recreated: count from zero.
            ulong packets = now.Packets >= was.Packets ? now.Packets - was.Packets : now.Packets;
            ulong bytes = now.Bytes >= was.Bytes ? now.Bytes - was.Bytes : now.Bytes;
            if (packets > 0)
                rows.Add(new CountRow(second, reasons.NameOf(key.Item1), key.Item1, key.Item2, key.Item3, key.Item4, packets, bytes));
        }
        _previous = current;
        _previousTaken = snapshot.Taken;
        return rows;
    }
}
