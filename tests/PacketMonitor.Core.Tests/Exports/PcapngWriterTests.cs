using System.Globalization;
using System.Net;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Exports;

namespace PacketMonitor.Core.Tests.Exports;

/// <summary>The writer's files, read back by Wireshark's own tools (tshark, capinfos) with exact expectations.</summary>
public sealed class PcapngWriterTests : IDisposable
{
    // .1234567 s: pcapng gets nanoseconds, the event has 100 ns ticks.
    private static readonly DateTimeOffset Time = new DateTimeOffset(2026, 11, 27, 17, 40, 1, TimeSpan.Zero).AddTicks(1_234_567);
    private static readonly string TimeEpoch = EpochText(Time);

    private readonly string _dir = Directory.CreateTempSubdirectory("pm-pcapng-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DropEvent Base() => new()
    {
        Timestamp = Time,
        Reason = "NO_SOCKET",
        ReasonCode = 3,
        Location = "__udp4_lib_rcv+0x9b1",
        Ifindex = 2,
        Ifname = "eth0",
        Netns = 4026531840,
        Cpu = 1,
        Pid = 1234,
        Tid = 1234,
        Comm = "curl",
    };

    // frame.encap_type is Wireshark's WTAP_ENCAP_*: 1 Ethernet, 25 Linux cooked, 129 raw IPv4, 130 raw IPv6.

    /// <summary>IPv4 TCP SYN with its Ethernet header: 54 bytes captured of a 1500-byte IP packet.</summary>
    private static DropEvent Ipv4TcpEthernet() => Base() with
    {
        Reason = "NETFILTER_DROP",
        ReasonCode = 14,
        Location = "nf_hook_slow+0x9c",
        Family = PacketFamily.Ipv4,
        EtherType = 0x0800,
        IpProtocol = 6,
        SourceAddress = IPAddress.Parse("192.0.2.10"),
        DestinationAddress = IPAddress.Parse("198.51.100.20"),
        SourcePort = 54321,
        DestinationPort = 443,
        Length = 1500,
        SkbLength = 1500,
        Flags = DropEventFlags.HasL2 | DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
        Headers = PacketBytes.Ethernet(0x0800, PacketBytes.Ipv4("192.0.2.10", "198.51.100.20", 6, 1500, PacketBytes.Tcp(54321, 443))),
        L3Offset = 14,
    };

    /// <summary>IPv6 UDP from the network header on (no MAC header): 60 of 88 bytes captured.</summary>
    private static DropEvent Ipv6UdpRaw() => Base() with
    {
        Ifname = "wg0",
        Ifindex = 5,
        Family = PacketFamily.Ipv6,
        EtherType = 0x86DD,
        IpProtocol = 17,
        SourceAddress = IPAddress.Parse("2001:db8::1"),
        DestinationAddress = IPAddress.Parse("2001:db8::2"),
        SourcePort = 5353,
        DestinationPort = 53,
        Length = 88,
        SkbLength = 88,
        Flags = DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
        Headers = PacketBytes.Ipv6("2001:db8::1", "2001:db8::2", 17, 48, PacketBytes.Udp(5353, 53, 48, new byte[12])),
        L3Offset = 0,
    };

    /// <summary>An ICMP echo request, raw IPv4, whole packet captured (84 bytes).</summary>
    private static DropEvent IcmpRaw() => Base() with
    {
        Reason = "IP_INADDRERRORS",
        ReasonCode = 50,
        Location = "ip_route_input_slow+0x2b2",
        Family = PacketFamily.Ipv4,
        EtherType = 0x0800,
        IpProtocol = 1,
        SourceAddress = IPAddress.Parse("10.0.0.1"),
        DestinationAddress = IPAddress.Parse("10.0.0.2"),
        IcmpType = 8,
        IcmpCode = 0,
        Length = 84,
        SkbLength = 84,
        Flags = DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
        Headers = PacketBytes.Ipv4("10.0.0.1", "10.0.0.2", 1, 84, PacketBytes.IcmpEcho(8, 0x1234, 7, new byte[56])),
    };

    /// <summary>tshark's frame.time_epoch: seconds and nine digits of nanoseconds.</summary>
    private static string EpochText(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        return string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond * 100:D9}");
    }

    private string Write(params DropEvent[] events)
    {
        string file = Path.Combine(_dir, $"{Guid.NewGuid():n}.pcapng");
        using var writer = new PcapngWriter(File.Create(file), "packet-monitor test");
        foreach (var e in events)
            writer.Write(e);
        return file;
    }

