using System.Globalization;
using System.Net;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Cli.Commands;

/// <summary>Parses option values users type; every failure is a <see cref="CliException"/> with one clear line.</summary>
public static class ValueParsers
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>"16M", "16MiB", "4096", "1g": a size in bytes.</summary>
    public static long Size(string option, string text)
    {
        var t = text.Trim();
        long multiplier = 1;
        string number = t;
        string[] suffixes = ["kib", "mib", "gib", "kb", "mb", "gb", "k", "m", "g", "b"];
        foreach (var suffix in suffixes)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                number = t[..^suffix.Length];
                multiplier = char.ToLowerInvariant(suffix[0]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
                break;
            }
        }
        if (!long.TryParse(number, NumberStyles.None, Inv, out var value) || value > long.MaxValue / multiplier)
            throw new CliException($"{option}: '{text}' is not a size (examples: 16M, 256K, 4096)");
        return value * multiplier;
    }

    /// <summary>"10s", "500ms", "5m", "1h", "7d", or plain seconds.</summary>
    public static TimeSpan Duration(string option, string text)
    {
        var t = text.Trim().ToLowerInvariant();
        (string number, double scale) = t switch
        {
            _ when t.EndsWith("ms", StringComparison.Ordinal) => (t[..^2], 0.001),
            _ when t.EndsWith('s') => (t[..^1], 1),
            _ when t.EndsWith('m') => (t[..^1], 60),
            _ when t.EndsWith('h') => (t[..^1], 3600),
            _ when t.EndsWith('d') => (t[..^1], 86400),
            _ => (t, 1),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, Inv, out var value) || value <= 0 || value * scale > TimeSpan.MaxValue.TotalSeconds / 2)
            throw new CliException($"{option}: '{text}' is not a positive duration (examples: 30s, 5m, 1h, 7d, 500ms)");
        return TimeSpan.FromSeconds(value * scale);
    }

    public static ushort Port(string option, string text) =>
        ushort.TryParse(text.Trim(), NumberStyles.None, Inv, out var port) && port > 0
            ? port
            : throw new CliException($"{option}: '{text}' is not a port number (1-65535)");

    public static byte Protocol(string option, string text) =>
        ProtocolNames.TryParse(text, out var protocol)
            ? protocol
            : throw new CliException($"{option}: '{text}' is not a protocol (tcp, udp, icmp, icmpv6 or a number 0-255)");

    /// <summary>An address (a /32 or /128 network) or a CIDR block.</summary>
    public static IPNetwork Host(string option, string text) =>
        HostNetworks.Parse(text)
            ?? throw new CliException($"{option}: '{text}' is not an IP address or CIDR block (examples: 10.0.0.1, 192.168.0.0/16, 2001:db8::/32)");

    public static AttachMode Attach(string option, string text) =>
        AttachModes.TryParse(text, out var mode)
            ? mode
            : throw new CliException($"{option}: '{text}' is not an attach mode (auto, tp_btf, raw_tp, tracepoint)");

    /// <summary>A network namespace: its inode number, a name under /run/netns, or a path such as /proc/PID/ns/net.</summary>
    public static uint Netns(string option, string text, string netnsDir = "/run/netns")
    {
        var t = text.Trim();
        if (uint.TryParse(t, NumberStyles.None, Inv, out var inode) && inode > 0)
            return inode; // 0 is no inode: it would silently match nothing
        string path = t.Contains('/', StringComparison.Ordinal) ? t : Path.Combine(netnsDir, t);
        if (t.Length > 0 && t != "." && t != ".." && InodeOf(path) is uint found)
            return found;
        throw new CliException($"{option}: '{text}' is not a namespace inode, a name in {netnsDir} (see `ip netns list`) or a namespace path");
    }

    private static uint? InodeOf(string path)
    {
        try
        {
            // Follows symlinks such as /proc/PID/ns/net ("net:[4026531840]").
            var target = new FileInfo(path).LinkTarget;
            if (target is not null && target.StartsWith("net:[", StringComparison.Ordinal) && target.EndsWith(']'))
                return uint.Parse(target.AsSpan(5, target.Length - 6), Inv);
            return File.Exists(path) ? PacketMonitor.Kernel.NetworkNamespaces.Inode(path) : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
