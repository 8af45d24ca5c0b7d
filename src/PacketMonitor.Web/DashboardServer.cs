using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Reasons;
using Prometheus;

namespace PacketMonitor.Web;

/// <summary>
/// <c>packet-monitor serve</c>'s web side: one Kestrel server over a <see cref="MonitorSession"/> with the
/// REST API, the SignalR live feed, the OpenAPI document and the dashboard page.
/// </summary>
/// <remarks>
/// Endpoints (JSON, snake_case): <c>GET /api/stats</c>, <c>GET /api/events</c>, <c>GET /api/events.pcapng</c>
/// (<see cref="PcapngExport"/>), <c>GET /api/reasons</c>,
/// <c>POST /api/monitor/start</c>, <c>POST /api/monitor/stop</c>, <c>GET /healthz</c>,
/// <c>GET /openapi/v1.json</c>, <c>GET /metrics</c> (Prometheus, <see cref="DropMetrics"/>), the hub <c>/hubs/monitor</c> (<see cref="MonitorHub"/>) and the page at <c>/</c>.
/// Errors are <c>application/problem+json</c> with a one-line <c>detail</c>. Security rules: <see cref="AccessControl"/>.
/// The server does not start or stop the session: the caller decides (e.g. <c>--paused</c>).
/// </remarks>
public static class DashboardServer
{
    /// <summary>Builds (does not start) the server; run it with <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">A bad listen address, or a non-loopback one without a token.</exception>
    /// <param name="history">The recorder of <c>serve</c>'s history, for <c>/api/history/*</c>, <c>/api/events?from=</c> and <c>/api/stats</c>; none when off.</param>
    /// <summary>The listen address, checked: well formed, and not beyond loopback without a token. Throws ArgumentException.</summary>
    public static void CheckListen(string listenText, string? token) => Checked(listenText, token);

    private static ListenAddress Checked(string listenText, string? token)
    {
        var listen = ListenAddress.Parse(listenText);
        if (!listen.IsLoopback && string.IsNullOrEmpty(token))
            throw new ArgumentException(
                $"--listen {listenText} is reachable from other machines: pass --token TOKEN (or set PACKET_MONITOR_TOKEN) so that only you can use the dashboard, or listen on 127.0.0.1");
        return listen;
    }

    public static WebApplication Build(MonitorSession session, DashboardOptions options, ILoggerProvider? logs = null, HistoryRecorder? history = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(options);
        var listen = Checked(options.Listen, options.Token);
        string webRoot = Path.GetFullPath(options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot"));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(DashboardServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });

        builder.Logging.ClearProviders();
        if (logs is not null)
            builder.Logging.AddProvider(new BorrowedLoggerProvider(logs));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // An open browser keeps its WebSocket: without a short limit Ctrl-C would wait 30 s for it.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            listen.ApplyTo(kestrel);
        });