    [Fact]
    public void Write_Ipv4TcpWithEthernet_TsharkShowsAddressesPortsLengthsTimeAndComment()
    {
        Tshark.Require();
        string file = Write(Ipv4TcpEthernet());

        var packet = Assert.Single(Tshark.Fields(file, "frame.encap_type", "frame.protocols", "eth.src", "eth.dst", "ip.src", "ip.dst", "tcp.srcport",
            "tcp.dstport", "tcp.flags.syn", "frame.len", "frame.cap_len", "frame.time_epoch", "frame.interface_name", "frame.comment"));

        Assert.Equal(
            ["1", "eth:ethertype:ip:tcp", "02:00:00:00:00:0a", "02:00:00:00:00:0b", "192.0.2.10", "198.51.100.20", "54321", "443", "1",
             "1514", "54", TimeEpoch, "eth0",
             "reason: NETFILTER_DROP (14); location: nf_hook_slow+0x9c; cpu context: curl (pid 1234, cpu 1)"],
            packet);
    }

    [Fact]
    public void Write_Ipv6UdpWithoutMacHeader_IsRawIpv6WithTheIpLengthAsFrameLength()
    {
        Tshark.Require();
        string file = Write(Ipv6UdpRaw());

        var packet = Assert.Single(Tshark.Fields(file, "frame.encap_type", "frame.protocols", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport",
            "udp.length", "frame.len", "frame.cap_len", "frame.interface_name", "frame.comment"));

        Assert.Equal(
            ["130", "ipv6:udp:dns", "2001:db8::1", "2001:db8::2", "5353", "53", "48", "88", "60", "wg0",
             "reason: NO_SOCKET (3); location: __udp4_lib_rcv+0x9b1; cpu context: curl (pid 1234, cpu 1)"],
            packet);
    }

    [Fact]
    public void Write_IcmpEchoRawIpv4_TsharkShowsTypeCodeAndWholePacket()
    {
        Tshark.Require();
        string file = Write(IcmpRaw());

        var packet = Assert.Single(Tshark.Fields(file, "frame.encap_type", "frame.protocols", "ip.src", "ip.dst", "icmp.type", "icmp.code", "icmp.seq",
            "frame.len", "frame.cap_len", "frame.comment"));

        Assert.Equal(
            ["129", "ip:icmp:data", "10.0.0.1", "10.0.0.2", "8", "0", "7", "84", "84",
             "reason: IP_INADDRERRORS (50); location: ip_route_input_slow+0x2b2; cpu context: curl (pid 1234, cpu 1)"],
            packet);
    }

    [Fact]
    public void Write_TruncatedAndEmptyHeaders_KeepTheRealLengthAndCaptureWhatThereIs()
    {
        Tshark.Require();
        var full = Ipv4TcpEthernet();
        var truncated = full with { Headers = full.Headers[..30], Flags = full.Flags | DropEventFlags.Truncated };
        var nothing = full with { Headers = ReadOnlyMemory<byte>.Empty, L3Offset = 0 };
        var v6Nothing = Ipv6UdpRaw() with { Headers = ReadOnlyMemory<byte>.Empty };
        string file = Write(truncated, nothing, v6Nothing);

        var packets = Tshark.Fields(file, "frame.len", "frame.cap_len", "eth.src", "ip.version", "frame.interface_id");

        Assert.Equal(3, packets.Count);
        Assert.Equal(["1514", "30", "02:00:00:00:00:0a", "4", "0"], packets[0]); // 16 of the 20 IP header bytes
        Assert.Equal(["1514", "0", "", "", "0"], packets[1]);
        Assert.Equal(["88", "0", "", "", "1"], packets[2]);
        Assert.Equal(3, Tshark.PacketCount(file));
    }

    [Fact]
    public void Write_NonIpWithoutMacHeader_GetsALinuxCookedHeaderWithItsEthertype()
    {
        Tshark.Require();
        var arp = Base() with
        {
            Reason = "NOT_SPECIFIED",
            ReasonCode = 2,
            Location = "arp_rcv+0x1e",
            EtherType = 0x0806,
            Length = 28,
            SkbLength = 28,
            Flags = DropEventFlags.HasDevice,
            Headers = PacketBytes.ArpRequest("10.0.0.1", "10.0.0.9"),
        };
        string file = Write(arp);

        var packet = Assert.Single(Tshark.Fields(file, "frame.encap_type", "frame.protocols", "sll.etype", "arp.opcode", "arp.src.proto_ipv4",
            "arp.dst.proto_ipv4", "frame.len", "frame.cap_len"));

        Assert.Equal(["25", "sll:ethertype:arp", "0x0806", "1", "10.0.0.1", "10.0.0.9", "44", "44"], packet);
    }

