using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace PacketMonitor.Web;

/// <summary>
/// A Kestrel server with nothing but <c>GET /metrics</c>, for nodes without the dashboard
/// (<c>watch --metrics-listen</c>) or to expose the metrics apart from it (<c>serve --metrics-listen</c>).
/// Loopback is open (Host must name this machine); any other address needs a metrics token.
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenAddress _listen;

    private MetricsServer(WebApplication app, ListenAddress listen)
    {
        _app = app;
        _listen = listen;
    }

    /// <summary>Builds (does not start) the server.</summary>
    /// <exception cref="ArgumentException">A bad address, or one beyond loopback without a token.</exception>
    public static MetricsServer Create(DropMetrics metrics, string listenText, string? token)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(listenText);
        var listen = ListenAddress.Parse(listenText, "--metrics-listen");
        if (!listen.IsLoopback && string.IsNullOrEmpty(token))
            throw new ArgumentException(
                $"--metrics-listen {listenText} is reachable from other machines: pass --metrics-token TOKEN (or set PACKET_MONITOR_METRICS_TOKEN) and give Prometheus the same token, or listen on 127.0.0.1");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(MetricsServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            listen.ApplyTo(kestrel);
        });
        var app = builder.Build();
        app.UseSecurityHeaders();
        app.UseAccessRules(listen, token: null, metricsToken: token);
        app.UseRouting();
        app.MapMetrics(AccessControl.MetricsPath, metrics.Registry);
        return new MetricsServer(app, listen);
    }

    /// <summary>The addresses it listens on (the real port when 0 was asked for); after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Uri> Addresses => DashboardServer.Addresses(_app);

    /// <exception cref="InvalidOperationException">The port is in use (one line naming it).</exception>
    public async Task StartAsync(CancellationToken cancel)
    {
        try
        {
            await _app.StartAsync(cancel);
        }
        catch (Exception e) when (DashboardServer.IsAddressInUse(e))
        {
            throw new InvalidOperationException($"port {_listen.Port} is already in use: pick another with --metrics-listen 127.0.0.1:PORT", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            // Stopping within the shutdown timeout is all that is asked.
        }
        await _app.DisposeAsync();
    }
}
