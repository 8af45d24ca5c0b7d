using System.Globalization;
using System.Net;
using System.Text.Json;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Kernel.BlindSpots;
using PacketMonitor.Kernel.Tests.Btf;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.BlindSpots;

/// <summary>The real device and softnet counters, against `ip -s link` and /proc/net/softnet_stat.</summary>
public sealed class KernelBlindSpotSamplerTests
{
    private readonly RecordingLogger _logger = new();

    [Fact]
    public void Sample_OwnNamespace_AgreesWithIpStatistics()
    {
        KernelTest.RequireRoot();
        var sampler = new KernelBlindSpotSampler(_logger);
        uint own = NetworkNamespaces.Current()!.Value;

        var before = sampler.Sample();
        using var ip = JsonDocument.Parse(Shell.Run("ip", "-j", "-s", "-s", "link", "show"));
        var after = sampler.Sample();

        var mine = before.Interfaces.Where(i => i.Netns == own).ToList();
        Assert.NotEmpty(mine);
        Assert.Contains(mine, i => i.Name == "lo" && i.Ifindex == 1);
        foreach (var link in ip.RootElement.EnumerateArray())
        {
            string name = link.GetProperty("ifname").GetString()!;
            var rx = link.GetProperty("stats64").GetProperty("rx");
            var tx = link.GetProperty("stats64").GetProperty("tx");
            var was = Assert.Single(mine, i => i.Name == name).Counters;
            var now = Assert.Single(after.Interfaces, i => i.Netns == own && i.Name == name).Counters;
            // ip read between the two samples: each counter lies between them.
            AssertBetween(was.RxDropped, rx.GetProperty("dropped").GetUInt64(), now.RxDropped, name);
            AssertBetween(was.TxDropped, tx.GetProperty("dropped").GetUInt64(), now.TxDropped, name);
            AssertBetween(was.RxMissed, rx.GetProperty("missed_errors").GetUInt64(), now.RxMissed, name);
            AssertBetween(was.RxFifo, rx.GetProperty("fifo_errors").GetUInt64(), now.RxFifo, name);
            AssertBetween(was.RxErrors, rx.GetProperty("errors").GetUInt64(), now.RxErrors, name);
            AssertBetween(was.TxErrors, tx.GetProperty("errors").GetUInt64(), now.TxErrors, name);
        }
        Assert.Equal(ip.RootElement.GetArrayLength(), mine.Count);
    }

