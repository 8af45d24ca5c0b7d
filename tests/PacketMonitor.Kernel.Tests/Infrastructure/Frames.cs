using System.Buffers.Binary;
using System.Net;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// Builds Ethernet frames byte by byte, including ones no socket API would send: every field
/// (IHL, total length, checksum, fragment offset, UDP length, extension headers) is the caller's.
/// Checksums are computed correctly unless a test breaks them on purpose.
/// </summary>
internal static class Frames
{
    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeIpv6 = 0x86DD;
    public const ushort EtherTypeVlan = 0x8100;

    public const byte HopByHop = 0;
    public const byte Udp = 17;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte DestinationOptions = 60;

    /// <summary>Ethernet header (optionally with one 802.1Q tag) + payload.</summary>
    public static byte[] Ethernet(byte[] destination, byte[] source, ushort etherType, ReadOnlySpan<byte> payload, ushort? vlanId = null)
    {
        int tag = vlanId is null ? 0 : 4;
        var frame = new byte[14 + tag + payload.Length];
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        if (vlanId is ushort vid)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), vid);
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12 + tag), etherType);
        payload.CopyTo(frame.AsSpan(14 + tag));
        return frame;
    }

    /// <summary>
    /// An IPv4 header (20 bytes, or more with <paramref name="ihl"/> &gt; 5: zero option bytes) + payload.
    /// <paramref name="ihl"/> and <paramref name="totalLength"/> are written as given, even when they lie.
    /// </summary>
    public static byte[] Ipv4(IPAddress source, IPAddress destination, byte protocol, ReadOnlySpan<byte> payload,
        int ihl = 5, int? totalLength = null, ushort fragment = 0, ushort id = 0x1234, bool breakChecksum = false)
    {
        int headerBytes = Math.Max(ihl, 5) * 4;
        var packet = new byte[headerBytes + payload.Length];
        var h = packet.AsSpan();
        h[0] = (byte)(0x40 | (ihl & 0x0f));
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(totalLength ?? packet.Length));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], fragment);
        h[8] = 64;
        h[9] = protocol;
        source.GetAddressBytes().CopyTo(h[12..]);
        destination.GetAddressBytes().CopyTo(h[16..]);
        ushort checksum = Checksum(h[..headerBytes]);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], breakChecksum ? (ushort)~checksum : checksum);
        payload.CopyTo(h[headerBytes..]);
        return packet;
    }

    /// <summary>IPv4 fragment field: offset in 8-byte units plus the More Fragments flag.</summary>
    public static ushort Ipv4Fragment(int offsetUnits, bool more) => (ushort)(offsetUnits | (more ? 0x2000 : 0));

    /// <summary>An IPv6 header + payload; <paramref name="payloadLength"/> is written as given.</summary>
    public static byte[] Ipv6(IPAddress source, IPAddress destination, byte nextHeader, ReadOnlySpan<byte> payload, int? payloadLength = null)
    {
        var packet = new byte[40 + payload.Length];
        var h = packet.AsSpan();
        h[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)(payloadLength ?? payload.Length));
        h[6] = nextHeader;
        h[7] = 64;
        source.GetAddressBytes().CopyTo(h[8..]);
        destination.GetAddressBytes().CopyTo(h[24..]);
        payload.CopyTo(h[40..]);
        return packet;
    }

    /// <summary>Hop-by-hop or destination options header: 8 bytes, one PadN option.</summary>
    public static byte[] Options(byte next) => [next, 0, 1, 4, 0, 0, 0, 0];

    /// <summary>Routing header type 0 with no segments left: the kernel skips it.</summary>
    public static byte[] RoutingType0(byte next) => [next, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>IPv6 fragment header; offset in 8-byte units.</summary>
    public static byte[] Ipv6Fragment(byte next, int offsetUnits, bool more, uint id = 0xabcd)
    {
        var h = new byte[8];
        h[0] = next;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)((offsetUnits << 3) | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), id);
        return h;
    }

    /// <summary>
    /// A UDP header + data. <paramref name="length"/> is written as given. The checksum is
    /// computed for IPv6 (where zero is invalid) when the pseudo-header addresses are given,
    /// else left 0 ("no checksum", valid for IPv4).
    /// </summary>
    public static byte[] UdpDatagram(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> data, int? length = null,
        IPAddress? ipv6Source = null, IPAddress? ipv6Destination = null)
    {
        var datagram = new byte[8 + data.Length];
        var u = datagram.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)(length ?? datagram.Length));
        data.CopyTo(u[8..]);
        if (ipv6Source is not null && ipv6Destination is not null)
        {
            var pseudo = new byte[40 + datagram.Length];
            ipv6Source.GetAddressBytes().CopyTo(pseudo, 0);
            ipv6Destination.GetAddressBytes().CopyTo(pseudo, 16);
            BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)datagram.Length);
            pseudo[39] = Udp;
            datagram.CopyTo(pseudo, 40);
            ushort sum = Checksum(pseudo);
            BinaryPrimitives.WriteUInt16BigEndian(u[6..], sum == 0 ? (ushort)0xffff : sum);
        }
        return datagram;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>The Internet checksum (RFC 1071).</summary>
    public static ushort Checksum(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < bytes.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        if (bytes.Length % 2 == 1)
            sum += (uint)bytes[^1] << 8;
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>The MAC address of an interface in a namespace, as the kernel reports it.</summary>
    public static byte[] MacOf(NetworkNamespace ns, string ifname) =>
        Convert.FromHexString(Link(ns, ifname).GetProperty("address").GetString()!.Replace(":", "", StringComparison.Ordinal));

    /// <summary>`ip -j link show dev IFNAME` in the namespace (sysfs would show the test process's namespace).</summary>
    public static System.Text.Json.JsonElement Link(NetworkNamespace ns, string ifname, bool statistics = false)
    {
        string json = statistics ? ns.Ip("-j", "-s", "-s", "link", "show", "dev", ifname) : ns.Ip("-j", "link", "show", "dev", ifname);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement[0].Clone();
    }
}
