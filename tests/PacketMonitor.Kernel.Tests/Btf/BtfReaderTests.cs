using System.Buffers.Binary;
using CsCheck;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel.Tests.Btf;

public sealed class BtfReaderTests
{
    [Fact]
    public void Parse_EnumsOfEveryWidthAndSign_ReturnsNamesValuesAndSignedness()
    {
        var b = new BtfBuilder();
        b.Enum("colour", 4, signed: false, ("RED", 0), ("MASK", 0xffff0000));
        b.Enum("delta", 4, signed: true, ("MINUS_ONE", -1), ("PLUS_TWO", 2));
        b.Enum64("big", signed: false, ("HUGE", 0xffff_ffff_ffff_fffe));
        b.Enum64("wide_signed", signed: true, ("NEG", unchecked((ulong)-5L)));
        b.Enum("", 4, signed: false, ("ANON", 7));
        var btf = BtfReader.Parse(b.Build());

        var colour = Assert.IsType<BtfEnum>(btf.FindEnum("colour"));
        Assert.Equal((4, false), (colour.Size, colour.IsSigned));
        Assert.Equal([new("RED", 0), new("MASK", 0xffff0000)], colour.Values);

        var delta = btf.FindEnum("delta")!;
        Assert.True(delta.IsSigned);
        Assert.Equal([-1L, 2L], delta.Values.Select(v => v.Value));

        var big = btf.FindEnum("big")!;
        Assert.Equal((8, false), (big.Size, big.IsSigned));
        Assert.Equal(0xffff_ffff_ffff_fffeUL, big.Values.Single().UnsignedValue);
        Assert.Equal(-5L, btf.FindEnum("wide_signed")!.Values.Single().Value);

        Assert.Equal(["colour", "delta", "big", "wide_signed", ""], btf.Enums.Select(e => e.Name));
        Assert.Null(btf.FindEnum("missing"));
    }

    [Fact]
    public void Parse_EveryKind_AssignsSequentialIdsAndKinds()
    {
        var b = new BtfBuilder();
        var ids = new List<(int Id, BtfKind Kind)>();
        var u32 = b.Int("unsigned int", 4); ids.Add((u32, BtfKind.Int));
        ids.Add((b.Ptr(u32), BtfKind.Ptr));
        ids.Add((b.Array(u32, u32, 3), BtfKind.Array));
        ids.Add((b.Struct("s", 4, ("a", u32, 0)), BtfKind.Struct));
        ids.Add((b.Union("u", 4, ("a", u32, 0), ("b", u32, 0)), BtfKind.Union));
        ids.Add((b.Enum("e", 4, false, ("E0", 0)), BtfKind.Enum));
        ids.Add((b.Fwd("later"), BtfKind.Fwd));
        ids.Add((b.Typedef("u32", u32), BtfKind.Typedef));
        ids.Add((b.Volatile(u32), BtfKind.Volatile));
        ids.Add((b.Const(u32), BtfKind.Const));
        ids.Add((b.Restrict(u32), BtfKind.Restrict));
        var proto = b.FuncProto(u32, ("x", u32), ("", 0)); ids.Add((proto, BtfKind.FuncProto));
        ids.Add((b.Func("f", proto), BtfKind.Func));
        var v = b.Var("counter", u32); ids.Add((v, BtfKind.Var));
        ids.Add((b.Datasec(".data", 4, (v, 0, 4)), BtfKind.Datasec));
        ids.Add((b.Float("double", 8), BtfKind.Float));
        ids.Add((b.DeclTag("tag", v), BtfKind.DeclTag));
        ids.Add((b.TypeTag("percpu", u32), BtfKind.TypeTag));
        ids.Add((b.Enum64("e64", false, ("A", 1UL << 40), ("B", 2)), BtfKind.Enum64));
        var last = b.Struct("after_everything", 8, ("p", ids[1].Id, 0));
        var btf = BtfReader.Parse(b.Build());

        Assert.Equal(Enumerable.Range(1, ids.Count).ToArray(), ids.Select(i => i.Id).ToArray());
        foreach (var (id, kind) in ids)
            Assert.Equal(kind, btf.TypeAt(id).Kind);
        Assert.Equal((1, last), (btf.FirstTypeId, btf.LastTypeId));
        Assert.Equal(last, btf.FindStruct("after_everything")!.Id);
        Assert.Equal(1UL << 40, btf.FindEnum("e64")!.Values[0].UnsignedValue);
        Assert.Equal(BtfKind.Void, btf.TypeAt(0).Kind);
        Assert.Throws<ArgumentOutOfRangeException>(() => btf.TypeAt(last + 1));
    }

