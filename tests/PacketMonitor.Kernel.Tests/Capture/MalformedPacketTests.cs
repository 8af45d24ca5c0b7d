using System.Globalization;
using System.Net;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Capture;

/// <summary>
/// Malformed packets really sent through the kernel: raw Ethernet frames from an AF_PACKET socket
/// in namespace A, over a veth, into B's receive path, which drops them (ip_rcv_core header checks,
/// UDP length checks, routing). For each: every packet is one event and one exact count, the
/// kernel's own counter (/proc/net/snmp, netstat, snmp6, device stats) agrees, the decoder
/// rejects nothing, and the decoded fields are the ones in the frame, never bytes from elsewhere.
/// </summary>
public sealed class MalformedPacketTests
{
    private const int Sent = 3;
    private const ushort SourcePort = 40000;
    private const ushort ClosedPort = 9;
    private static readonly IPAddress ElsewhereV4 = IPAddress.Parse("192.0.2.9");  // TEST-NET-1: not B's, no forwarding
    private static readonly IPAddress ElsewhereV6 = IPAddress.Parse("2001:db8::9"); // documentation prefix: no route in B

    /// <summary>A veth from A to B; the monitor watches B; frames are sent from A to B's MAC.</summary>
    internal sealed class Wire : IDisposable
    {
        public Wire(EventFilter? filter = null)
        {
            Pair = new VethPair();
            try
            {
                // A only sends raw frames: no IPv6 chatter of its own (router solicitations, MLD) reaches B.
                Pair.A.Exec("sysctl", "-qw", $"net.ipv6.conf.{Pair.AName}.disable_ipv6=1");
                byte net = Pair.AddressB.GetAddressBytes()[2];
                A6 = IPAddress.Parse($"fd00:253:{net}::1");
                B6 = IPAddress.Parse($"fd00:253:{net}::2");
                Pair.B.Ip("addr", "add", $"{B6}/64", "dev", Pair.BName, "nodad");
                MacA = Frames.MacOf(Pair.A, Pair.AName);
                MacB = Frames.MacOf(Pair.B, Pair.BName);
                Socket = new PacketSocket(Pair.A, Pair.AName);
                Capture = new LiveCapture(filter ?? new EventFilter { Netns = Pair.B.Inode });
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public VethPair Pair { get; }
        public IPAddress A4 => Pair.AddressA;
        public IPAddress B4 => Pair.AddressB;
        public IPAddress A6 { get; } = IPAddress.IPv6None;
        public IPAddress B6 { get; } = IPAddress.IPv6None;
        public byte[] MacA { get; } = [];
        public byte[] MacB { get; } = [];
        public PacketSocket? Socket { get; }
        public LiveCapture? Capture { get; }

        public byte[] Frame(ushort etherType, byte[] packet, ushort? vlan = null) => Frames.Ethernet(MacB, MacA, etherType, packet, vlan);

        /// <summary>
        /// A kernel counter as seen in B: "Ip:InHdrErrors" (snmp), "IpExt:InCsumErrors" (netstat),
        /// "Ip6InNoRoutes" (snmp6), or "dev:otherhost" (B's veth statistics).
        /// </summary>
        public long Counter(string name)
        {
            if (name.StartsWith("dev:", StringComparison.Ordinal)) // ip leaves out a counter that is still 0
                return Frames.Link(Pair.B, Pair.BName, statistics: true).GetProperty("stats64").GetProperty("rx").TryGetProperty(name[4..], out var value) ? value.GetInt64() : 0;
            int colon = name.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                var row = Pair.B.Exec("cat", "/proc/net/snmp6").Split('\n').Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                    .Single(f => f.Length == 2 && f[0] == name);
                return long.Parse(row[1], CultureInfo.InvariantCulture);
            }
            string prefix = name[..(colon + 1)], field = name[(colon + 1)..];
            string file = prefix.EndsWith("Ext:", StringComparison.Ordinal) ? "netstat" : "snmp";
            var lines = Pair.B.Exec("cat", $"/proc/net/{file}").Split('\n').Where(l => l.StartsWith(prefix + " ", StringComparison.Ordinal)).ToArray();
            var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(values[Array.IndexOf(names, field)], CultureInfo.InvariantCulture);
        }

        public void Dispose()
        {
            Capture?.Dispose();
            Socket?.Dispose();
            Pair.Dispose();
        }
    }

