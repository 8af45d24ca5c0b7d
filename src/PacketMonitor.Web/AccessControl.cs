using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace PacketMonitor.Web;

/// <summary>
/// The dashboard's security rules, as middleware in front of everything else:
/// <list type="bullet">
/// <item>security headers on every response (a CSP without inline script, nosniff, no referrer);</item>
/// <item>without a token (loopback only), requests must name this machine in <c>Host</c> (no DNS rebinding);</item>
/// <item>with a token, <c>/api/*</c>, <c>/openapi/*</c>, <c>/hubs/*</c> and the page need it: the header
/// <c>Authorization: Bearer TOKEN</c>, or <c>?access_token=TOKEN</c> for the hub and the page (compared in constant time);
/// static assets (scripts, styles, images) and <c>/healthz</c> do not;</item>
/// <item><c>/metrics</c> takes the dashboard token or the read-only metrics token (header only); with neither set
/// it is open like the rest (loopback only);</item>
/// <item>state-changing API calls need <c>X-Requested-With: packet-monitor</c> (a cross-site form cannot send it,
/// and without CORS a cross-site script cannot either), and hub connections from a browser must come from this
/// origin (WebSockets are not covered by the same-origin policy).</item>
/// </list>
/// </summary>
internal static class AccessControl
{
    public const string RequestedWithHeader = "X-Requested-With";
    public const string RequestedWithValue = "packet-monitor";
    public const string TokenQueryName = "access_token";

    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    public static void UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });

    public const string MetricsPath = "/metrics";

    public static void UseAccessRules(this IApplicationBuilder app, ListenAddress listen, string? token, string? metricsToken = null)
    {
        byte[]? expected = Hash(token);
        byte[]? metricsExpected = Hash(metricsToken);
        // Without a token only loopback is allowed (Build refuses anything else), so Host must name this machine.
        bool checkHost = expected is null && listen.IsLoopback;
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var path = request.Path;
            if (checkHost && !IsLocalHost(request.Host))
            {
                await Problem(context, StatusCodes.Status400BadRequest, "Bad request",
                    $"Host '{request.Host.Value}' is not this machine: open the dashboard as http://{listen}/");
                return;
            }
            if (path.Equals(MetricsPath, StringComparison.Ordinal))
            {
                // A scraper gets the read-only metrics token; the dashboard token opens everything anyway.
                bool open = expected is null && metricsExpected is null;
                if (!open && !(expected is not null && HasToken(request, expected, false))
                    && !(metricsExpected is not null && HasToken(request, metricsExpected, false)))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await Problem(context, StatusCodes.Status401Unauthorized, "Unauthorized",
                        "/metrics needs a token: send 'Authorization: Bearer TOKEN' with the metrics token (--metrics-token) or the dashboard's");
                    return;
                }
                await next(context);
                return;
            }
            if (expected is not null && NeedsToken(path, request.Method) && !HasToken(request, expected, QueryTokenAllowed(path)))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Problem(context, StatusCodes.Status401Unauthorized, "Unauthorized",
                    "this dashboard needs its access token: send 'Authorization: Bearer TOKEN' (or open the page with ?access_token=TOKEN)");
                return;
            }
            if (path.StartsWithSegments("/hubs") && !IsSameOrigin(request))
            {
                await Problem(context, StatusCodes.Status403Forbidden, "Forbidden",
                    "the live feed only accepts connections from the dashboard's own origin");
                return;
            }
            if (path.StartsWithSegments("/api") && !IsSafe(request.Method))
            {
                if (!string.Equals(request.Headers[RequestedWithHeader], RequestedWithValue, StringComparison.OrdinalIgnoreCase))
                {
                    await Problem(context, StatusCodes.Status403Forbidden, "Forbidden",
                        $"state-changing requests need the header '{RequestedWithHeader}: {RequestedWithValue}'");
                    return;
                }
                if (!IsSameOrigin(request))
                {
                    await Problem(context, StatusCodes.Status403Forbidden, "Forbidden",
                        "state-changing requests are only accepted from the dashboard's own origin");
                    return;
                }
            }
            await next(context);
        });
    }

    private static byte[]? Hash(string? token) =>
        string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    /// <summary>Everything but <c>/healthz</c> and static assets (files with an extension other than .html).</summary>
    private static bool NeedsToken(PathString path, string method)
    {
        if (path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs") || path.StartsWithSegments("/openapi"))
            return true;
        if (path.Equals("/healthz", StringComparison.Ordinal))
            return false;
        string extension = System.IO.Path.GetExtension(path.Value ?? "");
        bool asset = extension.Length > 0 && !extension.Equals(".html", StringComparison.OrdinalIgnoreCase)
            && !extension.Equals(".htm", StringComparison.OrdinalIgnoreCase);
        return !(asset && IsSafe(method));
    }

    private static bool QueryTokenAllowed(PathString path) =>
        !path.StartsWithSegments("/api") && !path.StartsWithSegments("/openapi");

    private static bool HasToken(HttpRequest request, byte[] expected, bool queryAllowed)
    {
        string? presented = null;
        string? authorization = request.Headers.Authorization;
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            presented = authorization["Bearer ".Length..].Trim();
        else if (queryAllowed && request.Query.TryGetValue(TokenQueryName, out var values) && values.Count == 1)
            presented = values[0];
        if (presented is null)
            return false;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        return CryptographicOperations.FixedTimeEquals(hash, expected);
    }

    private static bool IsLocalHost(HostString host)
    {
        if (!host.HasValue)
            return true; // HTTP/1.0 without Host: no name that could have been rebound
        string name = host.Host;
        if (name.StartsWith('[') && name.EndsWith(']'))
            name = name[1..^1];
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>No Origin (not a browser) or the same scheme-less authority as Host.</summary>
    private static bool IsSameOrigin(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        if (string.IsNullOrEmpty(origin))
            return true;
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    internal static Task Problem(HttpContext context, int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title).ExecuteAsync(context);
}
