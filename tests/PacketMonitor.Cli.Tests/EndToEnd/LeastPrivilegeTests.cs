using System.Net;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>
/// SECURITY.md's claims about privileges, checked: an unprivileged user (nobody) holding only
/// CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN runs the monitor; kernel symbol names also need CAP_SYSLOG.
/// </summary>
public sealed class LeastPrivilegeTests
{
    private static string[] AsNobodyWith(string caps) =>
    [
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        $"--inh-caps=-all,{caps}", $"--ambient-caps=-all,{caps}", "env", "DOTNET_CLI_HOME=/tmp", "HOME=/tmp",
    ];

    [Theory]
    [InlineData("+bpf,+perfmon,+net_admin", false)]
    [InlineData("+bpf,+perfmon,+net_admin,+syslog", true)]
    public async Task Watch_AsNobodyWithOnlyTheseCapabilities_CapturesRealDrops(string caps, bool symbolNames)
    {
        KernelTest.RequireRoot(); // root is needed to drop to another user with chosen capabilities
        if (!File.Exists("/usr/bin/setpriv"))
            KernelTest.Unavailable("needs setpriv (util-linux)");
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess(AsNobodyWith(caps), "watch", "--json", "--netns", ns.Inode.ToString(), "--count", "2");
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < 2; i++)
            sender.SendTo(new byte[16], new IPEndPoint(IPAddress.Loopback, 9));

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));

        var lines = monitor.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            var root = JsonDocument.Parse(line).RootElement;
            Assert.Equal("NO_SOCKET", root.GetProperty("reason").GetString());
            Assert.Equal(9, root.GetProperty("dst_port").GetInt32());
            var location = root.GetProperty("location").GetString()!;
            if (symbolNames)
                Assert.Contains("udp", location, StringComparison.OrdinalIgnoreCase);
            else
                Assert.Matches("^0xffff[0-9a-f]{12}$", location); // kallsyms hides addresses without CAP_SYSLOG
        }
    }

    [Fact]
    public void Watch_AsNobodyWithoutCapPerfmon_IsRefusedInOneLine()
    {
        KernelTest.RequireRoot();
        if (!File.Exists("/usr/bin/setpriv"))
            KernelTest.Unavailable("needs setpriv (util-linux)");
        var dll = typeof(PacketMonitor.Cli.Cli).Assembly.Location;
        var (code, stdout, stderr) = Shell.TryRun(AsNobodyWith("+bpf,+net_admin")[0],
            [.. AsNobodyWith("+bpf,+net_admin").Skip(1), "dotnet", dll, "watch"]);

        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        Assert.Contains("CAP_PERFMON", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
