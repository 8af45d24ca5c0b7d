using System.Runtime.InteropServices;

namespace PacketMonitor.Kernel.Native;

/// <summary>
/// Every native call of packet-monitor: libbpf and a few libc functions.
/// No raw pointer leaves this folder: callers get SafeHandles or managed values.
/// libbpf 1.x returns -errno from int functions and NULL plus errno from pointer functions.
/// </summary>
internal static unsafe partial class Interop
{
    public const string LibBpf = "libbpf.so.1";
    public const string LibC = "libc";

    // ---- libbpf: objects, programs, links ----

    [StructLayout(LayoutKind.Sequential)]
    public struct BpfObjectOpenOpts
    {
        public nuint Size;
        public byte* ObjectName;
    }

    [LibraryImport(LibBpf, SetLastError = true)]
    public static partial nint bpf_object__open_mem(void* buffer, nuint size, BpfObjectOpenOpts* opts);

    [LibraryImport(LibBpf)]
    public static partial int bpf_object__load(BpfObjectHandle obj);

    [LibraryImport(LibBpf)]
    public static partial void bpf_object__close(nint obj);

    [LibraryImport(LibBpf, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint bpf_object__find_program_by_name(BpfObjectHandle obj, string name);

    [LibraryImport(LibBpf, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint bpf_object__find_map_by_name(BpfObjectHandle obj, string name);

    [LibraryImport(LibBpf)]
    public static partial int bpf_program__set_autoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(LibBpf)]
    public static partial int bpf_program__fd(nint prog);

    [LibraryImport(LibBpf, SetLastError = true)]
    public static partial nint bpf_program__attach(nint prog);

    [LibraryImport(LibBpf)]
    public static partial int bpf_link__destroy(nint link);

    // ---- libbpf: maps ----

    [LibraryImport(LibBpf)]
    public static partial int bpf_map__fd(nint map);

    [LibraryImport(LibBpf)]
    public static partial int bpf_map__set_max_entries(nint map, uint maxEntries);

    [LibraryImport(LibBpf)]
    public static partial uint bpf_map__value_size(nint map);

    [LibraryImport(LibBpf)]
    public static partial void* bpf_map__initial_value(nint map, nuint* size);

    [LibraryImport(LibBpf)]
    public static partial int bpf_map_lookup_elem(int fd, void* key, void* value);

    [LibraryImport(LibBpf)]
    public static partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(LibBpf)]
    public static partial int bpf_map_delete_elem(int fd, void* key);

    [LibraryImport(LibBpf)]
    public static partial int bpf_map_get_next_key(int fd, void* key, void* nextKey);

    [LibraryImport(LibBpf)]
    public static partial int bpf_obj_get_info_by_fd(int fd, void* info, uint* infoLength);

    // ---- libbpf: ring buffer ----

    [LibraryImport(LibBpf, SetLastError = true)]
    public static partial nint ring_buffer__new(int mapFd, delegate* unmanaged<void*, void*, nuint, int> sampleCallback, void* context, void* opts);

    [LibraryImport(LibBpf)]
    public static partial int ring_buffer__poll(RingBufferHandle ringBuffer, int timeoutMs);

    [LibraryImport(LibBpf)]
    public static partial int ring_buffer__consume(RingBufferHandle ringBuffer);

    [LibraryImport(LibBpf)]
    public static partial void ring_buffer__free(nint ringBuffer);

    // ---- libbpf: library ----

    [LibraryImport(LibBpf)]
    public static partial nint libbpf_set_print(delegate* unmanaged<int, byte*, nint, int> printFn);

    [LibraryImport(LibBpf)]
    public static partial byte* libbpf_version_string();

    [LibraryImport(LibBpf)]
    public static partial int libbpf_num_possible_cpus();

    // ---- libc ----

    public const int ClockRealtime = 0;
    public const int ClockMonotonic = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(LibC)]
    public static partial int clock_gettime(int clockId, Timespec* time);

    /// <summary>Formats libbpf's printf-style log lines. On x86-64 a va_list argument is passed as a pointer.</summary>
    [LibraryImport(LibC)]
    public static partial int vsnprintf(byte* buffer, nuint size, byte* format, nint args);

    [LibraryImport(LibC)]
    public static partial int close(int fd);

    /// <summary>glibc >= 2.33 exports stat(); on x86-64 st_ino is the u64 at offset 8 of a 144-byte struct.</summary>
    [LibraryImport(LibC, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int stat(string path, byte* buffer);

    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x01;

    [LibraryImport(LibC, SetLastError = true)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(LibC)]
    public static partial int munmap(void* address, nuint length);

    public const short PollIn = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(LibC, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [StructLayout(LayoutKind.Sequential)]
    public struct IfNameIndex
    {
        public uint Index;
        public byte* Name;
    }

    /// <summary>The interfaces of the calling thread's network namespace, ended by {0, NULL}; free with if_freenameindex.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    public static partial IfNameIndex* if_nameindex();

    [LibraryImport(LibC)]
    public static partial void if_freenameindex(IfNameIndex* list);

    public const int StatBufferSize = 256;
    public const int StatInodeOffset = 8;

    // ---- libc: rtnetlink sockets and network namespaces (interface counters) ----

    public const int AfNetlink = 16;
    public const int SockRaw = 3;
    public const int SockCloexec = 0x80000;
    public const int NetlinkRoute = 0;
    public const int SolSocket = 1;
    public const int SoRcvtimeo = 20;
    public const int CloneNewNet = 0x40000000;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timeval
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport(LibC, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(LibC, SetLastError = true)]
    public static partial int setsockopt(NetlinkSocketHandle socket, int level, int name, void* value, uint length);

    [LibraryImport(LibC, SetLastError = true)]
    public static partial nint send(NetlinkSocketHandle socket, void* buffer, nuint length, int flags);

    [LibraryImport(LibC, SetLastError = true)]
    public static partial nint recv(NetlinkSocketHandle socket, void* buffer, nuint length, int flags);

    /// <summary>Moves the calling thread into the namespace of <paramref name="fd"/> (an open /run/netns file).</summary>
    [LibraryImport(LibC, SetLastError = true)]
    public static partial int setns(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int nstype);
}
