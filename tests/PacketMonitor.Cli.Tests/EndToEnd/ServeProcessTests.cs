using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>`packet-monitor serve` with the real kernel program: the API against the packets sent.</summary>
public sealed class ServeProcessTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Serve_RealDrops_ShowInStatsAndEvents()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        int port = FreePort();
        using var monitor = new MonitorProcess("serve", "--listen", $"127.0.0.1:{port}", "--netns", ns.Name, "--no-history");
        await monitor.WaitAttachedAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var cancel = TestContext.Current.CancellationToken;
        Assert.True(await KernelTest.EventuallyAsync(() => TryGet(http, "/healthz") is not null, TimeSpan.FromSeconds(15)),
            $"dashboard did not come up: {monitor.Stderr}");

        using var sender = ns.UdpSocket(IPAddress.Loopback);
        const int sent = 12;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[16], new IPEndPoint(IPAddress.Loopback, 7));

        Assert.True(await KernelTest.EventuallyAsync(() => InterfaceCount(TryGet(http, "/api/stats"), ns.Inode) == sent,
            TimeSpan.FromSeconds(10)), "exact counters in /api/stats");
        using var events = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/events?reason=NO_SOCKET&port=7&limit=1000", UriKind.Relative), cancel));
        var list = events.RootElement.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(sent, list.Count);
        Assert.All(list, e =>
        {
            Assert.Equal("NO_SOCKET", e.GetProperty("reason").GetString());
            Assert.Equal(7, e.GetProperty("dst_port").GetInt32());
            Assert.Equal(ns.Inode, e.GetProperty("netns").GetUInt32());
            Assert.Equal("lo", e.GetProperty("ifname").GetString());
        });

        using var stop = new HttpRequestMessage(HttpMethod.Post, "/api/monitor/stop");
        stop.Headers.Add("X-Requested-With", "packet-monitor");
        var stopped = await http.SendAsync(stop, cancel);
        Assert.True(stopped.IsSuccessStatusCode);
        Assert.Contains("\"running\":false", await stopped.Content.ReadAsStringAsync(cancel), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_VethDeviceDrops_ShowInBlindSpots()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        pair.B.Ip("link", "set", pair.BName, "mtu", "1000");
        int port = FreePort();
        using var monitor = new MonitorProcess("serve", "--listen", $"127.0.0.1:{port}");
        await monitor.WaitAttachedAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Assert.True(await KernelTest.EventuallyAsync(() => Device(TryGet(http, "/api/stats"), pair.A.Inode, pair.AName) is not null,
            TimeSpan.FromSeconds(15)), $"no blind_spots entry for {pair.AName}: {monitor.Stderr}");

        // Too big for B's MTU: the veth drops them at the device (tx_dropped on A, rx_dropped on B).
        const int sent = 9;
        using (var socket = pair.A.UdpSocket(pair.AddressA))
        {
            for (int i = 0; i < sent; i++)
                socket.SendTo(new byte[1400], new IPEndPoint(pair.AddressB, 9));
        }

        Assert.True(await KernelTest.EventuallyAsync(() =>
                Device(TryGet(http, "/api/stats"), pair.A.Inode, pair.AName)?.TxDropped == sent
                && Device(TryGet(http, "/api/stats"), pair.B.Inode, pair.BName)?.RxDropped == sent,
            TimeSpan.FromSeconds(10)), $"device drops in /api/stats: {TryGet(http, "/api/stats")}");
        using var stats = JsonDocument.Parse(TryGet(http, "/api/stats")!);
        var blind = stats.RootElement.GetProperty("blind_spots");
        Assert.Contains("/run/netns", blind.GetProperty("coverage").GetString(), StringComparison.Ordinal);
        Assert.Equal(pair.A.Name, blind.GetProperty("interfaces").EnumerateArray()
            .Single(i => i.GetProperty("name").GetString() == pair.AName).GetProperty("netns_name").GetString());
        Assert.True(blind.GetProperty("all_interfaces").GetProperty("tx_dropped").GetProperty("total").GetInt64() >= sent);
        Assert.True(blind.GetProperty("softnet").GetProperty("cpus").GetInt32() >= 1);
        foreach (var counter in (string[])["rx_dropped", "tx_dropped", "rx_missed", "softnet_dropped", "time_squeeze", "flow_limit"])
            Assert.False(string.IsNullOrEmpty(blind.GetProperty("notes").GetProperty(counter).GetString()), counter);
    }

    /// <summary>One device's totals in blind_spots, or null when /api/stats does not list it (yet).</summary>
    private static (long RxDropped, long TxDropped)? Device(string? statsJson, uint netns, string name)
    {
        if (statsJson is null)
            return null;
        using var stats = JsonDocument.Parse(statsJson);
        if (!stats.RootElement.TryGetProperty("blind_spots", out var blind) || blind.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var device in blind.GetProperty("interfaces").EnumerateArray())
        {
            if (device.GetProperty("netns").GetUInt32() == netns && device.GetProperty("name").GetString() == name)
                return (device.GetProperty("rx_dropped").GetProperty("total").GetInt64(), device.GetProperty("tx_dropped").GetProperty("total").GetInt64());
        }
        return null;
    }

    private static string? TryGet(HttpClient http, string path)
    {
        try
        {
            return http.GetStringAsync(new Uri(path, UriKind.Relative)).GetAwaiter().GetResult();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static long InterfaceCount(string? statsJson, uint netns)
    {
        if (statsJson is null)
            return -1;
        using var stats = JsonDocument.Parse(statsJson);
        return stats.RootElement.GetProperty("by_interface").EnumerateArray()
            .Where(i => i.GetProperty("netns").GetUInt32() == netns)
            .Sum(i => i.GetProperty("count").GetInt64());
    }
}

/// <summary>`serve` refusals that must be one clear line.</summary>
public sealed class ServeFailureTests
{
    [Fact]
    public async Task Serve_PortInUse_SaysWhichPortAndHowToPickAnother()
    {
        KernelTest.RequireRoot();
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        using var monitor = new MonitorProcess("serve", "--listen", $"127.0.0.1:{port}", "--paused", "--no-history");

        Assert.Equal(1, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(monitor.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries),
            l => l.Contains("already in use", StringComparison.Ordinal));
        Assert.Contains($"port {port}", line, StringComparison.Ordinal);
        Assert.Contains("--listen", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", monitor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_AllInterfacesWithoutToken_IsRefusedWithUsageError()
    {
        KernelTest.RequireRoot();
        using var monitor = new MonitorProcess("serve", "--listen", ":5999", "--paused", "--no-history");

        Assert.Equal(2, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--token", monitor.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", monitor.Stderr, StringComparison.Ordinal);
    }
}
