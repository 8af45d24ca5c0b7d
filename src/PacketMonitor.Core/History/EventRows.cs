using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.History;

/// <summary>A <see cref="DropEvent"/> as a row of the <c>events</c> table, every field of it, and back.</summary>
internal static class EventRows
{
    /// <summary>Columns in the order of <see cref="InsertSql"/> and <see cref="SelectColumns"/> (after the id).</summary>
    private static readonly string[] Columns =
    [
        "time_ns", "monotonic_ns", "reason", "reason_code", "location_address", "location", "family", "ether_type",
        "ip_protocol", "src_addr", "dst_addr", "src_port", "dst_port", "icmp_type", "icmp_code", "length", "skb_len",
        "ifindex", "ifname", "netns", "cpu", "pid", "tid", "comm", "flags", "headers", "l3_offset", "socket_cookie",
        "owner_pid", "owner_comm", "cgroup_id", "cgroup", "container", "netns_name", "stack",
    ];

    public static readonly string InsertSql =
        $"INSERT INTO events ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select((_, i) => "$p" + i))})";

    public static readonly string SelectColumns = "id, " + string.Join(", ", Columns);

    private const long TicksPerNs = 100;

    /// <summary>Unix time in nanoseconds (exact: a DateTimeOffset tick is 100 ns).</summary>
    public static long ToUnixNs(DateTimeOffset time) => (time.UtcTicks - DateTime.UnixEpoch.Ticks) * TicksPerNs;

    public static DateTimeOffset FromUnixNs(long ns)
    {
        long ticks = DateTime.UnixEpoch.Ticks + ns / TicksPerNs;
        ticks = Math.Clamp(ticks, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>Reads a row selected with <see cref="SelectColumns"/>: (id, event).</summary>
    public static (long Id, DropEvent Event) Read(SqliteDataReader r)
    {
        int i = 1;
        var e = new DropEvent
        {
            Timestamp = FromUnixNs(r.GetInt64(i++)),
            MonotonicNs = unchecked((ulong)r.GetInt64(i++)),
            Reason = r.GetString(i++),
            ReasonCode = (uint)r.GetInt64(i++),
            LocationAddress = unchecked((ulong)r.GetInt64(i++)),
            Location = r.GetString(i++),
            Family = (PacketFamily)r.GetInt32(i++),
            EtherType = (ushort)r.GetInt32(i++),
            IpProtocol = (byte)r.GetInt32(i++),
            SourceAddress = Address(r, i++),
            DestinationAddress = Address(r, i++),
            SourcePort = r.IsDBNull(i++) ? null : (ushort)r.GetInt32(i - 1),
            DestinationPort = r.IsDBNull(i++) ? null : (ushort)r.GetInt32(i - 1),
            IcmpType = r.IsDBNull(i++) ? null : (byte)r.GetInt32(i - 1),
            IcmpCode = r.IsDBNull(i++) ? null : (byte)r.GetInt32(i - 1),
            Length = (uint)r.GetInt64(i++),
            SkbLength = (uint)r.GetInt64(i++),
            Ifindex = (uint)r.GetInt64(i++),
            Ifname = r.GetString(i++),
            Netns = (uint)r.GetInt64(i++),
            Cpu = (uint)r.GetInt64(i++),
            Pid = (uint)r.GetInt64(i++),
            Tid = (uint)r.GetInt64(i++),
            Comm = r.GetString(i++),
            Flags = (DropEventFlags)r.GetInt32(i++),
            Headers = r.IsDBNull(i++) ? ReadOnlyMemory<byte>.Empty : (byte[])r.GetValue(i - 1),
            L3Offset = r.GetInt32(i++),
            SocketCookie = unchecked((ulong)r.GetInt64(i++)),
            OwnerPid = r.IsDBNull(i++) ? null : (uint)r.GetInt64(i - 1),
            OwnerComm = r.IsDBNull(i++) ? null : r.GetString(i - 1),
            CgroupId = unchecked((ulong)r.GetInt64(i++)),
            Cgroup = r.IsDBNull(i++) ? null : r.GetString(i - 1),
            Container = r.IsDBNull(i++) ? null : r.GetString(i - 1),
            NetnsName = r.IsDBNull(i++) ? null : r.GetString(i - 1),
            Stack = r.IsDBNull(i) ? null : ParseStack(r.GetString(i)),
        };
        return (r.GetInt64(0), e);
    }

    private static IPAddress? Address(SqliteDataReader r, int column)
    {
        if (r.IsDBNull(column))
            return null;
        var bytes = (byte[])r.GetValue(column);
        return bytes.Length is 4 or 16 ? new IPAddress(bytes) : null;
    }

    internal static string StackJson(IReadOnlyList<string> stack)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var frame in stack)
                writer.WriteStringValue(frame);
            writer.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static List<string>? ParseStack(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                return null;
            return document.RootElement.EnumerateArray().Select(f => f.GetString() ?? "").ToList();
        }
        catch (JsonException)
        {
            return null; // a damaged row loses its stack, not the event
        }
    }
}
