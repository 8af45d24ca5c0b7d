using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using PacketMonitor.Core.Tests.Exports;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>`packet-monitor export --pcapng` as users run it: real process, real drops in our own namespace, read back by tshark.</summary>
public sealed class ExportProcessTests : IDisposable
{
    private const int SigInt = 2;
    private const string CommentPattern = @"^reason: NO_SOCKET \(\d+\); location: __udp[46]_lib_rcv\+0x[0-9a-f]+; cpu context: \S.* \(pid \d+, cpu \d+\); netns: pmt-[0-9a-f-]+$"; // the test namespaces have names

    private readonly string _dir = Directory.CreateTempSubdirectory("pm-export-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Dll => typeof(PacketMonitor.Cli.Cli).Assembly.Location;

    [Fact]
    public async Task ExportCount_UdpDropsInNamespace_TsharkShowsAddressesPortsLengthsAndReason()
    {
        KernelTest.RequireRoot();
        Tshark.Require();
        string file = Path.Combine(_dir, "drops.pcapng");
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("export", "--pcapng", file, "--netns", ns.Name, "--count", "3");
        await monitor.WaitAttachedAsync();
        var before = DateTimeOffset.UtcNow;
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        int sourcePort = ((IPEndPoint)sender.LocalEndPoint!).Port;
        for (int i = 0; i < 3; i++)
            sender.SendTo(new byte[32], new IPEndPoint(IPAddress.Loopback, 9)); // nobody listens on port 9: NO_SOCKET

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));
        var after = DateTimeOffset.UtcNow;

        var packets = Tshark.Fields(file, "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "udp.length", "frame.len", "frame.cap_len",
            "frame.interface_name", "frame.time_epoch", "frame.comment");
        Assert.Equal(3, packets.Count);
        foreach (var p in packets)
        {
            string port = sourcePort.ToString(CultureInfo.InvariantCulture);
            // lo keeps its (all-zero) Ethernet header: 14 + 20 (IPv4) + 8 (UDP) + 32 bytes, all of them captured.
            Assert.Equal(["127.0.0.1", "127.0.0.1", port, "9", "40", "74", "74", "lo"], p[..8]);
            var time = DateTimeOffset.FromUnixTimeMilliseconds((long)(decimal.Parse(p[8], CultureInfo.InvariantCulture) * 1000));
            Assert.InRange(time, before.AddSeconds(-1), after.AddSeconds(1));
            Assert.Matches(CommentPattern, p[9]);
        }
        Assert.Contains("packet-monitor: wrote 3 packets to " + file + "; events lost: ring_full 0, queue_full 0", monitor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportUntilSigInt_FileGrowsAsDropsHappenAndIsCompleteAtExit()
    {
        KernelTest.RequireRoot();
        Tshark.Require();
        string file = Path.Combine(_dir, "live.pcapng");
        using var ns = new NetworkNamespace();
        using var monitor = new MonitorProcess("export", "--pcapng", file, "--netns", ns.Name);
        await monitor.WaitAttachedAsync();
        using var sender = ns.UdpSocket(IPAddress.Loopback);

        sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 9));
        sender.SendTo(new byte[8], new IPEndPoint(IPAddress.Loopback, 10));
        // Written as they come: another reader sees both packets while the export still runs.
        Assert.True(await KernelTest.EventuallyAsync(() => Tshark.PacketCount(file) == 2, TimeSpan.FromSeconds(10)),
            $"the running export's file did not show 2 packets; stderr: {monitor.Stderr}");
        Assert.False(monitor.Process.HasExited);

        monitor.Signal(SigInt);

