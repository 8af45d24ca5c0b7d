using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

public sealed class MonitorEndpointTests
{
    internal static HttpRequestMessage Post(string path, bool requestedWith = true, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (requestedWith)
            request.Headers.Add("X-Requested-With", "packet-monitor");
        if (origin is not null)
            request.Headers.Add("Origin", origin);
        return request;
    }

    private static async Task<JsonElement> SendAsync(DashboardHost host, HttpRequestMessage request, HttpStatusCode expected)
    {
        using (request)
        using (var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken))
        {
            Assert.Equal(expected, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task PostStart_Twice_StartsOnceAndReturnsTheStatus()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);

        var first = await SendAsync(host, Post("/api/monitor/start"), HttpStatusCode.OK);
        var second = await SendAsync(host, Post("/api/monitor/start"), HttpStatusCode.OK);

        Assert.True(first.GetProperty("running").GetBoolean());
        Assert.Equal(FakeDropSource.Mode, first.GetProperty("attach_mode").GetString());
        Assert.Equal(host.Session.Status.StartedAt, first.GetProperty("started_at").GetDateTimeOffset());
        Assert.Equal(first.ToString(), second.ToString());
        Assert.Equal(1, host.Source.Starts);
        Assert.Equal(["running", "attach_mode", "started_at"], first.EnumerateObject().Select(p => p.Name).ToArray());
    }

    [Fact]
    public async Task PostStop_Twice_StopsAndReturnsTheStatus()
    {
        await using var host = await DashboardHost.StartAsync();

        var first = await SendAsync(host, Post("/api/monitor/stop"), HttpStatusCode.OK);
        var second = await SendAsync(host, Post("/api/monitor/stop"), HttpStatusCode.OK);

        Assert.False(first.GetProperty("running").GetBoolean());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("attach_mode").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("started_at").ValueKind);
        Assert.Equal(first.ToString(), second.ToString());
        Assert.False(host.Source.Running);
    }

    [Fact]
    public async Task PostStart_SourceFails_Returns503ProblemWithTheMessage()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        host.Source.StartFailure = new InvalidOperationException("attach tp_btf/kfree_skb: EPERM");

        using var request = Post("/api/monitor/start");
        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Contains("attach tp_btf/kfree_skb: EPERM", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(host.Session.Status.Running);
    }

    [Theory]
    [InlineData("/api/monitor/start")]
    [InlineData("/api/monitor/stop")]
    public async Task Post_WithoutRequestedWithHeader_Returns403AndChangesNothing(string path)
    {
        await using var host = await DashboardHost.StartAsync(monitoring: path.EndsWith("stop", StringComparison.Ordinal));
        bool before = host.Session.Status.Running;

        var problem = await SendAsync(host, Post(path, requestedWith: false), HttpStatusCode.Forbidden);

        Assert.Contains("X-Requested-With: packet-monitor", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, host.Session.Status.Running);
    }

    [Fact]
    public async Task Post_WrongRequestedWithValue_Returns403()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/monitor/start");
        request.Headers.Add("X-Requested-With", "XMLHttpRequest");

        await SendAsync(host, request, HttpStatusCode.Forbidden);

        Assert.False(host.Session.Status.Running);
    }

    [Fact]
    public async Task Post_FromAnotherOrigin_Returns403()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);

        await SendAsync(host, Post("/api/monitor/start", origin: "http://evil.example"), HttpStatusCode.Forbidden);

        Assert.False(host.Session.Status.Running);
    }

    [Fact]
    public async Task Post_FromTheDashboardsOrigin_Succeeds()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        string origin = host.BaseAddress.GetLeftPart(UriPartial.Authority);

        var status = await SendAsync(host, Post("/api/monitor/start", origin: origin), HttpStatusCode.OK);

        Assert.True(status.GetProperty("running").GetBoolean());
    }

    [Fact]
    public async Task GetStart_IsNotAllowed()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);

        using var response = await host.Http.GetAsync("/api/monitor/start", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.False(host.Session.Status.Running);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GetHealthz_ReportsOkAndWhetherRunning(bool monitoring)
    {
        await using var host = await DashboardHost.StartAsync(monitoring: monitoring);

        var health = await host.GetJsonAsync("/healthz");

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(monitoring, health.GetProperty("running").GetBoolean());
    }
}
