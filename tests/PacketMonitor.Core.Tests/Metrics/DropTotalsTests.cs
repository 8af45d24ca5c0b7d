using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Metrics;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.Tests.Metrics;

public sealed class DropTotalsTests
{
    private sealed class Reasons : IReasonNames
    {
        public string NameOf(uint code) => code switch { 2 => "NOT_SPECIFIED", 3 => "NO_SOCKET", _ => $"REASON_{code}" };
    }

    private static readonly LossStats NoLosses = new(0, 0, 0, 0);

    private static DropTotals Totals(int maxInterfaces = 50) =>
        new(new Reasons(), new InterfaceLabels(maxInterfaces, (ifindex, _) => $"eth{ifindex}"));

    private static CounterReading Reading(long capture, LossStats? losses, params CounterEntry[] entries) =>
        new(capture, new CounterSnapshot(DateTimeOffset.UnixEpoch, entries), losses ?? NoLosses);

    private static CounterEntry Udp(uint ifindex, ulong packets, uint netns = 100, ulong location = 0) =>
        new(3, 17, ifindex, netns, packets, packets * 50, location);

    private static DropTotal Single(DropTotals totals, string iface) =>
        Assert.Single(totals.Drops(), d => d.Series.Interface == iface);

    [Fact]
    public void Record_GroupsByReasonProtocolAndInterface_SummingNamespacesAndLocations()
    {
        var totals = Totals();

        totals.Record(Reading(1, null, Udp(1, 3, netns: 100, location: 0xa), Udp(1, 4, netns: 200, location: 0xb),
            Udp(2, 5), new CounterEntry(2, 6, 1, 100, 7, 700)));

        var drops = totals.Drops().OrderBy(d => d.Series.ToString(), StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                new DropTotal(new DropSeries("NOT_SPECIFIED", "tcp", "eth1"), 7, 700),
                new DropTotal(new DropSeries("NO_SOCKET", "udp", "eth1"), 7, 350),
                new DropTotal(new DropSeries("NO_SOCKET", "udp", "eth2"), 5, 250),
            ], drops);
    }

    [Fact]
    public void Record_NewCapture_CarriesTheLastTotalsOver()
    {
        var totals = Totals();
        totals.Record(Reading(1, new LossStats(1, 2, 3, 4), Udp(1, 10)));
        totals.Record(Reading(1, new LossStats(1, 2, 3, 4), Udp(1, 25))); // the final reading at stop

        // Restarted: the kernel counters begin at zero again, and have already passed the old value.
        totals.Record(Reading(2, new LossStats(5, 0, 0, 1), Udp(1, 30)));

        Assert.Equal(55UL, Single(totals, "eth1").Packets);
        Assert.Equal(55UL * 50, Single(totals, "eth1").Bytes);
        Assert.Equal([("ring_full", 6UL), ("filtered", 5UL), ("queue_full", 2UL), ("slow_clients", 3UL)], totals.Losses());
    }

    [Fact]
    public void Record_AfterARestart_NeverGoesDown()
    {
        var totals = Totals();
        totals.Record(Reading(1, null, Udp(1, 100)));
        totals.Record(Reading(2, null)); // new capture, nothing yet

        Assert.Equal(100UL, Single(totals, "eth1").Packets);
        totals.Record(Reading(2, null, Udp(1, 1)));
        Assert.Equal(101UL, Single(totals, "eth1").Packets);
    }

    [Fact]
    public void Record_AKeyMissingFromALaterReading_KeepsItsValue()
    {
        var totals = Totals();
        totals.Record(Reading(1, new LossStats(9, 0, 0, 0), Udp(1, 10), Udp(2, 4)));
        totals.Record(Reading(1, NoLosses, Udp(1, 12)));

        Assert.Equal(12UL, Single(totals, "eth1").Packets);
        Assert.Equal(4UL, Single(totals, "eth2").Packets);
        Assert.Contains(("ring_full", 9UL), totals.Losses());
    }

    [Fact]
    public void Record_ManyInterfaces_FoldIntoOther_AndStayMonotonicAcrossCaptures()
    {
        var totals = Totals(maxInterfaces: 2);
        totals.Record(Reading(1, null, Udp(1, 1), Udp(2, 2), Udp(3, 3), Udp(4, 4)));
        Assert.Equal(7UL, Single(totals, "other").Packets);
        Assert.Equal(3, totals.Drops().Count);

        // In the next capture interface 4 is seen first: it is still folded, 1 and 2 keep their names.
        totals.Record(Reading(2, null, Udp(4, 10), Udp(2, 1)));
        Assert.Equal(17UL, Single(totals, "other").Packets);
        Assert.Equal(3UL, Single(totals, "eth2").Packets);
        Assert.Equal(1UL, Single(totals, "eth1").Packets);
    }

    [Fact]
    public void Losses_BeforeAnyReading_ListEveryStageAtZero() =>
        Assert.Equal(["ring_full", "filtered", "queue_full", "slow_clients"], Totals().Losses().Select(l => l.Stage));
}
