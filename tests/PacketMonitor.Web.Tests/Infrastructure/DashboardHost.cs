using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web.Tests.Infrastructure;

/// <summary>
/// A real dashboard: Kestrel on 127.0.0.1 with a free port, over a <see cref="MonitorSession"/> fed by a
/// <see cref="FakeDropSource"/> (counters polled every 100 ms), with a small web root of its own.
/// </summary>
public sealed class DashboardHost : IAsyncDisposable
{
    public const string IndexHtml = "<!doctype html><html><head><title>packet-monitor</title><script src=\"app.js\"></script></head><body></body></html>";

    private readonly List<HubConnection> _hubs = [];
    private readonly string? _ownWebRoot;

    private DashboardHost(FakeDropSource source, MonitorSession session, WebApplication app, DashboardOptions options, string? ownWebRoot,
        HistoryRecorder? history = null)
    {
        History = history;
        Source = source;
        Session = session;
        App = app;
        Options = options;
        _ownWebRoot = ownWebRoot;
        BaseAddress = DashboardServer.Addresses(app)[0];
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public FakeDropSource Source { get; }
    public MonitorSession Session { get; }
    public WebApplication App { get; }
    public DashboardOptions Options { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }

    /// <summary>The history recorder, when the host was started with history options.</summary>
    public HistoryRecorder? History { get; }

    internal LiveFeed Feed => App.Services.GetRequiredService<LiveFeed>();

    public static async Task<DashboardHost> StartAsync(Action<DashboardOptions>? configure = null, bool monitoring = true,
        bool withWebRoot = true, int recentCapacity = RecentEvents.DefaultCapacity, TimeSpan? pollInterval = null,
        IBlindSpotSampler? blindSpots = null, HistoryOptions? history = null)
    {
        var source = new FakeDropSource();
        var session = new MonitorSession(source, TimeProvider.System, NullLogger<MonitorSession>.Instance,
            recentCapacity, pollInterval ?? TimeSpan.FromMilliseconds(100), blindSpots);
        string? webRoot = null;
        if (withWebRoot)
        {
            webRoot = Directory.CreateTempSubdirectory("pm-web-").FullName;
            await File.WriteAllTextAsync(Path.Combine(webRoot, "index.html"), IndexHtml);
            await File.WriteAllTextAsync(Path.Combine(webRoot, "app.js"), "console.log('dashboard');\n");
        }
        var options = new DashboardOptions
        {
            Listen = "127.0.0.1:0",
            WebRoot = webRoot ?? Path.Combine(Path.GetTempPath(), "pm-web-missing-" + Guid.NewGuid().ToString("n")),
        };
        configure?.Invoke(options);
        var recorder = history is null ? null : HistoryRecorder.Start(session, history, TimeProvider.System, NullLogger.Instance);
        var app = DashboardServer.Build(session, options, history: recorder);
        await app.StartAsync(TestContext.Current.CancellationToken);
        if (monitoring)
            await session.StartAsync(TestContext.Current.CancellationToken);
        return new DashboardHost(source, session, app, options, webRoot, recorder);
    }

    public Uri Url(string relative) => new(BaseAddress, relative);

    /// <summary>A .NET SignalR client for the hub (snake_case payloads), not yet started.</summary>
    public HubConnection Hub(string? token = null)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(Url("/hubs/monitor"), o =>
            {
                if (token is not null)
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .AddJsonProtocol(o => o.PayloadSerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower)
            .Build();
        _hubs.Add(hub);
        return hub;
    }

    /// <summary>Waits until the live feed sends to <paramref name="count"/> clients (they are registered after initial_data).</summary>
    public Task WaitForLiveClientsAsync(int count) =>
        Wait.UntilAsync(() => Feed.ClientCount >= count, $"{count} live clients");

    public async Task<JsonElement> GetJsonAsync(string relative)
    {
        using var response = await Http.GetAsync(relative, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
            await hub.DisposeAsync();
        Http.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await Session.DisposeAsync();
        History?.Dispose();
        if (_ownWebRoot is not null)
            Directory.Delete(_ownWebRoot, recursive: true);
    }
}

/// <summary>Polling with a deadline instead of sleeps.</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (true)
        {
            var value = await probe();
            if (condition(value))
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
