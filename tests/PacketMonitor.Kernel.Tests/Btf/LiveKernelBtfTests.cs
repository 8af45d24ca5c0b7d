using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>The running kernel's own BTF and tracepoint format. Skips without them, fails under CI=true.</summary>
public sealed class LiveKernelBtfTests
{
    private const string BtfDir = "/sys/kernel/btf";
    private const string VmlinuxPath = BtfDir + "/vmlinux";
    private const string Tracefs = "/sys/kernel/tracing";
    private const string FormatPath = Tracefs + "/events/skb/kfree_skb/format";

    private static readonly Lazy<BtfReader> Vmlinux = new(() => BtfReader.Parse(File.ReadAllBytes(VmlinuxPath)));

    [Fact]
    public void Parse_KernelVmlinux_FindsDropReasonsAndSkbLayout()
    {
        var btf = RequireVmlinux();
        var table = DropReasonTable.FromBtf(btf, []);

        var names = table.All.Select(r => r.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "SOCKET_RCVBUFF" }, names);
        Assert.Superset(new HashSet<string> { "NOT_DROPPED_YET", "CONSUMED" }, names);
        Assert.DoesNotContain(table.All, r => r.Name.StartsWith("SKB_DROP_REASON_", StringComparison.Ordinal) || r.Name == "MAX");
        Assert.Equal(4, btf.FindStruct("sk_buff")!.Member("len")!.Value.ByteSize);
        Assert.Equal(16, btf.FindStruct("net_device")!.Member("name")!.Value.ByteSize);
        Assert.True(btf.TypeCount > 10_000);
    }

    [Fact]
    public void Parse_KernelVmlinux_IsFast()
    {
        var bytes = File.Exists(VmlinuxPath) ? File.ReadAllBytes(VmlinuxPath) : null;
        if (bytes is null)
        {
            KernelTest.Unavailable($"{VmlinuxPath} is missing");
            return;
        }
        var watch = Stopwatch.StartNew();
        var btf = BtfReader.Parse(bytes);
        var reasons = DropReasonTable.FromBtf(btf, []);
        TestContext.Current.TestOutputHelper!.WriteLine($"{btf.TypeCount} types, {reasons.All.Count} reasons in {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void DropReasons_KernelBtf_AgreeWithTracepointFormat()
    {
        var btf = DropReasonTable.FromBtf(RequireVmlinux(), []);
        var tracefs = DropReasonTable.FromTracepointFormat(File.ReadAllText(RequireFormat()));

        Assert.NotEmpty(tracefs.All);
        foreach (var (code, name) in tracefs.All)
            Assert.Equal(name, btf.NameOf(code));
        // Every core reason is in the tracepoint list, except the two "not a drop" values it leaves out.
        var core = btf.All.Where(r => r.Code >> btf.SubsystemShift == 0 && r.Name is not ("NOT_DROPPED_YET" or "CONSUMED"));
        Assert.Equal(core, tracefs.All);
        Assert.True(btf.TryGetCode("MAX", out var max));
        Assert.Equal("MAX", tracefs.NameOf(max));
    }

    [Fact]
    public void Load_RunningKernel_UsesBtfWithoutWarnings()
    {
        RequireVmlinux();
        var logger = new RecordingLogger();

        var table = DropReasonTable.Load(logger);

        Assert.Equal("btf", table.Source);
        Assert.True(table.TryGetCode("SKB_DROP_REASON_NO_SOCKET", out var code));
        Assert.Equal("NO_SOCKET", table.NameOf(code));
        Assert.Empty(logger.At(LogLevel.Warning));
    }

    [Fact]
    public void Parse_KernelModuleBtf_SplitsOnVmlinux()
    {
        var vmlinux = RequireVmlinux();
        var modules = Directory.GetFiles(BtfDir).Where(f => Path.GetFileName(f) != "vmlinux").ToList();
        if (modules.Count == 0)
            Assert.Skip("this kernel exposes no module BTF");
        foreach (var path in modules)
        {
            var module = BtfReader.Parse(File.ReadAllBytes(path), vmlinux);
            Assert.Equal(vmlinux.LastTypeId + 1, module.FirstTypeId);
        }
    }

    private static BtfReader RequireVmlinux()
    {
        if (!File.Exists(VmlinuxPath))
            KernelTest.Unavailable($"{VmlinuxPath} is missing (kernel without CONFIG_DEBUG_INFO_BTF)");
        return Vmlinux.Value;
    }

    private static string RequireFormat()
    {
        if (!File.Exists(FormatPath) && Directory.Exists(Tracefs) && Environment.UserName == "root")
        {
            // tracefs is usually mounted; a minimal VM may need it done by hand.
            using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tracefs", "nodev", Tracefs]) { RedirectStandardError = true });
            mount?.WaitForExit(10_000);
        }
        if (!File.Exists(FormatPath))
            KernelTest.Unavailable($"{FormatPath} is missing (tracefs not mounted?)");
        return FormatPath;
    }
}
