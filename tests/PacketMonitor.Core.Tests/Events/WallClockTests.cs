using PacketMonitor.Core.Events;
using Xunit;

namespace PacketMonitor.Core.Tests.Events;

public sealed class WallClockTests
{
    [Fact]
    public void FromMonotonic_RealisticOffset_KeepsSubMicrosecondTicks()
    {
        var boot = new DateTimeOffset(2026, 11, 27, 17, 0, 0, TimeSpan.Zero);
        long offsetNs = boot.ToUnixTimeMilliseconds() * 1_000_000;
        var clock = new WallClock(offsetNs);

        var time = clock.FromMonotonic(2_401_123_456_789); // 40 min 1.123456789 s after boot

        Assert.Equal(boot.AddMinutes(40).AddTicks(11_234_567), time);
        Assert.Equal(TimeSpan.Zero, time.Offset);
    }

    [Theory]
    [InlineData(0L, 0UL, 0L)]
    [InlineData(-1L, 0UL, -1L)]   // -1 ns floors to the tick before the epoch
    [InlineData(-1L, 1UL, 0L)]
    [InlineData(99L, 1UL, 1L)]
    [InlineData(-150L, 99UL, -1L)]
    [InlineData(50L, 149UL, 1L)]
    public void FromMonotonic_SumOfOffsetAndTime_FloorsToTicks(long offsetNs, ulong monotonicNs, long expectedTicks)
    {
        var time = new WallClock(offsetNs).FromMonotonic(monotonicNs);

        Assert.Equal(DateTime.UnixEpoch.Ticks + expectedTicks, time.UtcTicks);
    }

    [Theory]
    [InlineData(long.MaxValue, ulong.MaxValue)]
    [InlineData(long.MinValue, 0UL)]
    [InlineData(long.MinValue, ulong.MaxValue)]
    [InlineData(0L, ulong.MaxValue)]
    public void FromMonotonic_ExtremeValues_DoNotThrow(long offsetNs, ulong monotonicNs)
    {
        var time = new WallClock(offsetNs).FromMonotonic(monotonicNs);

        Assert.Equal(TimeSpan.Zero, time.Offset);
    }
}
