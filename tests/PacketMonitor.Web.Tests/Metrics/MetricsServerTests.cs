using System.Net;
using System.Net.Http.Headers;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Metrics;

/// <summary>The /metrics-only server of <c>watch --metrics-listen</c>.</summary>
public sealed class MetricsServerTests
{
    private static async Task<(MetricsServer Server, HttpClient Http)> StartAsync(string listen, string? token = null)
    {
        var metrics = new DropMetrics(new FakeReasons());
        var server = MetricsServer.Create(metrics, listen, token);
        await server.StartAsync(TestContext.Current.CancellationToken);
        var address = server.Addresses[0];
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{address.Port}") };
        return (server, http);
    }

    [Fact]
    public async Task MetricsServer_ServesOnlyMetrics()
    {
        var (server, http) = await StartAsync("127.0.0.1:0");
        await using var _ = server;
        using var __ = http;
        var cancel = TestContext.Current.CancellationToken;

        Assert.Contains("# TYPE packet_monitor_drops_total counter", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel), StringComparison.Ordinal);
        foreach (var path in new[] { "/", "/api/stats", "/healthz", "/hubs/monitor" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancel);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }

    [Fact]
    public async Task MetricsServer_BeyondLoopback_NeedsItsToken()
    {
        var (server, http) = await StartAsync(":0", "scrape-me");
        await using var _ = server;
        using var __ = http;
        var cancel = TestContext.Current.CancellationToken;

        using (var none = await http.GetAsync(new Uri("/metrics", UriKind.Relative), cancel))
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "scrape-me");
        using var ok = await http.SendAsync(request, cancel);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData(":9999", "--metrics-token")]
    [InlineData("0.0.0.0:9999", "--metrics-token")]
    [InlineData("127.0.0.1", "--metrics-listen: '127.0.0.1' is not an address to listen on: the port is missing")]
    [InlineData("example.org:80", "--metrics-listen: 'example.org:80' is not an address")]
    public void MetricsServer_BadOrUnprotectedAddress_IsRefusedInOneLine(string listen, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => MetricsServer.Create(new DropMetrics(new FakeReasons()), listen, null));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task MetricsServer_PortInUse_SaysSo()
    {
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        await using var server = MetricsServer.Create(new DropMetrics(new FakeReasons()), $"127.0.0.1:{port}", null);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains($"port {port} is already in use", e.Message, StringComparison.Ordinal);
    }
}
