namespace PacketMonitor.Kernel.Attribution;

/// <summary>What the decoder asks to turn the kernel's ids into names; every method is cheap on a hit.</summary>
internal interface IEventAttribution
{
    /// <summary>The process holding the socket with this inode open, or null.</summary>
    SocketOwner? Owner(uint socketInode);

    /// <summary>Path and container of a cgroup v2 id, or null.</summary>
    CgroupInfo? Cgroup(ulong cgroupId);

    /// <summary>Name of a network namespace inode, or null.</summary>
    string? NetnsName(uint netns);

    /// <summary>The symbolized kernel stack with this id, or null.</summary>
    IReadOnlyList<string>? Stack(int stackId);
}

/// <summary>
/// The live system's answers: socket owners from /proc/*/fd, cgroup paths from the cgroup v2 tree,
/// namespace names from /run/netns and /proc/*/ns/net, stacks from the program's stack map.
/// Each table reloads on a miss (rate-limited) and when old; see <see cref="RefreshPolicy"/>.
/// Used by one reader thread; the tables load on the thread pool.
/// </summary>
internal sealed class EventAttribution : IEventAttribution, IDisposable
{
    private readonly RefreshingTable<uint, SocketOwner> _owners;
    private readonly RefreshingTable<ulong, CgroupInfo>? _cgroups;
    private readonly RefreshingTable<uint, string> _netns;
    private readonly StackTraces? _stacks;

    public EventAttribution(StackTraces? stacks, RefreshPolicy? policy = null, TimeProvider? time = null,
        string procRoot = "/proc", string? cgroupRoot = null, string netnsDir = "/run/netns")
    {
        policy ??= new RefreshPolicy();
        time ??= TimeProvider.System;
        _stacks = stacks;
        _owners = new RefreshingTable<uint, SocketOwner>(() => SocketOwners.Scan(procRoot), policy, time);
        cgroupRoot ??= CgroupPaths.FindRoot();
        if (cgroupRoot is not null)
            _cgroups = new RefreshingTable<ulong, CgroupInfo>(() => CgroupPaths.Scan(cgroupRoot), policy, time);
        _netns = new RefreshingTable<uint, string>(() => NetnsNames.Scan(netnsDir, procRoot), policy, time);
        // Load while the program attaches: the first drops then find their names without waiting.
        _owners.Preload();
        _cgroups?.Preload();
        _netns.Preload();
    }

    public SocketOwner? Owner(uint socketInode) =>
        socketInode != 0 && _owners.TryGet(socketInode, out var owner) ? owner : null;

    public CgroupInfo? Cgroup(ulong cgroupId) =>
        cgroupId != 0 && _cgroups is not null && _cgroups.TryGet(cgroupId, out var info) ? info : null;

    public string? NetnsName(uint netns) =>
        netns != 0 && _netns.TryGet(netns, out var name) ? name : null;

    public IReadOnlyList<string>? Stack(int stackId) => stackId >= 0 ? _stacks?.Get(stackId) : null;

    public void Dispose()
    {
        _owners.Dispose();
        _cgroups?.Dispose();
        _netns.Dispose();
    }
}
