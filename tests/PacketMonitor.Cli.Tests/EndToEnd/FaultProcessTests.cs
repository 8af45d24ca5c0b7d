using System.Net;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>Faults around the process: several instances at once, kills and restarts.</summary>
public sealed class FaultProcessTests
{
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