        Assert.Equal(0, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(["9", "10"], Tshark.Fields(file, "udp.dstport").Select(p => p[0]));
        Assert.Contains("wrote 2 packets", monitor.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportToStdout_PipedIntoTshark_ShowsIpv6Drop()
    {
        KernelTest.RequireRoot();
        Tshark.Require();
        using var ns = new NetworkNamespace();
        string errors = Path.Combine(_dir, "tshark.err");
        using var pipeline = new Pipeline(
            $"dotnet '{Dll}' export --pcapng - --netns {ns.Name} --duration 3s "
            + $"| tshark -r - -T fields -E separator=/t -e ipv6.src -e ipv6.dst -e udp.dstport -e frame.len -e frame.comment 2>'{errors}'");
        await pipeline.WaitForStderrAsync("attached to skb:kfree_skb");
        using var sender = ns.UdpSocket(IPAddress.IPv6Loopback);

        sender.SendTo(new byte[16], new IPEndPoint(IPAddress.IPv6Loopback, 7));

        Assert.Equal(0, await pipeline.WaitExitAsync(TimeSpan.FromSeconds(30)));
        var fields = Assert.Single(pipeline.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split('\t');
        // 14 (Ethernet) + 40 (IPv6) + 8 (UDP) + 16 bytes.
        Assert.Equal(["::1", "::1", "7", "78"], fields[..4]);
        Assert.Matches(CommentPattern, fields[4]);
        Assert.Contains("wrote 1 packet to standard output", pipeline.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportToAFullDisk_OneLineAndExitCode1()
    {
        KernelTest.RequireRoot();
        string mount = Path.Combine(_dir, "small");
        Directory.CreateDirectory(mount);
        Shell.Run("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mount);
        try
        {
            string file = Path.Combine(mount, "drops.pcapng");
            using var ns = new NetworkNamespace();
            using var monitor = new MonitorProcess("export", "--pcapng", file, "--netns", ns.Name, "--snap-len", "1024");
            await monitor.WaitAttachedAsync();
            using var sender = ns.UdpSocket(IPAddress.Loopback);
            for (int i = 0; i < 200 && !monitor.Process.HasExited; i++)
            {
                sender.SendTo(new byte[900], new IPEndPoint(IPAddress.Loopback, 9));
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }

            Assert.Equal(1, await monitor.WaitExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal($"packet-monitor: writing {file} failed: no space left on device",
                monitor.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
            Assert.DoesNotContain("   at ", monitor.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Shell.TryRun("umount", mount);
        }
    }

    [Fact]
    public async Task ExportToAReadOnlyFileSystem_FailsBeforeAttachingWithExitCode3()
    {
        KernelTest.RequireRoot();
        string mount = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(mount);
        Shell.Run("mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", mount);
        try
        {
            using var monitor = new MonitorProcess("export", "--pcapng", Path.Combine(mount, "x.pcapng"), "--count", "1");

            Assert.Equal(3, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal($"packet-monitor: --pcapng: cannot write '{mount}/x.pcapng': read-only file system", monitor.Stderr.Trim());
        }
        finally
        {
            Shell.TryRun("umount", mount);
        }
    }

    [Theory]
    [InlineData("/nonexistent-dir/x.pcapng", "packet-monitor: --pcapng: cannot write '/nonexistent-dir/x.pcapng': the directory /nonexistent-dir does not exist")]
    [InlineData("/tmp", "packet-monitor: --pcapng: '/tmp' is a directory: give a file name")]
    public async Task ExportToABadPath_OneLineUsageExitCode(string path, string expected)
    {
        KernelTest.RequireRoot();
        using var monitor = new MonitorProcess("export", "--pcapng", path, "--count", "1");

        Assert.Equal(2, await monitor.WaitExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(expected, monitor.Stderr.Trim());
    }

    [Fact]
    public void ExportToStdoutOnATerminal_Refuses()
    {
        KernelTest.RequireRoot();
        if (!File.Exists("/usr/bin/script"))
            KernelTest.Unavailable("needs script (util-linux) for a terminal");
        // script(1) gives the command a pseudo-terminal as its standard output.
        var (code, stdout, _) = Shell.TryRun("/usr/bin/script", "-qec", $"dotnet '{Dll}' export --pcapng - --count 1", "/dev/null");

        Assert.Equal(2, code);
        // The terminal also gets .NET's keypad-mode escapes around it.
        Assert.Contains("packet-monitor: --pcapng -: standard output is a terminal; redirect it to a file or pipe it (e.g. | wireshark -k -i -)\r\n",
            stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout, StringComparison.Ordinal);
    }

    /// <summary>A shell pipeline (bash -c) with its stdout and stderr captured.</summary>
    private sealed class Pipeline : IDisposable
    {
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly Process _process;

        public Pipeline(string command)
        {
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("-o");
            info.ArgumentList.Add("pipefail");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(command);
            _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start bash");
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public async Task WaitForStderrAsync(string text)
        {
            if (!await KernelTest.EventuallyAsync(() => Stderr.Contains(text, StringComparison.Ordinal) || _process.HasExited, TimeSpan.FromSeconds(30))
                || !Stderr.Contains(text, StringComparison.Ordinal))
                throw new InvalidOperationException($"'{text}' never appeared on stderr: {Stderr}");
        }

        public async Task<int> WaitExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