    [Fact]
    public void Sample_Softnet_AgreesWithProcFile()
    {
        var sampler = new KernelBlindSpotSampler(_logger);

        var before = sampler.Sample();
        var lines = File.ReadAllLines(SoftnetStat.Path);
        var after = sampler.Sample();

        Assert.Equal(lines.Length, before.Softnet.Count);
        Assert.Equal(Environment.ProcessorCount, before.Softnet.Count);
        Assert.DoesNotContain(before.Problems, p => p.Contains("softnet", StringComparison.Ordinal));
        for (int line = 0; line < lines.Length; line++)
        {
            var columns = lines[line].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(c => uint.Parse(c, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
            var was = before.Softnet[line];
            var now = after.Softnet[line];
            Assert.Equal(columns.Length > 12 ? (int)columns[12] : line, was.Cpu);
            AssertBetween(was.Processed, columns[0], now.Processed, $"cpu {was.Cpu} processed");
            AssertBetween(was.Dropped, columns[1], now.Dropped, $"cpu {was.Cpu} dropped");
            AssertBetween(was.TimeSqueeze, columns[2], now.TimeSqueeze, $"cpu {was.Cpu} time_squeeze");
            Assert.Equal(columns.Length > 10, was.FlowLimit is not null);
        }
    }

    [Fact]
    public void Sample_VethPeerWithSmallerMtu_CountsRxDroppedAndTxDropped()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        pair.B.Ip("link", "set", pair.BName, "mtu", "1000");
        var sampler = new KernelBlindSpotSampler(_logger);
        var tracker = new BlindSpotTracker();
        tracker.Observe(sampler.Sample(), sampler.Coverage);

        // 1400-byte datagrams fit A's MTU (1500) but not B's (1000): veth refuses them at the device.
        const int sent = 7;
        using (var socket = pair.A.UdpSocket(pair.AddressA))
        {
            for (int i = 0; i < sent; i++)
                socket.SendTo(new byte[1400], new IPEndPoint(pair.AddressB, 9));
        }
        var stats = tracker.Observe(sampler.Sample(), sampler.Coverage);

        var a = Assert.Single(stats.Interfaces, i => i.Netns == pair.A.Inode && i.Name == pair.AName);
        var b = Assert.Single(stats.Interfaces, i => i.Netns == pair.B.Inode && i.Name == pair.BName);
        Assert.Equal((pair.AName, pair.A.Name), (a.Name, a.NetnsName));
        Assert.Equal((pair.BName, pair.B.Name), (b.Name, b.NetnsName));
        Assert.Equal(sent, (int)a.TxDropped.Total);
        Assert.Equal(sent, (int)b.RxDropped.Total);
        Assert.True(a.TxDropped.PerSecond > 0);
        Assert.Equal(0UL, a.RxDropped.Total + b.TxDropped.Total + a.RxMissed.Total + b.RxMissed.Total);
        // Ground truth: ip's own view of the devices (counted since the devices were made, so equal here).
        Assert.Equal(sent, IpCounter(pair.A, pair.AName, "tx", "dropped"));
        Assert.Equal(sent, IpCounter(pair.B, pair.BName, "rx", "dropped"));
        Assert.True(stats.AllInterfaces.TxDropped.Total >= sent);
        Assert.Contains("/run/netns", stats.Coverage, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_VethPeerDown_CountsTxDroppedOnTheSender()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        pair.B.Ip("link", "set", pair.BName, "down");
        // Only the test's datagrams: no IPv6 router solicitations that the dead link would drop too.
        pair.A.Exec("sysctl", "-qw", $"net.ipv6.conf.{pair.AName}.disable_ipv6=1");
        var sampler = new KernelBlindSpotSampler(_logger);
        var tracker = new BlindSpotTracker();
        tracker.Observe(sampler.Sample(), sampler.Coverage);

        const int sent = 5;
        using (var socket = pair.A.UdpSocket(pair.AddressA))
        {
            for (int i = 0; i < sent; i++)
                socket.SendTo(new byte[64], new IPEndPoint(pair.AddressB, 9));
        }
        var stats = tracker.Observe(sampler.Sample(), sampler.Coverage);

        var a = Assert.Single(stats.Interfaces, i => i.Netns == pair.A.Inode && i.Name == pair.AName);
        Assert.Equal(sent, (int)a.TxDropped.Total);
        Assert.Equal(sent, IpCounter(pair.A, pair.AName, "tx", "dropped"));
    }

    [Fact]
    public async Task Sample_DeletedNamespace_IsNotKeptAlive()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        var sampler = new KernelBlindSpotSampler(_logger);
        Assert.Contains(sampler.Sample().Interfaces, i => i.Netns == pair.A.Inode);

        pair.A.Dispose();

        // Nothing of the sampler holds the namespace: it dies at once, taking its veth end and so the peer in B with it.
        Assert.True(await KernelTest.EventuallyAsync(() => !pair.B.Ip("-br", "link", "show").Contains(pair.BName, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10)), "the veth pair outlived its namespace");
        Assert.DoesNotContain(sampler.Sample().Interfaces, i => i.Netns == pair.A.Inode);
    }

    [Fact]
    public void Sample_MissingFiles_ReportProblemsOnceAndStillReadDevices()
    {
        var sampler = new KernelBlindSpotSampler(_logger, netnsDir: "/nonexistent-netns", softnetPath: "/nonexistent-softnet");

        var first = sampler.Sample();
        var second = sampler.Sample();

        Assert.NotEmpty(first.Interfaces);
        Assert.Empty(first.Softnet);
        Assert.Contains(first.Problems, p => p.Contains("/nonexistent-softnet", StringComparison.Ordinal));
        Assert.Equal(first.Problems, second.Problems);
        Assert.Single(_logger.Entries, e => e.Message.Contains("/nonexistent-softnet", StringComparison.Ordinal));
    }

    [Fact]
    public void Sample_Cost_IsReported()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        var sampler = new KernelBlindSpotSampler(_logger);
        sampler.Sample();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        const int rounds = 20;
        int namespaces = 0;
        for (int i = 0; i < rounds; i++)
            namespaces = sampler.Sample().Interfaces.Select(d => d.Netns).Distinct().Count();
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"one sample of {namespaces} namespaces: {watch.Elapsed.TotalMilliseconds / rounds:F2} ms");
        Assert.True(namespaces >= 3);
    }

    private static long IpCounter(NetworkNamespace ns, string device, string direction, string field)
    {
        using var json = JsonDocument.Parse(ns.Ip("-j", "-s", "link", "show", device));
        return json.RootElement[0].GetProperty("stats64").GetProperty(direction).GetProperty(field).GetInt64();
    }

    private static void AssertBetween(ulong low, ulong value, ulong high, string what) =>
        Assert.True(low <= value && value <= high, $"{what}: {value} not within [{low}, {high}]");
}
