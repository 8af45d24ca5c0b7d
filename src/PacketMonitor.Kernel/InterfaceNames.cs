using System.Runtime.InteropServices;
using System.Text;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>
/// Interface names by (ifindex, network namespace inode), as the kernel knows them in that namespace:
/// this process's namespace directly, any other by entering it on a short-lived thread (setns needs
/// CAP_SYS_ADMIN) through a handle found in <c>/run/netns</c> (named by <c>ip netns</c>) or <c>/proc/PID/ns/net</c>.
/// Each namespace's list is read once and again only for an unknown index, at most once a second.
/// Thread-safe.
/// </summary>
public sealed class InterfaceNames
{
    private static readonly TimeSpan RereadAfter = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<uint, (DateTime Read, IReadOnlyDictionary<uint, string> Names)> _byNamespace = [];
    private readonly uint? _own = NetworkNamespaces.Current();

    /// <summary>The interface's name, or null (namespace gone or out of reach, index unknown).</summary>
    public string? Resolve(uint ifindex, uint netns)
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            if (_byNamespace.TryGetValue(netns, out var known)
                && (known.Names.TryGetValue(ifindex, out _) || now - known.Read < RereadAfter))
                return known.Names.GetValueOrDefault(ifindex);
            var names = netns == _own ? List() : ListIn(netns) ?? new Dictionary<uint, string>();
            _byNamespace[netns] = (now, names);
            return names.GetValueOrDefault(ifindex);
        }
    }

    /// <summary>The interfaces of the namespace with inode <paramref name="netns"/>, or null when it cannot be entered.</summary>
    public static IReadOnlyDictionary<uint, string>? ListIn(uint netns)
    {
        var path = NamespacePath(netns);
        if (path is null)
            return null;
        IReadOnlyDictionary<uint, string>? result = null;
        // setns moves only the calling thread: a thread of our own that ends right after.
        var thread = new Thread(() =>
        {
            try
            {
                if (NetworkNamespaces.TryEnter(path, out _) && NetworkNamespaces.Inode("/proc/thread-self/ns/net") == netns)
                    result = List();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to enter: no names.
            }
        })
        { IsBackground = true, Name = "netns interfaces" };
        thread.Start();
        thread.Join();
        return result;
    }

    /// <summary>A file that refers to the namespace: a bind mount in /run/netns, else some process's /proc/PID/ns/net.</summary>
    private static string? NamespacePath(uint netns)
    {
        try
        {
            foreach (var (_, file, inode) in NetworkNamespaces.Named())
            {
                if (inode == netns)
                    return file;
            }
            foreach (var process in Directory.EnumerateDirectories("/proc"))
            {
                var name = Path.GetFileName(process.AsSpan());
                if (name.Length == 0 || !char.IsAsciiDigit(name[0]))
                    continue;
                var file = process + "/ns/net";
                if (NetworkNamespaces.Inode(file) == netns)
                    return file;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A directory vanished while listing: treat as not found.
        }
        return null;
    }

    /// <summary>The interfaces of the calling thread's namespace.</summary>
    private static unsafe Dictionary<uint, string> List()
    {
        var names = new Dictionary<uint, string>();
        var list = Interop.if_nameindex();
        if (list is null)
            return names;
        try
        {
            for (var entry = list; entry->Index != 0 && entry->Name is not null; entry++)
            {
                var name = Marshal.PtrToStringUTF8((nint)entry->Name);
                if (name is not null && Encoding.UTF8.GetByteCount(name) <= 15)
                    names[entry->Index] = name;
            }
        }
        finally
        {
            Interop.if_freenameindex(list);
        }
        return names;
    }
}
