using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PacketMonitor.Core.Events;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

public sealed class EventsEndpointTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Five different drops, pushed oldest first (ids 1..5).</summary>
    private static List<DropEvent> Mixed() =>
    [
        Samples.Event(reason: "NO_SOCKET", reasonCode: 3, source: "10.0.0.1", destination: "10.0.0.2", destinationPort: 80, protocol: 6, ifname: "eth0", time: T0),
        Samples.Event(reason: "NETFILTER_DROP", reasonCode: 14, source: "192.168.1.5", destination: "10.0.0.2", destinationPort: 53, protocol: 17, ifname: "eth1", time: T0.AddSeconds(1)),
        Samples.Event(reason: "NO_SOCKET", reasonCode: 3, source: "2001:db8::1", destination: "2001:db8::2", destinationPort: 443, protocol: 6, ifname: "veth0", time: T0.AddSeconds(2)),
        Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, source: "10.1.2.3", destination: "10.9.9.9", protocol: 1, ifname: "eth0", time: T0.AddSeconds(3)),
        Samples.Event(reason: "NETFILTER_DROP", reasonCode: 14, source: "172.16.0.1", destination: "172.16.0.2", sourcePort: 5353, destinationPort: 8080, protocol: 17, ifname: "lo", time: T0.AddSeconds(4)),
    ];

    private static async Task<DashboardHost> WithEventsAsync(List<DropEvent> events)
    {
        var host = await DashboardHost.StartAsync();
        Assert.True(host.Source.Push(events));
        await Wait.UntilAsync(() => host.Session.Recent.LastId >= events.Count, "the events in the recent window");
        return host;
    }

    private static long[] Ids(JsonElement body) =>
        [.. body.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64())];

    [Fact]
    public async Task GetEvents_NoParameters_ReturnsEveryEventNewestFirstWithCount()
    {
        await using var host = await WithEventsAsync(Mixed());

        var body = await host.GetJsonAsync("/api/events");

        Assert.Equal([5, 4, 3, 2, 1], Ids(body));
        Assert.Equal(5, body.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task GetEvents_EventObject_HasIdTheWatchJsonFieldsHeadersHexAndL3Offset()
    {
        var e = Samples.Event(comm: "<b>x</b>&'\"", headerBytes: 20);
        await using var host = await WithEventsAsync([e]);

        var body = await host.GetJsonAsync("/api/events");
        var item = Assert.Single(body.GetProperty("events").EnumerateArray());

        using var watch = JsonDocument.Parse(EventJsonWriter.ToJsonLine(e));
        string[] expectedNames = ["id", .. watch.RootElement.EnumerateObject().Select(p => p.Name), "headers_hex", "l3_offset"];
        Assert.Equal(expectedNames, item.EnumerateObject().Select(p => p.Name).ToArray());
        foreach (var field in watch.RootElement.EnumerateObject())
            Assert.Equal(field.Value.ToString(), item.GetProperty(field.Name).ToString());
        Assert.Equal(1, item.GetProperty("id").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(e.Headers.Span), item.GetProperty("headers_hex").GetString());
        Assert.Equal(14, item.GetProperty("l3_offset").GetInt32());
        Assert.Equal("<b>x</b>&'\"", item.GetProperty("comm").GetString());
    }

    [Fact]
    public async Task GetEvents_KernelStringsWithHtml_AreEscapedInTheRawJson()
    {
        await using var host = await WithEventsAsync([Samples.Event(comm: "<script>")]);

        string raw = await host.Http.GetStringAsync("/api/events", TestContext.Current.CancellationToken);

        Assert.DoesNotContain("<script>", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("limit=2", new long[] { 5, 4 })]
    [InlineData("reason=no_socket", new long[] { 3, 1 })]
    [InlineData("reason=SKB_DROP_REASON_NETFILTER_DROP", new long[] { 5, 2 })]
    [InlineData("protocol=udp", new long[] { 5, 2 })]
    [InlineData("protocol=TCP", new long[] { 3, 1 })]
    [InlineData("protocol=1", new long[] { 4 })]
    [InlineData("host=10.0.0.2", new long[] { 2, 1 })]
    [InlineData("host=10.0.0.0/8", new long[] { 4, 2, 1 })]
    [InlineData("host=10.0.0.77/24", new long[] { 2, 1 })]
    [InlineData("host=2001:db8::/32", new long[] { 3 })]
    [InlineData("host=[2001:db8::2]", new long[] { 3 })]
    [InlineData("port=53", new long[] { 2 })]
    [InlineData("port=5353", new long[] { 5 })]
    [InlineData("interface=eth0", new long[] { 4, 1 })]
    [InlineData("since=2026-01-31T12:00:03Z", new long[] { 5, 4 })]
    [InlineData("since=2026-01-31T13:00:03%2B01:00", new long[] { 5, 4 })]
    [InlineData("since=2026-01-31T12:00:02.5Z", new long[] { 5, 4 })]
    [InlineData("reason=NETFILTER_DROP&protocol=udp&interface=lo", new long[] { 5 })]
    [InlineData("reason=NO_SOCKET&limit=1", new long[] { 3 })]
    [InlineData("reason=TCP_CSUM", new long[] { })]
    [InlineData("unknown=1&colour=blue", new long[] { 5, 4, 3, 2, 1 })]
    public async Task GetEvents_Filter_ReturnsTheMatchingEventsNewestFirst(string query, long[] expected)
    {
        await using var host = await WithEventsAsync(Mixed());

        var body = await host.GetJsonAsync("/api/events?" + query);

        Assert.Equal(expected, Ids(body));
        Assert.Equal(expected.Length, body.GetProperty("count").GetInt32());
    }

    /// <summary>Drops of two owners (a container and a plain process) in two namespaces, and one without a socket (ids 1..4).</summary>
    private static List<DropEvent> Owned() =>
    [
        Samples.Event(time: T0) with { OwnerPid = 100, OwnerComm = "nginx", CgroupId = 9, Cgroup = "/system.slice/docker-3f4e5a6b7c8d.scope", Container = "docker:3f4e5a6b7c8d", NetnsName = "blue", SocketCookie = 7 },
        Samples.Event(time: T0.AddSeconds(1)) with { OwnerPid = 200, OwnerComm = "perl", CgroupId = 10, Cgroup = "/pmt/a", NetnsName = "red", SocketCookie = 8 },
        Samples.Event(time: T0.AddSeconds(2)) with { NetnsName = "blue" },
        Samples.Event(time: T0.AddSeconds(3)) with { OwnerPid = 100, OwnerComm = "nginx", CgroupId = 9, Cgroup = "/system.slice/docker-3f4e5a6b7c8d.scope", Container = "docker:3f4e5a6b7c8d", NetnsName = "blue", SocketCookie = 7 },
    ];

    [Theory]
    [InlineData("owner_pid=100", new long[] { 4, 1 })]
    [InlineData("owner_pid=200", new long[] { 2 })]
    [InlineData("owner_pid=300", new long[] { })]
    [InlineData("cgroup=/system.slice", new long[] { 4, 1 })]
    [InlineData("cgroup=/pmt", new long[] { 2 })]
    [InlineData("cgroup=/pm", new long[] { })]
    [InlineData("container=docker:3f4e5a6b7c8d", new long[] { 4, 1 })]
    [InlineData("container=3f4e5a6b7c8d", new long[] { 4, 1 })]
    [InlineData("netns_name=blue", new long[] { 4, 3, 1 })]
    [InlineData("netns_name=red&owner_pid=200", new long[] { 2 })]
    public async Task GetEvents_AttributionFilter_ReturnsTheOwnersEvents(string query, long[] expected)
    {
        await using var host = await WithEventsAsync(Owned());

        var body = await host.GetJsonAsync("/api/events?" + query);

        Assert.Equal(expected, Ids(body));
    }

    [Fact]
    public async Task GetEvents_OwnedEvent_HasTheAttributionFields()
    {
        await using var host = await WithEventsAsync(Owned());

        var item = (await host.GetJsonAsync("/api/events?limit=1")).GetProperty("events")[0];

        Assert.Equal(100, item.GetProperty("owner_pid").GetInt32());
        Assert.Equal("nginx", item.GetProperty("owner_comm").GetString());
        Assert.Equal(4242, item.GetProperty("context_pid").GetInt32());
        Assert.Equal("docker:3f4e5a6b7c8d", item.GetProperty("container").GetString());
        Assert.Equal("/system.slice/docker-3f4e5a6b7c8d.scope", item.GetProperty("cgroup").GetString());
        Assert.Equal(9, item.GetProperty("cgroup_id").GetInt32());
        Assert.Equal(7, item.GetProperty("socket_cookie").GetInt32());
        Assert.Equal("blue", item.GetProperty("netns_name").GetString());
    }

    [Fact]
    public async Task GetEvents_DefaultLimit_Is100()
    {
        await using var host = await WithEventsAsync(Samples.Many(150));

        var body = await host.GetJsonAsync("/api/events");

        Assert.Equal(100, body.GetProperty("count").GetInt32());
        Assert.Equal(150, Ids(body)[0]);
    }

    [Fact]
    public async Task GetEvents_MaxLimit_Returns10000()
    {
        await using var host = await WithEventsAsync(Samples.Many(10_050));

        var body = await host.GetJsonAsync("/api/events?limit=10000");

        Assert.Equal(10_000, body.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=10001", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("limit=1.5", "limit")]
    [InlineData("limit=", "limit")]
    [InlineData("limit=1&limit=2", "limit")]
    [InlineData("reason=no-socket", "reason")]
    [InlineData("reason=%3Cscript%3E", "reason")]
    [InlineData("reason=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "reason")]
    [InlineData("reason=", "reason")]
    [InlineData("protocol=tcpx", "protocol")]
    [InlineData("protocol=256", "protocol")]
    [InlineData("protocol=-6", "protocol")]
    [InlineData("host=10.0.0", "host")]
    [InlineData("host=10.0.0.1/33", "host")]
    [InlineData("host=2001:db8::/129", "host")]
    [InlineData("host=example.com", "host")]
    [InlineData("host=10.0.0.1/", "host")]
    [InlineData("port=0", "port")]
    [InlineData("port=65536", "port")]
    [InlineData("port=http", "port")]
    [InlineData("port=-1", "port")]
    [InlineData("interface=abcdefghijklmnop", "interface")]
    [InlineData("interface=a/b", "interface")]
    [InlineData("interface=eth0:1", "interface")]
    [InlineData("interface=eth%200", "interface")]
    [InlineData("interface=..", "interface")]
    [InlineData("since=yesterday", "since")]
    [InlineData("since=2026-13-01T00:00:00Z", "since")]
    [InlineData("since=1700000000", "since")]
    [InlineData("since=31/01/2026", "since")]
    [InlineData("owner_pid=0", "owner_pid")]
    [InlineData("owner_pid=nginx", "owner_pid")]
    [InlineData("owner_pid=99999999", "owner_pid")]
    [InlineData("cgroup=system.slice", "cgroup")]
    [InlineData("cgroup=/a%0Ab", "cgroup")]
    [InlineData("container=a%20b", "container")]
    [InlineData("container=docker/x", "container")]
    [InlineData("netns_name=a/b", "netns_name")]
    [InlineData("netns_name=..", "netns_name")]
    public async Task GetEvents_BadParameter_Returns400ProblemNamingIt(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync("/api/events?" + query, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith(parameter + ": ", detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', detail);
    }

    [Fact]
    public async Task GetEvents_Stopped_StillServesTheEventsKept()
    {
        await using var host = await WithEventsAsync(Mixed());
        await host.Session.StopAsync(TestContext.Current.CancellationToken);

        var body = await host.GetJsonAsync("/api/events?limit=1");

        Assert.Equal([5], Ids(body));
    }
}
