using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using PacketMonitor.Core.Counters;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Metrics;

/// <summary><c>GET /metrics</c> on the dashboard, fed by a fake source's exact counters.</summary>
public sealed class MetricsEndpointTests
{
    private const string Token = "dashboard-token-for-tests";
    private const string ScrapeToken = "metrics-token-for-tests";

    private static string? Names(uint ifindex, uint netns) => (ifindex, netns) switch
    {
        (1, _) => "lo",
        (2, 100) => "eth0",
        (2, 200) => "veth-b",
        _ => null,
    };

    private static Task<DashboardHost> StartAsync(Action<DashboardOptions>? configure = null, int maxInterfaces = 50) =>
        DashboardHost.StartAsync(o =>
        {
            o.Metrics = new DropMetrics(new FakeReasons(), new DropMetricsOptions { InterfaceName = Names, MaxInterfaces = maxInterfaces, Kernel = "6.1.0-test", Version = "1.2.3" });
            configure?.Invoke(o);
        });

    private static async Task<string> ScrapeAsync(DashboardHost host, string? bearer = null)
    {
        using var response = await GetAsync(host.Http, "/metrics", bearer);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static Task<Dictionary<string, double>> SeriesWhenAsync(DashboardHost host, Func<Dictionary<string, double>, bool> ready, string what) =>
        Wait.UntilAsync(async () => MetricsText.Parse(await ScrapeAsync(host)), ready, what);

    [Fact]
    public async Task Metrics_ServeTheExactCountersByReasonProtocolAndInterface()
    {
        await using var host = await StartAsync();
        host.Source.SetCounters(
            new CounterEntry(3, 17, 1, 100, 4, 400, 0xa), new CounterEntry(3, 17, 1, 200, 6, 600, 0xb), // lo in two namespaces
            new CounterEntry(3, 17, 2, 200, 5, 250),
            new CounterEntry(14, 6, 2, 100, 2, 120),
            new CounterEntry(2, 0, 9, 100, 1, 60));
        host.Source.SetLosses(new() { RingBufferFull = 7, QueueFull = 3, Filtered = 11 });

        var series = await SeriesWhenAsync(host, s => s.ContainsKey("""packet_monitor_drops_total{reason="NOT_SPECIFIED",protocol="other",interface="ifindex9"}"""), "counters in /metrics");

        Assert.Equal(10, series["""packet_monitor_drops_total{reason="NO_SOCKET",protocol="udp",interface="lo"}"""]);
        Assert.Equal(1000, series["""packet_monitor_dropped_bytes_total{reason="NO_SOCKET",protocol="udp",interface="lo"}"""]);
        Assert.Equal(5, series["""packet_monitor_drops_total{reason="NO_SOCKET",protocol="udp",interface="veth-b"}"""]);
        Assert.Equal(2, series["""packet_monitor_drops_total{reason="NETFILTER_DROP",protocol="tcp",interface="eth0"}"""]);
        Assert.Equal(7, series["""packet_monitor_events_lost_total{stage="ring_full"}"""]);
        Assert.Equal(3, series["""packet_monitor_events_lost_total{stage="queue_full"}"""]);
        Assert.Equal(11, series["""packet_monitor_events_lost_total{stage="filtered"}"""]);
        Assert.Equal(0, series["""packet_monitor_events_lost_total{stage="slow_clients"}"""]);
        Assert.Equal(1, series["packet_monitor_monitoring"]);
        Assert.Equal(1, series["""packet_monitor_build_info{version="1.2.3",attach_mode="fake_mode",kernel="6.1.0-test"}"""]);
        Assert.Equal(4, series.Keys.Count(k => k.StartsWith("packet_monitor_drops_total", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Metrics_StopAndRestartWithFreshKernelCounters_NeverGoDown()
    {
        await using var host = await StartAsync();
        const string lo = """packet_monitor_drops_total{reason="NO_SOCKET",protocol="udp",interface="lo"}""";
        var cancel = TestContext.Current.CancellationToken;
        host.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 10, 500));
        await SeriesWhenAsync(host, s => s.GetValueOrDefault(lo) == 10, "the first capture's 10");

        host.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 12, 600)); // read by the stop's final reading
        await host.Session.StopAsync(cancel);
        var stopped = MetricsText.Parse(await ScrapeAsync(host));
        Assert.Equal(12, stopped[lo]);
        Assert.Equal(0, stopped["packet_monitor_monitoring"]);

        host.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 3, 150)); // a new capture counts from zero
        await host.Session.StartAsync(cancel);
        var restarted = await SeriesWhenAsync(host, s => s.GetValueOrDefault("packet_monitor_monitoring") == 1 && s.GetValueOrDefault(lo) == 15, "12 + 3");
        Assert.Equal(750, restarted["""packet_monitor_dropped_bytes_total{reason="NO_SOCKET",protocol="udp",interface="lo"}"""]);
    }

    [Fact]
    public async Task Metrics_InterfacesBeyondTheLimit_FoldIntoOther()
    {
        await using var host = await StartAsync(maxInterfaces: 1);
        host.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 4, 0), new CounterEntry(3, 17, 2, 100, 5, 0), new CounterEntry(3, 17, 2, 200, 6, 0));

        var series = await SeriesWhenAsync(host, s => s.Keys.Count(k => k.StartsWith("packet_monitor_drops_total", StringComparison.Ordinal)) == 2, "two series");

        var labels = series.Keys.Where(k => k.StartsWith("packet_monitor_drops_total", StringComparison.Ordinal)).ToList();
        Assert.Equal(15, labels.Sum(k => series[k]));
        Assert.Contains(labels, k => k.Contains("interface=\"other\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_TwoServersInOneProcess_KeepTheirOwnCounters()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        a.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 4, 0));
        b.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 9, 0));
        const string lo = """packet_monitor_drops_total{reason="NO_SOCKET",protocol="udp",interface="lo"}""";

        await SeriesWhenAsync(a, s => s.GetValueOrDefault(lo) == 4, "a's 4");
        await SeriesWhenAsync(b, s => s.GetValueOrDefault(lo) == 9, "b's 9");
    }

    [Fact]
    public async Task Metrics_RealOutput_PassesPromtoolCheckMetrics()
    {
        await using var host = await StartAsync();
        host.Source.SetCounters(new CounterEntry(3, 17, 1, 100, 4, 400), new CounterEntry(14, 6, 2, 100, 2, 120));
        await SeriesWhenAsync(host, s => s.Keys.Any(k => k.Contains("NETFILTER_DROP", StringComparison.Ordinal)), "counters");
        string text = await ScrapeAsync(host);

        var (exit, output) = await Promtool.CheckMetricsAsync(text);

        Assert.True(exit == 0, $"promtool check metrics: {output}\n{text}");
    }

    [Fact]
    public async Task Metrics_WithTheDashboardToken_NeedATokenAndTakeTheMetricsToken()
    {
        await using var host = await StartAsync(o =>
        {
            o.Token = Token;
            o.MetricsToken = ScrapeToken;
        });

        using (var none = await GetAsync(host.Http, "/metrics"))
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using (var wrong = await GetAsync(host.Http, "/metrics", "wrong"))
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using (var query = await GetAsync(host.Http, $"/metrics?access_token={Token}"))
            Assert.Equal(HttpStatusCode.Unauthorized, query.StatusCode); // header only: a URL token ends up in logs
        Assert.Contains("packet_monitor_monitoring", await ScrapeAsync(host, ScrapeToken), StringComparison.Ordinal);
        Assert.Contains("packet_monitor_monitoring", await ScrapeAsync(host, Token), StringComparison.Ordinal);
        // The metrics token opens nothing else.
        using var api = await GetAsync(host.Http, "/api/stats", ScrapeToken);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task Metrics_OnLoopbackWithOnlyAMetricsToken_NeedIt()
    {
        await using var host = await StartAsync(o => o.MetricsToken = ScrapeToken);

        using (var none = await GetAsync(host.Http, "/metrics"))
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("packet_monitor_drops_total", await ScrapeAsync(host, ScrapeToken), StringComparison.Ordinal);
        using var api = await GetAsync(host.Http, "/api/stats");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode); // the loopback dashboard itself stays open
    }

    [Fact]
    public async Task Metrics_WithoutTokens_AreOpenOnLoopbackButCheckTheHost()
    {
        await using var host = await StartAsync();
        Assert.Contains("packet_monitor_monitoring", await ScrapeAsync(host), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Host = "attacker.example";
        using var rebound = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, rebound.StatusCode);
    }
}

/// <summary>The Prometheus text format read back: series (name with labels, as printed) to value.</summary>
internal static class MetricsText
{
    public static Dictionary<string, double> Parse(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => (Series: line[..line.LastIndexOf(' ')], Value: double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(x => x.Series, x => x.Value);
}

/// <summary>Debian's promtool (package prometheus), installed by <c>make deps</c>.</summary>
internal static class Promtool
{
    public static async Task<(int Exit, string Output)> CheckMetricsAsync(string text)
    {
        var info = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("promtool did not start (apt-get install prometheus)");
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        string output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
