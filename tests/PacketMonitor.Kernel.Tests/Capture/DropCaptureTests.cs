using System.Net;
using System.Net.Sockets;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Tests.Infrastructure;
using PacketMonitor.Kernel;

namespace PacketMonitor.Kernel.Tests.Capture;

/// <summary>
/// The real program in the real kernel: drops generated inside namespaces made by each test,
/// the events and exact counters compared with what was sent and with the kernel's own counters.
/// </summary>
public sealed class DropCaptureTests
{
    private const int ClosedPort = 9;

    public static TheoryData<string> Loopbacks => ["127.0.0.1", "::1"];

    [Theory]
    [MemberData(nameof(Loopbacks))]
    public async Task UdpToClosedPort_EachPacketIsOneNoSocketEventWithItsFlow(string loopback)
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode });
        var address = IPAddress.Parse(loopback);
        using var sender = ns.UdpSocket(address);
        int sourcePort = ((IPEndPoint)sender.LocalEndPoint!).Port;
        const int sent = 5;
        var payload = new byte[100];
        for (int i = 0; i < sent; i++)
            sender.SendTo(payload, new IPEndPoint(address, ClosedPort));

        var events = await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", sent);

        Assert.Equal(sent, events.Count);
        Assert.Equal((ulong)sent, capture.Counted("NO_SOCKET", ns.Inode, 17));
        foreach (var e in events)
        {
            Assert.Equal(address.AddressFamily == AddressFamily.InterNetwork ? PacketFamily.Ipv4 : PacketFamily.Ipv6, e.Family);
            Assert.Equal("UDP", e.ProtocolName);
            Assert.Equal(address, e.SourceAddress);
            Assert.Equal(address, e.DestinationAddress);
            Assert.Equal((ushort)sourcePort, e.SourcePort);
            Assert.Equal((ushort)ClosedPort, e.DestinationPort);
            Assert.Equal(ns.Inode, e.Netns);
            Assert.Equal("lo", e.Ifname);
            Assert.Equal(1u, e.Ifindex);
            // IPv4: 20 + 8 + 100; IPv6: 40 + 8 + 100.
            Assert.Equal(address.AddressFamily == AddressFamily.InterNetwork ? 128u : 148u, e.Length);
            Assert.Equal(LiveCapture.Code("NO_SOCKET"), e.ReasonCode);
            Assert.Contains("udp", e.Location, StringComparison.OrdinalIgnoreCase);
            Assert.InRange(e.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
            Assert.True(e.Headers.Length > 0);
        }
    }

    [Fact]
    public async Task TcpSynToClosedPort_IsOneNoSocketTcpEvent()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, Protocol = 6 });
        using var client = ns.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = Assert.Throws<SocketException>(() => client.Connect(new IPEndPoint(IPAddress.Loopback, ClosedPort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        var events = await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 1);

        var syn = Assert.Single(events);
        Assert.Equal("TCP", syn.ProtocolName);
        Assert.Equal((ushort)ClosedPort, syn.DestinationPort);
        Assert.Equal(IPAddress.Loopback, syn.DestinationAddress);
        Assert.Equal(1UL, capture.Counted("NO_SOCKET", ns.Inode, 6));
    }

    [Fact]
    public async Task NftablesDropRule_IsNetfilterDropOnTheVethWithTheRuleCounterAsTruth()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        pair.B.Exec("nft", "add table inet pmtest");
        pair.B.Exec("nft", "add chain inet pmtest input { type filter hook input priority 0 ; }");
        pair.B.Exec("nft", "add rule inet pmtest input udp dport 7777 counter drop");
        using var capture = new LiveCapture(new EventFilter { Netns = pair.B.Inode });
        using var sender = pair.A.UdpSocket(pair.AddressA);
        const int sent = 20;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[64], new IPEndPoint(pair.AddressB, 7777));

        var events = await capture.WaitForAsync(e => e.Reason == "NETFILTER_DROP", sent);

        var ruleCounter = pair.B.Exec("nft", "list chain inet pmtest input");
        Assert.Contains($"packets {sent} ", ruleCounter, StringComparison.Ordinal);
        Assert.Equal(sent, events.Count);
        Assert.Equal((ulong)sent, capture.Counted("NETFILTER_DROP", pair.B.Inode, 17));
        Assert.All(events, e =>
        {
            Assert.Equal(pair.BName, e.Ifname);
            Assert.Equal(pair.AddressA, e.SourceAddress);
            Assert.Equal(pair.AddressB, e.DestinationAddress);
            Assert.Equal((ushort)7777, e.DestinationPort);
            Assert.True(e.Flags.HasFlag(DropEventFlags.HasL2), "received on a veth: the Ethernet header was captured");
        });
    }

    [Fact]
    public async Task ReceiverThatNeverReads_DropsMatchRcvbufErrors()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode });
        using var receiver = ns.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 1; // the kernel rounds up to its minimum: a few packets fit
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        long before = ns.Snmp("Udp", "RcvbufErrors");
        const int sent = 200;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[1000], receiver.LocalEndPoint!);
        long dropped = ns.Snmp("Udp", "RcvbufErrors") - before;
        int queued = receiver.Available > 0 ? CountQueued(receiver) : 0;

        var events = await capture.WaitForAsync(e => e.Reason == "SOCKET_RCVBUFF", (int)dropped);

        Assert.True(dropped > 0, "the tiny buffer must overflow");
        Assert.Equal(sent - queued, dropped);
        Assert.Equal(dropped, events.Count);
        Assert.Equal((ulong)dropped, capture.Counted("SOCKET_RCVBUFF", ns.Inode, 17));
        Assert.All(events, e => Assert.Equal((ushort)((IPEndPoint)receiver.LocalEndPoint!).Port, e.DestinationPort));
    }

    private static int CountQueued(Socket receiver)
    {
        int count = 0;
        var buffer = new byte[2000];
        while (receiver.Poll(0, SelectMode.SelectRead) && receiver.Available > 0)
        {
            receiver.Receive(buffer);
            count++;
        }
        return count;
    }

    [Fact]
    public async Task PortFilter_ExcludesOtherPortsInTheKernelButCountersSeeAll()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, Port = 4001 });
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 3; i++)
        {
            sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, 4001));
            sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, 4002));
        }

        await KernelTest.EventuallyAsync(() => capture.Counted("NO_SOCKET", ns.Inode) >= 6);
        var events = await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 3);

        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal((ushort)4001, e.DestinationPort));
        Assert.Equal(6UL, capture.Counted("NO_SOCKET", ns.Inode, 17));
        Assert.True(capture.Losses.Filtered >= 3);
    }

    [Fact]
    public async Task ReasonFilter_OnlyListedReasonsBecomeEvents()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, Reasons = ["SOCKET_RCVBUFF"] });
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 4; i++)
            sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, ClosedPort));

        Assert.True(await KernelTest.EventuallyAsync(() => capture.Counted("NO_SOCKET", ns.Inode) == 4));
        await Task.Delay(100, TestContext.Current.CancellationToken);

        Assert.Empty(capture.Events);
    }

    [Fact]
    public async Task CountsOnly_EmitsNoEventsButCountsEveryDrop()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode, EmitEvents = false });
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 7; i++)
            sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, ClosedPort));

        Assert.True(await KernelTest.EventuallyAsync(() => capture.Counted("NO_SOCKET", ns.Inode, 17) == 7));
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Empty(capture.Events);
    }

    public static TheoryData<AttachMode> Modes => [AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task EveryAttachMode_LoadsAndReportsTheSameDrop(AttachMode mode)
    {
        KernelTest.RequireRoot();
        if (mode == AttachMode.Tracepoint && !Directory.Exists("/sys/kernel/tracing/events/skb"))
            Shell.TryRun("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode }, mode);
        Assert.Equal(mode, capture.Capture.AttachMode);
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, ClosedPort));

        var e = Assert.Single(await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", 1));

        Assert.Equal((ushort)ClosedPort, e.DestinationPort);
        Assert.Equal("lo", e.Ifname);
        Assert.Equal(ns.Inode, e.Netns);
    }

    public static TheoryData<RingReaderKind> Readers => [RingReaderKind.Mapped, RingReaderKind.Libbpf];

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task EveryRingReader_DeliversEveryEventOfABurstInOrder(RingReaderKind kind)
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode }, reader: kind);
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        const int sent = 5000;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 1000 + i % 50000));

        var events = await capture.WaitForAsync(e => e.Reason == "NO_SOCKET", sent);

        Assert.Equal(sent, events.Count);
        Assert.Equal(Enumerable.Range(0, sent).Select(i => (ushort?)(1000 + i)), events.Select(e => e.DestinationPort));
        Assert.Equal(0UL, capture.Losses.RingBufferFull);
        Assert.Equal(0, capture.Reader.Malformed);
    }

    [Fact]
    public async Task TinyRing_LosesEventsButCountersStayExact()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        // One page holds about 15 events, and nobody reads it until the burst is over: it must overflow.
        using var capture = new LiveCapture(new EventFilter { Netns = ns.Inode }, ringSize: Environment.SystemPageSize, startReader: false);
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        const int sent = 3000;
        for (int i = 0; i < sent; i++)
            sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, ClosedPort));
        Assert.True(await KernelTest.EventuallyAsync(() => capture.Counted("NO_SOCKET", ns.Inode, 17) == sent));

        capture.StartReader();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        int received = capture.Events.Count(e => e.Reason == "NO_SOCKET" && e.Netns == ns.Inode);
        ulong lost = capture.Losses.RingBufferFull;

        Assert.True(lost > 0, "a one-page ring must overflow");
        Assert.Equal((ulong)sent, (ulong)received + lost);
    }

    [Fact]
    public void TracepointMode_WithoutTracefs_SaysHowToMountIt()
    {
        KernelTest.RequireRoot();
        if (!Directory.Exists("/sys/kernel/tracing/events/skb"))
            Shell.TryRun("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        if (Shell.TryRun("umount", "/sys/kernel/tracing").Code != 0)
            KernelTest.Unavailable("tracefs is busy and cannot be unmounted for this test");
        try
        {
            var error = Assert.Throws<KernelFeatureException>(() => new LiveCapture(new EventFilter(), AttachMode.Tracepoint));
            Assert.Contains("mount -t tracefs nodev /sys/kernel/tracing", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Shell.TryRun("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        }
    }

    [Fact]
    public async Task Dispose_DetachesTheProgram()
    {
        KernelTest.RequireRoot();
        uint id;
        using (var capture = new LiveCapture(new EventFilter { EmitEvents = false }))
        {
            id = capture.Capture.ReadProgramStats().ProgramId;
            Assert.NotEqual(0u, id);
            Assert.Contains($"{id}:", Shell.Run("bpftool", "prog", "show", "id", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), StringComparison.Ordinal);
        }
        Assert.True(await KernelTest.EventuallyAsync(() =>
            Shell.TryRun("bpftool", "prog", "show", "id", id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Code != 0),
            $"program {id} still loaded after dispose");
    }
}
