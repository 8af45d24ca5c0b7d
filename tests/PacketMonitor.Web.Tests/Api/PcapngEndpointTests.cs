using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Tests.Exports;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

/// <summary><c>GET /api/events.pcapng</c> over a real server, its downloads read back by tshark.</summary>
public sealed class PcapngEndpointTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Directory.CreateTempSubdirectory("pm-pcapng-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The five drops of the /api/events tests (ids 1..5, oldest first), with real Ethernet/IP/L4 headers.</summary>
    private static List<DropEvent> Mixed() =>
    [
        Real(Samples.Event(reason: "NO_SOCKET", reasonCode: 3, source: "10.0.0.1", destination: "10.0.0.2", destinationPort: 80, protocol: 6, ifname: "eth0", time: T0)),
        Real(Samples.Event(reason: "NETFILTER_DROP", reasonCode: 14, source: "192.168.1.5", destination: "10.0.0.2", destinationPort: 53, protocol: 17, ifname: "eth1", time: T0.AddSeconds(1))),
        Real(Samples.Event(reason: "NO_SOCKET", reasonCode: 3, source: "2001:db8::1", destination: "2001:db8::2", destinationPort: 443, protocol: 6, ifname: "veth0", time: T0.AddSeconds(2))),
        Real(Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, source: "10.1.2.3", destination: "10.9.9.9", protocol: 1, ifname: "eth0", time: T0.AddSeconds(3))),
        Real(Samples.Event(reason: "NETFILTER_DROP", reasonCode: 14, source: "172.16.0.1", destination: "172.16.0.2", sourcePort: 5353, destinationPort: 8080, protocol: 17, ifname: "lo", time: T0.AddSeconds(4))),
    ];

    /// <summary>The sample with captured bytes that say what its fields say (Ethernet + IP + TCP/UDP/ICMP, 60-byte IP packet).</summary>
    private static DropEvent Real(DropEvent e)
    {
        string src = e.SourceAddress!.ToString(), dst = e.DestinationAddress!.ToString();
        byte[] l4 = e.IpProtocol switch
        {
            6 => PacketBytes.Tcp(e.SourcePort!.Value, e.DestinationPort!.Value),
            17 => PacketBytes.Udp(e.SourcePort!.Value, e.DestinationPort!.Value, 20, new byte[12]),
            _ => PacketBytes.IcmpEcho(8, 1, 1, new byte[12]),
        };
        bool v6 = e.Family == PacketFamily.Ipv6;
        byte[] ip = v6
            ? PacketBytes.Ipv6(src, dst, e.IpProtocol, l4.Length, l4)
            : PacketBytes.Ipv4(src, dst, e.IpProtocol, 20 + l4.Length, l4);
        return e with { Headers = PacketBytes.Ethernet(v6 ? (ushort)0x86DD : (ushort)0x0800, ip), Length = (uint)ip.Length, L3Offset = 14 };
    }

    private static async Task<DashboardHost> WithEventsAsync(List<DropEvent> events, Action<DashboardOptions>? configure = null)
    {
        var host = await DashboardHost.StartAsync(configure);
        Assert.True(host.Source.Push(events));
        await Wait.UntilAsync(() => host.Session.Recent.LastId >= events.Count, "the events in the recent window");
        return host;
    }

    /// <summary>Downloads the capture into a file and returns its path.</summary>
    private async Task<string> DownloadAsync(DashboardHost host, string query = "")
    {
        using var response = await host.Http.GetAsync("/api/events.pcapng" + query, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string file = Path.Combine(_dir, $"{Guid.NewGuid():n}.pcapng");
        await File.WriteAllBytesAsync(file, await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        return file;
    }

    private static List<string[]> Packets(string file) =>
        Tshark.Fields(file, "ip.src", "ipv6.src", "tcp.dstport", "udp.dstport", "icmp.type", "frame.len", "frame.interface_name", "frame.comment");

    [Fact]
    public async Task GetPcapng_NoParameters_IsAnAttachmentWithEveryEventOldestFirst()
    {
        Tshark.Require();
        await using var host = await WithEventsAsync(Mixed());

        using var response = await host.Http.GetAsync("/api/events.pcapng", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-pcapng", response.Content.Headers.ContentType?.MediaType);
        var disposition = response.Content.Headers.ContentDisposition;
        Assert.Equal("attachment", disposition?.DispositionType);
        Assert.Matches(@"^packet-monitor-\d{8}T\d{6}Z\.pcapng$", disposition?.FileNameStar ?? disposition?.FileName?.Trim('"'));
        string file = Path.Combine(_dir, "all.pcapng");
        await File.WriteAllBytesAsync(file, await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);

        Assert.Equal(
            [
                ["10.0.0.1", "", "80", "", "", "54", "eth0", "reason: NO_SOCKET (3); location: tcp_v4_rcv+0x1a2; cpu context: curl (pid 4242, cpu 1)"],
                ["192.168.1.5", "", "", "53", "", "54", "eth1", "reason: NETFILTER_DROP (14); location: tcp_v4_rcv+0x1a2; cpu context: curl (pid 4242, cpu 1)"],
                ["", "2001:db8::1", "443", "", "", "74", "veth0", "reason: NO_SOCKET (3); location: tcp_v4_rcv+0x1a2; cpu context: curl (pid 4242, cpu 1)"],
                ["10.1.2.3", "", "", "", "8", "54", "eth0", "reason: PKT_TOO_SMALL (8); location: tcp_v4_rcv+0x1a2; cpu context: curl (pid 4242, cpu 1)"],
                ["172.16.0.1", "", "", "8080", "", "54", "lo", "reason: NETFILTER_DROP (14); location: tcp_v4_rcv+0x1a2; cpu context: curl (pid 4242, cpu 1)"],
            ],
            Packets(file));
    }

    [Theory]
    [InlineData("?reason=NETFILTER_DROP&protocol=udp")]
    [InlineData("?host=10.0.0.0/8")]
    [InlineData("?port=443")]
    [InlineData("?interface=eth0")]
    [InlineData("?since=2026-01-31T12:00:03Z")]
    [InlineData("?reason=NO_SOCKET&limit=1")]
    [InlineData("?limit=2")]
    [InlineData("?reason=TCP_CSUM")]
    public async Task GetPcapng_Filter_HoldsExactlyTheEventsOfApiEventsInTimeOrder(string query)
    {
        Tshark.Require();
        var events = Mixed();
        await using var host = await WithEventsAsync(events);

        var json = await host.GetJsonAsync("/api/events" + query);
        string file = await DownloadAsync(host, query);

        // Oldest first: the reverse of /api/events; each event identified by its source address and reason.
        var expected = json.GetProperty("events").EnumerateArray().Reverse()
            .Select(e => (e.GetProperty("src_addr").GetString()!, e.GetProperty("reason").GetString()!))
            .ToList();
        var actual = Packets(file)
            .Select(p => (p[0].Length > 0 ? p[0] : p[1], p[7].Split(' ')[1]))
            .ToList();
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count, Tshark.PacketCount(file));
    }

    [Fact]
    public async Task GetPcapng_NoLimitGiven_ExportsEveryEventInMemory()
    {
        Tshark.Require();
        await using var host = await WithEventsAsync(Samples.Many(150).Select(Real).ToList());

        string file = await DownloadAsync(host);

        Assert.Equal(150, Tshark.PacketCount(file)); // /api/events would stop at 100
    }

    [Fact]
    public async Task GetPcapng_NoEvents_IsAValidEmptyCapture()
    {
        Tshark.Require();
        await using var host = await DashboardHost.StartAsync();

        string file = await DownloadAsync(host);

        Assert.Equal(0, Tshark.PacketCount(file));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("protocol=tcpx", "protocol")]
    [InlineData("host=example.com", "host")]
    [InlineData("port=1&port=2", "port")]
    [InlineData("interface=a/b", "interface")]
    public async Task GetPcapng_BadParameter_Returns400ProblemLikeApiEvents(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync("/api/events.pcapng?" + query, TestContext.Current.CancellationToken);
        using var json = await host.Http.GetAsync("/api/events?" + query, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        var jsonProblem = await json.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.StartsWith(parameter + ": ", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(jsonProblem.GetProperty("detail").GetString(), problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task GetPcapng_WithToken_NeedsTheBearerHeader()
    {
        Tshark.Require();
        const string Token = "pcapng-test-token";
        await using var host = await WithEventsAsync(Mixed(), o => o.Token = Token);

        using var without = await host.Http.GetAsync("/api/events.pcapng", TestContext.Current.CancellationToken);
        using var inQuery = await host.Http.GetAsync("/api/events.pcapng?access_token=" + Token, TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events.pcapng");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var with = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, inQuery.StatusCode);
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        string file = Path.Combine(_dir, "token.pcapng");
        await File.WriteAllBytesAsync(file, await with.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        Assert.Equal(5, Tshark.PacketCount(file));
    }

    [Fact]
    public async Task OpenApi_DescribesTheEndpointAndItsMediaType()
    {
        await using var host = await DashboardHost.StartAsync();

        var document = await host.GetJsonAsync("/openapi/v1.json");

        var get = document.GetProperty("paths").GetProperty("/api/events.pcapng").GetProperty("get");
        Assert.Equal("GetEventsPcapng", get.GetProperty("operationId").GetString());
        Assert.True(get.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("application/x-pcapng", out _));
    }
}
