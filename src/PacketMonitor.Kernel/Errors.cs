using System.Runtime.InteropServices;

namespace PacketMonitor.Kernel;

/// <summary>
/// A failed libbpf or kernel call: the operation and the errno, e.g.
/// "attach tp_btf/kfree_skb: EPERM (Operation not permitted)". Thrown only at the native boundary.
/// </summary>
public class BpfException : Exception
{
    public BpfException(string operation, int errno, string? hint = null)
        : base(Describe(operation, errno, hint))
    {
        Operation = operation;
        Errno = errno;
        Hint = hint;
    }

    public BpfException() { }
    public BpfException(string message) : base(message) { Operation = message; }
    public BpfException(string message, Exception inner) : base(message, inner) { Operation = message; }

    public string Operation { get; } = "";
    public int Errno { get; }
    public string? Hint { get; }

    /// <summary>Lines of the kernel verifier's log when a program was rejected (shown with --verbose).</summary>
    public IReadOnlyList<string> VerifierLog { get; init; } = [];

    public static string ErrnoName(int errno) => errno switch
    {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        7 => "E2BIG",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        22 => "EINVAL",
        24 => "EMFILE",
        28 => "ENOSPC",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        524 => "ENOTSUPP",
        _ => $"errno {errno}",
    };

    private static string Describe(string operation, int errno, string? hint)
    {
        var text = $"{operation}: {ErrnoName(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";
        return hint is null ? text : $"{text}. {hint}";
    }
}

/// <summary>Something the kernel or the machine lacks; the message says what and how to fix it.</summary>
public sealed class KernelFeatureException : Exception
{
    public KernelFeatureException(string message) : base(message) { }
    public KernelFeatureException() { }
    public KernelFeatureException(string message, Exception inner) : base(message, inner) { }
}