    [Fact]
    public void FindStruct_MembersThroughTypedefsArraysAndPointers_ResolvesByteSizes()
    {
        var b = new BtfBuilder();
        var u8 = b.Int("unsigned char", 1);
        var u16 = b.Int("unsigned short", 2);
        var u32 = b.Typedef("__u32", b.Int("unsigned int", 4));
        var cvU32 = b.Const(b.Volatile(b.Typedef("u32_alias", u32)));
        var name = b.Array(b.Int("char", 1, signed: true), u32, 16);
        var matrix = b.Array(b.Array(u16, u32, 4), u32, 3);
        var inner = b.Struct("inner", 12, ("x", u32, 0), ("y", u32, 32), ("z", u32, 64));
        var fwdPtr = b.Ptr(b.Fwd("opaque"));
        var fnPtr = b.Ptr(b.FuncProto(0));
        var flex = b.Array(u8, u32, 0);
        var outer = b.Struct("outer", 96,
            ("a", u32, 0), ("b", cvU32, 32), ("name", name, 64), ("matrix", matrix, 192), ("in", inner, 384),
            ("opaque", fwdPtr, 512), ("fn", fnPtr, 576), ("", b.Union("", 8, ("v", u32, 0)), 640), ("data", flex, 768));
        var btf = BtfReader.Parse(b.Build());

        var s = btf.FindStruct("outer")!;
        Assert.Equal((outer, false, 96), (s.Id, s.IsUnion, s.Size));
        Assert.Equal(
            [("a", 0, 4), ("b", 4, 4), ("name", 8, 16), ("matrix", 24, 24), ("in", 48, 12), ("opaque", 64, 8), ("fn", 72, 8), ("", 80, 8), ("data", 96, 0)],
            s.Members.Select(m => (m.Name, m.ByteOffset, m.ByteSize ?? -1)));
        Assert.Equal(name, s.Member("name")!.Value.TypeId);
        Assert.Null(s.Member("nope"));
        Assert.Equal((matrix - 1, 3u), btf.ArrayAt(matrix)); // u16[3][4]: an array of 3 arrays of 4
        Assert.Equal(8, btf.SizeOf(matrix - 1));
        Assert.Equal(12, btf.FindStruct("inner")!.Size);
    }

    [Fact]
    public void FindStruct_UnionAndBitfields_ReportsKindAndBitLayout()
    {
        var b = new BtfBuilder();
        var u32 = b.Int("unsigned int", 4);
        b.Union("either", 4, ("i", u32, 0), ("f", b.Float("float", 4), 0));
        b.BitfieldStruct("flags", 4, ("low", u32, 0, 3), ("high", u32, 3, 29));
        var btf = BtfReader.Parse(b.Build());

        var union = btf.FindStruct("either")!;
        Assert.True(union.IsUnion);
        Assert.All(union.Members, m => Assert.Equal((0, 4), (m.BitOffset, m.ByteSize!.Value)));

        var flags = btf.FindStruct("flags")!;
        Assert.Equal([("low", 0, 3), ("high", 3, 29)], flags.Members.Select(m => (m.Name, m.BitOffset, m.BitfieldSize)));
        Assert.All(flags.Members, m => Assert.Null(m.ByteSize));
    }

