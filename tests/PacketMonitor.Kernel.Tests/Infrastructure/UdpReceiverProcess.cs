using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// A separate process (perl, from Debian's essential perl-base) that joins a cgroup, enters a network
/// namespace, binds a UDP socket on 127.0.0.1 with the smallest receive buffer, prints its port and
/// never reads: every datagram beyond the first few is a SOCKET_RCVBUFF drop owned by this process.
/// </summary>
internal sealed partial class UdpReceiverProcess : IDisposable
{
    private const string Script =
        "use IO::Socket::INET; use Socket; " +
        "my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 0) or die $!; " +
        "$s->setsockopt(SOL_SOCKET, SO_RCVBUF, 1) or die $!; " +
        "$| = 1; print $s->sockport, qq(\\n); sleep 600;";

    private readonly Process _process;

    public UdpReceiverProcess(NetworkNamespace ns, CgroupV2 cgroup)
    {
        // sh writes its own pid into the cgroup, then execs `ip netns exec`, which execs perl: one pid throughout.
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"echo $$ > '{cgroup.Directory}/cgroup.procs' && exec ip netns exec '{ns.Name}' perl -e \"$0\"");
        info.ArgumentList.Add(Script);
        _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start the receiver");
        var line = _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        if (line is null || !ushort.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
        {
            Dispose();
            throw new InvalidOperationException($"the receiver did not start: {_process.StandardError.ReadToEnd()}");
        }
        Port = port;
        var ss = ns.Exec("ss", "-H", "-uane", $"sport = :{port}");
        var match = SocketLine().Match(ss);
        if (!match.Success)
            throw new InvalidOperationException($"ss does not show the receiver's socket: {ss}");
        SocketInode = uint.Parse(match.Groups["ino"].Value, CultureInfo.InvariantCulture);
        SocketCookie = ulong.Parse(match.Groups["cookie"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public int Pid => _process.Id;
    public ushort Port { get; }

    /// <summary>Ground truth from `ss -e` (which also makes the kernel generate the cookie).</summary>
    public uint SocketInode { get; }
    public ulong SocketCookie { get; }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    [GeneratedRegex(@"ino:(?<ino>\d+) sk:(?<cookie>[0-9a-f]+)")]
    private static partial Regex SocketLine();
}
