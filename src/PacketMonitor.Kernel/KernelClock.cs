using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>Relates the kernel's CLOCK_MONOTONIC (bpf_ktime_get_ns) to wall-clock time.</summary>
public static unsafe class KernelClock
{
    /// <summary>
    /// Samples realtime - monotonic several times and keeps the pair read closest together,
    /// so the offset is accurate to about a microsecond.
    /// </summary>
    public static WallClock Sample()
    {
        long best = 0, bestGap = long.MaxValue;
        for (int i = 0; i < 7; i++)
        {
            long before = Now(Interop.ClockMonotonic);
            long real = Now(Interop.ClockRealtime);
            long after = Now(Interop.ClockMonotonic);
            if (after - before < bestGap)
            {
                bestGap = after - before;
                best = real - (before + (after - before) / 2);
            }
        }
        return new WallClock(best);
    }

    /// <summary>CLOCK_MONOTONIC now, in nanoseconds (same clock as bpf_ktime_get_ns).</summary>
    public static long MonotonicNow() => Now(Interop.ClockMonotonic);

    private static long Now(int clock)
    {
        Interop.Timespec ts;
        _ = Interop.clock_gettime(clock, &ts);
        return ts.Seconds * 1_000_000_000L + ts.Nanoseconds;
    }
}
