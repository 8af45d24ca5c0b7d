using System.Runtime.InteropServices;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>Facts about the libbpf this process loaded.</summary>
public static unsafe class LibbpfInfo
{
    /// <summary>e.g. "v1.1"; throws DllNotFoundException when libbpf.so.1 is absent.</summary>
    public static string Version() => Marshal.PtrToStringUTF8((nint)Interop.libbpf_version_string()) ?? "unknown";
}
