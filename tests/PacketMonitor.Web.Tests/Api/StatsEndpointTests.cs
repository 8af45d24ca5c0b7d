using System.Text.Json;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

public sealed class StatsEndpointTests
{
    private const uint Netns = 4026531840; // the samples' namespace

    [Fact]
    public async Task GetStats_AfterAPoll_ReportsTheExactCountersInSnakeCase()
    {
        await using var host = await DashboardHost.StartAsync();
        host.Source.SetCounters(
            new CounterEntry(ReasonCode: 3, IpProtocol: 6, Ifindex: 2, Netns: Netns, Packets: 5, Bytes: 500),
            new CounterEntry(ReasonCode: 14, IpProtocol: 17, Ifindex: 2, Netns: Netns, Packets: 3, Bytes: 300),
            new CounterEntry(ReasonCode: 2, IpProtocol: 1, Ifindex: 3, Netns: 1, Packets: 2, Bytes: 200));
        host.Source.SetLocations(new LocationCount(2, 0xffffffff81000000, "sk_stream_kill_queues+0x4c", 2));
        host.Source.SetLosses(new EventLosses { RingBufferFull = 7, QueueFull = 1, Filtered = 4 });
        Assert.True(host.Source.Push([Samples.Event(ifname: "eth0", ifindex: 2) with { OwnerPid = 77, OwnerComm = "perl", CgroupId = 5, Cgroup = "/pmt" }]));

        var stats = await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"),
            s => s.GetProperty("total_drops").GetUInt64() == 10 && s.GetProperty("top_flows").GetArrayLength() == 1, "polled counters");

        Assert.True(stats.GetProperty("running").GetBoolean());
        Assert.Equal(FakeDropSource.Mode, stats.GetProperty("attach_mode").GetString());
        Assert.Equal(host.Session.Status.StartedAt, stats.GetProperty("started_at").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.String, stats.GetProperty("time").ValueKind);
        Assert.Equal(5UL, stats.GetProperty("tcp_drops").GetUInt64());
        Assert.Equal(3UL, stats.GetProperty("udp_drops").GetUInt64());
        Assert.Equal(2UL, stats.GetProperty("other_drops").GetUInt64());
        Assert.Equal(1000UL, stats.GetProperty("total_bytes").GetUInt64());
        var rates = stats.GetProperty("drops_per_second");
        Assert.Equal(JsonValueKind.Number, rates.GetProperty("last_1s").ValueKind);
        Assert.Equal(JsonValueKind.Number, rates.GetProperty("last_1m").ValueKind);

        var top = stats.GetProperty("by_reason")[0];
        Assert.Equal("NO_SOCKET", top.GetProperty("name").GetString());
        Assert.Equal(3u, top.GetProperty("code").GetUInt32());
        Assert.Equal(5UL, top.GetProperty("count").GetUInt64());
        Assert.False(string.IsNullOrEmpty(top.GetProperty("explanation").GetString()));
        Assert.Contains("ss -", top.GetProperty("hint").GetString(), StringComparison.Ordinal);

        Assert.Contains(stats.GetProperty("by_protocol").EnumerateArray(),
            p => p.GetProperty("protocol").GetString() == "UDP" && p.GetProperty("count").GetUInt64() == 3);
        Assert.Contains(stats.GetProperty("by_interface").EnumerateArray(),
            i => i.GetProperty("name").GetString() == "eth0" && i.GetProperty("ifindex").GetUInt32() == 2
                && i.GetProperty("netns").GetUInt32() == Netns && i.GetProperty("count").GetUInt64() == 8);
        var flow = stats.GetProperty("top_flows")[0];
        Assert.Equal("10.0.0.1:40000", flow.GetProperty("source").GetString());
        Assert.Equal("10.0.0.2:80", flow.GetProperty("destination").GetString());
        Assert.Equal("TCP", flow.GetProperty("protocol").GetString());
        var location = stats.GetProperty("top_locations")[0];
        Assert.Equal("sk_stream_kill_queues+0x4c", location.GetProperty("location").GetString());
        Assert.Equal("NOT_SPECIFIED", location.GetProperty("reason").GetString());
        var workload = stats.GetProperty("top_workloads")[0];
        Assert.Equal("perl (77)", workload.GetProperty("workload").GetString());
        Assert.Equal(77, workload.GetProperty("owner_pid").GetInt32());
        Assert.Equal("perl", workload.GetProperty("owner_comm").GetString());
        Assert.Equal("/pmt", workload.GetProperty("cgroup").GetString());
        Assert.Equal(JsonValueKind.Null, workload.GetProperty("container").ValueKind);
        Assert.Equal(1UL, workload.GetProperty("count").GetUInt64());

