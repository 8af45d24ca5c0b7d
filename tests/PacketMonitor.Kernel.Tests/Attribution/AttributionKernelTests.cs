using System.Net;
using System.Net.Sockets;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Attribution;

/// <summary>
/// Attribution in the real kernel: drops owned by a receiver process in a cgroup and a named
/// namespace of the test's own are reported with that process, cgroup and namespace, not with
/// the sender or the softirq that ran on the CPU. Ground truth: the receiver's pid, the cgroup
/// directory's inode, `ss -e` (socket inode and cookie) and `ip netns add`.
/// </summary>
public sealed class AttributionKernelTests
{
    public static TheoryData<AttachMode> Modes => [AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ReceiverThatNeverReads_RcvbuffDropsNameItsProcessCgroupAndNamespace(AttachMode mode)
    {
        KernelTest.RequireRoot();
        if (!File.Exists("/usr/bin/perl"))
            KernelTest.Unavailable("needs perl (perl-base)");
        if (mode == AttachMode.Tracepoint && !Directory.Exists("/sys/kernel/tracing/events/skb"))
            Shell.TryRun("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        using var ns = new NetworkNamespace();
        using var cgroup = new CgroupV2();
        using var receiver = new UdpReceiverProcess(ns, cgroup);
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, Reasons = ["SOCKET_RCVBUFF"] }, mode);
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        var target = new IPEndPoint(IPAddress.Loopback, receiver.Port);

        // The first burst makes the resolvers load; the second must be attributed from the start.
        for (int i = 0; i < 50; i++)
            sender.SendTo(new byte[1000], target);
        var first = await capture.WaitForAsync(e => e.Reason == "SOCKET_RCVBUFF", 40);
        for (int i = 0; i < 50; i++)
            sender.SendTo(new byte[1000], target);
        var all = await capture.WaitForAsync(e => e.Reason == "SOCKET_RCVBUFF", first.Count + 50);
        var second = all.Skip(first.Count).ToList();

        Assert.True(first.Count >= 40, $"only {first.Count} drops in the first burst");
        Assert.Equal(50, second.Count);
        Assert.All(all, e =>
        {
            Assert.Equal(receiver.SocketInode, e.SocketInode);
            Assert.Equal(receiver.SocketCookie, e.SocketCookie);
            Assert.Equal(cgroup.Id, e.CgroupId);
            Assert.Equal(ns.Inode, e.Netns);
            Assert.Null(e.Stack); // stacks are off by default
            if (e.OwnerPid is not null) // the first events may come before the first /proc scan ends
            {
                Assert.Equal((uint)receiver.Pid, e.OwnerPid);
                Assert.Equal("perl", e.OwnerComm);
            }
        });
        Assert.All(second, e =>
        {
            Assert.Equal((uint)receiver.Pid, e.OwnerPid);
            Assert.Equal("perl", e.OwnerComm);
            Assert.NotEqual(e.OwnerPid, e.Pid); // the CPU context is the sender (or a softirq), never the receiver
            Assert.Equal(cgroup.RelativePath, e.Cgroup);
            Assert.Equal(cgroup.Name, e.Container); // a *.scope unit
            Assert.Equal(ns.Name, e.NetnsName);
        });
    }

    [Fact]
    public async Task DropWithoutSocket_HasNoOwnerButANamespaceName()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode });
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, 9));

        var e = Assert.Single(await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 1));

        Assert.Equal(0UL, e.SocketCookie);
        Assert.Equal(0u, e.SocketInode);
        Assert.Equal(0UL, e.CgroupId);
        Assert.Null(e.OwnerPid);
        Assert.Null(e.Cgroup);
        Assert.Equal(ns.Name, e.NetnsName);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Stacks_NoSocketUdpDrop_HasTheUdpReceivePath(AttachMode mode)
    {
        KernelTest.RequireRoot();
        if (mode == AttachMode.Tracepoint && !Directory.Exists("/sys/kernel/tracing/events/skb"))
            Shell.TryRun("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, Stacks = true }, mode);
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 3; i++)
            sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, 9));

        var events = await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 3);

        Assert.Equal(3, events.Count);
        var output = TestContext.Current.TestOutputHelper!;
        foreach (var frame in events[0].Stack ?? [])
            output.WriteLine(frame);
        output.WriteLine($"location: {events[0].Location}");
        Assert.All(events, e =>
        {
            Assert.NotNull(e.Stack);
            Assert.Contains(e.Stack, f => f.StartsWith("__udp4_lib_rcv+", StringComparison.Ordinal) || f.StartsWith("udp_rcv+", StringComparison.Ordinal));
            Assert.All(e.Stack, f => Assert.Matches(@"^[\w.$]+\+0x[0-9a-f]+( \[\w+\])?$", f));
            Assert.DoesNotContain(e.Stack, f => f.StartsWith("bpf_prog_", StringComparison.Ordinal));
        });
        // Two views of one return address: the tracepoint's location is a frame of the stack.
        Assert.All(events, e => Assert.Contains(e.Location, e.Stack!));
    }

    [Fact]
    public async Task StacksForOneReason_OtherReasonsHaveNoStack()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, StackReasons = ["SOCKET_RCVBUFF"] });
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        using var receiver = ns.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 1;
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        for (int i = 0; i < 30; i++)
            sender.SendTo(new byte[1000], receiver.LocalEndPoint!);
        sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, 9));

        var rcvbuf = await capture.WaitForAsync(e => e.Reason == "SOCKET_RCVBUFF", 1);
        var noSocket = Assert.Single(await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 1));

        Assert.NotEmpty(rcvbuf);
        Assert.All(rcvbuf, e => Assert.Contains(e.Stack!, f => f.StartsWith("__udp_queue_rcv_skb+", StringComparison.Ordinal) || f.Contains("udp", StringComparison.Ordinal)));
        Assert.Null(noSocket.Stack);
    }
}
