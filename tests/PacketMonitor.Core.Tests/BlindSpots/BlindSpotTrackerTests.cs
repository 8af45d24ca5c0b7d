using PacketMonitor.Core.BlindSpots;
using Xunit;

namespace PacketMonitor.Core.Tests.BlindSpots;

public sealed class BlindSpotTrackerTests
{
    private const uint Host = 4026531840;
    private const uint Pod = 4026532300;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly BlindSpotTracker _tracker = new();

    [Fact]
    public void Observe_FirstSample_IsTheBaseline()
    {
        var stats = _tracker.Observe(Sample(0, [Device(Host, 2, "eth0", rxDropped: 500, txDropped: 7, rxMissed: 90)], [Cpu(0, 10, 20, 30)]), "here");

        var eth0 = Assert.Single(stats.Interfaces);
        Assert.Equal(("eth0", 2, Host), (eth0.Name, eth0.Ifindex, eth0.Netns));
        Assert.Equal(CounterRate.Zero, eth0.RxDropped);
        Assert.Equal(CounterRate.Zero, eth0.RxMissed);
        Assert.Equal(CounterRate.Zero, stats.Softnet.Dropped);
        Assert.Equal(1, stats.Softnet.Cpus);
        Assert.Equal("here", stats.Coverage);
        Assert.Equal(BlindSpotNotes.All, stats.Notes);
    }

    [Fact]
    public void Observe_CountersGrow_GivesTotalsSinceStartAndRates()
    {
        _tracker.Observe(Sample(0, [Device(Host, 2, "eth0", rxDropped: 500, txDropped: 7, rxMissed: 90)], [Cpu(0, 10, 20, 30), Cpu(1, 0, 0, 0)]), "");
        _tracker.Observe(Sample(1, [Device(Host, 2, "eth0", rxDropped: 510, txDropped: 7, rxMissed: 100)], [Cpu(0, 12, 25, 30), Cpu(1, 1, 0, 0)]), "");
        var stats = _tracker.Observe(Sample(3, [Device(Host, 2, "eth0", rxDropped: 530, txDropped: 9, rxMissed: 100)], [Cpu(0, 16, 25, 31), Cpu(1, 1, 0, 0)]), "");

        var eth0 = Assert.Single(stats.Interfaces);
        Assert.Equal(new CounterRate(30, 10), eth0.RxDropped);   // 20 in the last 2 s
        Assert.Equal(new CounterRate(2, 1), eth0.TxDropped);
        Assert.Equal(new CounterRate(10, 0), eth0.RxMissed);
        Assert.Equal(new CounterRate(7, 2), stats.Softnet.Dropped);
        Assert.Equal(new CounterRate(5, 0), stats.Softnet.TimeSqueeze);
        Assert.Equal(new CounterRate(1, 0.5), stats.Softnet.FlowLimit);
        Assert.Equal(new CounterRate(30, 10), stats.AllInterfaces.RxDropped);
    }

    [Fact]
    public void Observe_SoftnetWrapsAround_CountsAcrossTheWrap()
    {
        _tracker.Observe(Sample(0, [], [Cpu(0, 0xffff_fffe, 0xffff_ffff, 0)]), "");
        var stats = _tracker.Observe(Sample(1, [], [Cpu(0, 3, 1, 0)]), "");

        Assert.Equal(new CounterRate(5, 5), stats.Softnet.Dropped);
        Assert.Equal(new CounterRate(2, 2), stats.Softnet.TimeSqueeze);
    }

    [Fact]
    public void Observe_DeviceCounterGoesBack_CountsNothingAndContinuesFromTheNewValue()
    {
        _tracker.Observe(Sample(0, [Device(Host, 2, "eth0", rxDropped: 500)], []), "");
        _tracker.Observe(Sample(1, [Device(Host, 2, "eth0", rxDropped: 3)], []), "");      // driver reset its statistics
        var stats = _tracker.Observe(Sample(2, [Device(Host, 2, "eth0", rxDropped: 8)], []), "");

        Assert.Equal(new CounterRate(5, 5), Assert.Single(stats.Interfaces).RxDropped);
    }

    [Fact]
    public void Observe_SameIfindexInTwoNamespaces_AreTwoDevices()
    {
        _tracker.Observe(Sample(0, [Device(Host, 2, "eth0"), Device(Pod, 2, "eth0")], []), "");
        var stats = _tracker.Observe(Sample(1, [Device(Host, 2, "eth0"), Device(Pod, 2, "eth0", "pod-a", txDropped: 4)], []), "");

        Assert.Equal(2, stats.InterfaceCount);
        Assert.Equal(2, stats.Namespaces);
        Assert.Equal((Pod, "pod-a", 4UL), (stats.Interfaces[0].Netns, stats.Interfaces[0].NetnsName, stats.Interfaces[0].TxDropped.Total));
        Assert.Equal(0UL, stats.Interfaces[1].TxDropped.Total);
    }