        var services = builder.Services;
        services.AddSingleton(session);
        services.AddSingleton(options);
        services.AddSingleton(listen);
        services.AddSingleton(new HistoryAccess(history));
        services.AddSingleton<LiveFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveFeed>());
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));
        services.AddSignalR(o =>
        {
            o.EnableDetailedErrors = false;
            o.MaximumParallelInvocationsPerClient = 1;
        }).AddJsonProtocol(o => ConfigureJson(o.PayloadSerializerOptions));
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "packet-monitor";
                document.Info.Description = "Kernel packet drops on this machine: exact counters, recent events, monitor control. "
                    + "With a token, send 'Authorization: Bearer TOKEN'; POSTs also need 'X-Requested-With: packet-monitor'.";
                return Task.CompletedTask;
            });
            EventSchema.Add(o);
        });

        var app = builder.Build();
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAccessRules(listen, options.Token, options.MetricsToken);
        if (Directory.Exists(webRoot))
        {
            var files = new PhysicalFileProvider(webRoot);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                ContentTypeProvider = new FileExtensionContentTypeProvider(),
                // Revalidate every time (a 304 is cheap on loopback): the files keep their names across upgrades.
                OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
            });
            app.Lifetime.ApplicationStopped.Register(files.Dispose);
        }
        app.UseRouting();
        MapEndpoints(app, session, options, webRoot, history);
        return app;
    }

    /// <summary>
    /// Starts the server and runs it until <paramref name="stop"/> fires (or the host is told to stop), then stops it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The port is already in use (one line naming it and how to pick another).</exception>
    public static async Task RunAsync(WebApplication app, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(stop);
        }
        catch (Exception e) when (IsAddressInUse(e))
        {
            int port = app.Services.GetRequiredService<ListenAddress>().Port;
            try
            {
                await app.StopAsync(CancellationToken.None);
            }
            catch (Exception stopFailure) when (stopFailure is not OutOfMemoryException)
            {
                // Already failing: the port message is the one that matters.
            }
            throw new InvalidOperationException($"port {port} is already in use: pick another with --listen 127.0.0.1:PORT", e);
        }
        try
        {
            await app.WaitForShutdownAsync(stop);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>The addresses the started server listens on (the real port when 0 was asked for).</summary>
    public static IReadOnlyList<Uri> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Urls.Select(u => new Uri(u.Replace("://+", "://0.0.0.0", StringComparison.Ordinal)
            .Replace("://*", "://0.0.0.0", StringComparison.Ordinal))).ToList();
    }

    internal static bool IsAddressInUse(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is AddressInUseException || x is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
                return true;
        }
        return false;
    }

    internal static void ConfigureJson(JsonSerializerOptions json)
    {
        json.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        json.DictionaryKeyPolicy = null; // reason names stay as the kernel spells them
        json.TypeInfoResolverChain.Insert(0, DashboardJsonContext.Default);
    }

    private static void MapEndpoints(WebApplication app, MonitorSession session, DashboardOptions options, string webRoot, HistoryRecorder? history)
    {
        var api = app.MapGroup("/api").WithTags("api");

        api.MapGet("/stats", (LiveFeed feed) => TypedResults.Ok(feed.CurrentStats()))
            .WithName("GetStats")
            .WithSummary("Exact drop counters, rates, breakdowns, top lists and event losses per stage.");

        api.MapGet("/events", GetEvents)
            .WithName("GetEvents")
            .WithSummary("Recent drop events, newest first.")
            .WithDescription("Each event: id, the fields of `packet-monitor watch --json`, headers_hex and l3_offset. A bad parameter value gives 400 with a problem body naming it. "
                + "With a time range (since/from/until) that starts before the oldest event in memory, the events come from the history database (source: history; ids are the database's).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        HistoryEndpoints.Map(api);

        api.MapPcapngExport();

        api.MapGet("/reasons", () => TypedResults.Ok(Reasons(session, options)))
            .WithName("GetReasons")
            .WithSummary("The running kernel's drop reasons with an explanation and a remediation hint each.");

        api.MapPost("/monitor/start", StartMonitor)
            .WithName("StartMonitor")
            .WithSummary("Starts monitoring (idempotent); needs the header X-Requested-With: packet-monitor.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapPost("/monitor/stop", async Task<Ok<MonitorStatus>> () => TypedResults.Ok(await session.StopAsync(CancellationToken.None)))
            .WithName("StopMonitor")
            .WithSummary("Stops monitoring (idempotent); needs the header X-Requested-With: packet-monitor.")
            .ProducesProblem(StatusCodes.Status403Forbidden);

        app.MapGet("/healthz", () => TypedResults.Ok(new Health("ok", session.Status.Running)))
            .WithName("Health")
            .WithTags("health")
            .WithSummary("Liveness: always ok while the process serves; running tells whether monitoring is on.");

        var metrics = options.Metrics ?? new DropMetrics(session.Reasons);
        if (history is not null)
            metrics.HistoryLost = () => (ulong)history.EventsLost;
        var following = metrics.Follow(session);
        app.Lifetime.ApplicationStopped.Register(following.Dispose);
        app.MapMetrics(AccessControl.MetricsPath, metrics.Registry).ExcludeFromDescription();

        app.MapHub<MonitorHub>(MonitorHub.Path);
        app.MapOpenApi();

        if (!File.Exists(Path.Combine(webRoot, "index.html")))
        {
            app.MapGet("/", () => TypedResults.Problem(
                    detail: $"the dashboard page was not built ({webRoot}/index.html is missing: build src/PacketMonitor.Web with npm on PATH); the API is at /api/stats",
                    statusCode: StatusCodes.Status404NotFound, title: "Not found"))
                .ExcludeFromDescription();
        }
    }

    private static Results<Ok<EventsResponse>, ProblemHttpResult> GetEvents(
        HttpRequest request,
        MonitorSession session,
        HistoryAccess history,
        [FromQuery, Description("Most events to return: 1-10000, default 100.")] string? limit = null,
        [FromQuery, Description("Reason name, any case, with or without SKB_DROP_REASON_ (e.g. NO_SOCKET).")] string? reason = null,
        [FromQuery, Description("tcp, udp, icmp, icmpv6 or a protocol number 0-255.")] string? protocol = null,
        [FromQuery, Description("Source or destination address or CIDR block (10.0.0.1, 192.168.0.0/16, 2001:db8::/32).")] string? host = null,
        [FromQuery, Description("Source or destination port, 1-65535.")] string? port = null,
        [FromQuery(Name = "interface"), Description("Interface name (1-15 characters).")] string? iface = null,
        [FromQuery, Description("Only events at or after this ISO 8601 time (e.g. 2026-01-31T12:00:00Z).")] string? since = null,
        [FromQuery(Name = "owner_pid"), Description("Only drops whose socket this process owned.")] string? ownerPid = null,
        [FromQuery, Description("Only drops of sockets in this cgroup or below it (e.g. /system.slice).")] string? cgroup = null,
        [FromQuery, Description("Only drops of this container or unit: docker:3f4e5a6b7c8d, its short or full id, nginx.service.")] string? container = null,
        [FromQuery(Name = "netns_name"), Description("Only drops in the network namespace with this name (ip netns list, or pid:N).")] string? netnsName = null,
        [FromQuery, Description("Only events at or after this time: ISO 8601 or Unix seconds (like since).")] string? from = null,
        [FromQuery, Description("Only events before this time: ISO 8601 or Unix seconds.")] string? until = null)
    {
        // The parameters are declared for the OpenAPI document; the query is read whole to catch repeats.
        _ = (limit, reason, protocol, host, port, iface, since, ownerPid, cgroup, container, netnsName, from, until);
        if (!EventQueryParser.TryParse(request.Query, out var query, out var error))
            return TypedResults.Problem(detail: error, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        try
        {
            var (found, source) = MatchingEvents(session, history, query, request.Query);
            var events = found.Select(e => new EventView(e.Id, e.Event)).ToList();
            return TypedResults.Ok(new EventsResponse(events, events.Count) { Source = source });
        }
        catch (HistoryException e)
        {
            return HistoryEndpoints.Unavailable(e.Message);
        }
    }

    /// <summary>
    /// The events a query selects, newest first, from memory or (for a time range older than memory) from
    /// history: the one selection behind /api/events and /api/events.pcapng. Throws HistoryException.
    /// </summary>
    internal static (IReadOnlyList<(long Id, DropEvent Event)> Events, string Source) MatchingEvents(
        MonitorSession session, HistoryAccess history, EventQuery query, IQueryCollection raw)
    {
        bool timeRange = raw.ContainsKey("since") || raw.ContainsKey("from") || raw.ContainsKey("until");
        return HistoryEndpoints.Query(session, history, query, timeRange);
    }

    private static async Task<Results<Ok<MonitorStatus>, ProblemHttpResult>> StartMonitor(MonitorSession session)
    {
        try
        {
            return TypedResults.Ok(await session.StartAsync(CancellationToken.None));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return TypedResults.Problem(detail: $"monitoring could not start: {e.Message}",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable");
        }
    }

    private static List<ReasonView> Reasons(MonitorSession session, DashboardOptions options)
    {
        IEnumerable<(uint Code, string Name)> reasons = options.ReasonList is { } list
            ? list()
            : session.Stats.ByReason.Select(r => (r.Code, r.Name)); // without the kernel's table: those counted so far
        return reasons
            .OrderBy(r => r.Code)
            .Select(r =>
            {
                var info = ReasonCatalog.Describe(r.Name);
                return new ReasonView(r.Code, r.Name, info.Explanation, info.Hint);
            })
            .ToList();
    }

    /// <summary>Lends the caller's provider to the host without letting the host dispose it.</summary>
    private sealed class BorrowedLoggerProvider(ILoggerProvider inner) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => inner.CreateLogger(categoryName);

        public void Dispose() { }
    }
}

/// <summary><c>GET /api/events</c>: the matching events, newest first, and their number.</summary>
internal sealed record EventsResponse(IReadOnlyList<EventView> Events, int Count)
{
    /// <summary>memory (the recent-events window) or history (the database).</summary>
    public string Source { get; init; } = HistoryEndpoints.FromMemory;
}

/// <summary>One entry of <c>GET /api/reasons</c>.</summary>
internal sealed record ReasonView(uint Code, string Name, string Explanation, string Hint);

/// <summary><c>GET /healthz</c>.</summary>
internal sealed record Health(string Status, bool Running);
