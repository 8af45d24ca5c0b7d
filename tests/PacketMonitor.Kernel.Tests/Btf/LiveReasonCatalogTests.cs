using PacketMonitor.Core.Reasons;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>
/// The reason catalogue against the running kernel's BTF, and subsystem reasons decoded with the running
/// kernel's own <c>enum skb_drop_reason_subsys</c> and synthetic module BTF split on the real vmlinux
/// (this kernel ships no openvswitch or mac80211 module BTF).
/// </summary>
public sealed class LiveReasonCatalogTests : IDisposable
{
    private const string VmlinuxPath = "/sys/kernel/btf/vmlinux";

    /// <summary>The newest kernel whose reasons the catalogue was written against.</summary>
    private static readonly Version CatalogKernel = new(6, 18);

    private static readonly Lazy<(byte[] Blob, BtfReader Btf)> Vmlinux = new(() =>
    {
        var blob = File.ReadAllBytes(VmlinuxPath);
        return (blob, BtfReader.Parse(blob));
    });

    private readonly string _dir = Directory.CreateTempSubdirectory("btf-subsys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Describe_EveryReasonInTheLiveBtf_HasAnExplanationAndHint()
    {
        var table = DropReasonTable.FromBtf(RequireVmlinux().Btf, []);
        Assert.True(table.All.Count > 50, $"only {table.All.Count} reasons in BTF");

        var generic = new List<string>();
        foreach (var (code, name) in table.All)
        {
            var info = ReasonCatalog.Describe(name);
            Assert.False(string.IsNullOrWhiteSpace(info.Explanation), name);
            Assert.False(string.IsNullOrWhiteSpace(info.Hint), name);
            Assert.Equal(name, info.Name);
            if (info.IsGeneric)
            {
                Assert.Contains(name, info.Explanation, StringComparison.Ordinal);
                generic.Add($"{name} ({code})");
            }
        }
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"{table.All.Count} reasons, {generic.Count} with a generic text: {string.Join(", ", generic)}");

        // Up to the kernel the catalogue was written for, every core reason has its own text.
        var kernel = Environment.OSVersion.Version;
        if (new Version(kernel.Major, kernel.Minor) <= CatalogKernel)
        {
            var coreGeneric = table.All.Where(r => r.Code >> table.SubsystemShift == 0 && ReasonCatalog.Describe(r.Name).IsGeneric);
            Assert.Empty(coreGeneric);
        }
    }

