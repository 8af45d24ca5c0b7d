using System.Buffers.Binary;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.BlindSpots;

/// <summary>One device from a link dump: index, name and its counters (null when the kernel sent none).</summary>
public readonly record struct LinkStats(int Ifindex, string Name, DeviceCounters? Counters);

/// <summary>What one reply datagram of a link dump said.</summary>
public enum LinkDumpStatus
{
    /// <summary>More datagrams follow.</summary>
    More,

    /// <summary>NLMSG_DONE: the dump is complete.</summary>
    Done,
}

/// <summary>
/// The rtnetlink link dump that <c>ip -s link</c> uses, as bytes: the <c>RTM_GETLINK</c> request and the
/// parser of its <c>RTM_NEWLINK</c> replies (<c>IFLA_IFNAME</c> and <c>IFLA_STATS64</c>, else <c>IFLA_STATS</c>).
/// Pure: the socket lives in PacketMonitor.Kernel. Every length is checked; the reply is untrusted.
/// </summary>
public static class LinkDump
{
    private const int HeaderLength = 16;   // struct nlmsghdr
    private const int IfInfoLength = 16;   // struct ifinfomsg
    private const int AttributeHeaderLength = 4;

    private const ushort NlmsgError = 2;
    private const ushort NlmsgDone = 3;
    private const ushort NlmsgOverrun = 4;
    private const ushort RtmNewLink = 16;
    private const ushort RtmGetLink = 18;
    private const ushort NlmFRequest = 0x1;
    private const ushort NlmFDump = 0x300;

    private const ushort IflaIfname = 3;
    private const ushort IflaStats = 7;
    private const ushort IflaStats64 = 23;
    private const ushort AttributeTypeMask = 0x3fff; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER

    // Field indexes in struct rtnl_link_stats64 (u64 each) and struct rtnl_link_stats (u32 each): same order.
    private const int RxErrors = 4, TxErrors = 5, RxDropped = 6, TxDropped = 7, RxFifo = 14, RxMissed = 15, TxFifo = 18;
    private const int FieldsNeeded = TxFifo + 1;

    /// <summary>A dump request for every link of the socket's namespace (family AF_UNSPEC).</summary>
    public static byte[] Request(uint sequence)
    {
        var request = new byte[HeaderLength + IfInfoLength];
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(4), RtmGetLink);
        BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(6), NlmFRequest | NlmFDump);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), sequence);
        return request;
    }

    /// <summary>
    /// Parses one reply datagram, adding its links to <paramref name="links"/>. Messages of another
    /// sequence number are ignored (a late reply to an earlier request).
    /// </summary>
    /// <exception cref="FormatException">A length does not fit, or the kernel answered with an error (errno in the message).</exception>
    public static LinkDumpStatus Parse(ReadOnlySpan<byte> datagram, uint sequence, List<LinkStats> links)
    {
        ArgumentNullException.ThrowIfNull(links);
        var status = LinkDumpStatus.More;
        while (datagram.Length > 0)
        {
            if (datagram.Length < HeaderLength)
                throw new FormatException($"netlink: {datagram.Length} trailing bytes are shorter than a message header");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]);
            if (length < HeaderLength || length > datagram.Length)
                throw new FormatException($"netlink: message length {length} does not fit the {datagram.Length} bytes left");
            var payload = datagram[HeaderLength..(int)length];
            datagram = datagram[Math.Min(Align(length), datagram.Length)..];
            if (seq != sequence)
                continue;
            switch (type)
            {
                case NlmsgDone:
                    // A negative number after NLMSG_DONE means the dump itself failed.
                    if (payload.Length >= 4 && BinaryPrimitives.ReadInt32LittleEndian(payload) is < 0 and var doneError)
                        throw new FormatException($"netlink: the link dump failed with errno {-doneError}");
                    status = LinkDumpStatus.Done;
                    break;
                case NlmsgError:
                    int error = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                    if (error != 0)
                        throw new FormatException($"netlink: the kernel refused the link dump with errno {-error}");
                    status = LinkDumpStatus.Done; // an acknowledgement
                    break;
                case NlmsgOverrun:
                    throw new FormatException("netlink: the reply overran the socket buffer");
                case RtmNewLink:
                    if (ParseLink(payload) is LinkStats link)
                        links.Add(link);
                    break;
            }
        }
        return status;
    }

    private static LinkStats? ParseLink(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < IfInfoLength)
            throw new FormatException($"netlink: RTM_NEWLINK payload of {payload.Length} bytes has no ifinfomsg");
        int ifindex = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        string name = "";
        DeviceCounters? stats64 = null, stats32 = null;
        var attributes = payload[IfInfoLength..];
        while (attributes.Length >= AttributeHeaderLength)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]) & AttributeTypeMask);
            if (length < AttributeHeaderLength || length > attributes.Length)
                throw new FormatException($"netlink: attribute {type} of link {ifindex} has length {length}, {attributes.Length} bytes left");
            var value = attributes[AttributeHeaderLength..length];
            attributes = attributes[Math.Min(Align(length), attributes.Length)..];
            switch (type)
            {
                case IflaIfname:
                    int end = value.IndexOf((byte)0);
                    name = DisplayText.Sanitize(end >= 0 ? value[..end] : value);
                    break;
                case IflaStats64 when value.Length >= FieldsNeeded * 8:
                    stats64 = Counters(value, 8);
                    break;
                case IflaStats when value.Length >= FieldsNeeded * 4:
                    stats32 = Counters(value, 4);
                    break;
            }
        }
        return ifindex > 0 ? new LinkStats(ifindex, name, stats64 ?? stats32) : null;
    }

    private static DeviceCounters Counters(ReadOnlySpan<byte> stats, int width) =>
        new(Field(stats, width, RxDropped), Field(stats, width, TxDropped), Field(stats, width, RxMissed),
            Field(stats, width, RxFifo), Field(stats, width, TxFifo), Field(stats, width, RxErrors), Field(stats, width, TxErrors));

    // Netlink speaks host byte order: little-endian on the x86-64 builds of this program.
    private static ulong Field(ReadOnlySpan<byte> stats, int width, int index) => width == 8
        ? BinaryPrimitives.ReadUInt64LittleEndian(stats[(index * 8)..])
        : BinaryPrimitives.ReadUInt32LittleEndian(stats[(index * 4)..]);

    private static int Align(uint length) => (int)Math.Min((length + 3) & ~3u, int.MaxValue);
}
