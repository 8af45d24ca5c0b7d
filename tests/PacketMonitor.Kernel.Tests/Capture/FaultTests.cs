using System.Net;
using PacketMonitor.Core.Capture;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Capture;

/// <summary>
/// The network changing under the monitor: the namespace it watches deleted, interfaces
/// appearing, renamed and deleted. Capture must go on, names must follow, counters stay exact.
/// </summary>
public sealed class FaultTests
{
    private const int ClosedPort = 9;

    [Fact]
    public async Task WatchedNamespaceDeleted_CaptureGoesOnAndItsCountersStayReadable()
    {
        KernelTest.RequireRoot();
        var doomed = new NetworkNamespace();
        using var survivor = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter());
        uint doomedInode = doomed.Inode;
        try
        {
            SendUdpToClosedPort(doomed, 3);
            await capture.WaitForAsync(e => e.Netns == doomedInode && e.Reason == "NO_SOCKET", 3);
        }
        finally
        {
            doomed.Dispose();
        }
        Assert.DoesNotContain(doomed.Name, Shell.Run("ip", "netns", "list"), StringComparison.Ordinal);

        SendUdpToClosedPort(survivor, 4);
        var after = await capture.WaitForAsync(e => e.Netns == survivor.Inode && e.Reason == "NO_SOCKET", 4);

        Assert.Equal(4, after.Count);
        Assert.Equal(3UL, capture.Counted("NO_SOCKET", doomedInode, 17));
        Assert.Equal(4UL, capture.Counted("NO_SOCKET", survivor.Inode, 17));
        Assert.Equal(0UL, capture.Losses.RingBufferFull);
    }

    [Fact]
    public async Task InterfaceAddedRenamedAndDeleted_EventsCarryTheNameOfTheMoment()
    {
        KernelTest.RequireRoot();
        using var capture = new LiveCapture(new EventFilter());
        // The pair is created after the capture started.
        using var pair = new VethPair();
        pair.B.Exec("nft", "add table inet pmfault");
        pair.B.Exec("nft", "add chain inet pmfault input { type filter hook input priority 0 ; }");
        pair.B.Exec("nft", "add rule inet pmfault input udp dport 7777 drop");
        uint bInode = pair.B.Inode;

        SendUdp(pair, 2);
        var before = await capture.WaitForAsync(e => e.Netns == bInode && e.Reason == "NETFILTER_DROP", 2);
        Assert.All(before, e => Assert.Equal(pair.BName, e.Ifname));
        uint ifindex = before[0].Ifindex;

        string renamed = pair.BName + "r";
        pair.B.Ip("link", "set", pair.BName, "down");
        pair.B.Ip("link", "set", pair.BName, "name", renamed);
        pair.B.Ip("link", "set", renamed, "up");
        await KernelTest.EventuallyAsync(() => pair.A.Ip("-br", "link", "show", pair.AName).Contains(" UP ", StringComparison.Ordinal));
        SendUdp(pair, 3);
        var after = await capture.WaitForAsync(e => e.Netns == bInode && e.Reason == "NETFILTER_DROP" && e.Ifname == renamed, 3);

        Assert.Equal(3, after.Count);
        Assert.All(after, e => Assert.Equal(ifindex, e.Ifindex));
        Assert.Equal(5UL, capture.Counted("NETFILTER_DROP", bInode, 17));

        // Deleting the interface mid-capture: nothing breaks, later drops elsewhere still arrive.
        pair.B.Ip("link", "del", renamed);
        using var other = new NetworkNamespace();
        SendUdpToClosedPort(other, 1);
        Assert.Single(await capture.WaitForAsync(e => e.Netns == other.Inode && e.Reason == "NO_SOCKET", 1));
    }

    private static void SendUdpToClosedPort(NetworkNamespace ns, int count)
    {
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < count; i++)
            sender.SendTo(new byte[32], new IPEndPoint(IPAddress.Loopback, ClosedPort));
    }

    private static void SendUdp(VethPair pair, int count)
    {
        using var sender = pair.A.UdpSocket(pair.AddressA);
        for (int i = 0; i < count; i++)
            sender.SendTo(new byte[32], new IPEndPoint(pair.AddressB, 7777));
    }
}
