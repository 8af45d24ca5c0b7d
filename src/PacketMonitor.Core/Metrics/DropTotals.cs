using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.Metrics;

/// <summary>The labels of one drop series: reason name, L4 protocol (lower case) and interface label.</summary>
public readonly record struct DropSeries(string Reason, string Protocol, string Interface);

/// <summary>Packets and bytes dropped for one <see cref="DropSeries"/> since this process began.</summary>
public readonly record struct DropTotal(DropSeries Series, ulong Packets, ulong Bytes);

/// <summary>
/// Totals for the metrics, made from every <see cref="CounterReading"/>: grouped by (reason, protocol,
/// interface label) and kept monotonic for the life of the process. The kernel counters restart at zero with
/// each capture (Stop/Start); the last reading of a capture (the session sends one at stop) is carried into a
/// base that later captures add to. Within a capture a total never goes down either. Thread-safe.
/// </summary>
public sealed class DropTotals(IReasonNames reasons, InterfaceLabels interfaces)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<DropSeries, (ulong Packets, ulong Bytes)> _finished = [];
    private Dictionary<DropSeries, (ulong Packets, ulong Bytes)> _current = [];
    private readonly Dictionary<string, ulong> _lossesFinished = new(StringComparer.Ordinal);
    private Dictionary<string, ulong> _lossesCurrent = new(StringComparer.Ordinal);
    private long? _capture;

    /// <summary>Takes one reading (from the session's poller, or the watch loop).</summary>
    public void Record(CounterReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        lock (_gate)
        {
            if (_capture != reading.Capture)
            {
                if (_capture is not null)
                    CarryOver();
                _capture = reading.Capture;
            }
            var drops = new Dictionary<DropSeries, (ulong Packets, ulong Bytes)>();
            foreach (var e in reading.Counters.Entries)
            {
                var series = new DropSeries(reasons.NameOf(e.ReasonCode),
                    ProtocolNames.Of(e.IpProtocol, e.IpProtocol != 0).ToLowerInvariant(),
                    interfaces.LabelOf(e.Ifindex, e.Netns));
                var (packets, bytes) = drops.GetValueOrDefault(series);
                drops[series] = (packets + e.Packets, bytes + e.Bytes);
            }
            // A series seen before keeps at least its last value (a key the kernel no longer reports must not
            // make the total go down).
            foreach (var (series, was) in _current)
            {
                var now = drops.GetValueOrDefault(series);
                drops[series] = (Math.Max(now.Packets, was.Packets), Math.Max(now.Bytes, was.Bytes));
            }
            _current = drops;
            var losses = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (var (stage, count) in reading.Losses.ByStage())
                losses[stage] = Math.Max(count, _lossesCurrent.GetValueOrDefault(stage));
            _lossesCurrent = losses;
        }
    }

    /// <summary>Every series seen so far with its total since the process began.</summary>
    public IReadOnlyList<DropTotal> Drops()
    {
        lock (_gate)
        {
            return _finished.Keys.Union(_current.Keys)
                .Select(series =>
                {
                    var done = _finished.GetValueOrDefault(series);
                    var now = _current.GetValueOrDefault(series);
                    return new DropTotal(series, done.Packets + now.Packets, done.Bytes + now.Bytes);
                })
                .ToList();
        }
    }

    /// <summary>Events lost per stage since the process began (every stage, zeros included).</summary>
    public IReadOnlyList<(string Stage, ulong Count)> Losses()
    {
        lock (_gate)
        {
            var stages = new LossStats(0, 0, 0, 0).ByStage().Select(s => s.Stage);
            return stages.Union(_lossesFinished.Keys).Union(_lossesCurrent.Keys)
                .Select(stage => (stage, _lossesFinished.GetValueOrDefault(stage) + _lossesCurrent.GetValueOrDefault(stage)))
                .ToList();
        }
    }

    private void CarryOver()
    {
        foreach (var (series, now) in _current)
        {
            var done = _finished.GetValueOrDefault(series);
            _finished[series] = (done.Packets + now.Packets, done.Bytes + now.Bytes);
        }
        foreach (var (stage, count) in _lossesCurrent)
            _lossesFinished[stage] = _lossesFinished.GetValueOrDefault(stage) + count;
        _current = [];
        _lossesCurrent = new(StringComparer.Ordinal);
        interfaces.ForgetInterfaces();
    }
}
