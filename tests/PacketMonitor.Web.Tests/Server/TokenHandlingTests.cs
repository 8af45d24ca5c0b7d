using System.Net;
using System.Net.Http.Headers;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Server;

/// <summary>SECURITY.md 3.1: the token is never echoed back and never turned into a cookie.</summary>
public sealed class TokenHandlingTests
{
    private const string Token = "tok-3f9a1c77-never-echo";

    [Theory]
    [InlineData("/api/stats", null, HttpStatusCode.Unauthorized)]
    [InlineData("/api/stats", "wrong-" + Token, HttpStatusCode.Unauthorized)]
    [InlineData("/api/stats", Token, HttpStatusCode.OK)]
    [InlineData("/?access_token=" + Token, null, HttpStatusCode.OK)]
    [InlineData("/api/stats?access_token=" + Token, null, HttpStatusCode.Unauthorized)]
    public async Task Responses_NeverEchoTheTokenNorSetACookie(string path, string? bearer, HttpStatusCode expected)
    {
        await using var host = await DashboardHost.StartAsync(o => o.Token = Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);

        using var response = await host.Http.SendAsync(request, TestContext.Current.CancellationToken);
        string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(expected, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.DoesNotContain(Token, body, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, response.Headers.ToString() + response.Content.Headers, StringComparison.Ordinal);
    }
}
