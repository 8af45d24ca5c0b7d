using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Attribution;

namespace PacketMonitor.Kernel.Abi;

/// <summary>
/// Decodes one ring-buffer record (<c>struct drop_event</c> + captured bytes) into a <see cref="DropEvent"/>.
/// </summary>
/// <remarks>
/// The record is untrusted input: every length, offset and flag is checked and any inconsistency
/// rejects the record instead of throwing. Runs on the reader thread at up to ~700k records/s, so it
/// reads fields in place and interns the few comm/ifname strings that repeat. Not thread-safe: one
/// decoder per reader.
/// </remarks>
internal sealed class DropEventDecoder(
    IReasonNames reasons, ISymbolResolver symbols, Func<ulong, DateTimeOffset> monotonicToWallClock,
    IEventAttribution? attribution = null)
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;
    private const DropEventFlags KnownFlags = DropEventFlags.HasL2 | DropEventFlags.HasL3
        | DropEventFlags.HasL4 | DropEventFlags.HasDevice | DropEventFlags.Truncated;

    private readonly NameCache _comms = new();
    private readonly NameCache _ifnames = new();

    // The same few drop sites repeat at high rates: remember their symbol text (bounded).
    private readonly Dictionary<ulong, string> _locations = [];
    private const int LocationCacheCapacity = 4096;

    public bool TryDecode(ReadOnlySpan<byte> record, [NotNullWhen(true)] out DropEvent? dropEvent)
    {
        dropEvent = null;
        if (record.Length < DropEventLayout.Size)
            return false;

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.Version..]);
        int headerSize = BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.HeaderSize..]);
        int capLen = BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.CapLen..]);
        int l3Offset = BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.L3Offset..]);
        // header_size may grow within a version (fields appended); it may never shrink below ours.
        if (version != DropEventLayout.SupportedVersion
            || headerSize < DropEventLayout.Size || headerSize > record.Length
            || capLen > record.Length - headerSize || capLen > DropEventLayout.MaxSnapLength)
            return false;
        // With nothing captured the kernel's l3_offset points at nothing (snap_len 0, failed copy):
        // keep the event, drop the offset.
        if (capLen == 0)
            l3Offset = 0;
        else if (l3Offset > capLen)
            return false;

        var flags = (DropEventFlags)record[DropEventLayout.Flags];
        ushort etherType = BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.L3Proto..]);
        bool hasL3 = (flags & DropEventFlags.HasL3) != 0;
        bool hasL4 = (flags & DropEventFlags.HasL4) != 0;
        // The kernel sets HAS_L3 only after parsing IPv4/IPv6, and L4/TRUNCATED only below an L3 header.
        if ((flags & ~KnownFlags) != 0
            || (hasL3 && etherType != EtherTypeIpv4 && etherType != EtherTypeIpv6)
            || (!hasL3 && (flags & (DropEventFlags.HasL4 | DropEventFlags.Truncated)) != 0))
            return false;

        var family = !hasL3 ? PacketFamily.Other
            : etherType == EtherTypeIpv4 ? PacketFamily.Ipv4 : PacketFamily.Ipv6;
        byte ipProto = hasL3 ? record[DropEventLayout.IpProto] : (byte)0;
        bool hasPorts = hasL4 && ipProto is 6 or 17 or 132 or 136; // TCP, UDP, SCTP, UDPLITE
        bool hasIcmp = hasL4 && ipProto is 1 or 58;               // ICMP, ICMPv6
        int addrLength = family == PacketFamily.Ipv4 ? 4 : 16;

        uint skbLen = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.SkbLen..]);
        uint pktLen = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.PktLen..]);
        ulong timestampNs = BinaryPrimitives.ReadUInt64LittleEndian(record[DropEventLayout.TimestampNs..]);
        ulong location = BinaryPrimitives.ReadUInt64LittleEndian(record[DropEventLayout.Location..]);
        uint reason = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Reason..]);
        uint netns = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Netns..]);
        uint socketIno = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.SocketIno..]);
        ulong cgroupId = BinaryPrimitives.ReadUInt64LittleEndian(record[DropEventLayout.CgroupId..]);
        int stackId = BinaryPrimitives.ReadInt32LittleEndian(record[DropEventLayout.StackId..]);
        // Names only for ids the kernel set: most drops have no socket, and stacks are off by default.
        var owner = socketIno != 0 ? attribution?.Owner(socketIno) : null;
        var cgroup = cgroupId != 0 ? attribution?.Cgroup(cgroupId) : null;

        dropEvent = new DropEvent
        {
            Timestamp = monotonicToWallClock(timestampNs),
            MonotonicNs = timestampNs,
            Reason = reasons.NameOf(reason),
            ReasonCode = reason,
            LocationAddress = location,
            Location = LocationOf(location),
            Family = family,
            EtherType = etherType,
            IpProtocol = ipProto,
            SourceAddress = hasL3 ? new IPAddress(record.Slice(DropEventLayout.SrcAddr, addrLength)) : null,
            DestinationAddress = hasL3 ? new IPAddress(record.Slice(DropEventLayout.DstAddr, addrLength)) : null,
            SourcePort = hasPorts ? BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.SrcPort..]) : null,
            DestinationPort = hasPorts ? BinaryPrimitives.ReadUInt16LittleEndian(record[DropEventLayout.DstPort..]) : null,
            IcmpType = hasIcmp ? record[DropEventLayout.IcmpType] : null,
            IcmpCode = hasIcmp ? record[DropEventLayout.IcmpCode] : null,
            Length = hasL3 && pktLen > 0 ? pktLen : skbLen,
            SkbLength = skbLen,
            Ifindex = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Ifindex..]),
            Ifname = _ifnames.Get(record.Slice(DropEventLayout.Ifname, DropEventLayout.IfnameLength)),
            Netns = netns,
            Cpu = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Cpu..]),
            Pid = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Pid..]),
            Tid = BinaryPrimitives.ReadUInt32LittleEndian(record[DropEventLayout.Tid..]),
            Comm = _comms.Get(record.Slice(DropEventLayout.Comm, DropEventLayout.TaskCommLength)),
            Flags = flags,
            Headers = record.Slice(headerSize, capLen).ToArray(), // the one copy out of the ring
            L3Offset = l3Offset,
            SocketCookie = BinaryPrimitives.ReadUInt64LittleEndian(record[DropEventLayout.SocketCookie..]),
            SocketInode = socketIno,
            OwnerPid = owner?.Pid,
            OwnerComm = owner?.Comm,
            CgroupId = cgroupId,
            Cgroup = cgroup?.Path,
            Container = cgroup?.Container,
            NetnsName = netns != 0 ? attribution?.NetnsName(netns) : null,
            Stack = stackId >= 0 ? attribution?.Stack(stackId) : null,
        };
        return true;
    }

    /// <summary>
    /// Interns the 16-byte kernel names (comm, ifname): a handful of values (swapper/N, ksoftirqd/N,
    /// eth0...) cover almost every event, so decoding and allocating each time would be waste.
    /// </summary>
    private string LocationOf(ulong address)
    {
        if (_locations.TryGetValue(address, out var text))
            return text;
        if (_locations.Count >= LocationCacheCapacity)
            _locations.Clear();
        text = symbols.Resolve(address);
        _locations.Add(address, text);
        return text;
    }

    private sealed class NameCache
    {
        // Bounded so a stream of distinct names (e.g. a fork bomb of random comms) cannot grow it;
        // clearing when full keeps the hot set re-learnable.
        private const int Capacity = 1024;
        private readonly Dictionary<UInt128, string> _names = [];

        public string Get(ReadOnlySpan<byte> field16)
        {
            int length = field16.IndexOf((byte)0);
            if (length < 0)
                length = field16.Length; // a full field has no terminator
            if (length == 0)
                return "";

            // Key: the bytes before the NUL, the rest zeroed (stale bytes after it must not split keys).
            UInt128 key = BinaryPrimitives.ReadUInt128LittleEndian(field16) & (UInt128.MaxValue >> (128 - 8 * length));
            if (_names.TryGetValue(key, out string? name))
                return name;
            if (_names.Count >= Capacity)
                _names.Clear();
            name = DisplayText.Sanitize(field16[..length]);
            _names.Add(key, name);
            return name;
        }
    }
}
