using PacketMonitor.Kernel.Attribution;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// A cgroup created for one test directly under the cgroup v2 root (/sys/fs/cgroup, or
/// /sys/fs/cgroup/unified on hybrid hosts); removed on dispose once its processes are gone.
/// </summary>
internal sealed class CgroupV2 : IDisposable
{
    public CgroupV2(string suffix = ".scope")
    {
        Root = CgroupPaths.FindRoot() ?? throw new InvalidOperationException("no cgroup2 hierarchy is mounted");
        Name = $"pmt-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}{suffix}";
        System.IO.Directory.CreateDirectory(Directory);
        Id = PacketMonitor.Kernel.NetworkNamespaces.FileInode(Directory) ?? throw new InvalidOperationException($"cannot stat {Directory}");
    }

    public string Root { get; }
    public string Name { get; }
    public string Directory => Path.Combine(Root, Name);

    /// <summary>The path the monitor reports: relative to the hierarchy's root.</summary>
    public string RelativePath => "/" + Name;

    /// <summary>cgroup v2 id = inode of the directory.</summary>
    public ulong Id { get; }

    public void Dispose()
    {
        // rmdir fails with EBUSY until the killed processes have left.
        for (int i = 0; i < 100; i++)
        {
            try
            {
                System.IO.Directory.Delete(Directory);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20);
            }
        }
    }
}
