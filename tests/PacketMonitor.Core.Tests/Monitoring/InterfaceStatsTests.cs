using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Tests.Events;
using Xunit;

namespace PacketMonitor.Core.Tests.Monitoring;

/// <summary>The "top interfaces" table: names from events, exact counts from the counters.</summary>
public sealed class InterfaceStatsTests
{
    private sealed class Names : IReasonNames
    {
        public string NameOf(uint code) => $"R{code}";
    }

    [Fact]
    public void ByInterface_NamesFromEvents_NoDeviceAndUnseenIndexesSaySo()
    {
        var calculator = new StatisticsCalculator(new Names());
        calculator.Observe([EventSamples.Ipv4Tcp() with { Ifindex = 1, Ifname = "lo", Netns = 7 }]);
        var counters = new CounterSnapshot(DateTimeOffset.UnixEpoch,
        [
            new CounterEntry(3, 17, 1, 7, 10, 1000),
            new CounterEntry(4, 17, 0, 7, 5, 500),  // a socket closed: no device
            new CounterEntry(3, 6, 9, 7, 2, 200),   // no event seen for ifindex 9 yet
        ]);

        var stats = calculator.Compute(counters, [], new LossStats(0, 0, 0, 0), "tp_btf", DateTimeOffset.UnixEpoch);

        Assert.Equal(
        [
            new InterfaceStat("lo", 1, 7, 10),
            new InterfaceStat(StatisticsCalculator.NoDevice, 0, 7, 5),
            new InterfaceStat("ifindex 9", 9, 7, 2),
        ], stats.ByInterface);
    }
}
