using System.Net;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Web.Tests.Infrastructure;

/// <summary>Drop events as the decoder would produce them; every call makes a new instance.</summary>
public static class Samples
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    public static DropEvent Event(
        string reason = "NO_SOCKET",
        uint reasonCode = 3,
        string source = "10.0.0.1",
        string destination = "10.0.0.2",
        ushort? sourcePort = 40000,
        ushort? destinationPort = 80,
        byte protocol = 6,
        string ifname = "eth0",
        uint ifindex = 2,
        string comm = "curl",
        DateTimeOffset? time = null,
        int headerBytes = 40,
        uint length = 60)
    {
        var src = IPAddress.Parse(source);
        var dst = IPAddress.Parse(destination);
        bool v6 = src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        byte[] headers = new byte[14 + headerBytes];
        for (int i = 0; i < headers.Length; i++)
            headers[i] = (byte)(i * 7);
        return new DropEvent
        {
            Timestamp = time ?? Epoch,
            MonotonicNs = 123_456_789,
            Reason = reason,
            ReasonCode = reasonCode,
            LocationAddress = 0xffffffff81000000,
            Location = "tcp_v4_rcv+0x1a2",
            Family = v6 ? PacketFamily.Ipv6 : PacketFamily.Ipv4,
            EtherType = (ushort)(v6 ? 0x86dd : 0x0800),
            IpProtocol = protocol,
            SourceAddress = src,
            DestinationAddress = dst,
            SourcePort = protocol is 6 or 17 ? sourcePort : null,
            DestinationPort = protocol is 6 or 17 ? destinationPort : null,
            IcmpType = protocol is 1 or 58 ? (byte)8 : null,
            IcmpCode = protocol is 1 or 58 ? (byte)0 : null,
            Length = length,
            SkbLength = length + 14,
            Ifindex = ifindex,
            Ifname = ifname,
            Netns = 4026531840,
            Cpu = 1,
            Pid = 4242,
            Tid = 4243,
            Comm = comm,
            Flags = DropEventFlags.HasL2 | DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
            Headers = headers,
            L3Offset = 14,
        };
    }

    /// <summary><paramref name="count"/> distinct events whose comm is <c>{prefix}{i}</c>.</summary>
    public static List<DropEvent> Many(int count, string prefix = "task", int headerBytes = 40) =>
        Enumerable.Range(0, count).Select(i => Event(comm: $"{prefix}{i}", headerBytes: headerBytes)).ToList();
}
