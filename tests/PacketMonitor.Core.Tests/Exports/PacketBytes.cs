using System.Buffers.Binary;
using System.Net;

namespace PacketMonitor.Core.Tests.Exports;

/// <summary>Real protocol headers, byte by byte, for events whose captured bytes Wireshark must decode.</summary>
internal static class PacketBytes
{
    public static readonly byte[] MacA = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
    public static readonly byte[] MacB = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

    public static byte[] Ethernet(ushort etherType, byte[] payload) =>
        [.. MacB, .. MacA, (byte)(etherType >> 8), (byte)etherType, .. payload];

    /// <summary>An IPv4 header (20 bytes, checksum filled) with total length <paramref name="totalLength"/>, then <paramref name="payload"/>.</summary>
    public static byte[] Ipv4(string source, string destination, byte protocol, int totalLength, byte[] payload)
    {
        var header = new byte[20];
        header[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)totalLength);
        header[8] = 64; // TTL
        header[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(header, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(header, 16);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(i));
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), (ushort)~sum);
        return [.. header, .. payload];
    }

    /// <summary>An IPv6 header (40 bytes) with payload length <paramref name="payloadLength"/>, then <paramref name="payload"/>.</summary>
    public static byte[] Ipv6(string source, string destination, byte nextHeader, int payloadLength, byte[] payload)
    {
        var header = new byte[40];
        header[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)payloadLength);
        header[6] = nextHeader;
        header[7] = 64;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(header, 8);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(header, 24);
        return [.. header, .. payload];
    }

    /// <summary>A TCP header (20 bytes) with the SYN flag.</summary>
    public static byte[] Tcp(ushort sourcePort, ushort destinationPort)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(header, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1000);
        header[12] = 0x50; // data offset 5 words
        header[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), 64240);
        return header;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, int length, byte[] payload)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(header, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)length);
        return [.. header, .. payload];
    }

    public static byte[] IcmpEcho(byte type, ushort id, ushort sequence, byte[] payload)
    {
        var header = new byte[8];
        header[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), sequence);
        return [.. header, .. payload];
    }

    /// <summary>An ARP request (28 bytes): who has <paramref name="target"/>? tell <paramref name="sender"/>.</summary>
    public static byte[] ArpRequest(string sender, string target)
    {
        var arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);          // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), 1); // request
        MacA.CopyTo(arp, 8);
        IPAddress.Parse(sender).GetAddressBytes().CopyTo(arp, 14);
        IPAddress.Parse(target).GetAddressBytes().CopyTo(arp, 24);
        return arp;
    }
}
