using PacketMonitor.Core.Events;
using System.Globalization;
using PacketMonitor.Core.Attribution;

namespace PacketMonitor.Kernel.Attribution;

/// <summary>
/// Network namespace inode → a name a person can use: the name under /run/netns (`ip netns add NAME`),
/// else <c>pid:N</c> for the lowest pid whose /proc/N/ns/net is that namespace (`nsenter -t N -n`).
/// </summary>
internal static class NetnsNames
{
    public static Dictionary<uint, string> Scan(string netnsDir = "/run/netns", string procRoot = "/proc")
    {
        var names = new Dictionary<uint, string>();
        try
        {
            foreach (var (name, _, inode) in NetworkNamespaces.Named(netnsDir))
                names.TryAdd(inode, DisplayText.Sanitize(name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }

        foreach (var (pid, dir) in SocketOwners.ProcessDirectories(procRoot))
        {
            try
            {
                if (new FileInfo(Path.Combine(dir, "ns", "net")).LinkTarget is { } target
                    && ProcLinks.TryParseInode(target, "net", out ulong inode) && inode <= uint.MaxValue)
                    names.TryAdd((uint)inode, string.Create(CultureInfo.InvariantCulture, $"pid:{pid}"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return names;
    }
}
