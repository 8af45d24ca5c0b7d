using System.Buffers.Binary;
using CsCheck;
using PacketMonitor.Core.BlindSpots;
using Xunit;

namespace PacketMonitor.Core.Tests.BlindSpots;

public sealed class LinkDumpTests
{
    private const uint Sequence = 77;

    // A real reply of Linux 6.18 to LinkDump.Request(77), read in a fresh namespace that has only `lo` (down):
    // one RTM_NEWLINK message of 1468 bytes, then NLMSG_DONE in a second datagram.
    private const string LoopbackReply =
        "bc050000100002004d0000005f1a000000000403010000000800000000000000070003006c6f000008000d00e803000005001000020000000500110000000000050043000100000008000400000001000800320000000000080033000000000008001b000000000008001e000000000008003d000000000008001f000100000008002800ffff0000080029000000010008003a000000010008003f0000000100080040000000010008003b00f8ff070008003c00ffff0000080042000000000008002000010000000500210001000000080023000000000008002f000000000008003000000000000600440000000000060045000000000005002700000000000a00010000000000000000000a0002000000000000000000cc0017000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000640007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000c002b000500020000000000090006006e6f6f700000000030031a008c00020088000100000000000000000000000000010000000100000001000000010000000000000001000000000000000000000000000000000000000000000001000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000010270000e80300000000000000000000000000000000000001000000a0020a00080001000000000014000500ffff0000d8e40e001c590000e8030000f400020000000000400000000000010001000000010000000100000001000000ffffffffa00f0000e8030000ffffffff803a0900805101000300000058020000100000000000000001000000010000000100000060ea0000000000000000000000000000000000000000000000000000ffffffff000000000000000010270000e8030000010000000000000000000000010000000000000000000000010000000000000000000000000000000000000080ee360000000000000000000100000000000000000000000000000000000000000000000004000000000000ffff0000ffffffff0100000000000000000000000000000034010300260000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003c00060007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001400070000000000000000000000000000000000050008000000000024000e00000000000000000000000000000000000000000000000000000000000000000004003e8004004180";

    private const string DoneReply = "14000000030002004d0000006515000000000000";

    // struct rtnl_link_stats64 field indexes.
    private const int RxErrors = 4, TxErrors = 5, RxDropped = 6, TxDropped = 7, RxFifo = 14, RxMissed = 15, TxFifo = 18;