    [Fact]
    public void SizeOf_TypedefCycleOrUnsizedKinds_ReturnsNull()
    {
        var b = new BtfBuilder();
        // typedef 1 -> 2 -> 1: valid ids, but a cycle only a hostile blob would contain.
        b.Typedef("a", 2);
        b.Typedef("b", 1);
        var fwd = b.Fwd("f");
        var proto = b.FuncProto(0);
        var func = b.Func("fn", proto);
        var btf = BtfReader.Parse(b.Build());

        Assert.Null(btf.SizeOf(1));
        Assert.Null(btf.SizeOf(fwd));
        Assert.Null(btf.SizeOf(proto));
        Assert.Null(btf.SizeOf(func));
        Assert.Null(btf.SizeOf(0));
        Assert.Null(btf.SizeOf(999));
    }

    [Fact]
    public void SizeOf_HugeArrays_ReturnsNullInsteadOfOverflowing()
    {
        var b = new BtfBuilder();
        var u64 = b.Int("unsigned long", 8);
        var big = b.Array(b.Array(u64, u64, 0x10000), u64, 0x10000);
        var btf = BtfReader.Parse(b.Build());

        Assert.Null(btf.SizeOf(big));
    }

    [Fact]
    public void Parse_SplitBtf_ContinuesIdsAndStringsFromBase()
    {
        var vmlinux = new BtfBuilder();
        var u32 = vmlinux.Int("unsigned int", 4);
        vmlinux.Enum("base_enum", 4, false, ("BASE_A", 1));
        vmlinux.Struct("shared", 4, ("v", u32, 0));
        var module = new BtfBuilder(vmlinux);
        var arr = module.Array(u32, u32, 2);
        var own = module.Struct("module_struct", 12, ("v", u32, 0), ("pair", arr, 32));
        module.Enum("module_enum", 4, false, ("MOD_A", 0x20001), ("BASE_A", 3)); // reuses a base string
        var baseBtf = BtfReader.Parse(vmlinux.Build());
        var split = BtfReader.Parse(module.Build(), baseBtf);

        Assert.Equal((4, 6), (split.FirstTypeId, split.LastTypeId));
        Assert.Same(baseBtf, split.Base);
        var s = split.FindStruct("module_struct")!;
        Assert.Equal(own, s.Id);
        Assert.Equal([("v", u32, 4), ("pair", arr, 8)], s.Members.Select(m => (m.Name, m.TypeId, m.ByteSize ?? -1)));
        Assert.Equal(["module_enum"], split.Enums.Select(e => e.Name));
        Assert.Equal(["MOD_A", "BASE_A"], split.FindEnum("module_enum")!.Values.Select(v => v.Name));
        Assert.Equal("base_enum", split.FindEnum("base_enum")!.Name); // falls through to the base
        Assert.Equal("shared", split.FindStruct("shared")!.Name);
        Assert.Equal(BtfKind.Int, split.TypeAt(u32).Kind);
        Assert.Equal(4, split.SizeOf(u32));
    }

    [Fact]
    public void Parse_SplitBtfWithoutItsBase_Throws()
    {
        var vmlinux = new BtfBuilder();
        var u32 = vmlinux.Int("unsigned int", 4);
        var module = new BtfBuilder(vmlinux);
        module.Struct("needs_base", 4, ("v", u32, 0));

        Assert.Throws<BtfFormatException>(() => BtfReader.Parse(module.Build()));
    }

