using System.Net;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Tests.Events;

/// <summary>Decoded events as the formatter tests see them.</summary>
internal static class EventSamples
{
    // .1234567 s: the 7th digit must be cut, not rounded.
    public static readonly DateTimeOffset Time = new DateTimeOffset(2026, 11, 27, 17, 40, 1, TimeSpan.Zero).AddTicks(1_234_567);

    public static DropEvent Ipv4Tcp() => new()
    {
        Timestamp = Time,
        Reason = "NO_SOCKET",
        ReasonCode = 3,
        Location = "__udp4_lib_rcv+0x9b1",
        Family = PacketFamily.Ipv4,
        EtherType = 0x0800,
        IpProtocol = 6,
        SourceAddress = IPAddress.Parse("192.168.1.10"),
        DestinationAddress = IPAddress.Parse("8.8.8.8"),
        SourcePort = 54321,
        DestinationPort = 443,
        Length = 1500,
        SkbLength = 1514,
        Ifindex = 1,
        Ifname = "lo",
        Netns = 4026531840,
        Cpu = 0,
        Pid = 1234,
        Tid = 1234,
        Comm = "curl",
        Flags = DropEventFlags.HasL2 | DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
    };

    public static DropEvent Ipv6Udp() => Ipv4Tcp() with
    {
        Family = PacketFamily.Ipv6,
        EtherType = 0x86DD,
        IpProtocol = 17,
        SourceAddress = IPAddress.Parse("2001:db8::1"),
        DestinationAddress = IPAddress.Parse("2001:db8::2"),
        SourcePort = 5353,
        DestinationPort = 443,
        Length = 88,
    };

    public static DropEvent Icmp() => Ipv4Tcp() with
    {
        IpProtocol = 1,
        SourceAddress = IPAddress.Parse("10.0.0.1"),
        DestinationAddress = IPAddress.Parse("10.0.0.2"),
        SourcePort = null,
        DestinationPort = null,
        IcmpType = 3,
        IcmpCode = 3,
        Length = 84,
    };

    public static DropEvent Arp() => Ipv4Tcp() with
    {
        Family = PacketFamily.Other,
        EtherType = 0x0806,
        IpProtocol = 0,
        SourceAddress = null,
        DestinationAddress = null,
        SourcePort = null,
        DestinationPort = null,
        Length = 42,
        SkbLength = 42,
        Flags = DropEventFlags.HasL2 | DropEventFlags.HasDevice,
    };

    /// <summary>A receive-side drop in softirq context, owned by a containerised nginx.</summary>
    public static DropEvent Owned() => Ipv4Tcp() with
    {
        Pid = 0,
        Tid = 0,
        Comm = "swapper/1",
        Reason = "SOCKET_RCVBUFF",
        SocketCookie = 8193,
        SocketInode = 91234,
        OwnerPid = 4242,
        OwnerComm = "nginx",
        CgroupId = 5183,
        Cgroup = "/system.slice/docker-3f4e5a6b7c8d9e0f.scope",
        Container = "docker:3f4e5a6b7c8d",
        NetnsName = "blue",
    };
}