        var lost = stats.GetProperty("events_lost");
        Assert.Equal(7UL, lost.GetProperty("ring_buffer_full").GetUInt64());
        Assert.Equal(1UL, lost.GetProperty("queue_full").GetUInt64());
        Assert.Equal(0UL, lost.GetProperty("slow_clients").GetUInt64());
        Assert.Equal(4UL, lost.GetProperty("filtered").GetUInt64());
        Assert.Equal(JsonValueKind.Object, stats.GetProperty("last_second_by_reason").ValueKind);
    }

    [Fact]
    public async Task GetStats_LastSecondByReason_KeysAreKernelReasonNames()
    {
        // Each rate lasts one poll interval: long enough here for the test to see it.
        await using var host = await DashboardHost.StartAsync(pollInterval: TimeSpan.FromMilliseconds(700));
        host.Source.SetCounters(new CounterEntry(3, 6, 2, 1, 1, 60));
        await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"), s => s.GetProperty("total_drops").GetUInt64() == 1, "first poll");
        host.Source.SetCounters(new CounterEntry(3, 6, 2, 1, 4, 240));

        var stats = await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"),
            s => s.GetProperty("last_second_by_reason").TryGetProperty("NO_SOCKET", out _), "a rate by reason");

        Assert.Equal(3UL, stats.GetProperty("last_second_by_reason").GetProperty("NO_SOCKET").GetUInt64());
    }

    [Fact]
    public async Task GetStats_NotMonitoring_ReportsNotRunning()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);

        var stats = await host.GetJsonAsync("/api/stats");

        Assert.False(stats.GetProperty("running").GetBoolean());
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("attach_mode").ValueKind);
        Assert.Equal(0UL, stats.GetProperty("total_drops").GetUInt64());
    }

    [Fact]
    public async Task GetStats_JustStarted_ReportsRunningBeforeTheFirstPoll()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        await host.Session.StartAsync(TestContext.Current.CancellationToken);

        var stats = await host.GetJsonAsync("/api/stats");

        Assert.True(stats.GetProperty("running").GetBoolean());
        Assert.Equal(FakeDropSource.Mode, stats.GetProperty("attach_mode").GetString());
    }

    [Fact]
    public async Task GetStats_BlindSpots_GiveTotalsRatesAndNotesInSnakeCase()
    {
        var devices = new FakeBlindSpots();
        devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns, rxDropped: 100, rxMissed: 1000),
            FakeBlindSpots.Device("veth1", 9, 4026532001, "pod-a", txDropped: 5));
        devices.SetSoftnet(new(0, 500, 10, 20, 3), new(1, 500, 0, 1, 0));
        await using var host = await DashboardHost.StartAsync(pollInterval: TimeSpan.FromMilliseconds(500), blindSpots: devices);
        // Counted from the start: the values above are the baseline.
        devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns, rxDropped: 103, rxMissed: 1040),
            FakeBlindSpots.Device("veth1", 9, 4026532001, "pod-a", txDropped: 6));
        devices.SetSoftnet(new(0, 600, 12, 25, 3), new(1, 600, 1, 1, 0));

        var stats = await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"),
            s => s.TryGetProperty("blind_spots", out var b) && b.ValueKind == JsonValueKind.Object
                && b.GetProperty("all_interfaces").GetProperty("rx_missed").GetProperty("total").GetUInt64() == 40, "sampled blind spots");

        var blind = stats.GetProperty("blind_spots");
        Assert.Equal("the test's devices", blind.GetProperty("coverage").GetString());
        Assert.Equal(2, blind.GetProperty("namespaces").GetInt32());
        Assert.Equal(2, blind.GetProperty("interface_count").GetInt32());
        var eth0 = blind.GetProperty("interfaces")[0];
        Assert.Equal("eth0", eth0.GetProperty("name").GetString());
        Assert.Equal(2, eth0.GetProperty("ifindex").GetInt32());
        Assert.Equal(Netns, eth0.GetProperty("netns").GetUInt32());
        Assert.Equal("", eth0.GetProperty("netns_name").GetString());
        Assert.Equal(3UL, eth0.GetProperty("rx_dropped").GetProperty("total").GetUInt64());
        Assert.Equal(40UL, eth0.GetProperty("rx_missed").GetProperty("total").GetUInt64());
        Assert.True(eth0.GetProperty("rx_missed").GetProperty("per_second").GetDouble() > 0);
        foreach (var field in (string[])["tx_dropped", "rx_fifo", "tx_fifo", "rx_errors", "tx_errors"])
            Assert.Equal(0UL, eth0.GetProperty(field).GetProperty("total").GetUInt64());
        var veth = blind.GetProperty("interfaces")[1];
        Assert.Equal(("veth1", "pod-a", 1UL), (veth.GetProperty("name").GetString(), veth.GetProperty("netns_name").GetString(),
            veth.GetProperty("tx_dropped").GetProperty("total").GetUInt64()));
        var softnet = blind.GetProperty("softnet");
        Assert.Equal(2, softnet.GetProperty("cpus").GetInt32());
        Assert.Equal(3UL, softnet.GetProperty("dropped").GetProperty("total").GetUInt64());
        Assert.Equal(5UL, softnet.GetProperty("time_squeeze").GetProperty("total").GetUInt64());
        Assert.Equal(0UL, softnet.GetProperty("flow_limit").GetProperty("total").GetUInt64());
        foreach (var note in (string[])["rx_dropped", "tx_dropped", "rx_missed", "rx_fifo", "softnet_dropped", "time_squeeze", "flow_limit"])
            Assert.False(string.IsNullOrEmpty(blind.GetProperty("notes").GetProperty(note).GetString()), note);
        Assert.Equal(0, blind.GetProperty("problems").GetArrayLength());
    }

    [Fact]
    public async Task GetStats_WithoutSampler_HasNullBlindSpots()
    {
        await using var host = await DashboardHost.StartAsync();
        host.Source.SetCounters(new CounterEntry(3, 6, 2, 1, 1, 60));

        var stats = await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"), s => s.GetProperty("total_drops").GetUInt64() == 1, "first poll");

        Assert.Equal(JsonValueKind.Null, stats.GetProperty("blind_spots").ValueKind);
    }
}