    /// <summary>
    /// One malformed packet: the frame, the drop the kernel must make of it, the kernel counter
    /// that counts it, and what the monitor may read from it. Destination null: no L3 header is
    /// readable (then no addresses either). Captured: the bytes the monitor must have copied
    /// from the MAC header on (default: the frame as sent).
    /// </summary>
    internal sealed record Case(
        Func<Wire, byte[]> Frame, string Reason, string KernelCounter, PacketFamily Family, byte IpProtocol,
        Func<Wire, IPAddress>? Destination, bool Ports, bool Truncated, Func<Wire, byte[]>? Captured = null);

    private static byte[] Udp4(int dataBytes = 4, int? length = null) =>
        Frames.UdpDatagram(SourcePort, ClosedPort, new byte[dataBytes], length);

    private static byte[] Udp6(Wire w, IPAddress destination, int dataBytes = 4, int? length = null) =>
        Frames.UdpDatagram(SourcePort, ClosedPort, new byte[dataBytes], length, w.A6, destination);

    private static byte[] V4(Wire w, byte[] packet, ushort? vlan = null) => w.Frame(Frames.EtherTypeIpv4, packet, vlan);

    private static byte[] V6(Wire w, byte[] packet) => w.Frame(Frames.EtherTypeIpv6, packet);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // IPv4 headers that ip_rcv_core refuses.
        ["ipv4 header cut at 12 bytes"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4())[..12]),
            "IP_INHDR", "Ip:InHdrErrors", PacketFamily.Other, 0, null, Ports: false, Truncated: false),
        ["ipv4 IHL 4 (below the minimum 5)"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(), ihl: 4)),
            "IP_INHDR", "Ip:InHdrErrors", PacketFamily.Other, 0, null, Ports: false, Truncated: false),
        ["ipv4 IHL 15 (60 bytes) in a 32-byte packet"] = new(
            w => V4(w, [.. Frames.Ipv4(w.A4, w.B4, Frames.Udp, [], ihl: 15, totalLength: 32)[..20], .. Udp4()]),
            "IP_INHDR", "Ip:InHdrErrors", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: false, Truncated: true),
        ["ipv4 total length 10 (below its own header)"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(), totalLength: 10)),
            "IP_INHDR", "Ip:InHdrErrors", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),
        ["ipv4 total length 500 in a 32-byte packet"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(), totalLength: 500)),
            "PKT_TOO_SMALL", "IpExt:InTruncatedPkts", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),
        ["ipv4 wrong header checksum"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(), breakChecksum: true)),
            "IP_CSUM", "IpExt:InCsumErrors", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),

        // 802.1Q: the tag is taken off on receive; without a VLAN device for it the packet is not for this host.
        ["802.1Q VLAN 5 tag, no VLAN 5 device"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4()), vlan: 5),
            "OTHERHOST", "dev:otherhost", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false,
            Captured: w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4()))),
        ["802.1Q priority tag (VLAN 0) to a closed UDP port"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4()), vlan: 0),
            "NO_SOCKET", "Udp:NoPorts", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false,
            Captured: w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4()))),

        // IPv4 fragments for another host: B does not forward, each fragment is dropped on its own.
        ["ipv4 first fragment (offset 0, more fragments)"] = new(
            w => V4(w, Frames.Ipv4(w.A4, ElsewhereV4, Frames.Udp, Udp4(16), fragment: Frames.Ipv4Fragment(0, more: true))),
            "IP_INADDRERRORS", "Ip:InAddrErrors", PacketFamily.Ipv4, Frames.Udp, _ => ElsewhereV4, Ports: true, Truncated: false),
        ["ipv4 later fragment (offset 24): its first bytes are data, not ports"] = new(
            w => V4(w, Frames.Ipv4(w.A4, ElsewhereV4, Frames.Udp, [0x12, 0x34, 0x56, 0x78, .. new byte[12]], fragment: Frames.Ipv4Fragment(3, more: false))),
            "IP_INADDRERRORS", "Ip:InAddrErrors", PacketFamily.Ipv4, Frames.Udp, _ => ElsewhereV4, Ports: false, Truncated: false),

        // UDP lengths that __udp4_lib_rcv refuses, and the empty datagram that it does not.
        ["udp length field 0"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(length: 0))),
            "PKT_TOO_SMALL", "Udp:InErrors", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),
        ["udp length field 4 (below its 8-byte header)"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(length: 4))),
            "PKT_TOO_SMALL", "Udp:InErrors", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),
        ["udp with zero bytes of data to a closed port"] = new(
            w => V4(w, Frames.Ipv4(w.A4, w.B4, Frames.Udp, Udp4(dataBytes: 0))),
            "NO_SOCKET", "Udp:NoPorts", PacketFamily.Ipv4, Frames.Udp, w => w.B4, Ports: true, Truncated: false),

        // IPv6 extension header chains.
        ["ipv6 hop-by-hop, routing, destination options, fragment, then UDP"] = new(
            w => V6(w, Frames.Ipv6(w.A6, w.B6, Frames.HopByHop, Frames.Concat(
                Frames.Options(Frames.Routing), Frames.RoutingType0(Frames.DestinationOptions), Frames.Options(Frames.Fragment),
                Frames.Ipv6Fragment(Frames.Udp, 0, more: false), Udp6(w, w.B6)))),
            "NO_SOCKET", "Udp6NoPorts", PacketFamily.Ipv6, Frames.Udp, w => w.B6, Ports: true, Truncated: false),
        ["ipv6 eight extension headers (beyond the program's walk of six)"] = new(
            w => V6(w, Frames.Ipv6(w.A6, w.B6, Frames.HopByHop,
                [.. Enumerable.Repeat(Frames.Options(Frames.DestinationOptions), 7).SelectMany(h => h), .. Frames.Options(Frames.Udp), .. Udp6(w, w.B6)])),
            "NO_SOCKET", "Udp6NoPorts", PacketFamily.Ipv6, Frames.DestinationOptions, w => w.B6, Ports: false, Truncated: false),
        ["ipv6 first fragment for another host"] = new(
            w => V6(w, Frames.Ipv6(w.A6, ElsewhereV6, Frames.Fragment, Frames.Concat(
                Frames.Ipv6Fragment(Frames.Udp, 0, more: true), Udp6(w, ElsewhereV6, 16)))),
            "IP_INNOROUTES", "Ip6InNoRoutes", PacketFamily.Ipv6, Frames.Udp, _ => ElsewhereV6, Ports: true, Truncated: false),
        ["ipv6 later fragment behind hop-by-hop for another host"] = new(
            w => V6(w, Frames.Ipv6(w.A6, ElsewhereV6, Frames.HopByHop, Frames.Concat(
                Frames.Options(Frames.Fragment), Frames.Ipv6Fragment(Frames.Udp, 3, more: false), [0x12, 0x34, 0x56, 0x78, .. new byte[12]]))),
            "IP_INNOROUTES", "Ip6InNoRoutes", PacketFamily.Ipv6, Frames.Udp, _ => ElsewhereV6, Ports: false, Truncated: false),
        // The chain goes on past the end of the packet: what lies beyond is not this packet's.
        ["ipv6 chain cut inside its second header (payload length claims more)"] = new(
            w => V6(w, Frames.Ipv6(w.A6, w.B6, Frames.HopByHop,
                Frames.Concat(Frames.Options(Frames.DestinationOptions), Frames.Options(Frames.Udp)[..4]), payloadLength: 24)),
            "PKT_TOO_SMALL", "Ip6InTruncatedPkts", PacketFamily.Ipv6, Frames.DestinationOptions, w => w.B6, Ports: false, Truncated: true),
        ["udp6 length field 4 (below its 8-byte header)"] = new(
            w => V6(w, Frames.Ipv6(w.A6, w.B6, Frames.Udp, Udp6(w, w.B6, length: 4))),
            "PKT_TOO_SMALL", "Udp6InErrors", PacketFamily.Ipv6, Frames.Udp, w => w.B6, Ports: true, Truncated: false),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task MalformedPacket_EachIsOneDropWithTheFieldsOfTheFrame(string name)
    {
        KernelTest.RequireRoot();
        var c = Cases[name];
        using var w = new Wire();
        var capture = w.Capture!;
        byte[] frame = c.Frame(w);
        long before = w.Counter(c.KernelCounter);

        for (int i = 0; i < Sent; i++)
            w.Socket!.Send(frame);

        var events = await capture.WaitForAsync(e => e.Reason == c.Reason, Sent);
        long counted = w.Counter(c.KernelCounter) - before;

        Assert.Equal(Sent, counted); // the kernel itself dropped each of them, this way
        Assert.Equal(Sent, events.Count);
        Assert.Equal((ulong)Sent, capture.Counted(c.Reason, w.Pair.B.Inode, c.IpProtocol));
        Assert.Equal(0, capture.Reader.Malformed);
        Assert.Equal(0UL, capture.Losses.RingBufferFull);
        byte[] captured = (c.Captured ?? c.Frame)(w);
        foreach (var e in events)
        {
            Assert.Equal(c.Family, e.Family);
            Assert.Equal(c.IpProtocol, e.IpProtocol);
            if (c.Destination is null)
            {
                Assert.Null(e.SourceAddress);
                Assert.Null(e.DestinationAddress);
            }
            else
            {
                Assert.Equal(c.Family == PacketFamily.Ipv4 ? w.A4 : w.A6, e.SourceAddress);
                Assert.Equal(c.Destination(w), e.DestinationAddress);
            }
            Assert.Equal(c.Ports ? SourcePort : null, e.SourcePort);
            Assert.Equal(c.Ports ? ClosedPort : null, e.DestinationPort);
            Assert.Null(e.IcmpType);
            Assert.Equal(c.Truncated, e.Flags.HasFlag(DropEventFlags.Truncated));
            Assert.Equal(c.Destination is not null, e.Flags.HasFlag(DropEventFlags.HasL3));
            Assert.Equal(w.Pair.BName, e.Ifname);
            Assert.Equal(w.Pair.B.Inode, e.Netns);
            Assert.InRange(e.SkbLength, 1u, (uint)frame.Length);
            // Received on a veth: the copy starts at the MAC header and is the frame as it arrived.
            Assert.True(e.Flags.HasFlag(DropEventFlags.HasL2));
            Assert.Equal(14, e.L3Offset);
            int length = Math.Min(captured.Length, e.Headers.Length);
            Assert.True(length >= Math.Min(captured.Length, 64), $"only {e.Headers.Length} bytes captured");
            Assert.Equal(captured.AsSpan(0, length).ToArray(), e.Headers.Span[..length].ToArray());
        }
    }

    [Fact]
    public async Task FragmentsNeverCompleted_AreDroppedAtReassemblyTimeout_FirstWithPortsLaterWithout()
    {
        KernelTest.RequireRoot();
        // Not filtered by namespace: the kernel frees a queued later fragment with skb->dev
        // overlaid by the fragment tree, so its namespace may be unknown (0). A source
        // address of this test's own picks its events out instead.
        using var w = new Wire(new EventFilter { Reasons = ["FRAG_REASM_TIMEOUT"] });
        w.Pair.B.Exec("sysctl", "-qw", "net.ipv4.ipfrag_time=1");
        var source = IPAddress.Parse($"198.51.100.{Random.Shared.Next(1, 255)}"); // TEST-NET-2
        long before = w.Counter("Ip:ReasmTimeout");

        // Two datagrams (ids differ), each missing a piece: one has only its first fragment, one only a later one.
        w.Socket!.Send(w.Frame(Frames.EtherTypeIpv4, Frames.Ipv4(source, w.B4, Frames.Udp, Udp4(16), id: 1, fragment: Frames.Ipv4Fragment(0, more: true))));
        w.Socket.Send(w.Frame(Frames.EtherTypeIpv4, Frames.Ipv4(source, w.B4, Frames.Udp, [0x12, 0x34, 0x56, 0x78, .. new byte[12]], id: 2, fragment: Frames.Ipv4Fragment(3, more: false))));

        var events = await w.Capture!.WaitForAsync(e => source.Equals(e.SourceAddress), 2, TimeSpan.FromSeconds(10));

        Assert.Equal(2, w.Counter("Ip:ReasmTimeout") - before);
        Assert.Equal(2, events.Count);
        Assert.All(events, e =>
        {
            Assert.Equal("FRAG_REASM_TIMEOUT", e.Reason);
            Assert.Equal(PacketFamily.Ipv4, e.Family);
            Assert.Equal(Frames.Udp, e.IpProtocol);
            Assert.Equal(w.B4, e.DestinationAddress);
            Assert.True(e.Netns == w.Pair.B.Inode || e.Netns == 0, $"netns {e.Netns}: neither B's nor unknown");
            Assert.True(e.Ifname == w.Pair.BName || e.Ifname == "", $"ifname '{e.Ifname}'");
        });
        var first = Assert.Single(events, e => e.Length == 20 + 8 + 16);
        Assert.Equal(SourcePort, first.SourcePort);
        Assert.Equal(ClosedPort, first.DestinationPort);
        var later = Assert.Single(events, e => e.Length == 20 + 16);
        Assert.Null(later.SourcePort);
        Assert.Null(later.DestinationPort);
        Assert.Equal(0, w.Capture.Reader.Malformed);
    }
}
