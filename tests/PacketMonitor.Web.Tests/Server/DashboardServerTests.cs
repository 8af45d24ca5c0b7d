using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Server;

public sealed class DashboardServerTests
{
    [Fact]
    public async Task RunAsync_PortInUse_ThrowsOneLineNamingThePortAndHowToPickAnother()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        int port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);
        await using var app = DashboardServer.Build(session, new DashboardOptions { Listen = $"127.0.0.1:{port}" });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DashboardServer.RunAsync(app, TestContext.Current.CancellationToken));

        Assert.Equal($"port {port} is already in use: pick another with --listen 127.0.0.1:PORT", error.Message);
    }

    [Fact]
    public async Task RunAsync_StopTokenFires_ServesUntilThenStops()
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);
        await using var app = DashboardServer.Build(session, new DashboardOptions { Listen = "127.0.0.1:0" });
        using var stop = new CancellationTokenSource();

        var run = DashboardServer.RunAsync(app, stop.Token);
        await Wait.UntilAsync(() => app.Urls.Any(u => !u.EndsWith(":0", StringComparison.Ordinal)), "the server to listen");
        var address = DashboardServer.Addresses(app)[0];
        using var http = new HttpClient { BaseAddress = address };
        var health = await http.GetFromJsonAsync<JsonElement>("/healthz", TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal("ok", health.GetProperty("status").GetString());
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("/healthz", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetOpenApi_ServesTheDocumentWithEveryEndpoint()
    {
        await using var host = await DashboardHost.StartAsync();

        var document = await host.GetJsonAsync("/openapi/v1.json");

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/stats", "/api/events", "/api/reasons", "/api/monitor/start", "/api/monitor/stop", "/healthz" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is documented");
        var parameters = paths.GetProperty("/api/events").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "limit", "reason", "protocol", "host", "port", "interface", "since", "owner_pid", "cgroup", "container", "netns_name" }, parameters);
        var eventFields = document.GetProperty("components").GetProperty("schemas").GetProperty("EventsResponse")
            .GetProperty("properties").GetProperty("events").GetProperty("items").GetProperty("properties");
        foreach (var field in new[] { "id", "timestamp", "reason", "comm", "headers_hex", "l3_offset", "owner_pid", "context_pid", "container", "netns_name", "stack" })
            Assert.True(eventFields.TryGetProperty(field, out _), $"event field {field} is documented");
    }

    [Fact]
    public async Task GetRoot_ServesIndexHtmlWithoutCaching()
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync("/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(DashboardHost.IndexHtml, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.True(response.Headers.CacheControl?.NoCache);
    }

    [Fact]
    public async Task GetAsset_ServesItWithItsContentType()
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync("/app.js", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task GetRoot_PageNotBuilt_Returns404ProblemSayingHowToBuildIt()
    {
        await using var host = await DashboardHost.StartAsync(withWebRoot: false);

        using var response = await host.Http.GetAsync("/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Contains("npm", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetUnknownApiPath_Returns404Problem()
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync("/api/nothing", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Build_LocalhostName_ListensOnLoopback()
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);
        await using var app = DashboardServer.Build(session, new DashboardOptions { Listen = "localhost:0" });
        await app.StartAsync(TestContext.Current.CancellationToken);

        var address = Assert.Single(DashboardServer.Addresses(app));
        using var http = new HttpClient { BaseAddress = address };
        var health = await http.GetFromJsonAsync<JsonElement>("/healthz", TestContext.Current.CancellationToken);

        Assert.Equal("127.0.0.1", address.Host);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("127.0.0.1:5000")]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:http")]
    [InlineData("::1:5000")]
    [InlineData("[::1]")]
    [InlineData("[127.0.0.1]:5000")]
    [InlineData("example.com:5000")]
    public async Task Build_ListenAddress_AcceptsOnlyWellFormedOnes(string listen)
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);
        bool valid = listen == "127.0.0.1:5000";

        var error = Record.Exception(() => DashboardServer.Build(session, new DashboardOptions { Listen = listen }));

        if (valid)
        {
            Assert.Null(error);
        }
        else
        {
            var argument = Assert.IsType<ArgumentException>(error);
            Assert.StartsWith($"--listen: '{listen}'", argument.Message, StringComparison.Ordinal);
        }
    }
}
