using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Attribution;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Attribution;

/// <summary>The /proc, cgroupfs and /run/netns readers, on fixture trees and on the live system.</summary>
public sealed class SystemTablesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pm-attr-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A fake /proc/PID with a comm and fd links (dangling symlinks read just like the kernel's).</summary>
    private void Process(int pid, string comm, params string[] fdTargets)
    {
        var dir = Path.Combine(_root, "proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Combine(dir, "fd"));
        File.WriteAllText(Path.Combine(dir, "comm"), comm + "\n");
        for (int fd = 0; fd < fdTargets.Length; fd++)
            File.CreateSymbolicLink(Path.Combine(dir, "fd", fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), fdTargets[fd]);
    }

    [Fact]
    public void SocketOwners_Scan_MapsSocketInodesToTheLowestPidAndItsComm()
    {
        Process(300, "worker", "socket:[1001]", "/dev/null");
        Process(20, "nginx", "socket:[1001]", "socket:[1002]", "pipe:[77]", "anon_inode:[eventfd]");
        Process(45, "evil\u001b[31m", "socket:[1003]");
        Directory.CreateDirectory(Path.Combine(_root, "proc", "self"));   // not a pid
        Directory.CreateDirectory(Path.Combine(_root, "proc", "99"));     // exited: no fd directory

        var owners = SocketOwners.Scan(Path.Combine(_root, "proc"));

        Assert.Equal(3, owners.Count);
        Assert.Equal(new SocketOwner(20, "nginx"), owners[1001]); // shared with pid 300: the lower pid wins
        Assert.Equal(new SocketOwner(20, "nginx"), owners[1002]);
        Assert.Equal(new SocketOwner(45, "evil?[31m"), owners[1003]);
    }

    [Fact]
    public void NetnsNames_Scan_PrefersRunNetnsNamesThenTheLowestPid()
    {
        var netns = Directory.CreateDirectory(Path.Combine(_root, "netns")).FullName;
        var blue = Path.Combine(netns, "blue");
        File.WriteAllText(blue, "");
        uint blueInode = (uint)NetworkNamespaces.FileInode(blue)!.Value;
        Process(1, "init");
        Process(500, "app");
        Process(700, "other");
        Directory.CreateDirectory(Path.Combine(_root, "proc", "1", "ns"));
        Directory.CreateDirectory(Path.Combine(_root, "proc", "500", "ns"));
        Directory.CreateDirectory(Path.Combine(_root, "proc", "700", "ns"));
        File.CreateSymbolicLink(Path.Combine(_root, "proc", "1", "ns", "net"), "net:[4026531840]");
        File.CreateSymbolicLink(Path.Combine(_root, "proc", "500", "ns", "net"), $"net:[{blueInode}]");
        File.CreateSymbolicLink(Path.Combine(_root, "proc", "700", "ns", "net"), "net:[4026532999]");

        var names = NetnsNames.Scan(netns, Path.Combine(_root, "proc"));

        Assert.Equal("blue", names[blueInode]);
        Assert.Equal("pid:1", names[4026531840]);
        Assert.Equal("pid:700", names[4026532999]);
    }

    [Fact]
    public void NetnsNames_Scan_LiveSystem_NamesATestNamespaceAndThisProcesssOwn()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();

        var names = NetnsNames.Scan();

        Assert.Equal(ns.Name, names[ns.Inode]);
        Assert.True(names.ContainsKey(NetworkNamespaces.Current()!.Value));
    }

    [Fact]
    public void CgroupPaths_Scan_GivesEveryDirectoryByInodeWithItsContainer()
    {
        var root = Path.Combine(_root, "cgroup");
        string docker = Path.Combine(root, "system.slice", "docker-" + new string('a', 64) + ".scope");
        string nginx = Path.Combine(root, "system.slice", "nginx.service");
        Directory.CreateDirectory(docker);
        Directory.CreateDirectory(nginx);

        var table = CgroupPaths.Scan(root);

        Assert.Equal(4, table.Count);
        Assert.Equal(new CgroupInfo("/", null), table[NetworkNamespaces.FileInode(root)!.Value]);
        Assert.Equal(new CgroupInfo("/system.slice", null), table[NetworkNamespaces.FileInode(Path.Combine(root, "system.slice"))!.Value]);
        Assert.Equal(new CgroupInfo("/system.slice/docker-" + new string('a', 64) + ".scope", "docker:aaaaaaaaaaaa"),
            table[NetworkNamespaces.FileInode(docker)!.Value]);
        Assert.Equal(new CgroupInfo("/system.slice/nginx.service", "nginx.service"), table[NetworkNamespaces.FileInode(nginx)!.Value]);
    }

    [Fact]
    public void CgroupPaths_FindRoot_ReadsTheCgroup2MountFromMounts()
    {
        var mounts = Path.Combine(_root, "mounts");
        File.WriteAllLines(mounts,
        [
            "tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0",
            "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0",
            "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0",
        ]);

        Assert.Equal("/sys/fs/cgroup/unified", CgroupPaths.FindRoot(mounts));
        File.WriteAllText(mounts, "proc /proc proc rw 0 0\n");
        Assert.Null(CgroupPaths.FindRoot(mounts));
    }

    [Fact]
    public void CgroupPaths_LiveSystem_RootIdIsTheKernelsRootCgroup()
    {
        var root = CgroupPaths.FindRoot();
        if (root is null)
            KernelTest.Unavailable("no cgroup2 hierarchy mounted");

        var table = CgroupPaths.Scan(root!);

        // The kernel numbers the root cgroup 1 (kernfs root node id).
        Assert.Equal("/", table[1].Path);
    }

    private sealed class Symbols(Dictionary<ulong, string> names) : ISymbolResolver
    {
        public string Resolve(ulong address) => names.TryGetValue(address, out var n) ? n : $"0x{address:x16}";
    }

    [Fact]
    public void StackTraces_Symbolize_DropsTheTracingFramesAndStopsAtTheZeroPadding()
    {
        var symbols = new Symbols(new()
        {
            [1] = "bpf_prog_6deef7357e7b4530_handle_tp_btf+0x2c7 [bpf]",
            [2] = "bpf_trace_run4+0x6f",
            [3] = "sk_skb_reason_drop+0x90",
            [4] = "__udp4_lib_rcv+0x4bc",
        });

        var stack = StackTraces.Symbolize([1, 2, 3, 4, 0, 0], symbols);
        var programUnknown = StackTraces.Symbolize([0xffffffffc0001234, 2, 3, 4], symbols); // program loaded after kallsyms was read

        Assert.Equal(["sk_skb_reason_drop+0x90", "__udp4_lib_rcv+0x4bc"], stack);
        Assert.Equal(stack, programUnknown);
        Assert.Equal(["bpf_trace_run4+0x6f"], StackTraces.Symbolize([2], symbols)); // never empties a stack
        Assert.Empty(StackTraces.Symbolize([0, 3], symbols));
    }
}
