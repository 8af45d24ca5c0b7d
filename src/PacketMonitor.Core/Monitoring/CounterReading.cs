using PacketMonitor.Core.Counters;

namespace PacketMonitor.Core.Monitoring;

/// <summary>
/// One read of the exact kernel counters and the event losses. Both count from zero for each capture:
/// <paramref name="Capture"/> numbers the captures (it changes at every start), so that totals can be
/// carried over a restart instead of going down.
/// </summary>
public sealed record CounterReading(long Capture, CounterSnapshot Counters, LossStats Losses, DateTimeOffset StartedAt = default);
