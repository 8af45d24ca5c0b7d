using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using PacketMonitor.Cli.Tests.Deploy;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>
/// The metrics of the real executable over real drops: a veth pair with names of its own (so that no other
/// traffic on the machine lands in the same series), UDP to a closed port across it.
/// </summary>
public sealed partial class MetricsProcessTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Namespaces a and b joined by a veth pair named uniquely for this test; b drops what a sends to port 9.</summary>
    private sealed class DropPath : IDisposable
    {
        public DropPath()
        {
            string id = Guid.NewGuid().ToString("N")[..6];
            AName = $"pmma{id}";
            BName = $"pmmb{id}";
            A = new NetworkNamespace();
            B = new NetworkNamespace();
            try
            {
                Shell.Run("ip", "link", "add", AName, "netns", A.Name, "type", "veth", "peer", "name", BName, "netns", B.Name);
                A.Ip("addr", "add", "10.77.0.1/24", "dev", AName);
                B.Ip("addr", "add", "10.77.0.2/24", "dev", BName);
                A.Ip("link", "set", AName, "up");
                B.Ip("link", "set", BName, "up");
                var macB = B.Ip("-br", "link", "show", BName).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
                A.Ip("neigh", "replace", "10.77.0.2", "lladdr", macB, "dev", AName, "nud", "permanent");
                Sender = A.UdpSocket(IPAddress.Parse("10.77.0.1"));
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public NetworkNamespace A { get; }
        public NetworkNamespace B { get; }
        public string AName { get; }
        public string BName { get; }
        public Socket? Sender { get; }

        public void Send(int packets)
        {
            for (int i = 0; i < packets; i++)
                Sender!.SendTo(new byte[32], new IPEndPoint(IPAddress.Parse("10.77.0.2"), 9));
        }

        public void Dispose()
        {
            Sender?.Dispose();
            A?.Dispose();
            B?.Dispose();
        }
    }

    [Fact]
    public async Task Serve_ScrapedByARealPrometheus_CountsExactlyTheDropsSent()
    {
        KernelTest.RequireRoot();
        using var path = new DropPath();
        int port = FreePort();
        using var monitor = new MonitorProcess("serve", "--listen", $"127.0.0.1:{port}");
        await monitor.WaitAttachedAsync();
        using var prometheus = new PrometheusServer($"127.0.0.1:{port}");
        await prometheus.WaitReadyAsync();
        Assert.True(await EventuallyAsync(async () => await prometheus.QueryAsync("up{job=\"packet-monitor\"}") == 1), $"target never up: {prometheus.Log}");

        const int sent = 37;
        path.Send(sent);

        string drops = $"sum(packet_monitor_drops_total{{interface=\"{path.BName}\",reason=\"NO_SOCKET\",protocol=\"udp\"}})";
        Assert.True(await EventuallyAsync(async () => await prometheus.QueryAsync(drops) == sent),
            $"Prometheus saw {await prometheus.QueryAsync(drops)} of {sent} drops; stderr: {monitor.Stderr}");
        // The kernel counts skb->len at the drop: for UDP, the UDP header (8) and the payload.
        Assert.Equal(sent * (8 + 32), await prometheus.QueryAsync(
            $"sum(packet_monitor_dropped_bytes_total{{interface=\"{path.BName}\",reason=\"NO_SOCKET\",protocol=\"udp\"}})"));
        Assert.Equal(1, await prometheus.QueryAsync("packet_monitor_monitoring"));
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        Assert.Equal(1, await prometheus.QueryAsync($"count(packet_monitor_build_info{{kernel=\"{kernel}\",attach_mode=~\"tp_btf|raw_tp|tracepoint\"}})"));

        // The real output: valid for promtool, and it has every metric the Grafana dashboard uses.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        string text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);
        var (exit, output) = await Tools.RunAsync("promtool", ["check", "metrics"], text);
        Assert.True(exit == 0, $"promtool check metrics: {output}");
        foreach (var metric in GrafanaDashboard.MetricNames())
            Assert.Matches(new Regex($"^{metric}[{{ ]", RegexOptions.Multiline), text);
        // Every query of the Grafana dashboard is one this Prometheus accepts.
        foreach (var expression in GrafanaDashboard.Expressions())
        {
            string query = expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                .Replace("$instance", ".*", StringComparison.Ordinal).Replace("$reason", ".*", StringComparison.Ordinal);
            Assert.Equal((expression, "success"), (expression, await prometheus.QueryStatusAsync(query)));
        }
        monitor.Signal(2);
        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Watch_MetricsListen_ServesTheExactCountsForPromtool()
    {
        KernelTest.RequireRoot();
        using var path = new DropPath();
        int port = FreePort();
        using var monitor = new MonitorProcess("watch", "--counts-only", "--metrics-listen", $"127.0.0.1:{port}");
        await monitor.WaitAttachedAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        const int sent = 23;
        path.Send(sent);

        string series = $"packet_monitor_drops_total{{reason=\"NO_SOCKET\",protocol=\"udp\",interface=\"{path.BName}\"}} ";
        string text = "";
        Assert.True(await EventuallyAsync(async () =>
        {
            text = await TryGetAsync(http, "/metrics") ?? "";
            return text.Split('\n').Any(l => l == series + sent);
        }), $"/metrics never showed {series}{sent}:\n{text}\nstderr: {monitor.Stderr}");
        Assert.Contains("packet_monitor_monitoring 1", text, StringComparison.Ordinal);
        var (exit, output) = await Tools.RunAsync("promtool", ["check", "metrics"], text);
        Assert.True(exit == 0, $"promtool check metrics: {output}");
        using (var other = await http.GetAsync(new Uri("/api/stats", UriKind.Relative), TestContext.Current.CancellationToken))
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);

        monitor.Signal(2);
        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("--metrics-listen", ":9811", "--metrics-token")]
    [InlineData("--metrics-listen", "localhost", "--metrics-listen: 'localhost' is not an address to listen on")]
    [InlineData("--metrics-max-interfaces", "0", "--metrics-max-interfaces: '0' must be a number from 1 to 10000")]
    public async Task Watch_BadMetricsOption_IsOneLineAndExit2(string option, string value, string expected)
    {
        using var monitor = new MonitorProcess("watch", "--counts-only", option, value);

        Assert.Equal(2, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(monitor.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("attached", monitor.Stderr, StringComparison.Ordinal);
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                    return true;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        return false;
    }

    private static async Task<string?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            return await http.GetStringAsync(new Uri(path, UriKind.Relative));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
