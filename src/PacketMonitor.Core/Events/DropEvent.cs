using System.Net;

namespace PacketMonitor.Core.Events;

/// <summary>Address family of a dropped packet's network header.</summary>
public enum PacketFamily
{
    Other = 0,
    Ipv4 = 4,
    Ipv6 = 6,
}

/// <summary>What the kernel program could see of the packet (mirrors EVENT_* in bpf/drop_event.h).</summary>
[Flags]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Mirrors the EVENT_* flags field of the ABI.")]
public enum DropEventFlags : byte
{
    None = 0,
    HasL2 = 1 << 0,
    HasL3 = 1 << 1,
    HasL4 = 1 << 2,
    HasDevice = 1 << 3,
    Truncated = 1 << 4,
}

/// <summary>
/// One packet the kernel dropped, decoded and resolved (reason name, kernel symbol,
/// wall-clock time). Immutable; every string came from the kernel and is untrusted text.
/// </summary>
public sealed record DropEvent
{
    /// <summary>Wall-clock time of the drop (UTC), derived from <see cref="MonotonicNs"/>.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>CLOCK_MONOTONIC nanoseconds as read in the kernel.</summary>
    public ulong MonotonicNs { get; init; }

    /// <summary>Reason name without the SKB_DROP_REASON_ prefix, e.g. NO_SOCKET.</summary>
    public required string Reason { get; init; }

    /// <summary>Raw reason value, subsystem bits included.</summary>
    public uint ReasonCode { get; init; }

    /// <summary>Kernel address of the code that freed the packet.</summary>
    public ulong LocationAddress { get; init; }

    /// <summary><c>function+0xoffset</c>, or the address in hex when no symbol is known.</summary>
    public required string Location { get; init; }

    public PacketFamily Family { get; init; }

    /// <summary>Ethertype of the packet (host order), e.g. 0x0800.</summary>
    public ushort EtherType { get; init; }

    /// <summary>L4 protocol number (IPPROTO_*); 0 when there is no L3 header.</summary>
    public byte IpProtocol { get; init; }

    public IPAddress? SourceAddress { get; init; }
    public IPAddress? DestinationAddress { get; init; }
    public ushort? SourcePort { get; init; }
    public ushort? DestinationPort { get; init; }
    public byte? IcmpType { get; init; }
    public byte? IcmpCode { get; init; }

    /// <summary>Length from the network header (IPv4 total length, IPv6 payload + 40), else skb length.</summary>
    public uint Length { get; init; }

    public uint SkbLength { get; init; }
    public uint Ifindex { get; init; }

    /// <summary>Interface name as the kernel reported it (may be empty).</summary>
    public string Ifname { get; init; } = "";

    /// <summary>Network namespace inode.</summary>
    public uint Netns { get; init; }

    public uint Cpu { get; init; }

    /// <summary>CPU context: the task that ran when the packet was dropped (often a softirq).</summary>
    public uint Pid { get; init; }

    public uint Tid { get; init; }
    public string Comm { get; init; } = "";
    public DropEventFlags Flags { get; init; }

    /// <summary>Captured packet bytes (from the MAC header when <see cref="DropEventFlags.HasL2"/>, else from L3).</summary>
    public ReadOnlyMemory<byte> Headers { get; init; }

    /// <summary>Offset of the network header inside <see cref="Headers"/>.</summary>
    public int L3Offset { get; init; }

    // Attribution (issue 5). Filled by the kernel program and userspace resolvers; zero/null when unknown.

    /// <summary>Cookie of the socket that owned the packet (skb->sk, or the tracepoint's rx_sk); 0 when none.</summary>
    public ulong SocketCookie { get; init; }

    /// <summary>Inode of that socket (what /proc/PID/fd/N shows as socket:[N]); 0 when none or unknown.</summary>
    public uint SocketInode { get; init; }

    /// <summary>Process that owns that socket (resolved in userspace), unlike <see cref="Pid"/> which is the CPU context.</summary>
    public uint? OwnerPid { get; init; }

    public string? OwnerComm { get; init; }

    /// <summary>cgroup v2 id of the owning socket; 0 when none.</summary>
    public ulong CgroupId { get; init; }

    /// <summary>cgroup path resolved from <see cref="CgroupId"/>, e.g. /system.slice/nginx.service.</summary>
    public string? Cgroup { get; init; }

    /// <summary>Container or unit name derived from the cgroup path (docker, containerd, cri-o, podman, systemd).</summary>
    public string? Container { get; init; }

    /// <summary>Name of the network namespace (/run/netns name, or pid:N of a process inside it).</summary>
    public string? NetnsName { get; init; }

    /// <summary>Kernel stack of the drop as symbol+0xoff strings, when stacks are on.</summary>
    public IReadOnlyList<string>? Stack { get; init; }

    /// <summary>Protocol name (TCP, UDP, ICMP, ICMPv6) or the number as text.</summary>
    public string ProtocolName => ProtocolNames.Of(IpProtocol, Flags.HasFlag(DropEventFlags.HasL3));
}
