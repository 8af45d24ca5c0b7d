using System.Buffers;
using System.Globalization;

namespace PacketMonitor.Core.Events;

/// <summary>
/// The human-readable form of a drop for <c>packet-monitor watch</c>: three lines per event,
/// each ending in '\n', then an owner line when the packet had a socket and the stack when one
/// was recorded.
/// </summary>
/// <example>
/// <code>
/// [2026-11-27T17:40:01.123456Z] PID: 1234, COMM: curl
///   192.168.1.10:54321 -> 8.8.8.8:443, Proto: 6, Len: 1500
///   Reason: NO_SOCKET (3), Location: __udp4_lib_rcv+0x9b1, Interface: lo (1), Netns: 4026531840, CPU: 0
///   Owner: PID 4242, COMM: nginx, Cgroup: /system.slice/nginx.service, Container: nginx.service, Netns: blue, Socket cookie: 8193
///   Stack:
///     sk_skb_reason_drop+0x90
///     __udp4_lib_rcv+0x4bc
/// </code>
/// The first line's PID and COMM are the CPU context (often a softirq); Owner is the process that
/// held the packet's socket.
/// </example>
/// <remarks>
/// Kernel strings are printed as they are: the decoder already replaced control characters.
/// Formats into a stack buffer, so writing an event allocates nothing.
/// </remarks>
public static class EventTextFormatter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(TextWriter writer, DropEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(e);
        Span<char> stack = stackalloc char[1024];
        if (TryFormat(e, stack, out int written))
        {
            writer.Write(stack[..written]);
            return;
        }
        // Only absurdly long symbol or reason names get here.
        char[] rented = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            while (!TryFormat(e, rented, out written))
            {
                int size = rented.Length * 2;
                ArrayPool<char>.Shared.Return(rented);
                rented = ArrayPool<char>.Shared.Rent(size);
            }
            writer.Write(rented, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>The three lines of <see cref="Write"/> as one string.</summary>
    public static string ToText(DropEvent e)
    {
        using var writer = new StringWriter(Inv);
        Write(writer, e);
        return writer.ToString();
    }

    /// <summary>Formats the three lines into <paramref name="destination"/>; false when it is too small.</summary>
    public static bool TryFormat(DropEvent e, Span<char> destination, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(e);
        charsWritten = 0;
        var d = destination;
        int n;

        if (d.Length < Iso8601.Length + 1)
            return false;
        d[0] = '[';
        Iso8601.TryFormat(e.Timestamp, d[1..]);
        d = d[(Iso8601.Length + 1)..];
        if (!d.TryWrite(Inv, $"] PID: {e.Pid}, COMM: {e.Comm}\n  ", out n))
            return false;
        d = d[n..];

        if (e.SourceAddress is null || e.DestinationAddress is null)
        {
            // No IP header: no protocol either, just what the link layer said.
            if (!d.TryWrite(Inv, $"(no IP header) ethertype 0x{e.EtherType:x4}", out n))
                return false;
        }
        else
        {
            bool written = e.SourcePort is { } sport && e.DestinationPort is { } dport
                ? e.Family == PacketFamily.Ipv6 // brackets keep "addr:port" unambiguous
                    ? d.TryWrite(Inv, $"[{e.SourceAddress}]:{sport} -> [{e.DestinationAddress}]:{dport}, Proto: {e.IpProtocol}", out n)
                    : d.TryWrite(Inv, $"{e.SourceAddress}:{sport} -> {e.DestinationAddress}:{dport}, Proto: {e.IpProtocol}", out n)
                : d.TryWrite(Inv, $"{e.SourceAddress} -> {e.DestinationAddress}, Proto: {e.IpProtocol}", out n);
            if (!written)
                return false;
            if (e.IcmpType is { } type && e.IcmpCode is { } code)
            {
                d = d[n..];
                if (!d.TryWrite(Inv, $" ({e.ProtocolName} type {type} code {code})", out n))
                    return false;
            }
        }
        d = d[n..];

        string ifname = e.Ifname.Length > 0 ? e.Ifname : "-";
        if (!d.TryWrite(Inv, $", Len: {e.Length}\n  Reason: {e.Reason} ({e.ReasonCode}), Location: {e.Location}, Interface: {ifname} ({e.Ifindex}), Netns: {e.Netns}, CPU: {e.Cpu}\n", out n))
            return false;
        d = d[n..];
        if (!TryFormatAttribution(e, ref d))
            return false;

        charsWritten = destination.Length - d.Length;
        return true;
    }

    /// <summary>The owner line (only for drops with a socket) and the stack lines (only when recorded).</summary>
    private static bool TryFormatAttribution(DropEvent e, ref Span<char> d)
    {
        int n;
        if (e.SocketCookie != 0 || e.SocketInode != 0 || e.CgroupId != 0 || e.OwnerPid is not null)
        {
            bool ok = e.OwnerPid is { } pid
                ? d.TryWrite(Inv, $"  Owner: PID {pid}, COMM: {e.OwnerComm}", out n)
                : d.TryWrite(Inv, $"  Owner: unknown", out n);
            if (!ok)
                return false;
            d = d[n..];
            if (e.CgroupId != 0)
            {
                ok = e.Cgroup is { } path
                    ? d.TryWrite(Inv, $", Cgroup: {path}", out n)
                    : d.TryWrite(Inv, $", Cgroup: id {e.CgroupId}", out n);
                if (!ok)
                    return false;
                d = d[n..];
            }
            if (!Append(ref d, ", Container: ", e.Container) || !Append(ref d, ", Netns: ", e.NetnsName))
                return false;
            if (e.SocketCookie != 0)
            {
                if (!d.TryWrite(Inv, $", Socket cookie: {e.SocketCookie}", out n))
                    return false;
                d = d[n..];
            }
            if (!Append(ref d, "\n"))
                return false;
        }
        if (e.Stack is { Count: > 0 } stack)
        {
            if (!Append(ref d, "  Stack:\n"))
                return false;
            foreach (var frame in stack)
            {
                if (!d.TryWrite(Inv, $"    {frame}\n", out n))
                    return false;
                d = d[n..];
            }
        }
        return true;
    }

    /// <summary>Appends label + value when the value is present.</summary>
    private static bool Append(ref Span<char> d, string label, string? value) =>
        value is null || (Append(ref d, label) && Append(ref d, value));

    private static bool Append(ref Span<char> d, string text)
    {
        if (!text.AsSpan().TryCopyTo(d))
            return false;
        d = d[text.Length..];
        return true;
    }
}
