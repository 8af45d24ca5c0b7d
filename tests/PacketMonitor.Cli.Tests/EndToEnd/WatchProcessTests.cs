using System.Text.RegularExpressions;
using System.Globalization;
using System.Net;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>`packet-monitor watch` as users run it: real process, real kernel, real drops.</summary>
public sealed class WatchProcessTests
{
    private const int SigInt = 2;
    private const int SigKill = 9;

    private static readonly string[] JsonFields =
    [
        "timestamp", "reason", "reason_code", "location", "family", "protocol", "ip_protocol", "src_addr", "dst_addr",
        "src_port", "dst_port", "length", "skb_len", "ifindex", "ifname", "netns", "cpu", "pid", "tid", "comm",
        "context_pid", "context_comm", "owner_pid", "owner_comm", "socket_cookie", "cgroup_id", "cgroup", "container", "netns_name",
    ];

    [Fact]
    public async Task WatchJson_PrintsOneObjectPerDropWithTheDocumentedFields()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("watch", "--json", "--netns", ns.Name, "--count", "3");
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        int sourcePort = ((IPEndPoint)sender.LocalEndPoint!).Port;
        for (int i = 0; i < 3; i++)
            sender.SendTo(new byte[32], new IPEndPoint(IPAddress.Loopback, 9));

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        var lines = monitor.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            foreach (var field in JsonFields)
                Assert.True(root.TryGetProperty(field, out _), $"missing field {field} in {line}");
            Assert.Equal("NO_SOCKET", root.GetProperty("reason").GetString());
            Assert.Equal("ipv4", root.GetProperty("family").GetString());
            Assert.Equal("UDP", root.GetProperty("protocol").GetString());
            Assert.Equal(17, root.GetProperty("ip_protocol").GetInt32());
            Assert.Equal("127.0.0.1", root.GetProperty("src_addr").GetString());
            Assert.Equal("127.0.0.1", root.GetProperty("dst_addr").GetString());
            Assert.Equal(sourcePort, root.GetProperty("src_port").GetInt32());
            Assert.Equal(9, root.GetProperty("dst_port").GetInt32());
            Assert.Equal(60, root.GetProperty("length").GetInt32());
            Assert.Equal("lo", root.GetProperty("ifname").GetString());
            Assert.Equal(ns.Inode, root.GetProperty("netns").GetUInt32());
            Assert.EndsWith("Z", root.GetProperty("timestamp").GetString(), StringComparison.Ordinal);
            Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, out var ts));
            Assert.InRange(ts, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddSeconds(1));
        }
        Assert.Contains("drops: total", monitor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchJson_ReceiverThatNeverReads_DropsNameItsProcessCgroupAndNamespace()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var cgroup = new CgroupV2();
        using var receiver = new UdpReceiverProcess(ns, cgroup);
        using var monitor = new MonitorProcess("watch", "--json", "--netns", ns.Name, "--reason", "SOCKET_RCVBUFF", "--count", "60");
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        var target = new IPEndPoint(IPAddress.Loopback, receiver.Port);
        // The first burst makes the monitor scan /proc; the second is attributed from its first drop.
        for (int i = 0; i < 30; i++)
            sender.SendTo(new byte[1000], target);
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        for (int i = 0; i < 50; i++)
            sender.SendTo(new byte[1000], target);

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        var lines = monitor.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(60, lines.Length);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            foreach (var field in JsonFields)
                Assert.True(root.TryGetProperty(field, out _), $"missing field {field} in {line}");
            Assert.Equal("SOCKET_RCVBUFF", root.GetProperty("reason").GetString());
            Assert.Equal(receiver.SocketCookie, root.GetProperty("socket_cookie").GetUInt64());
            Assert.Equal(cgroup.Id, root.GetProperty("cgroup_id").GetUInt64());
            Assert.Equal(root.GetProperty("pid").GetUInt32(), root.GetProperty("context_pid").GetUInt32());
            Assert.Equal(root.GetProperty("comm").GetString(), root.GetProperty("context_comm").GetString());
        }
        using var last = JsonDocument.Parse(lines[^1]);
        var e = last.RootElement;
        Assert.Equal(receiver.Pid, e.GetProperty("owner_pid").GetInt32());
        Assert.Equal("perl", e.GetProperty("owner_comm").GetString());
        Assert.NotEqual(receiver.Pid, e.GetProperty("context_pid").GetInt32()); // the sender's CPU context
        Assert.Equal(cgroup.RelativePath, e.GetProperty("cgroup").GetString());
        Assert.Equal(cgroup.Name, e.GetProperty("container").GetString());
        Assert.Equal(ns.Name, e.GetProperty("netns_name").GetString());
    }

    [Fact]
    public async Task WatchJsonStacks_NoSocketDrop_HasTheUdpReceivePath()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("watch", "--json", "--stacks", "--netns", ns.Name, "--count", "2");
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 2; i++)
            sender.SendTo(new byte[32], new IPEndPoint(IPAddress.Loopback, 9));

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        var lines = monitor.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var stack = json.RootElement.GetProperty("stack").EnumerateArray().Select(f => f.GetString()!).ToList();
            Assert.Contains(stack, f => f.StartsWith("__udp4_lib_rcv+", StringComparison.Ordinal) || f.StartsWith("udp_rcv+", StringComparison.Ordinal));
            Assert.Contains(json.RootElement.GetProperty("location").GetString(), stack);
            Assert.DoesNotContain(stack, f => f.StartsWith("bpf_", StringComparison.Ordinal) || f.StartsWith("0x", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task WatchText_SigInt_DetachesPrintsSummaryAndExitsZero()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("watch", "--netns", ns.Inode.ToString(CultureInfo.InvariantCulture));
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 9));
        await KernelTest.EventuallyAsync(() => monitor.Stdout.Contains("NO_SOCKET", StringComparison.Ordinal));

        monitor.Signal(SigInt);

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Matches(@"\[\d{4}-\d\d-\d\dT[\d:.]+Z\] PID: \d+, COMM: ", monitor.Stdout);
        Assert.Matches(@"  127\.0\.0\.1:\d+ -> 127\.0\.0\.1:9, Proto: 17, Len: 36", monitor.Stdout);
        Assert.Contains("Reason: NO_SOCKET", monitor.Stdout, StringComparison.Ordinal);
        Assert.Contains("Drops by reason", monitor.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"events: received 1, written 1, lost ring_full 0, lost queue_full 0", monitor.Stderr);
        Assert.Matches(@"drops: total 1, bytes \d+\n", monitor.Stderr); // this namespace's drops only
    }

    [Fact]
    public async Task WatchSummary_PrintsExactTotalsByReasonOnceASecond()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("watch", "--summary", "--netns", ns.Name, "--duration", "3s");
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 5; i++)
            sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 9));

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        var blocks = monitor.Stdout.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(blocks.Length, 2, 4); // one a second for 3 s
        Assert.Matches(@"total: 5\n", blocks[^1]);
        Assert.Matches(@"reason +NO_SOCKET \(\d+\) +\d+/s +5\n", blocks[^1]);
        Assert.Matches(@"protocol +UDP +\d+/s +5\n", blocks[^1]);
        Assert.Contains("events: off (counters only)", monitor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchSummary_VethPeerDown_ShowsTheDeviceCounters()
    {
        KernelTest.RequireRoot();
        using var pair = new VethPair();
        pair.B.Ip("link", "set", pair.BName, "down");
        pair.A.Exec("sysctl", "-qw", $"net.ipv6.conf.{pair.AName}.disable_ipv6=1"); // only the test's datagrams
        using var monitor = new MonitorProcess("watch", "--summary", "--duration", "3s");
        await monitor.WaitAttachedAsync();
        using (var socket = pair.A.UdpSocket(pair.AddressA))
        {
            for (int i = 0; i < 4; i++)
                socket.SendTo(new byte[32], new IPEndPoint(pair.AddressB, 9));
        }

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        string device = $@"{pair.AName} \[{pair.A.Name}\] tx_dropped";
        var blocks = monitor.Stdout.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(Regex.IsMatch(blocks[^1], $@"device +{device} +\d+/s +4(\n|$)"), monitor.Stdout);
        Assert.Contains("Drops kfree_skb cannot see", monitor.Stderr, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(monitor.Stderr, $@"device {device} +4\n"), monitor.Stderr);
    }

    [Fact]
    public async Task SigKill_LeavesNoProgramAttached()
    {
        KernelTest.RequireRoot();
        var before = OurPrograms();
        using var monitor = new MonitorProcess("watch", "--counts-only");
        await monitor.WaitAttachedAsync();
        var during = OurPrograms().Except(before).ToList();
        Assert.NotEmpty(during);

        monitor.Signal(SigKill);
        await monitor.WaitExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(await KernelTest.EventuallyAsync(() => !OurPrograms().Intersect(during).Any(), TimeSpan.FromSeconds(10)),
            $"programs {string.Join(",", during)} still loaded after SIGKILL");
    }

    /// <summary>IDs of loaded programs named like ours.</summary>
    private static List<int> OurPrograms()
    {
        using var json = JsonDocument.Parse(Shell.Run("bpftool", "prog", "show", "-j"));
        return json.RootElement.EnumerateArray()
            .Where(p => p.TryGetProperty("name", out var name) && name.GetString() is "handle_tp_btf" or "handle_raw_tp" or "handle_tracepoint")
            .Select(p => p.GetProperty("id").GetInt32())
            .ToList();
    }
}

/// <summary>Predictable failures of the real executable: one line, a non-zero exit code, no stack trace.</summary>
public sealed class FailureTests
{
    [Fact]
    public void Watch_AsUnprivilegedUser_SaysToUseSudoInOneLine()
    {
        KernelTest.RequireRoot(); // root is needed to drop to another user
        if (!File.Exists("/usr/bin/setpriv"))
            KernelTest.Unavailable("needs setpriv (util-linux)");
        var dll = typeof(PacketMonitor.Cli.Cli).Assembly.Location;
        var (code, stdout, stderr) = Shell.TryRun("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all", "env", "DOTNET_CLI_HOME=/tmp", "HOME=/tmp", "dotnet", dll, "watch");

        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("sudo", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_UnknownReason_NamesItAndPointsToReasonsCommand()
    {
        KernelTest.RequireRoot();
        using var monitor = new MonitorProcess("watch", "--reason", "NO_SUCH_REASON");
        Assert.Equal(2, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("packet-monitor: unknown drop reason 'NO_SUCH_REASON': `packet-monitor reasons` lists the reasons of this kernel",
            monitor.Stderr.Trim());
    }
}
