using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>Network namespace identities: the inode numbers the kernel program reports.</summary>
public static unsafe class NetworkNamespaces
{
    /// <summary>Inode of a file (a bind-mounted namespace in /run/netns, or /proc/PID/ns/net), or null.</summary>
    public static uint? Inode(string path) => FileInode(path) is ulong inode ? (uint)inode : null;

    /// <summary>The full 64-bit inode number of a file (stat follows links), or null when it cannot be stat-ed.</summary>
    public static ulong? FileInode(string path)
    {
        byte* buffer = stackalloc byte[Interop.StatBufferSize];
        if (Interop.stat(path, buffer) != 0)
            return null;
        return *(ulong*)(buffer + Interop.StatInodeOffset);
    }

    /// <summary>The namespace of this process.</summary>
    public static uint? Current() => Inode("/proc/self/ns/net");
}