    [Fact]
    public void Describe_MadeUpReasonFromBtf_GetsTheGenericTextWithItsBtfName()
    {
        var b = new BtfBuilder();
        b.Enum("skb_drop_reason", 4, false,
            ("SKB_DROP_REASON_NOT_SPECIFIED", 2), ("SKB_DROP_REASON_QUANTUM_FLUX_OVERLOAD", 3), ("SKB_DROP_REASON_MAX", 4));
        var table = DropReasonTable.FromBtf(BtfReader.Parse(b.Build()), []);

        string name = table.NameOf(3);
        var info = ReasonCatalog.Describe(name);

        Assert.Equal("QUANTUM_FLUX_OVERLOAD", name);
        Assert.True(info.IsGeneric);
        Assert.Equal(name, info.Name);
        Assert.Contains("QUANTUM_FLUX_OVERLOAD", info.Explanation, StringComparison.Ordinal);
        Assert.Contains("SKB_DROP_REASON_QUANTUM_FLUX_OVERLOAD", info.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void FromBtf_LiveSubsystemEnum_NamesSubsystemsAndShowsUnnamedCodesAsPlaceholders()
    {
        var vmlinux = RequireVmlinux().Btf;
        var subsystems = LiveSubsystems(vmlinux);
        var table = DropReasonTable.FromBtf(vmlinux, []);

        Assert.Contains("OPENVSWITCH", subsystems.Keys);
        int digits = (table.SubsystemShift + 3) / 4;
        foreach (var (name, id) in subsystems.Where(s => s.Key is not ("CORE" or "NUM")))
        {
            uint code = id << table.SubsystemShift | 0xc;
            string placeholder = table.NameOf(code);
            Assert.Equal($"SUBSYS_{name}:0x{0xc.ToString("x" + digits, System.Globalization.CultureInfo.InvariantCulture)}", placeholder);
            Assert.True(table.TryGetCode(placeholder, out var back));
            Assert.Equal(code, back);
            Assert.True(ReasonCatalog.Describe(placeholder).IsGeneric);
        }
        uint unknown = (uint)subsystems["NUM"] + 5;
        Assert.Equal($"SUBSYS_{unknown}:0x{new string('0', digits - 1)}3", table.NameOf(unknown << table.SubsystemShift | 3));
    }

    [Fact]
    public void FromBtf_SyntheticOpenvswitchModuleOnLiveVmlinux_NamesItsReasons()
    {
        var (blob, vmlinux) = RequireVmlinux();
        uint ovs = LiveSubsystems(vmlinux)["OPENVSWITCH"];
        int shift = DropReasonTable.FromBtf(vmlinux, []).SubsystemShift;
        var module = BtfReader.Parse(OvsModule(blob, vmlinux, ovs << shift), vmlinux);

        var table = DropReasonTable.FromBtf(vmlinux, [module]);

        Assert.Equal("OVS_DROP_LAST_ACTION", table.NameOf(ovs << shift | 1));
        Assert.Equal("OVS_DROP_METER", table.NameOf(ovs << shift | 5));
        Assert.Equal("OVS_DROP_IP_TTL", table.NameOf(ovs << shift | 11));
        string beyond = 0xff.ToString("x" + (shift + 3) / 4, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"SUBSYS_OPENVSWITCH:0x{beyond}", table.NameOf(ovs << shift | 0xff));
        // Sentinels: the base marker is no name at all; OVS_DROP_MAX is named (like MAX) but not listed as a reason.
        Assert.Equal("OVS_DROP_MAX", table.NameOf(ovs << shift | 12));
        Assert.DoesNotContain(table.All, r => r.Name is "__OVS_DROP_REASON" or "OVS_DROP_MAX");
        Assert.Equal(11, table.All.Count(r => r.Name.StartsWith("OVS_DROP_", StringComparison.Ordinal)));
        Assert.True(table.TryGetCode("ovs_drop_meter", out var meter));
        Assert.Equal(ovs << shift | 5, meter);
        // The core reasons are untouched.
        Assert.Equal(DropReasonTable.FromBtf(vmlinux, []).All, table.All.Where(r => r.Code >> shift == 0));
        Assert.False(ReasonCatalog.Describe(table.NameOf(ovs << shift | 5)).IsGeneric);
    }

    [Fact]
    public void FromBtf_SyntheticMac80211ModuleOnLiveVmlinux_UsesTheEnumWithoutUnderscores()
    {
        var (blob, vmlinux) = RequireVmlinux();
        var subsystems = LiveSubsystems(vmlinux);
        int shift = DropReasonTable.FromBtf(vmlinux, []).SubsystemShift;
        uint unusable = subsystems["MAC80211_UNUSABLE"] << shift;
        // As net/mac80211/drop.h defines them: a ___-prefixed enum for sparse, and the real one.
        var m = BtfBuilder.SplitOn(blob, vmlinux);
        m.Enum("___mac80211_drop_reason", 4, false,
            ("___RX_CONTINUE", 1), ("___RX_QUEUED", 0), ("___RX_DROP_UNUSABLE", unusable), ("___RX_DROP_U_MIC_FAIL", unusable + 1), ("___RX_DROP_U_REPLAY", unusable + 2));
        m.Enum("mac80211_drop_reason", 4, false,
            ("RX_CONTINUE", 1), ("RX_QUEUED", 0), ("RX_DROP_UNUSABLE", unusable), ("RX_DROP_U_MIC_FAIL", unusable + 1), ("RX_DROP_U_REPLAY", unusable + 2));
        var module = BtfReader.Parse(m.Build(), vmlinux);

        var table = DropReasonTable.FromBtf(vmlinux, [module]);

        Assert.Equal("RX_DROP_UNUSABLE", table.NameOf(unusable));
        Assert.Equal("RX_DROP_U_MIC_FAIL", table.NameOf(unusable + 1));
        Assert.Equal("RX_DROP_U_REPLAY", table.NameOf(unusable + 2));
        // RX_CONTINUE and RX_QUEUED alias core values (CONSUMED, NOT_DROPPED_YET): they must not rename them.
        Assert.Equal("NOT_DROPPED_YET", table.NameOf(0));
        Assert.Equal("CONSUMED", table.NameOf(1));
        var info = ReasonCatalog.Describe(table.NameOf(unusable + 1));
        Assert.Contains("mac80211", info.Explanation, StringComparison.Ordinal);
        Assert.Contains("RX_DROP_U_MIC_FAIL", info.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LiveVmlinuxWithAnOpenvswitchModuleFile_FindsTheModuleReasons()
    {
        var (blob, vmlinux) = RequireVmlinux();
        uint ovs = LiveSubsystems(vmlinux)["OPENVSWITCH"];
        int shift = DropReasonTable.FromBtf(vmlinux, []).SubsystemShift;
        var btfDir = Directory.CreateDirectory(Path.Combine(_dir, "btf")).FullName;
        File.CreateSymbolicLink(Path.Combine(btfDir, "vmlinux"), VmlinuxPath);
        File.WriteAllBytes(Path.Combine(btfDir, "openvswitch"), OvsModule(blob, vmlinux, ovs << shift));
        var logger = new RecordingLogger();

        var table = DropReasonTable.Load(logger, btfDir);

        Assert.Equal("btf", table.Source);
        Assert.Equal("OVS_DROP_CONNTRACK", table.NameOf(ovs << shift | 10));
        Assert.Empty(logger.At(Microsoft.Extensions.Logging.LogLevel.Warning));
    }

    /// <summary>enum ovs_drop_reason as net/openvswitch/drop.h defines it, on top of the given base value.</summary>
    private static byte[] OvsModule(byte[] vmlinuxBlob, BtfReader vmlinux, uint first)
    {
        string[] reasons =
        [
            "OVS_DROP_LAST_ACTION", "OVS_DROP_ACTION_ERROR", "OVS_DROP_EXPLICIT", "OVS_DROP_EXPLICIT_WITH_ERROR", "OVS_DROP_METER",
            "OVS_DROP_RECURSION_LIMIT", "OVS_DROP_DEFERRED_LIMIT", "OVS_DROP_FRAG_L2_TOO_LONG", "OVS_DROP_FRAG_INVALID_PROTO",
            "OVS_DROP_CONNTRACK", "OVS_DROP_IP_TTL",
        ];
        var values = new List<(string, long)> { ("__OVS_DROP_REASON", first) };
        values.AddRange(reasons.Select((name, i) => (name, (long)(first + 1 + (uint)i))));
        values.Add(("OVS_DROP_MAX", first + 1 + (uint)reasons.Length));
        var m = BtfBuilder.SplitOn(vmlinuxBlob, vmlinux);
        m.Int("unsigned int", 4);
        m.Enum("ovs_drop_reason", 4, false, [.. values]);
        return m.Build();
    }

    private static Dictionary<string, uint> LiveSubsystems(BtfReader vmlinux)
    {
        var subsys = vmlinux.FindEnum("skb_drop_reason_subsys");
        if (subsys is null)
            KernelTest.Unavailable("this kernel's BTF has no enum skb_drop_reason_subsys (older than 6.4)");
        return subsys!.Values.ToDictionary(v => v.Name["SKB_DROP_REASON_SUBSYS_".Length..], v => (uint)v.UnsignedValue);
    }

    private static (byte[] Blob, BtfReader Btf) RequireVmlinux()
    {
        if (!File.Exists(VmlinuxPath))
            KernelTest.Unavailable($"{VmlinuxPath} is missing (kernel without CONFIG_DEBUG_INFO_BTF)");
        return Vmlinux.Value;
    }
}