    public static TheoryData<string> MalformedCases => [
        "empty", "short header", "bad magic", "big endian", "version 2", "header length too big",
        "type section past end", "string section past end", "unterminated strings", "no leading empty string",
        "unknown kind", "vlen past end", "truncated record", "record past section", "dangling type reference", "dangling member type",
        "name outside strings", "member name outside strings", "unaligned type section",
    ];

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void Parse_MalformedBlob_ThrowsBtfFormatException(string scenario)
    {
        var blob = Malformed(scenario);
        var e = Assert.Throws<BtfFormatException>(() => BtfReader.Parse(blob));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public void Parse_RandomBytes_ThrowsOnlyBtfFormatException()
    {
        Gen.Byte.Array[0, 4096].Sample(ParseAndWalk, iter: 5000);
    }

    [Fact]
    public void Parse_RandomBytesBehindAValidHeader_ThrowsOnlyBtfFormatException()
    {
        // A plausible header gets random bytes past the magic check, into the section and record walk.
        Gen.Select(Gen.UInt[0, 600], Gen.UInt[0, 600], Gen.UInt[0, 600], Gen.UInt[0, 600], Gen.Byte.Array[0, 1024])
            .Sample((typeOff, typeLen, strOff, strLen, body) =>
            {
                var blob = new byte[24 + body.Length];
                BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xEB9F);
                blob[2] = 1;
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), typeOff & ~3u);
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), typeLen & ~3u);
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), strOff);
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), strLen);
                body.CopyTo(blob, 24);
                ParseAndWalk(blob);
            }, iter: 5000);
    }

    [Fact]
    public void Parse_MutatedValidBlob_ThrowsOnlyBtfFormatExceptionOrWalksCleanly()
    {
        var valid = RichBlob();
        Gen.Select(Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 8], Gen.Int[0, valid.Length])
            .Sample((mutations, keep) =>
            {
                var blob = valid[..keep];
                foreach (var (at, value) in mutations)
                {
                    if (at < blob.Length)
                        blob[at] = value;
                }
                ParseAndWalk(blob);
            }, iter: 20000);
    }

    [Fact]
    public void Parse_MutatedSplitBlob_ThrowsOnlyBtfFormatExceptionOrWalksCleanly()
    {
        var vmlinux = new BtfBuilder();
        var u32 = vmlinux.Int("unsigned int", 4);
        vmlinux.Enum("skb_drop_reason", 4, false, ("SKB_CONSUMED", 1));
        var baseBtf = BtfReader.Parse(vmlinux.Build());
        var module = new BtfBuilder(vmlinux);
        module.Struct("m", 8, ("a", u32, 0), ("b", module.Ptr(u32), 32));
        module.Enum("ovs_drop_reason", 4, false, ("OVS_DROP_LAST_ACTION", 0x20001));
        var valid = module.Build();

        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 4].Sample(mutations =>
        {
            var blob = (byte[])valid.Clone();
            foreach (var (at, value) in mutations)
                blob[at] = value;
            ParseAndWalk(blob, baseBtf);
        }, iter: 10000);
    }

    /// <summary>Parses, then touches every accessor: after a successful parse nothing may throw.</summary>
    internal static void ParseAndWalk(byte[] blob) => ParseAndWalk(blob, null);

    private static void ParseAndWalk(byte[] blob, BtfReader? baseBtf)
    {
        BtfReader btf;
        try
        {
            btf = BtfReader.Parse(blob, baseBtf);
        }
        catch (BtfFormatException)
        {
            return;
        }
        foreach (var t in btf.Types)
        {
            _ = btf.SizeOf(t.Id);
            if (t.Kind is BtfKind.Struct or BtfKind.Union)
                _ = btf.GetStruct(t.Id).Members.Count;
            if (t.Kind == BtfKind.Array)
                _ = btf.ArrayAt(t.Id);
            _ = btf.FindStruct(t.Name);
        }
        foreach (var e in btf.Enums)
            _ = (e.Values.Count, btf.FindEnum(e.Name));
        _ = DropReasonTable.FromBtf(btf, []).All.Count;
    }

    private static byte[] RichBlob()
    {
        var b = new BtfBuilder();
        var u32 = b.Int("unsigned int", 4);
        var chr = b.Int("char", 1, signed: true);
        var arr = b.Array(chr, u32, 16);
        var ptr = b.Ptr(b.Fwd("sk_buff"));
        b.Struct("drop_event", 32, ("reason", b.Typedef("__u32", u32), 0), ("ifname", arr, 32), ("skb", ptr, 192));
        b.Enum("skb_drop_reason", 4, false, ("SKB_NOT_DROPPED_YET", 0), ("SKB_CONSUMED", 1), ("SKB_DROP_REASON_NOT_SPECIFIED", 2),
            ("SKB_DROP_REASON_MAX", 3), ("SKB_DROP_REASON_SUBSYS_MASK", 0xffff0000));
        b.Enum("skb_drop_reason_subsys", 4, false, ("SKB_DROP_REASON_SUBSYS_CORE", 0), ("SKB_DROP_REASON_SUBSYS_OPENVSWITCH", 2));
        b.Enum64("wide", true, ("W", ulong.MaxValue));
        b.Union("u", 4, ("a", u32, 0));
        var proto = b.FuncProto(u32, ("skb", ptr));
        b.Func("f", proto);
        var v = b.Var("cfg", b.Const(b.Volatile(u32)));
        b.Datasec(".rodata", 4, (v, 0, 4));
        b.DeclTag("kfunc", v);
        b.TypeTag("rcu", u32);
        b.Float("double", 8);
        b.Restrict(ptr);
        return b.Build();
    }

    private static byte[] Malformed(string scenario)
    {
        byte[] WithHeader(Action<byte[]> edit)
        {
            var b = new BtfBuilder();
            b.Struct("s", 4, ("a", b.Int("int", 4, signed: true), 0));
            var blob = b.Build();
            edit(blob);
            return blob;
        }
        void Put(byte[] blob, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at), value);

        switch (scenario)
        {
            case "empty": return [];
            case "short header": return [0x9F, 0xEB, 1, 0, 24, 0, 0];
            case "bad magic": return WithHeader(x => x[0] = 0x00);
            case "big endian": return WithHeader(x => (x[0], x[1]) = (0xEB, 0x9F));
            case "version 2": return WithHeader(x => x[2] = 2);
            case "header length too big": return WithHeader(x => Put(x, 4, 100_000));
            case "type section past end": return WithHeader(x => Put(x, 12, 0xFFFF_FFF0));
            case "string section past end": return WithHeader(x => Put(x, 20, 0x7FFF_FFFF));
            case "unterminated strings": return WithHeader(x => x[^1] = (byte)'x');
            case "no leading empty string": return WithHeader(x => x[24 + BinaryPrimitives.ReadInt32LittleEndian(x.AsSpan(16))] = (byte)'x');
            case "unknown kind": return WithHeader(x => x[24 + 7] = 25);
            case "vlen past end": return WithHeader(x => Put(x, 24 + 16 + 4, 4u << 24 | 0xFFFF)); // the struct after the 16-byte INT
            case "truncated record": return WithHeader(x => Put(x, 12, 8)); // type section shorter than one record
            case "record past section": return WithHeader(x => Put(x, 12, 12)); // the INT's encoding word is cut off
            case "unaligned type section": return WithHeader(x => Put(x, 12, BinaryPrimitives.ReadUInt32LittleEndian(x.AsSpan(12)) - 2));
        }

        var b = new BtfBuilder();
        var i = b.Int("int", 4, signed: true);
        switch (scenario)
        {
            case "dangling type reference":
                b.Ptr(42);
                break;
            case "dangling member type":
                b.Struct("s", 4, ("a", 42, 0));
                break;
            case "name outside strings":
                b.Raw(10_000, (uint)BtfKind.Typedef << 24, (uint)i);
                break;
            case "member name outside strings":
                b.Raw(0, (uint)BtfKind.Struct << 24 | 1, 4, 10_000, (uint)i, 0);
                break;
            default:
                throw new ArgumentException(scenario);
        }
        return b.Build();
    }
}
