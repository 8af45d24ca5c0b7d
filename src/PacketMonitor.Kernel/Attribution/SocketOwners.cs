using PacketMonitor.Core.Events;
using PacketMonitor.Core.Attribution;

namespace PacketMonitor.Kernel.Attribution;

/// <summary>The process that holds a socket open: its tgid and command name.</summary>
public sealed record SocketOwner(uint Pid, string Comm);

/// <summary>
/// Socket inode → owning process, from the links in <c>/proc/PID/fd</c> (<c>socket:[INODE]</c>).
/// A socket shared by several processes (fork, fd passing) is given to the lowest pid, usually the parent.
/// </summary>
internal static class SocketOwners
{
    /// <summary>A scan stops adding sockets beyond this many (memory bound on very large hosts).</summary>
    public const int MaxSockets = 1 << 20;

    public static Dictionary<uint, SocketOwner> Scan(string procRoot = "/proc")
    {
        var owners = new Dictionary<uint, SocketOwner>();
        foreach (var (pid, dir) in ProcessDirectories(procRoot))
        {
            SocketOwner? owner = null;
            try
            {
                foreach (var fd in new DirectoryInfo(Path.Combine(dir, "fd")).EnumerateFileSystemInfos())
                {
                    if (fd.LinkTarget is not { } target || !ProcLinks.TryParseInode(target, "socket", out ulong inode) || inode > uint.MaxValue)
                        continue;
                    owner ??= new SocketOwner(pid, Comm(dir));
                    if (owners.Count >= MaxSockets)
                        return owners;
                    owners.TryAdd((uint)inode, owner);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process exited during the scan, or hides its fds: skip it.
            }
        }
        return owners;
    }

    /// <summary>/proc/N directories in ascending pid order (readdir of /proc gives them so).</summary>
    public static IEnumerable<(uint Pid, string Dir)> ProcessDirectories(string procRoot)
    {
        var found = new List<(uint, string)>();
        foreach (var dir in Directory.EnumerateDirectories(procRoot))
        {
            if (uint.TryParse(Path.GetFileName(dir.AsSpan()), System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out uint pid))
                found.Add((pid, dir));
        }
        found.Sort();
        return found;
    }

    private static string Comm(string processDir)
    {
        try
        {
            return DisplayText.Sanitize(File.ReadAllText(Path.Combine(processDir, "comm")).TrimEnd('\n'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
