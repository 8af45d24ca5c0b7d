using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Tests.Events;
using Xunit;

namespace PacketMonitor.Core.Tests.Monitoring;

/// <summary>The "top workloads" table and the attribution filters of /api/events.</summary>
public sealed class AttributionStatsTests
{
    private sealed class Names : IReasonNames
    {
        public string NameOf(uint code) => $"R{code}";
    }

    private static StatsSnapshot Compute(params DropEvent[] events)
    {
        var calculator = new StatisticsCalculator(new Names());
        calculator.Observe(events);
        return calculator.Compute(new CounterSnapshot(DateTimeOffset.UnixEpoch, []), [], new LossStats(0, 0, 0, 0), "tp_btf", DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public void TopWorkloads_GroupsByContainerThenOwnerThenCgroup_MostDropsFirst()
    {
        var docker = EventSamples.Owned();
        var dockerOtherProcess = docker with { OwnerPid = 4243, OwnerComm = "nginx-worker" };
        var process = EventSamples.Owned() with { Container = null, Cgroup = "/pmt", OwnerPid = 77, OwnerComm = "perl" };
        var cgroupOnly = EventSamples.Owned() with { Container = null, Cgroup = "/user.slice", OwnerPid = null, OwnerComm = null };
        var noSocket = EventSamples.Ipv4Tcp();

        var stats = Compute(docker, dockerOtherProcess, docker, process, process, cgroupOnly, noSocket);

        Assert.Equal(
        [
            new WorkloadStat("docker:3f4e5a6b7c8d", "docker:3f4e5a6b7c8d", "/system.slice/docker-3f4e5a6b7c8d9e0f.scope", null, null, 3),
            new WorkloadStat("perl (77)", null, "/pmt", 77, "perl", 2),
            new WorkloadStat("/user.slice", null, "/user.slice", null, null, 1),
        ], stats.TopWorkloads);
    }

    [Fact]
    public void TopWorkloads_EventsWithoutSockets_GiveAnEmptyTable()
    {
        Assert.Empty(Compute(EventSamples.Ipv4Tcp(), EventSamples.Arp()).TopWorkloads);
    }

    [Theory]
    [InlineData("owner_pid", "4242", true)]
    [InlineData("owner_pid", "4243", false)]
    [InlineData("cgroup", "/system.slice", true)]
    [InlineData("cgroup", "/", true)]
    [InlineData("cgroup", "/system.slice/", true)]
    [InlineData("cgroup", "/system.slice/docker-3f4e5a6b7c8d9e0f.scope", true)]
    [InlineData("cgroup", "/system", false)] // a prefix of a name is not a parent
    [InlineData("container", "docker:3f4e5a6b7c8d", true)]
    [InlineData("container", "3f4e5a6b7c8d", true)]
    [InlineData("container", "3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081", true)]
    [InlineData("container", "3f4e", false)]
    [InlineData("netns_name", "blue", true)]
    [InlineData("netns_name", "Blue", false)]
    public void EventQuery_AttributionFilters_MatchTheOwnedEvent(string field, string value, bool expected)
    {
        var query = field switch
        {
            "owner_pid" => new EventQuery { OwnerPid = uint.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
            "cgroup" => new EventQuery { Cgroup = value },
            "container" => new EventQuery { Container = value },
            _ => new EventQuery { NetnsName = value },
        };

        Assert.Equal(expected, query.Matches(EventSamples.Owned()));
        Assert.False(query.Matches(EventSamples.Ipv4Tcp())); // no socket: never matches an attribution filter
    }
}
