using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Symbols;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Capture;

/// <summary>The monitor session over the real kernel source: statistics and recent events against packets sent.</summary>
public sealed class MonitorSessionKernelTests
{
    [Fact]
    public async Task Session_RealDrops_StatsAndRecentEventsMatchWhatWasSent()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        var reasons = DropReasonTable.Load(NullLogger.Instance);
        var source = new KernelDropSource(new CaptureOptions { RingSizeBytes = 1 << 22, Filter = new EventFilter { Netns = ns.Inode } },
            reasons, KallsymsTable.Load(), NullLogger.Instance);
        await using var session = new MonitorSession(source, TimeProvider.System, NullLogger<MonitorSession>.Instance,
            pollInterval: TimeSpan.FromMilliseconds(200));
        var cancel = TestContext.Current.CancellationToken;

        var status = await session.StartAsync(cancel);
        Assert.True(status.Running);
        Assert.Equal("tp_btf", status.AttachMode);
        Assert.Same(status, await session.StartAsync(cancel)); // idempotent

        using var sender = ns.UdpSocket(IPAddress.Loopback);
        const int sent = 25;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[20], new IPEndPoint(IPAddress.Loopback, 9));

        Assert.True(await KernelTest.EventuallyAsync(() =>
            session.Stats.ByInterface.Any(i => i.Netns == ns.Inode && i.Count == sent)), "interface count");
        var stats = session.Stats;
        Assert.Equal("lo", stats.ByInterface.Single(i => i.Netns == ns.Inode).Name);
        Assert.Contains(stats.ByReason, r => r.Name == "NO_SOCKET" && r.Count >= sent && r.Explanation.Length > 0);
        Assert.Contains(stats.TopLocations, l => l.Reason == "NO_SOCKET" && l.Location.Contains("udp", StringComparison.Ordinal));
        Assert.True(stats.UdpDrops >= sent);
        Assert.True(await KernelTest.EventuallyAsync(() => session.Recent.Query(new EventQuery { Limit = 1000 }).Count == sent));
        Assert.Contains(session.Stats.TopFlows, f => f.Destination == "127.0.0.1:9" && f.Count == sent);

        var stopped = await session.StopAsync(cancel);
        Assert.False(stopped.Running);
        Assert.False(session.Stats.Running);
        Assert.False((await session.StopAsync(cancel)).Running); // idempotent
    }
}