    [Fact]
    public void Write_AttributionFields_AreInTheCommentWhenPresent()
    {
        Tshark.Require();
        var owned = Ipv4TcpEthernet() with
        {
            Comm = "swapper/1",
            Pid = 0,
            OwnerPid = 812,
            OwnerComm = "nginx",
            CgroupId = 4242,
            Cgroup = "/system.slice/nginx.service",
            Container = "nginx.service",
            NetnsName = "blue",
        };
        var pidOnly = owned with { OwnerComm = null, Cgroup = null, Container = null, NetnsName = null };
        var commOnly = owned with { OwnerPid = null, CgroupId = 0, Cgroup = null, Container = "", NetnsName = null };
        string file = Write(owned, pidOnly, commOnly);

        var comments = Tshark.Fields(file, "frame.comment").Select(p => p[0]).ToList();

        const string Head = "reason: NETFILTER_DROP (14); location: nf_hook_slow+0x9c; cpu context: swapper/1 (pid 0, cpu 1)";
        Assert.Equal(
            [
                Head + "; owner: nginx (pid 812); cgroup: /system.slice/nginx.service; container: nginx.service; netns: blue",
                Head + "; owner: pid 812; cgroup: id 4242",
                Head + "; owner: nginx",
            ],
            comments);
    }

    [Fact]
    public void Write_WeirdInterfaceNames_OneSanitisedInterfacePerNameNamespaceAndLinkType()
    {
        Tshark.Require();
        var eth = Ipv4TcpEthernet();
        var raw = IcmpRaw();
        string file = Write(
            eth with { Ifname = "eth0" },
            raw with { Ifname = "eth0" },                          // same interface, other link type
            eth with { Ifname = "eth0", Netns = 4026532000, NetnsName = "blue" }, // same name, other namespace
            eth with { Ifname = "" , Ifindex = 7 },                // no name from the kernel
            eth with { Ifname = "ev\u202Eil\nx\u001b[31m" },        // bidi override, newline, escape
            eth with { Ifname = "wlan-ü ñ 15chars" },
            eth with { Ifname = "eth0" });                         // known again: no new block

        var packets = Tshark.Fields(file, "frame.interface_id", "frame.interface_name", "frame.interface_description");

        Assert.Equal(
            [
                ["0", "eth0", "ifindex 2, netns 4026531840"],
                ["1", "eth0", "ifindex 2, netns 4026531840"],
                ["2", "eth0", "ifindex 2, netns 4026532000 (blue)"],
                ["3", "ifindex 7", "ifindex 7, netns 4026531840"],
                ["4", "ev?il?x?[31m", "ifindex 2, netns 4026531840"],
                ["5", "wlan-ü ñ 15chars", "ifindex 2, netns 4026531840"],
                ["0", "eth0", "ifindex 2, netns 4026531840"],
            ],
            packets);
    }

    [Fact]
    public void Write_HostileStrings_CommentStaysOneLineOfValidUtf8AndBounded()
    {
        Tshark.Require();
        var hostile = IcmpRaw() with
        {
            Reason = "A\r\nB",
            Location = new string('x', 100_000),
            Comm = "\ud800bad\u0085",  // a lone surrogate and NEL
            OwnerComm = "\u200bzero-width",
        };
        string file = Write(hostile);

        var comment = Assert.Single(Tshark.Fields(file, "frame.comment"))[0];

        Assert.Equal("reason: A??B (50); location: " + new string('x', 256) + "; cpu context: \ufffdbad? (pid 1234, cpu 1); owner: ?zero-width", comment);
    }

    [Fact]
    public void Write_NoEvents_IsAValidEmptyCapture()
    {
        Tshark.Require();
        string file = Write();

        Assert.Equal(0, Tshark.PacketCount(file));
        Assert.Empty(Tshark.Fields(file, "frame.number"));
    }

    [Fact]
    public void Write_ManyEvents_StreamsWithBoundedBufferAndEveryPacketArrives()
    {
        Tshark.Require();
        string file = Path.Combine(_dir, "many.pcapng");
        const int Count = 20_000;
        using (var stream = File.Create(file))
        using (var writer = new PcapngWriter(stream, leaveOpen: true))
        {
            var events = new[] { Ipv4TcpEthernet(), Ipv6UdpRaw(), IcmpRaw() };
            for (int i = 0; i < Count; i++)
            {
                writer.Write(events[i % 3] with { Timestamp = Time.AddTicks(i * 10) });
                Assert.InRange(writer.BufferedBytes, 0, PcapngWriter.FlushThresholdBytes + 512);
            }
            Assert.True(stream.Length > 1_000_000, $"only {stream.Length} bytes reached the file before the end");
        }

        Assert.Equal(Count, Tshark.PacketCount(file));
        var last = Tshark.Fields(file, "frame.number", "frame.time_epoch")[^1];
        Assert.Equal(Count.ToString(CultureInfo.InvariantCulture), last[0]);
        Assert.Equal(EpochText(Time.AddTicks((Count - 1) * 10)), last[1]);
    }

    [Fact]
    public void Flush_MidCapture_LeavesACompleteFileThatGrowsLater()
    {
        Tshark.Require();
        string file = Path.Combine(_dir, "live.pcapng");
        using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read);
        using var writer = new PcapngWriter(stream);
        writer.Write(Ipv4TcpEthernet());
        writer.Flush();
        Assert.Equal(1, Tshark.PacketCount(file));

        writer.Write(Ipv6UdpRaw());
        writer.Flush();
        Assert.Equal(2, Tshark.PacketCount(file));
    }
}
