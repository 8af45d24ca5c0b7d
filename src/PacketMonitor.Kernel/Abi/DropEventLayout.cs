namespace PacketMonitor.Kernel.Abi;

/// <summary>
/// Byte offsets of <c>struct drop_event</c> in bpf/drop_event.h (little-endian, fixed layout).
/// A test compares every constant here with the BTF of the compiled BPF object.
/// </summary>
internal static class DropEventLayout
{
    public const ushort SupportedVersion = 2;
    public const int Size = 160;
    public const int TaskCommLength = 16;
    public const int IfnameLength = 16;
    public const int MaxSnapLength = 1024;

    public const int Version = 0;        // u16
    public const int HeaderSize = 2;     // u16
    public const int CapLen = 4;         // u16
    public const int L3Offset = 6;       // u16
    public const int TimestampNs = 8;    // u64
    public const int Location = 16;      // u64
    public const int Reason = 24;        // u32
    public const int SkbLen = 28;        // u32
    public const int PktLen = 32;        // u32
    public const int Ifindex = 36;       // u32
    public const int Netns = 40;         // u32
    public const int Cpu = 44;           // u32
    public const int Pid = 48;           // u32
    public const int Tid = 52;           // u32
    public const int L3Proto = 56;       // u16
    public const int IpProto = 58;       // u8
    public const int Flags = 59;         // u8
    public const int SrcPort = 60;       // u16
    public const int DstPort = 62;       // u16
    public const int IcmpType = 64;      // u8
    public const int IcmpCode = 65;      // u8
    public const int Pad = 66;           // u8[6]
    public const int SrcAddr = 72;       // u8[16]
    public const int DstAddr = 88;       // u8[16]
    public const int Ifname = 104;       // char[16]
    public const int Comm = 120;         // char[16]
    public const int SocketCookie = 136; // u64
    public const int CgroupId = 144;     // u64
    public const int SocketIno = 152;    // u32
    public const int StackId = 156;      // s32

    /// <summary>Every field: name as in the C header, offset, size. The ABI test walks this list.</summary>
    public static readonly (string Name, int Offset, int Size)[] Fields =
    [
        ("version", Version, 2), ("header_size", HeaderSize, 2), ("cap_len", CapLen, 2), ("l3_offset", L3Offset, 2),
        ("timestamp_ns", TimestampNs, 8), ("location", Location, 8), ("reason", Reason, 4), ("skb_len", SkbLen, 4),
        ("pkt_len", PktLen, 4), ("ifindex", Ifindex, 4), ("netns", Netns, 4), ("cpu", Cpu, 4), ("pid", Pid, 4),
        ("tid", Tid, 4), ("l3_proto", L3Proto, 2), ("ip_proto", IpProto, 1), ("flags", Flags, 1),
        ("src_port", SrcPort, 2), ("dst_port", DstPort, 2), ("icmp_type", IcmpType, 1), ("icmp_code", IcmpCode, 1),
        ("pad", Pad, 6), ("src_addr", SrcAddr, 16), ("dst_addr", DstAddr, 16), ("ifname", Ifname, 16), ("comm", Comm, 16),
        ("socket_cookie", SocketCookie, 8), ("cgroup_id", CgroupId, 8), ("socket_ino", SocketIno, 4), ("stack_id", StackId, 4),
    ];
}
