using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;

namespace PacketMonitor.Core.Events;

/// <summary>
/// The JSON form of a drop (<c>packet-monitor watch --json</c>, exports): one flat object, snake_case
/// fields in a fixed order, written with <see cref="Utf8JsonWriter"/> (no reflection, no per-field strings).
/// </summary>
/// <remarks>
/// Fields: timestamp, reason, reason_code, location, family, protocol, ip_protocol, src_addr, dst_addr,
/// src_port, dst_port, icmp_type, icmp_code, length, skb_len, ifindex, ifname, netns, cpu, pid, tid, comm,
/// then the attribution: context_pid, context_comm (the CPU context again, named as such: pid and comm
/// stay for compatibility), owner_pid, owner_comm, socket_cookie, cgroup_id, cgroup, container,
/// netns_name; and stack (a list of function+0xoffset, innermost first) only on events that have one.
/// Absent addresses, ports, ICMP and attribution fields are null, never omitted, so every line has the
/// same shape (but for stack, which appears only when stacks are on).
/// Kernel strings are escaped by the writer's encoder. <see cref="LineOptions"/> keeps text readable
/// (<c>__udp4_lib_rcv+0x9b1</c>, not <c>\u002B</c>): JSON lines go to terminals and log pipelines, not
/// into HTML, and the decoder has already replaced control and bidi/format characters in kernel strings.
/// Lone surrogates become U+FFFD (no throw).
/// </remarks>
public static class EventJsonWriter
{
    /// <summary>Writer options for JSON lines: relaxed escaping (no \u002B for '+'), no validation cost.</summary>
    public static readonly JsonWriterOptions LineOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText ReasonCode = JsonEncodedText.Encode("reason_code");
    private static readonly JsonEncodedText Location = JsonEncodedText.Encode("location");
    private static readonly JsonEncodedText Family = JsonEncodedText.Encode("family");
    private static readonly JsonEncodedText Protocol = JsonEncodedText.Encode("protocol");
    private static readonly JsonEncodedText IpProtocol = JsonEncodedText.Encode("ip_protocol");
    private static readonly JsonEncodedText SrcAddr = JsonEncodedText.Encode("src_addr");
    private static readonly JsonEncodedText DstAddr = JsonEncodedText.Encode("dst_addr");
    private static readonly JsonEncodedText SrcPort = JsonEncodedText.Encode("src_port");
    private static readonly JsonEncodedText DstPort = JsonEncodedText.Encode("dst_port");
    private static readonly JsonEncodedText IcmpType = JsonEncodedText.Encode("icmp_type");
    private static readonly JsonEncodedText IcmpCode = JsonEncodedText.Encode("icmp_code");
    private static readonly JsonEncodedText Length = JsonEncodedText.Encode("length");
    private static readonly JsonEncodedText SkbLen = JsonEncodedText.Encode("skb_len");
    private static readonly JsonEncodedText Ifindex = JsonEncodedText.Encode("ifindex");
    private static readonly JsonEncodedText Ifname = JsonEncodedText.Encode("ifname");
    private static readonly JsonEncodedText Netns = JsonEncodedText.Encode("netns");
    private static readonly JsonEncodedText Cpu = JsonEncodedText.Encode("cpu");
    private static readonly JsonEncodedText Pid = JsonEncodedText.Encode("pid");
    private static readonly JsonEncodedText Tid = JsonEncodedText.Encode("tid");
    private static readonly JsonEncodedText Comm = JsonEncodedText.Encode("comm");
    private static readonly JsonEncodedText ContextPid = JsonEncodedText.Encode("context_pid");
    private static readonly JsonEncodedText ContextComm = JsonEncodedText.Encode("context_comm");
    private static readonly JsonEncodedText OwnerPid = JsonEncodedText.Encode("owner_pid");
    private static readonly JsonEncodedText OwnerComm = JsonEncodedText.Encode("owner_comm");
    private static readonly JsonEncodedText SocketCookie = JsonEncodedText.Encode("socket_cookie");
    private static readonly JsonEncodedText CgroupId = JsonEncodedText.Encode("cgroup_id");
    private static readonly JsonEncodedText Cgroup = JsonEncodedText.Encode("cgroup");
    private static readonly JsonEncodedText Container = JsonEncodedText.Encode("container");
    private static readonly JsonEncodedText NetnsName = JsonEncodedText.Encode("netns_name");
    private static readonly JsonEncodedText Stack = JsonEncodedText.Encode("stack");
    private static readonly JsonEncodedText Ipv4 = JsonEncodedText.Encode("ipv4");
    private static readonly JsonEncodedText Ipv6 = JsonEncodedText.Encode("ipv6");
    private static readonly JsonEncodedText Other = JsonEncodedText.Encode("other");

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// Writes the event as one JSON object. To put several events on one writer, call
    /// <see cref="Utf8JsonWriter.Reset()"/> between them (it refuses a second top-level value).
    /// </summary>
    public static void Write(Utf8JsonWriter w, DropEvent e)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(e);

