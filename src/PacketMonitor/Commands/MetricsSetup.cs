using PacketMonitor.Core.Events;
using PacketMonitor.Kernel;
using PacketMonitor.Web;

namespace PacketMonitor.Cli.Commands;

/// <summary>The Prometheus metrics of `watch` and `serve`: interface names from the kernel, the kernel's release.</summary>
internal static class MetricsSetup
{
    public static DropMetrics Create(MetricsSettings settings, IReasonNames reasons)
    {
        var interfaces = new InterfaceNames();
        return new DropMetrics(reasons, new DropMetricsOptions
        {
            MaxInterfaces = settings.MaxInterfaces,
            InterfaceName = interfaces.Resolve,
            Kernel = KernelRelease(),
        });
    }

    /// <summary>The standalone /metrics server, or null without --metrics-listen; refuses a bad address before anything attaches.</summary>
    public static MetricsServer? Server(MetricsSettings settings, DropMetrics metrics) =>
        settings.Listen is string listen ? MetricsServer.Create(metrics, listen, settings.Token) : null;

    /// <summary>Starts the server and says where it is.</summary>
    public static async Task StartAsync(MetricsServer server, TextWriter stderr, CancellationToken cancel)
    {
        try
        {
            await server.StartAsync(cancel);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("already in use", StringComparison.Ordinal))
        {
            throw new CliException(e.Message, ExitCode.Failure);
        }
        await stderr.WriteLineAsync($"packet-monitor: metrics on {server.Addresses[0]}metrics");
    }

    private static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
