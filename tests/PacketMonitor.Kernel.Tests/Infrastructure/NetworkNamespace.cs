using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// A network namespace created for one test (`ip netns add`) with loopback up, deleted on
/// dispose even when the test failed. Code runs inside it on a dedicated thread that
/// enters the namespace with setns(2); sockets created there stay in the namespace.
/// </summary>
internal sealed partial class NetworkNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    public NetworkNamespace()
    {
        Name = $"pmt-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        Shell.Run("ip", "netns", "add", Name);
        try
        {
            Shell.Run("ip", "-n", Name, "link", "set", "lo", "up");
            Inode = NetworkNamespaces.Inode($"/run/netns/{Name}") ?? throw new InvalidOperationException("namespace has no inode");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }

    /// <summary>The inode the kernel program reports as `netns`.</summary>
    public uint Inode { get; }

    /// <summary>Runs <paramref name="action"/> on a thread inside this namespace.</summary>
    public T Run<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{Name}");
                if (setns((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException($"in namespace {Name}: {failure.Message}", failure);
        return result;
    }

    /// <summary>A socket created inside this namespace.</summary>
    public Socket Socket(AddressFamily family, SocketType type, ProtocolType protocol) =>
        Run(() => new Socket(family, type, protocol));

    /// <summary>A UDP socket inside the namespace, bound to an ephemeral port of <paramref name="local"/>.</summary>
    public Socket UdpSocket(IPAddress local)
    {
        var socket = Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(local, 0));
        return socket;
    }

    /// <summary>A counter from /proc/net/snmp as seen inside the namespace, e.g. ("Udp", "RcvbufErrors").</summary>
    public long Snmp(string protocol, string field) => Run(() =>
    {
        var lines = File.ReadAllLines("/proc/thread-self/net/snmp").Where(l => l.StartsWith(protocol + ":", StringComparison.Ordinal)).ToArray();
        var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(values[Array.IndexOf(names, field)], System.Globalization.CultureInfo.InvariantCulture);
    });

    public string Ip(params string[] args) => Shell.Run("ip", ["-n", Name, .. args]);

    public string Exec(params string[] command) => Shell.Run("ip", ["netns", "exec", Name, .. command]);

    public void Dispose() => Shell.TryRun("ip", "netns", "del", Name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);
}

/// <summary>Two namespaces joined by a veth pair: a (10.253.x.1) and b (10.253.x.2), plus IPv6 ULAs.</summary>
internal sealed class VethPair : IDisposable
{
    private static int _next;

    public VethPair()
    {
        int n = Interlocked.Increment(ref _next) % 200 + 20;
        A = new NetworkNamespace();
        B = new NetworkNamespace();
        try
        {
            AName = $"pma{n}";
            BName = $"pmb{n}";
            AddressA = IPAddress.Parse($"10.253.{n}.1");
            AddressB = IPAddress.Parse($"10.253.{n}.2");
            Shell.Run("ip", "link", "add", AName, "netns", A.Name, "type", "veth", "peer", "name", BName, "netns", B.Name);
            A.Ip("addr", "add", $"{AddressA}/24", "dev", AName);
            B.Ip("addr", "add", $"{AddressB}/24", "dev", BName);
            A.Ip("link", "set", AName, "up");
            B.Ip("link", "set", BName, "up");
            // Static neighbours: no ARP round trip before the first packet.
            var macB = B.Ip("-br", "link", "show", BName).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
            A.Ip("neigh", "replace", AddressB.ToString(), "lladdr", macB, "dev", AName, "nud", "permanent");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetworkNamespace A { get; }
    public NetworkNamespace B { get; }
    public string AName { get; } = "";
    public string BName { get; } = "";
    public IPAddress AddressA { get; } = IPAddress.None;
    public IPAddress AddressB { get; } = IPAddress.None;

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