        // Fixed shape "2026-11-27T17:40:01.123456Z"; WriteString(DateTimeOffset) would trim digits and print +00:00.
        Span<byte> utf8 = stackalloc byte[128]; // timestamp, then the longest IPv6 text (65)
        Iso8601.TryFormatUtf8(e.Timestamp, utf8);

        w.WriteStartObject();
        w.WriteString(Timestamp, utf8[..Iso8601.Length]);
        w.WriteString(Reason, e.Reason);
        w.WriteNumber(ReasonCode, e.ReasonCode);
        w.WriteString(Location, e.Location);
        w.WriteString(Family, e.Family switch { PacketFamily.Ipv4 => Ipv4, PacketFamily.Ipv6 => Ipv6, _ => Other });
        w.WriteString(Protocol, e.ProtocolName);
        w.WriteNumber(IpProtocol, e.IpProtocol);
        WriteAddress(w, SrcAddr, e.SourceAddress, utf8);
        WriteAddress(w, DstAddr, e.DestinationAddress, utf8);
        WriteNumberOrNull(w, SrcPort, e.SourcePort);
        WriteNumberOrNull(w, DstPort, e.DestinationPort);
        WriteNumberOrNull(w, IcmpType, e.IcmpType);
        WriteNumberOrNull(w, IcmpCode, e.IcmpCode);
        w.WriteNumber(Length, e.Length);
        w.WriteNumber(SkbLen, e.SkbLength);
        w.WriteNumber(Ifindex, e.Ifindex);
        w.WriteString(Ifname, e.Ifname);
        w.WriteNumber(Netns, e.Netns);
        w.WriteNumber(Cpu, e.Cpu);
        w.WriteNumber(Pid, e.Pid);
        w.WriteNumber(Tid, e.Tid);
        w.WriteString(Comm, e.Comm);
        WriteAttribution(w, e);
        w.WriteEndObject();
    }

    /// <summary>The event as one line of JSON, without the trailing newline.</summary>
    public static string ToJsonLine(DropEvent e)
    {
        // One buffer and writer per thread: callers may log at high rates.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, LineOptions);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
        {
            Write(writer, e);
            writer.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch
        {
            // A half-written object must not leak into the next call.
            writer.Reset();
            throw;
        }
    }

    /// <summary>Who owned the packet (socket owner, cgroup, namespace name), beside who ran on the CPU.</summary>
    private static void WriteAttribution(Utf8JsonWriter w, DropEvent e)
    {
        w.WriteNumber(ContextPid, e.Pid);
        w.WriteString(ContextComm, e.Comm);
        WriteNumberOrNull(w, OwnerPid, e.OwnerPid);
        WriteStringOrNull(w, OwnerComm, e.OwnerComm);
        if (e.SocketCookie != 0)
            w.WriteNumber(SocketCookie, e.SocketCookie);
        else
            w.WriteNull(SocketCookie);
        if (e.CgroupId != 0)
            w.WriteNumber(CgroupId, e.CgroupId);
        else
            w.WriteNull(CgroupId);
        WriteStringOrNull(w, Cgroup, e.Cgroup);
        WriteStringOrNull(w, Container, e.Container);
        WriteStringOrNull(w, NetnsName, e.NetnsName);
        if (e.Stack is { } stack)
        {
            w.WriteStartArray(Stack);
            foreach (var frame in stack)
                w.WriteStringValue(frame);
            w.WriteEndArray();
        }
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is not null)
            w.WriteString(name, value);
        else
            w.WriteNull(name);
    }

    private static void WriteAddress(Utf8JsonWriter w, JsonEncodedText name, IPAddress? address, Span<byte> scratch)
    {
        if (address is not null && address.TryFormat(scratch, out int n))
            w.WriteString(name, scratch[..n]);
        else
            w.WriteNull(name);
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, JsonEncodedText name, uint? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }
}
