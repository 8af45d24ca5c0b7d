namespace PacketMonitor.Core.Events;

/// <summary>
/// Turns kernel CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) into UTC wall-clock time,
/// given <c>CLOCK_REALTIME - CLOCK_MONOTONIC</c> in nanoseconds as sampled by the caller.
/// </summary>
/// <remarks>
/// Exact to the 100 ns tick (so microseconds are always right) and total: every
/// <see cref="ulong"/> input maps into the range of <see cref="DateTimeOffset"/>, so a
/// garbage timestamp from the kernel can never throw here.
/// </remarks>
public sealed class WallClock
{
    private const long NsPerTick = 100;

    // The offset split once into whole ticks (floored) and a 0..99 ns remainder,
    // so the per-event work is two divisions without overflow or Int128.
    private readonly long _offsetTicks;
    private readonly long _offsetRemainderNs;

    public WallClock(long realtimeMinusMonotonicNs)
    {
        RealtimeMinusMonotonicNs = realtimeMinusMonotonicNs;
        _offsetTicks = Math.DivRem(realtimeMinusMonotonicNs, NsPerTick, out _offsetRemainderNs);
        if (_offsetRemainderNs < 0)
        {
            _offsetTicks--;
            _offsetRemainderNs += NsPerTick;
        }
    }

    /// <summary>The offset this clock was created with.</summary>
    public long RealtimeMinusMonotonicNs { get; }

    /// <summary>UTC time of a CLOCK_MONOTONIC instant.</summary>
    public DateTimeOffset FromMonotonic(ulong monotonicNs)
    {
        // |offset| / 100 <= 9.3e16 ticks and ulong.MaxValue / 100 <= 1.9e17 ticks: the sum
        // stays far inside DateTimeOffset's 0..3.1e18 ticks on either side of 1970.
        long ticks = DateTime.UnixEpoch.Ticks + _offsetTicks + (long)(monotonicNs / NsPerTick)
            + ((long)(monotonicNs % NsPerTick) + _offsetRemainderNs) / NsPerTick;
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
