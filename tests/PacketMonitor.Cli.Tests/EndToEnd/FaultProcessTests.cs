using System.Net;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>Faults around the process: several instances at once, kills and restarts.</summary>
public sealed class FaultProcessTests
{
    [Fact]
    public async Task TwoServeInstancesOnOneHistoryDatabase_TheSecondSaysSoAndServesWithoutHistory()
    {
        KernelTest.RequireRoot();
        var dataDir = Directory.CreateTempSubdirectory("pm-two-serve-");
        try
        {
            int firstPort = FreePort(), secondPort = FreePort();
            using var first = new MonitorProcess("serve", "--listen", $"127.0.0.1:{firstPort}", "--data-dir", dataDir.FullName);
            await first.WaitAttachedAsync();
            using var second = new MonitorProcess("serve", "--listen", $"127.0.0.1:{secondPort}", "--data-dir", dataDir.FullName);
            await second.WaitAttachedAsync();

            Assert.Contains("recording history into", first.Stderr, StringComparison.Ordinal);
            Assert.Contains("is being recorded by another packet-monitor: give this one its own --data-dir, or --no-history", second.Stderr, StringComparison.Ordinal);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{secondPort}") };
            string? stats = null;
            Assert.True(await KernelTest.EventuallyAsync(() => (stats = TryGet(http, "/api/stats")) is not null, TimeSpan.FromSeconds(15)));
            using var json = JsonDocument.Parse(stats!);
            Assert.True(json.RootElement.GetProperty("running").GetBoolean());
            Assert.Equal("failed", json.RootElement.GetProperty("history").GetProperty("state").GetString());
            Assert.False(first.Process.HasExited);
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? TryGet(HttpClient http, string path)
    {
        try
        {
            return http.GetStringAsync(new Uri(path, UriKind.Relative)).GetAwaiter().GetResult();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    [Fact]
    public async Task TwoWatchInstancesAtOnce_BothSeeEveryDrop()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        string[] args = ["watch", "--json", "--netns", ns.Name, "--count", "4"];
        using var first = new MonitorProcess(args);
        using var second = new MonitorProcess(args);
        await Task.WhenAll(first.WaitAttachedAsync(), second.WaitAttachedAsync());
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        int sourcePort = ((IPEndPoint)sender.LocalEndPoint!).Port;
        for (int i = 0; i < 4; i++)
            sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 9));

        foreach (var monitor in new[] { first, second })
        {
            Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));
            var lines = monitor.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            Assert.All(lines, line => Assert.Equal(sourcePort, JsonDocument.Parse(line).RootElement.GetProperty("src_port").GetInt32()));
        }
    }
}
