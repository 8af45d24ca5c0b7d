using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Abi;
using PacketMonitor.Kernel.Attribution;
using Xunit;
using L = PacketMonitor.Kernel.Abi.DropEventLayout;

namespace PacketMonitor.Kernel.Tests.Abi;

public sealed class DropEventDecoderTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 11, 27, 17, 40, 0, TimeSpan.Zero);

    private static DropEventDecoder NewDecoder() => new(
        new FakeReasons(code => code == 3 ? "NO_SOCKET" : $"reason_{code}"),
        new FakeSymbols(address => $"fn_{address:x}"),
        ns => Epoch.AddTicks((long)(ns / 100)));

    private static DropEvent Decode(byte[] record)
    {
        Assert.True(NewDecoder().TryDecode(record, out var e));
        return e;
    }

    private static bool Rejects(byte[] record) => !NewDecoder().TryDecode(record, out _);

    [Fact]
    public void TryDecode_Ipv4Udp_DecodesEveryField()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().Build());

        Assert.Equal(Epoch.AddTicks(12_345_678), e.Timestamp);
        Assert.Equal(1_234_567_800UL, e.MonotonicNs);
        Assert.Equal("NO_SOCKET", e.Reason);
        Assert.Equal(3u, e.ReasonCode);
        Assert.Equal(0xffffffff81234567UL, e.LocationAddress);
        Assert.Equal("fn_ffffffff81234567", e.Location);
        Assert.Equal(PacketFamily.Ipv4, e.Family);
        Assert.Equal(0x0800, e.EtherType);
        Assert.Equal(17, e.IpProtocol);
        Assert.Equal(IPAddress.Parse("192.168.1.10"), e.SourceAddress);
        Assert.Equal(IPAddress.Parse("8.8.8.8"), e.DestinationAddress);
        Assert.Equal((ushort)54321, e.SourcePort);
        Assert.Equal((ushort)53, e.DestinationPort);
        Assert.Null(e.IcmpType);
        Assert.Null(e.IcmpCode);
        Assert.Equal(1500u, e.Length);
        Assert.Equal(1514u, e.SkbLength);
        Assert.Equal(1u, e.Ifindex);
        Assert.Equal("lo", e.Ifname);
        Assert.Equal(4026531840u, e.Netns);
        Assert.Equal(2u, e.Cpu);
        Assert.Equal(1234u, e.Pid);
        Assert.Equal(1235u, e.Tid);
        Assert.Equal("curl", e.Comm);
        Assert.Equal(DropEventFlags.HasL2 | DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice, e.Flags);
        Assert.Equal(RecordBuilder.Ipv4Udp().Data, e.Headers.ToArray());
        Assert.Equal(14, e.L3Offset);
    }

    [Fact]
    public void TryDecode_SocketFields_AreResolvedToOwnerCgroupNamespaceAndStack()
    {
        var attribution = new FakeAttribution();
        var decoder = new DropEventDecoder(new FakeReasons(_ => "SOCKET_RCVBUFF"), new FakeSymbols(a => $"fn_{a:x}"), _ => Epoch, attribution);
        var record = RecordBuilder.Ipv4Udp().With(b =>
        {
            b.SocketCookie = 0x1122334455667788;
            b.CgroupId = 0x0000000100000abc;
            b.SocketIno = 424242;
            b.StackId = 7;
        }).Build();

        Assert.True(decoder.TryDecode(record, out var e));

        Assert.Equal(0x1122334455667788UL, e.SocketCookie);
        Assert.Equal(0x0000000100000abcUL, e.CgroupId);
        Assert.Equal(424242u, e.SocketInode);
        Assert.Equal(4242u, e.OwnerPid);
        Assert.Equal("nginx", e.OwnerComm);
        Assert.Equal("/system.slice/docker-abc.scope", e.Cgroup);
        Assert.Equal("docker:abc", e.Container);
        Assert.Equal("blue", e.NetnsName);
        Assert.Equal(["fn_7", "caller"], e.Stack);
        Assert.Equal([424242u], attribution.Inodes);
        Assert.Equal([0x0000000100000abcUL], attribution.Cgroups);
        Assert.Equal([4026531840u], attribution.Namespaces);
        Assert.Equal([7], attribution.Stacks);
        // The CPU context stays what the kernel said.
        Assert.Equal(1234u, e.Pid);
        Assert.Equal("curl", e.Comm);
    }

    [Fact]
    public void TryDecode_NoSocketAndNoStack_AsksNothingAndLeavesAttributionEmpty()
    {
        var attribution = new FakeAttribution();
        var decoder = new DropEventDecoder(new FakeReasons(_ => "NO_SOCKET"), new FakeSymbols(a => $"fn_{a:x}"), _ => Epoch, attribution);

        Assert.True(decoder.TryDecode(RecordBuilder.Ipv4Udp().With(b => b.Netns = 0).Build(), out var e));

        Assert.Equal(0UL, e.SocketCookie);
        Assert.Null(e.OwnerPid);
        Assert.Null(e.OwnerComm);
        Assert.Null(e.Cgroup);
        Assert.Null(e.Container);
        Assert.Null(e.NetnsName);
        Assert.Null(e.Stack);
        Assert.Empty(attribution.Inodes);
        Assert.Empty(attribution.Cgroups);
        Assert.Empty(attribution.Namespaces);
        Assert.Empty(attribution.Stacks);
    }

    [Theory]
    [InlineData(-17)] // EEXIST: another stack holds the bucket
    [InlineData(-14)] // EFAULT
    public void TryDecode_FailedStackId_HasNoStack(int stackId)
    {
        var attribution = new FakeAttribution();
        var decoder = new DropEventDecoder(new FakeReasons(_ => "NO_SOCKET"), new FakeSymbols(a => $"fn_{a:x}"), _ => Epoch, attribution);

        Assert.True(decoder.TryDecode(RecordBuilder.Ipv4Udp().With(b => b.StackId = stackId).Build(), out var e));

        Assert.Null(e.Stack);
        Assert.Empty(attribution.Stacks);
    }

    [Fact]
    public void TryDecode_Ipv4Tcp_DecodesPorts()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => { b.IpProto = 6; b.SrcPort = 443; b.DstPort = 50000; }).Build());

        Assert.Equal("TCP", e.ProtocolName);
        Assert.Equal((ushort)443, e.SourcePort);
        Assert.Equal((ushort)50000, e.DestinationPort);
        Assert.Null(e.IcmpType);
    }

    [Fact]
    public void TryDecode_Ipv6Udp_DecodesSixteenByteAddresses()
    {
        var e = Decode(RecordBuilder.Ipv6Udp().Build());

        Assert.Equal(PacketFamily.Ipv6, e.Family);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), e.SourceAddress);
        Assert.Equal(IPAddress.Parse("2001:db8::2"), e.DestinationAddress);
        Assert.Equal(AddressFamily.InterNetworkV6, e.SourceAddress!.AddressFamily);
        Assert.Equal((ushort)5353, e.SourcePort);
        Assert.Equal((ushort)443, e.DestinationPort);
        Assert.Equal(88u, e.Length);
    }

    [Fact]
    public void TryDecode_Icmp_DecodesTypeAndCodeWithoutPorts()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b =>
        {
            b.IpProto = 1;
            b.SrcPort = 0x0303; // what a buggy kernel might leave; must not surface as ports
            b.IcmpType = 3;
            b.IcmpCode = 3;
        }).Build());

        Assert.Equal((byte)3, e.IcmpType);
        Assert.Equal((byte)3, e.IcmpCode);
        Assert.Null(e.SourcePort);
        Assert.Null(e.DestinationPort);
    }

    [Fact]
    public void TryDecode_Icmpv6_DecodesTypeAndCode()
    {
        var e = Decode(RecordBuilder.Ipv6Udp().With(b => { b.IpProto = 58; b.IcmpType = 1; b.IcmpCode = 4; }).Build());

        Assert.Equal("ICMPv6", e.ProtocolName);
        Assert.Equal((byte)1, e.IcmpType);
        Assert.Equal((byte)4, e.IcmpCode);
        Assert.Null(e.SourcePort);
    }

    [Fact]
    public void TryDecode_L3WithoutL4_HasAddressesButNoPorts()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => { b.IpProto = 47; b.Flags &= unchecked((byte)~0x04); }).Build());

        Assert.Equal(IPAddress.Parse("192.168.1.10"), e.SourceAddress);
        Assert.Equal(47, e.IpProtocol);
        Assert.Null(e.SourcePort);
        Assert.Null(e.IcmpType);
    }

    [Fact]
    public void TryDecode_L4FlagOnOtherProtocol_HasNoPorts()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.IpProto = 47).Build());

        Assert.Null(e.SourcePort);
        Assert.Null(e.IcmpType);
    }

    [Fact]
    public void TryDecode_ArpWithoutL3_HasNoAddressesAndUsesSkbLength()
    {
        var e = Decode(RecordBuilder.Arp().Build());

        Assert.Equal(PacketFamily.Other, e.Family);
        Assert.Equal(0x0806, e.EtherType);
        Assert.Equal(0, e.IpProtocol);
        Assert.Equal("other", e.ProtocolName);
        Assert.Null(e.SourceAddress);
        Assert.Null(e.DestinationAddress);
        Assert.Null(e.SourcePort);
        Assert.Null(e.IcmpType);
        Assert.Equal(42u, e.Length);
        Assert.Equal(42, e.Headers.Length);
    }

    [Fact]
    public void TryDecode_L3WithZeroPacketLength_UsesSkbLength()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.PktLen = 0).Build());

        Assert.Equal(1514u, e.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(L.Size - 1)]
    [InlineData(L.Size + 41)] // header complete, captured bytes cut short
    public void TryDecode_TruncatedRecord_ReturnsFalse(int length)
    {
        var record = RecordBuilder.Ipv4Udp().Build();

        Assert.True(Rejects(record[..length]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)] // before attribution: 24 bytes shorter
    [InlineData(3)]
    [InlineData(0xffff)]
    public void TryDecode_WrongVersion_ReturnsFalse(int version)
    {
        Assert.True(Rejects(RecordBuilder.Ipv4Udp().With(b => b.Version = (ushort)version).Build()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(L.Size - 8)]
    [InlineData(0xffff)]
    public void TryDecode_BadHeaderSize_ReturnsFalse(int headerSize)
    {
        Assert.True(Rejects(RecordBuilder.Ipv4Udp().With(b => b.HeaderSize = (ushort)headerSize).Build()));
    }

    [Fact]
    public void TryDecode_LargerHeaderSize_ReadsDataAfterIt()
    {
        // A future kernel may append fields within the same version: data[] moves, we follow header_size.
        var builder = RecordBuilder.Ipv4Udp().With(b => b.HeaderSize = L.Size + 8);

        var e = Decode(builder.Build());

        Assert.Equal(builder.Data, e.Headers.ToArray());
    }

    [Fact]
    public void TryDecode_TrailingPaddingAfterData_IsIgnored()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.TrailingBytes = 6).Build());

        Assert.Equal(42, e.Headers.Length);
    }

    [Fact]
    public void TryDecode_CapLenPastTheEnd_ReturnsFalse()
    {
        Assert.True(Rejects(RecordBuilder.Ipv4Udp().With(b => b.CapLenOverride = 43).Build()));
    }

    [Fact]
    public void TryDecode_CapLenAboveMaxSnapLength_ReturnsFalse()
    {
        var builder = RecordBuilder.Ipv4Udp().With(b => b.Data = new byte[L.MaxSnapLength + 1]);

        Assert.True(Rejects(builder.Build()));
        Assert.False(Rejects(builder.With(b => b.Data = new byte[L.MaxSnapLength]).Build()));
    }

    [Fact]
    public void TryDecode_L3OffsetPastCapLen_ReturnsFalse()
    {
        Assert.True(Rejects(RecordBuilder.Ipv4Udp().With(b => b.L3Offset = 43).Build()));
        Assert.False(Rejects(RecordBuilder.Ipv4Udp().With(b => b.L3Offset = 42).Build()));
    }

    [Fact]
    public void TryDecode_NothingCaptured_KeepsEventAndZeroesL3Offset()
    {
        // snap_len 0 or a failed copy in the kernel: cap_len 0 while l3_offset still says 14.
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.Data = []).Build());

        Assert.True(e.Headers.IsEmpty);
        Assert.Equal(0, e.L3Offset);
        Assert.Equal(IPAddress.Parse("8.8.8.8"), e.DestinationAddress);
    }

    [Theory]
    [InlineData(0x20, 0x0800)] // unknown flag bit
    [InlineData(0x80, 0x0800)]
    [InlineData(0x04, 0x0800)] // HAS_L4 without HAS_L3
    [InlineData(0x10, 0x0800)] // TRUNCATED without HAS_L3
    [InlineData(0x02, 0x0806)] // HAS_L3 on a non-IP ethertype
    [InlineData(0x02, 0x0000)]
    public void TryDecode_InconsistentFlags_ReturnsFalse(int flags, int etherType)
    {
        Assert.True(Rejects(RecordBuilder.Ipv4Udp().With(b => { b.Flags = (byte)flags; b.L3Proto = (ushort)etherType; }).Build()));
    }

    [Fact]
    public void TryDecode_CommWithInvalidUtf8AndControlCharacters_ReplacesThem()
    {
        // 0xff: invalid UTF-8; ESC[31m: an ANSI colour sequence; 0x7f: DEL; C2 9B: U+009B, the 8-bit CSI.
        byte[] comm = [(byte)'a', 0xff, 0x1b, (byte)'[', (byte)'3', (byte)'1', (byte)'m', 0x7f, 0xc2, 0x9b, (byte)'z', 0];

        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.Comm = comm).Build());

        Assert.Equal("a\uFFFD?[31m??z", e.Comm);
    }

    [Fact]
    public void TryDecode_CommWithBidiOverrideAndZeroWidthSpace_ReplacesThem()
    {
        // U+202E (right-to-left override) would reverse the rest of the line; U+200B hides in plain sight.
        byte[] comm = [.. "ab"u8, 0xe2, 0x80, 0xae, .. "cd"u8, 0xe2, 0x80, 0x8b, (byte)'e', 0];

        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.Comm = comm).Build());

        Assert.Equal("ab?cd?e", e.Comm);
    }

    [Fact]
    public void TryDecode_CommWithoutNulTerminator_UsesAllSixteenBytes()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => b.Comm = "abcdefghijklmnop"u8.ToArray()).Build());

        Assert.Equal("abcdefghijklmnop", e.Comm);
    }

    [Fact]
    public void TryDecode_EmptyNames_AreEmptyStrings()
    {
        var e = Decode(RecordBuilder.Ipv4Udp().With(b => { b.Comm = []; b.Ifname = []; }).Build());

        Assert.Equal("", e.Comm);
        Assert.Equal("", e.Ifname);
    }

    [Fact]
    public void TryDecode_RepeatedNames_AreInternedAndIgnoreBytesAfterNul()
    {
        var decoder = NewDecoder();
        Assert.True(decoder.TryDecode(RecordBuilder.Ipv4Udp().With(b => b.Ifname = "eth0\0"u8.ToArray()).Build(), out var first));
        // A renamed device can leave stale bytes after the terminator.
        Assert.True(decoder.TryDecode(RecordBuilder.Ipv4Udp().With(b => b.Ifname = "eth0\0s31f6"u8.ToArray()).Build(), out var second));

        Assert.Equal("eth0", second.Ifname);
        Assert.Same(first.Ifname, second.Ifname);
        Assert.Same(first.Comm, second.Comm);
    }

    [Fact]
    public void TryDecode_ManyDistinctNames_StaysCorrectPastTheCacheBound()
    {
        var decoder = NewDecoder();
        for (int i = 0; i < 3000; i++)
        {
            byte[] comm = Encoding.ASCII.GetBytes($"worker/{i}");
            Assert.True(decoder.TryDecode(RecordBuilder.Ipv4Udp().With(b => b.Comm = comm).Build(), out var e));
            Assert.Equal($"worker/{i}", e.Comm);
        }
    }

    [Fact]
    public void TryDecode_RandomBytes_NeverThrows()
    {
        // Half the samples get a valid version, sizes and known flag bits so they reach the deeper checks.
        int decoded = 0;
        Gen.Select(Gen.Byte.Array[0, 2048], Gen.Bool, Gen.UShort).Sample((bytes, patch, capLen) =>
        {
            if (patch && bytes.Length >= L.Size)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(L.Version), L.SupportedVersion);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(L.HeaderSize), L.Size);
                ushort cap = (ushort)(capLen % (bytes.Length - L.Size + 1));
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(L.CapLen), cap);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(L.L3Offset), (ushort)(cap / 2));
                bytes[L.Flags] &= 0x1f;
            }
            if (NewDecoder().TryDecode(bytes, out var e))
            {
                AssertInvariants(bytes, e);
                Interlocked.Increment(ref decoded);
            }
        }, iter: 20_000);

        Assert.True(decoded > 100, $"only {decoded} random records got past validation");
    }

    [Fact]
    public void TryDecode_MutatedValidRecords_NeverThrowAndKeepInvariants()
    {
        byte[][] valid =
        [
            RecordBuilder.Ipv4Udp().Build(),
            RecordBuilder.Ipv4Udp().With(b => { b.IpProto = 1; b.IcmpType = 8; }).Build(),
            RecordBuilder.Ipv6Udp().Build(),
            RecordBuilder.Ipv6Udp().With(b => b.IpProto = 58).Build(),
            RecordBuilder.Arp().Build(),
        ];
        var mutation = Gen.Select(Gen.Int[0, 4096], Gen.Byte);
        int decoded = 0;
        // Half the samples keep their full length; the rest lose up to 64 bytes at the end.
        Gen.Select(Gen.Int[0, valid.Length - 1], mutation.Array[1, 8], Gen.Int[-64, 64]).Sample((which, changes, cut) =>
        {
            byte[] record = (byte[])valid[which].Clone();
            foreach (var (offset, value) in changes)
                record[offset % record.Length] = value;
            record = record[..Math.Min(record.Length, record.Length - cut)];

            if (NewDecoder().TryDecode(record, out var e))
            {
                AssertInvariants(record, e);
                Interlocked.Increment(ref decoded);
            }
        }, iter: 20_000);

        Assert.True(decoded > 1000, $"only {decoded} mutated records decoded");
    }

    private static void AssertInvariants(byte[] record, DropEvent e)
    {
        int headerSize = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(L.HeaderSize));
        int capLen = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(L.CapLen));
        var flags = (DropEventFlags)record[L.Flags];
        bool hasL3 = flags.HasFlag(DropEventFlags.HasL3);

        Assert.Equal(L.SupportedVersion, BinaryPrimitives.ReadUInt16LittleEndian(record));
        Assert.InRange(headerSize, L.Size, record.Length);
        Assert.InRange(capLen, 0, Math.Min(L.MaxSnapLength, record.Length - headerSize));
        Assert.Equal(capLen, e.Headers.Length);
        Assert.Equal(record.AsSpan(headerSize, capLen).ToArray(), e.Headers.ToArray());
        Assert.InRange(e.L3Offset, 0, capLen);
        Assert.Equal(flags, e.Flags);
        Assert.Equal(hasL3, e.SourceAddress is not null);
        Assert.Equal(hasL3, e.DestinationAddress is not null);
        Assert.Equal(hasL3, e.Family != PacketFamily.Other);
        if (e.Family == PacketFamily.Ipv4)
            Assert.Equal(AddressFamily.InterNetwork, e.SourceAddress!.AddressFamily);
        if (e.Family == PacketFamily.Ipv6)
            Assert.Equal(AddressFamily.InterNetworkV6, e.SourceAddress!.AddressFamily);
        if (!hasL3)
            Assert.Equal(0, e.IpProtocol);
        if (e.SourcePort is not null || e.DestinationPort is not null)
            Assert.True(flags.HasFlag(DropEventFlags.HasL4) && e.IpProtocol is 6 or 17 or 132 or 136);
        if (e.IcmpType is not null || e.IcmpCode is not null)
            Assert.True(flags.HasFlag(DropEventFlags.HasL4) && e.IpProtocol is 1 or 58);
        uint pktLen = BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(L.PktLen));
        Assert.Equal(hasL3 && pktLen > 0 ? pktLen : e.SkbLength, e.Length);
        foreach (string name in (string[])[e.Comm, e.Ifname])
        {
            Assert.InRange(name.Length, 0, 16);
            Assert.DoesNotContain(name, char.IsControl);
        }
    }

    private sealed class FakeReasons(Func<uint, string> nameOf) : IReasonNames
    {
        public string NameOf(uint code) => nameOf(code);
    }

    private sealed class FakeSymbols(Func<ulong, string> resolve) : ISymbolResolver
    {
        public string Resolve(ulong address) => resolve(address);
    }

    /// <summary>Answers like a system with one nginx container; records what it was asked.</summary>
    private sealed class FakeAttribution : IEventAttribution
    {
        public List<uint> Inodes { get; } = [];
        public List<ulong> Cgroups { get; } = [];
        public List<uint> Namespaces { get; } = [];
        public List<int> Stacks { get; } = [];

        public SocketOwner? Owner(uint socketInode)
        {
            Inodes.Add(socketInode);
            return socketInode == 0 ? null : new SocketOwner(4242, "nginx");
        }

        public CgroupInfo? Cgroup(ulong cgroupId)
        {
            Cgroups.Add(cgroupId);
            return cgroupId == 0 ? null : new CgroupInfo("/system.slice/docker-abc.scope", "docker:abc");
        }

        public string? NetnsName(uint netns)
        {
            Namespaces.Add(netns);
            return netns == 0 ? null : "blue";
        }

        public IReadOnlyList<string>? Stack(int stackId)
        {
            Stacks.Add(stackId);
            return stackId < 0 ? null : [$"fn_{stackId:x}", "caller"];
        }
    }

    /// <summary>A drop_event record written field by field at the <see cref="L"/> offsets.</summary>
    private sealed class RecordBuilder
    {
        public ushort Version { get; set; } = L.SupportedVersion;
        public ushort HeaderSize { get; set; } = L.Size;
        public ushort? CapLenOverride { get; set; }
        public ushort L3Offset { get; set; } = 14;
        public ulong TimestampNs { get; set; } = 1_234_567_800;
        public ulong Location { get; set; } = 0xffffffff81234567;
        public uint Reason { get; set; } = 3;
        public uint SkbLen { get; set; } = 1514;
        public uint PktLen { get; set; } = 1500;
        public uint Ifindex { get; set; } = 1;
        public uint Netns { get; set; } = 4026531840;
        public uint Cpu { get; set; } = 2;
        public uint Pid { get; set; } = 1234;
        public uint Tid { get; set; } = 1235;
        public ushort L3Proto { get; set; } = 0x0800;
        public byte IpProto { get; set; } = 17;
        public byte Flags { get; set; } = 0x01 | 0x02 | 0x04 | 0x08; // L2, L3, L4, DEV
        public ushort SrcPort { get; set; } = 54321;
        public ushort DstPort { get; set; } = 53;
        public byte IcmpType { get; set; }
        public byte IcmpCode { get; set; }
        public byte[] SrcAddr { get; set; } = [192, 168, 1, 10];
        public byte[] DstAddr { get; set; } = [8, 8, 8, 8];
        public byte[] Ifname { get; set; } = "lo"u8.ToArray();
        public byte[] Comm { get; set; } = "curl"u8.ToArray();
        public ulong SocketCookie { get; set; }
        public ulong CgroupId { get; set; }
        public uint SocketIno { get; set; }
        public int StackId { get; set; } = -1;
        public byte[] Data { get; set; } = Enumerable.Range(0, 42).Select(i => (byte)i).ToArray();
        public int TrailingBytes { get; set; }

        public static RecordBuilder Ipv4Udp() => new();

        public static RecordBuilder Ipv6Udp() => new()
        {
            L3Proto = 0x86DD,
            PktLen = 88,
            SrcPort = 5353,
            DstPort = 443,
            SrcAddr = IPAddress.Parse("2001:db8::1").GetAddressBytes(),
            DstAddr = IPAddress.Parse("2001:db8::2").GetAddressBytes(),
        };

        public static RecordBuilder Arp() => new()
        {
            L3Proto = 0x0806,
            IpProto = 0,
            Flags = 0x01 | 0x08,
            PktLen = 0,
            SkbLen = 42,
            SrcPort = 0,
            DstPort = 0,
            SrcAddr = [],
            DstAddr = [],
        };

        public RecordBuilder With(Action<RecordBuilder> change)
        {
            change(this);
            return this;
        }

        public byte[] Build()
        {
            // data[] follows header_size when that is plausible; absurd values keep the record small.
            int dataStart = HeaderSize is >= L.Size and <= L.Size + 64 ? HeaderSize : L.Size;
            var r = new byte[dataStart + Data.Length + TrailingBytes];
            var s = r.AsSpan();
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.Version..], Version);
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.HeaderSize..], HeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.CapLen..], CapLenOverride ?? (ushort)Data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.L3Offset..], L3Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.TimestampNs..], TimestampNs);
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.Location..], Location);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Reason..], Reason);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.SkbLen..], SkbLen);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.PktLen..], PktLen);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Ifindex..], Ifindex);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Netns..], Netns);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Cpu..], Cpu);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Pid..], Pid);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.Tid..], Tid);
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.L3Proto..], L3Proto);
            s[L.IpProto] = IpProto;
            s[L.Flags] = Flags;
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.SrcPort..], SrcPort);
            BinaryPrimitives.WriteUInt16LittleEndian(s[L.DstPort..], DstPort);
            s[L.IcmpType] = IcmpType;
            s[L.IcmpCode] = IcmpCode;
            SrcAddr.CopyTo(s.Slice(L.SrcAddr, 16));
            DstAddr.CopyTo(s.Slice(L.DstAddr, 16));
            Ifname.CopyTo(s.Slice(L.Ifname, L.IfnameLength));
            Comm.CopyTo(s.Slice(L.Comm, L.TaskCommLength));
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.SocketCookie..], SocketCookie);
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.CgroupId..], CgroupId);
            BinaryPrimitives.WriteUInt32LittleEndian(s[L.SocketIno..], SocketIno);
            BinaryPrimitives.WriteInt32LittleEndian(s[L.StackId..], StackId);
            Data.CopyTo(s[dataStart..]);
            return r;
        }
    }
}