    [Fact]
    public void Observe_DeviceRemovedFromAReadNamespace_IsForgotten()
    {
        _tracker.Observe(Sample(0, [Device(Host, 1, "lo"), Device(Host, 5, "veth0")], []), "");
        _tracker.Observe(Sample(1, [Device(Host, 1, "lo"), Device(Host, 5, "veth0", txDropped: 9)], []), "");
        var stats = _tracker.Observe(Sample(2, [Device(Host, 1, "lo")], []), "");

        Assert.Equal(["lo"], stats.Interfaces.Select(i => i.Name));
        Assert.Equal(0UL, stats.AllInterfaces.TxDropped.Total);
    }

    [Fact]
    public void Observe_NamespaceMissingForOneSample_KeepsItsTotals()
    {
        _tracker.Observe(Sample(0, [Device(Host, 1, "lo"), Device(Pod, 2, "eth0")], []), "");
        _tracker.Observe(Sample(1, [Device(Host, 1, "lo"), Device(Pod, 2, "eth0", rxDropped: 6)], []), "");
        var gap = _tracker.Observe(Sample(2, [Device(Host, 1, "lo")], []), "");        // that namespace's read failed once
        var back = _tracker.Observe(Sample(3, [Device(Host, 1, "lo"), Device(Pod, 2, "eth0", rxDropped: 8)], []), "");

        Assert.Equal(new CounterRate(6, 0), gap.Interfaces.Single(i => i.Netns == Pod).RxDropped);
        Assert.Equal(new CounterRate(8, 2), back.Interfaces.Single(i => i.Netns == Pod).RxDropped);
    }

    [Fact]
    public void Observe_NamespaceGoneForGood_IsForgottenAfterAFewSamples()
    {
        _tracker.Observe(Sample(0, [Device(Host, 1, "lo"), Device(Pod, 2, "eth0")], []), "");
        BlindSpotStats stats = null!;
        for (int second = 1; second <= 10; second++)
            stats = _tracker.Observe(Sample(second, [Device(Host, 1, "lo")], []), "");

        Assert.DoesNotContain(stats.Interfaces, i => i.Netns == Pod);
    }

    [Fact]
    public void Observe_ManyDevices_ListsTheMostDroppingFirstAndBoundsTheList()
    {
        var quiet = Enumerable.Range(1, 200).Select(i => Device(Host, i, $"q{i}")).ToList();
        _tracker.Observe(Sample(0, [.. quiet, Device(Pod, 7, "busy")], []), "");
        var stats = _tracker.Observe(Sample(1, [.. quiet, Device(Pod, 7, "busy", rxMissed: 3)], []), "");

        Assert.Equal(201, stats.InterfaceCount);
        Assert.Equal(BlindSpotTracker.MaxInterfacesShown, stats.Interfaces.Count);
        Assert.Equal("busy", stats.Interfaces[0].Name);
        Assert.Equal(new CounterRate(3, 3), stats.AllInterfaces.RxMissed);
    }

    [Fact]
    public void Observe_NoFlowLimitColumn_GivesNullFlowLimit()
    {
        var stats = _tracker.Observe(Sample(0, [], [new SoftnetCounters(0, 1, 2, 3, null)]), "");

        Assert.Null(stats.Softnet.FlowLimit);
    }

    [Fact]
    public void Reset_StartsOverFromTheNextSample()
    {
        _tracker.Observe(Sample(0, [Device(Host, 2, "eth0", rxDropped: 1)], [Cpu(0, 1, 1, 1)]), "");
        _tracker.Observe(Sample(1, [Device(Host, 2, "eth0", rxDropped: 5)], [Cpu(0, 5, 1, 1)]), "");

        _tracker.Reset();
        _tracker.Observe(Sample(2, [Device(Host, 2, "eth0", rxDropped: 5)], [Cpu(0, 5, 1, 1)]), "");
        var stats = _tracker.Observe(Sample(3, [Device(Host, 2, "eth0", rxDropped: 6)], [Cpu(0, 7, 1, 1)]), "");

        Assert.Equal(1UL, stats.Interfaces[0].RxDropped.Total);
        Assert.Equal(2UL, stats.Softnet.Dropped.Total);
    }

    [Fact]
    public void Observe_Problems_ArePassedOn()
    {
        var sample = new BlindSpotSample(T0, [], [], ["cannot read /proc/net/softnet_stat: gone"]);

        Assert.Equal(["cannot read /proc/net/softnet_stat: gone"], _tracker.Observe(sample, "").Problems);
    }

    private static BlindSpotSample Sample(int second, IReadOnlyList<InterfaceCounters> devices, IReadOnlyList<SoftnetCounters> cpus) =>
        new(T0.AddSeconds(second), devices, cpus, []);

    private static InterfaceCounters Device(uint netns, int ifindex, string name, string netnsName = "",
        ulong rxDropped = 0, ulong txDropped = 0, ulong rxMissed = 0) =>
        new(netns, netnsName, ifindex, name, new DeviceCounters(rxDropped, txDropped, rxMissed, 0, 0, 0, 0));

    private static SoftnetCounters Cpu(int cpu, uint dropped, uint squeeze, uint flowLimit) =>
        new(cpu, 1000, dropped, squeeze, flowLimit);
}
