using PacketMonitor.Core.Events;
using PacketMonitor.Core.Attribution;

namespace PacketMonitor.Kernel.Attribution;

/// <summary>A cgroup v2 directory: its path below the hierarchy's root and the container or unit it shows.</summary>
public sealed record CgroupInfo(string Path, string? Container);

/// <summary>
/// cgroup v2 id → path. On cgroup v2 the id the kernel reports (kernfs node id) is the inode number of the
/// cgroup's directory, so one walk of the hierarchy, stat-ing each directory, gives the whole table.
/// </summary>
public static class CgroupPaths
{
    public const int MaxCgroups = 1 << 18;

    /// <summary>The cgroup2 mount point (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts); null without one.</summary>
    public static string? FindRoot(string mounts = "/proc/self/mounts")
    {
        try
        {
            foreach (var line in File.ReadLines(mounts))
            {
                var fields = line.Split(' ');
                if (fields.Length >= 3 && fields[2] == "cgroup2")
                    return fields[1].Replace("\\040", " ", StringComparison.Ordinal);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    public static Dictionary<ulong, CgroupInfo> Scan(string root)
    {
        var table = new Dictionary<ulong, CgroupInfo>();
        var pending = new Stack<(string Dir, string Path)>();
        pending.Push((root, "/"));
        while (pending.Count > 0 && table.Count < MaxCgroups)
        {
            var (dir, path) = pending.Pop();
            if (NetworkNamespaces.FileInode(dir) is not ulong id)
                continue; // removed meanwhile
            table.TryAdd(id, new CgroupInfo(path, ContainerNames.FromCgroupPath(path)));
            try
            {
                foreach (var child in Directory.EnumerateDirectories(dir))
                {
                    string name = DisplayText.Sanitize(System.IO.Path.GetFileName(child));
                    pending.Push((child, path == "/" ? "/" + name : $"{path}/{name}"));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return table;
    }
}
