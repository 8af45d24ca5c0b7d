using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web.Tests.Api;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Server;

public sealed class SecurityTests
{
    private const string Token = "s3cret-token-for-tests";
    private const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    private static Task<DashboardHost> WithTokenAsync() => DashboardHost.StartAsync(o => o.Token = Token);

    private static async Task<HttpResponseMessage> GetAsync(DashboardHost host, string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await host.Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("/api/stats")]
    [InlineData("/api/events?limit=bad")]
    [InlineData("/healthz")]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/no/such/page")]
    public async Task AnyResponse_CarriesTheSecurityHeaders(string path)
    {
        await using var host = await DashboardHost.StartAsync();

        using var response = await host.Http.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(Csp, string.Join(", ", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join(", ", response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", string.Join(", ", response.Headers.GetValues("Referrer-Policy")));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Preflight_FromAnotherOrigin_GetsNoCorsHeaders()
    {
        await using var host = await DashboardHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/monitor/stop");
        request.Headers.Add("Origin", "http://evil.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-requested-with");

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Headers"));
    }

    [Theory]
    [InlineData("/api/stats")]
    [InlineData("/api/events")]
    [InlineData("/api/reasons")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/")]
    [InlineData("/index.html")]
    public async Task Get_WithTokenSetButNoneGiven_Returns401Problem(string path)
    {
        await using var host = await WithTokenAsync();

        using var response = await GetAsync(host, path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Contains("token", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/stats")]
    [InlineData("/api/events")]
    [InlineData("/")]
    public async Task Get_WithWrongToken_Returns401(string path)
    {
        await using var host = await WithTokenAsync();

        using var wrong = await GetAsync(host, path, bearer: Token + "x");
        using var prefix = await GetAsync(host, path, bearer: Token[..^1]);
        using var empty = await GetAsync(host, path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "access_token=");

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, prefix.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, empty.StatusCode);
    }

    [Theory]
    [InlineData("/api/stats")]
    [InlineData("/api/events")]
    [InlineData("/api/reasons")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/")]
    public async Task Get_WithRightBearerToken_Succeeds(string path)
    {
        await using var host = await WithTokenAsync();

        using var response = await GetAsync(host, path, bearer: Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Page_WithTokenInQuery_IsServed()
    {
        await using var host = await WithTokenAsync();

        using var response = await GetAsync(host, "/?access_token=" + Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(DashboardHost.IndexHtml, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Api_WithTokenInQuery_Returns401()
    {
        await using var host = await WithTokenAsync();

        using var response = await GetAsync(host, "/api/stats?access_token=" + Token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/app.js")]
    public async Task Get_PublicPathsWithTokenSet_NeedNoToken(string path)
    {
        await using var host = await WithTokenAsync();

        using var response = await GetAsync(host, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task PostStart_WithTokenButNoRequestedWithHeader_Returns403()
    {
        await using var host = await DashboardHost.StartAsync(o => o.Token = Token, monitoring: false);
        using var request = MonitorEndpointTests.Post("/api/monitor/start", requestedWith: false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(host.Session.Status.Running);
    }

    [Fact]
    public async Task PostStart_WithTokenAndRequestedWithHeader_Starts()
    {
        await using var host = await DashboardHost.StartAsync(o => o.Token = Token, monitoring: false);
        using var request = MonitorEndpointTests.Post("/api/monitor/start");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(host.Session.Status.Running);
    }

    [Fact]
    public async Task PostStart_WithoutToken_Returns401()
    {
        await using var host = await DashboardHost.StartAsync(o => o.Token = Token, monitoring: false);
        using var request = MonitorEndpointTests.Post("/api/monitor/start");

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(host.Session.Status.Running);
    }

    [Fact]
    public async Task Hub_WithoutToken_IsRefused()
    {
        await using var host = await WithTokenAsync();
        var hub = host.Hub();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task Hub_WithWrongToken_IsRefused()
    {
        await using var host = await WithTokenAsync();
        var hub = host.Hub(token: "nope");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task Hub_WithToken_ConnectsAndGetsInitialData()
    {
        await using var host = await WithTokenAsync();
        var hub = host.Hub(token: Token);
        var inbox = new HubInbox(hub);

        await hub.StartAsync(TestContext.Current.CancellationToken);

        await inbox.WaitForAsync("initial_data");
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task Hub_WebSocketWithTokenInQuery_IsAccepted()
    {
        await using var host = await WithTokenAsync();
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        var url = new Uri($"ws://{host.BaseAddress.Authority}/hubs/monitor?access_token={Token}");

        await socket.ConnectAsync(url, TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        socket.Abort();
    }

    [Fact]
    public async Task Hub_NegotiateFromAnotherOrigin_Returns403()
    {
        await using var host = await DashboardHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/monitor/negotiate?negotiateVersion=1");
        request.Headers.Add("Origin", "http://evil.example");

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Hub_WebSocketFromAnotherOrigin_IsRefused()
    {
        await using var host = await DashboardHost.StartAsync();
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", "http://evil.example");

        await Assert.ThrowsAnyAsync<System.Net.WebSockets.WebSocketException>(
            () => socket.ConnectAsync(new Uri($"ws://{host.BaseAddress.Authority}/hubs/monitor"), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:5000")]
    [InlineData("10.1.2.3")]
    public async Task Request_WithAHostThatIsNotThisMachine_Returns400(string hostHeader)
    {
        await using var host = await DashboardHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats");
        request.Headers.Host = hostHeader;

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:5000")]
    [InlineData("[::1]:5000")]
    public async Task Request_WithALoopbackHost_IsServed(string hostHeader)
    {
        await using var host = await DashboardHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats");
        request.Headers.Host = hostHeader;

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("0.0.0.0:5000")]
    [InlineData(":5000")]
    [InlineData("[::]:5000")]
    [InlineData("192.0.2.10:8080")]
    public async Task Build_NonLoopbackWithoutToken_RefusesAndSaysToPassAToken(string listen)
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);

        var error = Assert.Throws<ArgumentException>(() => DashboardServer.Build(session, new DashboardOptions { Listen = listen }));

        Assert.Contains("--token", error.Message, StringComparison.Ordinal);
        Assert.Contains("PACKET_MONITOR_TOKEN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_NonLoopbackWithToken_Builds()
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);

        await using var app = DashboardServer.Build(session, new DashboardOptions { Listen = "0.0.0.0:0", Token = Token });

        Assert.NotNull(app);
    }

    [Theory]
    [InlineData("127.0.0.1:0")]
    [InlineData("localhost:0")]
    [InlineData("[::1]:0")]
    public async Task Build_LoopbackWithoutToken_Builds(string listen)
    {
        await using var session = new MonitorSession(new FakeDropSource(), TimeProvider.System, NullLogger<MonitorSession>.Instance);

        await using var app = DashboardServer.Build(session, new DashboardOptions { Listen = listen });

        Assert.NotNull(app);
    }
}
