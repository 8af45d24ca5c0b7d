using CsCheck;
using Microsoft.Extensions.Logging;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel.Tests.Btf;

public sealed class DropReasonTableTests : IDisposable
{
    // Shaped like a 6.4+ kernel, but with made-up numbers: the table must take every number from BTF.
    private const string TracepointFormat = """
        name: kfree_skb
        ID: 1234
        format:
        	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
        	field:enum skb_drop_reason reason;	offset:36;	size:4;	signed:0;

        print fmt: "skbaddr=%p protocol=%u location=%pS reason: %s", REC->skbaddr, REC->protocol, REC->location, __print_symbolic(REC->reason, { 5, "NOT_SPECIFIED" }, { 6, "NO_SOCKET" }, { 0x7, "SOCKET_RCVBUFF" }, { SKB_DROP_REASON_UNRESOLVED, "UNRESOLVED" }, { 9, "MAX" })
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("btf-reasons-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FromBtf_CoreAndSubsystemEnums_NamesEveryCode()
    {
        var table = DropReasonTable.FromBtf(BtfReader.Parse(Vmlinux(out var vmlinux)), []);

        Assert.Equal("btf", table.Source);
        Assert.Equal(16, table.SubsystemShift);
        Assert.Equal("NOT_DROPPED_YET", table.NameOf(0));
        Assert.Equal("CONSUMED", table.NameOf(1));
        Assert.Equal("NOT_SPECIFIED", table.NameOf(7));
        Assert.Equal("NO_SOCKET", table.NameOf(8));
        Assert.Equal("MAX", table.NameOf(10)); // sentinel: named, but not listed
        Assert.Equal("RX_DROP_U_MIC_FAIL", table.NameOf(0x10001)); // a subsystem enum in vmlinux
        Assert.Equal("SUBSYS_MAC80211_UNUSABLE:0x0000", table.NameOf(0x10000)); // ___RX_DROP_UNUSABLE marker is not a name
        Assert.Equal("SUBSYS_OPENVSWITCH:0x0001", table.NameOf(0x20001)); // ovs lives in a module not given here
        Assert.Equal("SUBSYS_7:0x0003", table.NameOf(0x70003));
        Assert.Equal("UNKNOWN_999", table.NameOf(999));
        Assert.Same(table.NameOf(999), table.NameOf(999));
        Assert.Equal(
            [new(0, "NOT_DROPPED_YET"), new(1, "CONSUMED"), new(6, "SKB_CSUM"), new(7, "NOT_SPECIFIED"), new(8, "NO_SOCKET"), new(9, "SOCKET_RCVBUFF"), new(0x10001, "RX_DROP_U_MIC_FAIL")],
            table.All);
    }

    [Fact]
    public void FromBtf_ModuleSubsystemEnum_NamesItsCodes()
    {
        var baseBtf = BtfReader.Parse(Vmlinux(out var vmlinux));
        var table = DropReasonTable.FromBtf(baseBtf, [BtfReader.Parse(OvsModule(vmlinux), baseBtf)]);

        Assert.Equal("OVS_DROP_LAST_ACTION", table.NameOf(0x20001));
        Assert.Equal("OVS_DROP_ACTION_ERROR", table.NameOf(0x20002));
        Assert.Equal("SUBSYS_OPENVSWITCH:0x0009", table.NameOf(0x20009));
        Assert.DoesNotContain(table.All, r => r.Name.EndsWith("_MAX", StringComparison.Ordinal) || r.Name.StartsWith('_'));
        Assert.Equal(table.All.OrderBy(r => r.Code), table.All);
        Assert.Equal(0x20002u, table.All[^1].Code);
    }

    [Fact]
    public void FromBtf_SubsystemMaskWithOtherShift_UsesMaskPosition()
    {
        var b = new BtfBuilder();
        b.Enum("skb_drop_reason", 4, false, ("SKB_DROP_REASON_NOT_SPECIFIED", 2), ("SKB_DROP_REASON_SUBSYS_MASK", 0xff000000));
        b.Enum("skb_drop_reason_subsys", 4, false, ("SKB_DROP_REASON_SUBSYS_CORE", 0), ("SKB_DROP_REASON_SUBSYS_FOO", 1), ("SKB_DROP_REASON_SUBSYS_NUM", 2));
        var table = DropReasonTable.FromBtf(BtfReader.Parse(b.Build()), []);

        Assert.Equal(24, table.SubsystemShift);
        Assert.Equal("SUBSYS_FOO:0x000005", table.NameOf(0x0100_0005));
        Assert.Equal("UNKNOWN_65536", table.NameOf(0x10000));
        Assert.Equal([new(2, "NOT_SPECIFIED")], table.All);
    }

    [Fact]
    public void FromBtf_NoSkbDropReasonEnum_GivesEmptyTable()
    {
        var b = new BtfBuilder();
        b.Int("int", 4, signed: true);
        var table = DropReasonTable.FromBtf(BtfReader.Parse(b.Build()), []);

        Assert.Empty(table.All);
        Assert.Equal("UNKNOWN_2", table.NameOf(2));
        Assert.Equal("SUBSYS_2:0x0001", table.NameOf(0x20001));
    }

    [Theory]
    [InlineData("NO_SOCKET", 8u)]
    [InlineData("no_socket", 8u)]
    [InlineData("SKB_DROP_REASON_NO_SOCKET", 8u)]
    [InlineData("skb_drop_reason_no_socket", 8u)]
    [InlineData(" NOT_SPECIFIED ", 7u)]
    [InlineData("SKB_CONSUMED", 1u)]
    [InlineData("consumed", 1u)]
    [InlineData("not_dropped_yet", 0u)]
    [InlineData("skb_csum", 6u)]
    [InlineData("SKB_DROP_REASON_SKB_CSUM", 6u)]
    [InlineData("ovs_drop_last_action", 0x20001u)]
    [InlineData("MAX", 10u)]
    [InlineData("UNKNOWN_999", 999u)]
    [InlineData("SUBSYS_OPENVSWITCH:9", 0x20009u)]
    [InlineData("SUBSYS_OPENVSWITCH:0x0009", 0x20009u)]
    [InlineData("subsys_openvswitch:0xffff", 0x2ffffu)]
    [InlineData("subsys_7:3", 0x70003u)]
    [InlineData("42", 42u)]
    [InlineData("0x2a", 42u)]
    public void TryGetCode_KnownOrPlaceholderName_ReturnsCode(string name, uint expected)
    {
        Assert.True(Table().TryGetCode(name, out var code));
        Assert.Equal(expected, code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("NO_SUCH_REASON")]
    [InlineData("SKB_DROP_REASON_")]
    [InlineData("UNKNOWN_")]
    [InlineData("UNKNOWN_x")]
    [InlineData("SUBSYS_OPENVSWITCH")]
    [InlineData("SUBSYS_OPENVSWITCH:70000")]
    [InlineData("SUBSYS_CORE:3")]
    [InlineData("SUBSYS_0:3")]
    [InlineData("-1")]
    public void TryGetCode_UnknownName_ReturnsFalse(string name)
    {
        Assert.False(Table().TryGetCode(name, out _));
    }

    [Fact]
    public void NameOf_AnyCode_RoundTripsThroughTryGetCode()
    {
        var table = Table();
        Gen.UInt.Sample(code =>
        {
            var name = table.NameOf(code);
            Assert.True(table.TryGetCode(name, out var back), name);
            Assert.Equal(code, back);
        }, iter: 20000);
    }

    [Fact]
    public void FromTracepointFormat_PrintSymbolicList_NamesNumericEntries()
    {
        var table = DropReasonTable.FromTracepointFormat(TracepointFormat);

        Assert.Equal("tracefs", table.Source);
        Assert.Equal([new(5, "NOT_SPECIFIED"), new(6, "NO_SOCKET"), new(7, "SOCKET_RCVBUFF")], table.All);
        Assert.Equal("MAX", table.NameOf(9));
        Assert.Equal("UNKNOWN_8", table.NameOf(8));
        Assert.Equal("SUBSYS_2:0x0001", table.NameOf(0x20001));
        Assert.False(table.TryGetCode("UNRESOLVED", out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("print fmt: \"%s\", __print_symbolic(REC->other, { 1, \"X\" })")]
    [InlineData("print fmt: \"%s\", __print_symbolic(REC->reason, { 1, \"X\"")]
    [InlineData("print fmt: \"%s\", __print_symbolic(REC->reason, { 1 \"X\" }, {, }, { \"2\", 3 }, { 99999999999, \"BIG\" })")]
    public void FromTracepointFormat_NoUsableList_GivesEmptyTable(string text)
    {
        Assert.Empty(DropReasonTable.FromTracepointFormat(text).All);
    }

    [Fact]
    public void FromTracepointFormat_RandomText_NeverThrows()
    {
        Gen.String.Sample(text => _ = DropReasonTable.FromTracepointFormat("__print_symbolic(REC->reason, " + text).All, iter: 5000);
        Gen.Char["{}\", 0123x)"].Array[0, 80].Select(c => new string(c))
            .Sample(text => _ = DropReasonTable.FromTracepointFormat("__print_symbolic(REC->reason, " + text).All, iter: 5000);
    }

    [Fact]
    public void Load_VmlinuxAndModules_UsesBtfWithoutWarnings()
    {
        var btfDir = Directory.CreateDirectory(Path.Combine(_dir, "btf")).FullName;
        File.WriteAllBytes(Path.Combine(btfDir, "vmlinux"), Vmlinux(out var vmlinux));
        File.WriteAllBytes(Path.Combine(btfDir, "openvswitch"), OvsModule(vmlinux));
        File.WriteAllBytes(Path.Combine(btfDir, "broken"), [0x9F, 0xEB, 1, 0, .. "_drop_reason\0"u8]);
        File.WriteAllBytes(Path.Combine(btfDir, "unrelated"), [1, 2, 3]);
        var logger = new RecordingLogger();

        var table = DropReasonTable.Load(logger, btfDir, Path.Combine(_dir, "missing-format"));

        Assert.Equal("btf", table.Source);
        Assert.Equal("OVS_DROP_LAST_ACTION", table.NameOf(0x20001));
        Assert.Equal("NO_SOCKET", table.NameOf(8));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Contains(logger.At(LogLevel.Debug), m => m.Contains("broken", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("garbage")]
    [InlineData("no enum")]
    public void Load_VmlinuxUnusable_FallsBackToTracefsWithOneWarning(string vmlinux)
    {
        var btfDir = BtfDir(vmlinux);
        var format = Path.Combine(_dir, "format");
        File.WriteAllText(format, TracepointFormat);
        var logger = new RecordingLogger();

        var table = DropReasonTable.Load(logger, btfDir, format);

        Assert.Equal("tracefs", table.Source);
        Assert.Equal("NO_SOCKET", table.NameOf(6));
        var warning = Assert.Single(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("vmlinux", warning.Message, StringComparison.Ordinal);
        Assert.Contains(format, warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", null)]
    [InlineData("garbage", "")]
    [InlineData("no enum", "print fmt: \"no reasons here\"")]
    public void Load_NeitherBtfNorTracefs_GivesEmptyTableWithOneWarning(string vmlinux, string? formatText)
    {
        var btfDir = BtfDir(vmlinux);
        var format = Path.Combine(_dir, "format");
        if (formatText is not null)
            File.WriteAllText(format, formatText);
        var logger = new RecordingLogger();

        var table = DropReasonTable.Load(logger, btfDir, format);

        Assert.Equal("none", table.Source);
        Assert.Empty(table.All);
        Assert.Equal("UNKNOWN_5", table.NameOf(5));
        var warning = Assert.Single(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Contains("UNKNOWN_", warning.Message, StringComparison.Ordinal);
    }

    private string BtfDir(string vmlinux)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "btf")).FullName;
        var path = Path.Combine(dir, "vmlinux");
        switch (vmlinux)
        {
            case "garbage":
                File.WriteAllBytes(path, [1, 2, 3, 4]);
                break;
            case "no enum":
                var b = new BtfBuilder();
                b.Int("int", 4, signed: true);
                File.WriteAllBytes(path, b.Build());
                break;
        }
        return dir;
    }

    private static DropReasonTable Table()
    {
        var baseBtf = BtfReader.Parse(Vmlinux(out var vmlinux));
        return DropReasonTable.FromBtf(baseBtf, [BtfReader.Parse(OvsModule(vmlinux), baseBtf)]);
    }

    /// <summary>A vmlinux-like BTF with deliberately unusual numbers (NOT_SPECIFIED is 7).</summary>
    private static byte[] Vmlinux(out BtfBuilder builder)
    {
        var b = builder = new BtfBuilder();
        b.Int("int", 4, signed: true);
        b.Enum("skb_drop_reason", 4, false,
            ("SKB_NOT_DROPPED_YET", 0), ("SKB_CONSUMED", 1), ("SKB_DROP_REASON_SKB_CSUM", 6), ("SKB_DROP_REASON_NOT_SPECIFIED", 7), ("SKB_DROP_REASON_NO_SOCKET", 8),
            ("SKB_DROP_REASON_SOCKET_RCVBUFF", 9), ("SKB_DROP_REASON_MAX", 10), ("SKB_DROP_REASON_SUBSYS_MASK", 0xffff0000));
        b.Enum("skb_drop_reason_subsys", 4, false,
            ("SKB_DROP_REASON_SUBSYS_CORE", 0), ("SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE", 1),
            ("SKB_DROP_REASON_SUBSYS_OPENVSWITCH", 2), ("SKB_DROP_REASON_SUBSYS_NUM", 3));
        // mac80211 built in: subsystem-0 values alias core reasons and must not rename them.
        b.Enum("mac80211_drop_reason", 4, false,
            ("RX_CONTINUE", 0), ("RX_QUEUED", 1), ("___RX_DROP_UNUSABLE", 0x10000), ("RX_DROP_U_MIC_FAIL", 0x10001));
        return b.Build();
    }

    private static byte[] OvsModule(BtfBuilder vmlinux)
    {
        var m = new BtfBuilder(vmlinux);
        m.Enum("ovs_drop_reason", 4, false,
            ("__OVS_DROP_REASON", 0x20000), ("OVS_DROP_LAST_ACTION", 0x20001), ("OVS_DROP_ACTION_ERROR", 0x20002), ("OVS_DROP_MAX", 0x20003));
        m.Enum("unrelated_drop_reason", 4, false, ("NOT_A_SUBSYSTEM_VALUE", 3));
        return m.Build();
    }
}