    [Fact]
    public void Request_IsAnRtmGetlinkDump()
    {
        byte[] request = LinkDump.Request(Sequence);

        Assert.Equal(32, request.Length);
        Assert.Equal(32u, BinaryPrimitives.ReadUInt32LittleEndian(request));
        Assert.Equal(18, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(4)));     // RTM_GETLINK
        Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(6)));  // NLM_F_REQUEST | NLM_F_DUMP
        Assert.Equal(Sequence, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(8)));
        Assert.All(request[16..], b => Assert.Equal(0, b));                               // ifinfomsg: AF_UNSPEC, any link
    }

    [Fact]
    public void Parse_RealLoopbackReply_ReadsNameIndexAndCounters()
    {
        var links = new List<LinkStats>();

        Assert.Equal(LinkDumpStatus.More, LinkDump.Parse(Convert.FromHexString(LoopbackReply), Sequence, links));
        Assert.Equal(LinkDumpStatus.Done, LinkDump.Parse(Convert.FromHexString(DoneReply), Sequence, links));

        var lo = Assert.Single(links);
        Assert.Equal(new LinkStats(1, "lo", new DeviceCounters(0, 0, 0, 0, 0, 0, 0)), lo);
    }

    [Fact]
    public void Parse_Stats64_MapsEveryField()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        var stats = Stats64(reply);
        WriteField(stats, RxDropped, 11);
        WriteField(stats, TxDropped, 22);
        WriteField(stats, RxMissed, 33);
        WriteField(stats, RxFifo, 44);
        WriteField(stats, TxFifo, 55);
        WriteField(stats, RxErrors, 66);
        WriteField(stats, TxErrors, ulong.MaxValue);
        var links = new List<LinkStats>();

        LinkDump.Parse(reply, Sequence, links);

        Assert.Equal(new DeviceCounters(11, 22, 33, 44, 55, 66, ulong.MaxValue), links[0].Counters);
    }

    [Fact]
    public void Parse_NoStats64_FallsBackTo32BitStats()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        int at = AttributeAt(reply, 23);
        BinaryPrimitives.WriteUInt16LittleEndian(reply.AsSpan(at + 2), 0x7ff); // an attribute type nobody knows
        int stats32 = AttributeAt(reply, 7) + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(stats32 + RxDropped * 4), 5);
        BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(stats32 + RxMissed * 4), 6);
        var links = new List<LinkStats>();

        LinkDump.Parse(reply, Sequence, links);

        Assert.Equal(new DeviceCounters(5, 0, 6, 0, 0, 0, 0), links[0].Counters);
    }

    [Fact]
    public void Parse_NoStatsAtAll_GivesLinkWithoutCounters()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        BinaryPrimitives.WriteUInt16LittleEndian(reply.AsSpan(AttributeAt(reply, 23) + 2), 0x7ff);
        BinaryPrimitives.WriteUInt16LittleEndian(reply.AsSpan(AttributeAt(reply, 7) + 2), 0x7fe);
        var links = new List<LinkStats>();

        LinkDump.Parse(reply, Sequence, links);

        Assert.Null(Assert.Single(links).Counters);
    }

    [Fact]
    public void Parse_OtherSequence_IsIgnored()
    {
        var links = new List<LinkStats>();

        Assert.Equal(LinkDumpStatus.More, LinkDump.Parse(Convert.FromHexString(LoopbackReply), Sequence + 1, links));
        Assert.Equal(LinkDumpStatus.More, LinkDump.Parse(Convert.FromHexString(DoneReply), Sequence + 1, links));
        Assert.Empty(links);
    }

    [Fact]
    public void Parse_ControlCharactersInName_AreReplaced()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        int name = AttributeAt(reply, 3) + 4;
        reply[name] = 0x1b; // ESC instead of 'l'

        var links = new List<LinkStats>();
        LinkDump.Parse(reply, Sequence, links);

        Assert.Equal("?o", links[0].Name);
    }

    [Theory]
    [InlineData("ffffffff")]   // errno -1 (EPERM) after NLMSG_DONE
    public void Parse_DoneWithError_Throws(string errorHex)
    {
        byte[] done = Convert.FromHexString(DoneReply[..32] + errorHex);

        var e = Assert.Throws<FormatException>(() => LinkDump.Parse(done, Sequence, []));
        Assert.Contains("errno 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ErrorMessage_ThrowsWithErrno()
    {
        // NLMSG_ERROR with error -95 (EOPNOTSUPP) and the start of the request it answers.
        byte[] error = new byte[36];
        BinaryPrimitives.WriteUInt32LittleEndian(error, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(error.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(error.AsSpan(8), Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(error.AsSpan(16), -95);

        var e = Assert.Throws<FormatException>(() => LinkDump.Parse(error, Sequence, []));
        Assert.Contains("errno 95", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 8u)]       // message length shorter than its header
    [InlineData(0, 5000u)]    // message length beyond the datagram
    public void Parse_BadMessageLength_Throws(int offset, uint length)
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(offset), length);

        Assert.Throws<FormatException>(() => LinkDump.Parse(reply, Sequence, []));
    }

    [Fact]
    public void Parse_BadAttributeLength_Throws()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        BinaryPrimitives.WriteUInt16LittleEndian(reply.AsSpan(AttributeAt(reply, 3)), 2000);

        Assert.Throws<FormatException>(() => LinkDump.Parse(reply, Sequence, []));
    }

    [Fact]
    public void Parse_Truncated_ThrowsAndNeverReadsPastTheEnd()
    {
        byte[] reply = Convert.FromHexString(LoopbackReply);
        for (int length = 1; length < reply.Length; length += 7)
            Assert.Throws<FormatException>(() => LinkDump.Parse(reply.AsSpan(0, length), Sequence, []));
    }

    [Fact]
    public void Parse_RandomBytes_OnlyEverThrowsFormatException()
    {
        byte[] real = Convert.FromHexString(LoopbackReply);
        Gen.Int[0, real.Length - 1].Array[1, 8].Select(Gen.Byte.Array[8]).Sample((positions, values) =>
        {
            byte[] mutated = (byte[])real.Clone();
            for (int i = 0; i < positions.Length; i++)
                mutated[positions[i]] = values[i];
            try
            {
                LinkDump.Parse(mutated, Sequence, []);
            }
            catch (FormatException)
            {
                // The only allowed failure.
            }
        }, iter: 20_000);
    }

    /// <summary>Offset of the first top-level link attribute of this type in the fixture (after nlmsghdr and ifinfomsg).</summary>
    private static int AttributeAt(byte[] reply, ushort type)
    {
        for (int at = 32; at + 4 <= reply.Length;)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at));
            if ((BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at + 2)) & 0x3fff) == type)
                return at;
            at += (length + 3) & ~3;
        }
        throw new InvalidOperationException($"no attribute {type} in the fixture");
    }

    private static Span<byte> Stats64(byte[] reply)
    {
        int at = AttributeAt(reply, 23);
        return reply.AsSpan(at + 4, BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at)) - 4);
    }

    private static void WriteField(Span<byte> stats, int index, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(stats[(index * 8)..], value);
}
