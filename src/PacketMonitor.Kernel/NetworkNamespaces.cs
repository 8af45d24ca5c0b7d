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

    /// <summary>Where `ip netns add NAME` bind-mounts its namespaces.</summary>
    public const string NamedDirectory = "/run/netns";

    /// <summary>
    /// The named namespaces (bind mounts in <paramref name="directory"/>), sorted by name; a file that is no
    /// namespace (or vanished meanwhile) is left out. Throws IOException or UnauthorizedAccessException when
    /// the folder cannot be listed.
    /// </summary>
    public static List<(string Name, string Path, uint Inode)> Named(string directory = NamedDirectory)
    {
        if (!Directory.Exists(directory))
            return [];
        var files = Directory.GetFiles(directory);
        Array.Sort(files, StringComparer.Ordinal);
        var named = new List<(string, string, uint)>(files.Length);
        foreach (var file in files)
        {
            if (Inode(file) is uint inode)
                named.Add((System.IO.Path.GetFileName(file), file, inode));
        }
        return named;
    }

    /// <summary>
    /// Moves the calling thread (only it) into the namespace that <paramref name="path"/> refers to; false with
    /// the errno when the kernel refuses. Call it on a thread of your own that ends afterwards: a thread in another
    /// namespace must never go back to the pool. Throws IOException when the file is gone.
    /// </summary>
    public static bool TryEnter(string path, out int errno)
    {
        using var handle = File.OpenHandle(path);
        errno = Interop.setns(handle, Interop.CloneNewNet) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return errno == 0;
    }
}
