using System.Runtime.InteropServices;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel.BlindSpots;

/// <summary>
/// Reads every device's counters of one network namespace with an rtnetlink link dump (what
/// <c>ip -s link</c> does). The socket answers for the namespace it was created in, so a socket opened
/// by a thread that entered another namespace reads that namespace.
/// </summary>
internal static unsafe class LinkCounterReader
{
    private const int ReceiveBufferBytes = 64 * 1024; // the kernel sends at most 32 KiB per dump datagram
    private const int MaxDatagrams = 10_000;          // a bound for a kernel that never says NLMSG_DONE
    private static int _sequence;

    /// <summary>An rtnetlink socket in the calling thread's network namespace, with a 2 s receive timeout.</summary>
    /// <exception cref="BpfException">socket() or setsockopt() failed (errno named).</exception>
    public static NetlinkSocketHandle Open()
    {
        int fd = Interop.socket(Interop.AfNetlink, Interop.SockRaw | Interop.SockCloexec, Interop.NetlinkRoute);
        if (fd < 0)
            throw new BpfException("open an rtnetlink socket", Marshal.GetLastPInvokeError());
        var socket = new NetlinkSocketHandle(fd);
        var timeout = new Interop.Timeval { Seconds = 2 };
        if (Interop.setsockopt(socket, Interop.SolSocket, Interop.SoRcvtimeo, &timeout, (uint)sizeof(Interop.Timeval)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            socket.Dispose();
            throw new BpfException("set the rtnetlink receive timeout", errno);
        }
        return socket;
    }

    /// <summary>Every link of the socket's namespace with its counters.</summary>
    /// <exception cref="BpfException">send() or recv() failed, or the kernel took more than 2 s to answer.</exception>
    /// <exception cref="FormatException">The reply did not parse (the message says where).</exception>
    public static List<LinkStats> Dump(NetlinkSocketHandle socket)
    {
        uint sequence = (uint)Interlocked.Increment(ref _sequence);
        byte[] request = LinkDump.Request(sequence);
        fixed (byte* r = request)
        {
            if (Interop.send(socket, r, (nuint)request.Length, 0) != request.Length)
                throw new BpfException("send the rtnetlink link dump request", Marshal.GetLastPInvokeError());
        }
        var links = new List<LinkStats>();
        byte[] buffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferBytes);
        for (int i = 0; i < MaxDatagrams; i++)
        {
            nint received;
            fixed (byte* b = buffer)
                received = Interop.recv(socket, b, (nuint)buffer.Length, 0);
            if (received < 0)
                throw new BpfException("receive the rtnetlink link dump", Marshal.GetLastPInvokeError());
            if (LinkDump.Parse(buffer.AsSpan(0, (int)received), sequence, links) == LinkDumpStatus.Done)
                return links;
        }
        throw new FormatException($"netlink: the link dump did not end after {MaxDatagrams} datagrams");
    }
}
