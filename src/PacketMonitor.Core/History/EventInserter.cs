using System.Net;
using Microsoft.Data.Sqlite;
using PacketMonitor.Core.Events;
using SQLitePCL;

namespace PacketMonitor.Core.History;

/// <summary>
/// The prepared <c>INSERT INTO events</c> of the writer, bound value by value through SQLite's own API.
/// </summary>
/// <remarks>
/// <see cref="SqliteCommand"/> boxes and re-binds every one of the 35 parameters per row; binding the values
/// directly roughly halves the writer's CPU per event, which is CPU the capture shares on small machines.
/// Runs on the connection (and inside the transaction) of <see cref="HistoryDatabase"/>.
/// </remarks>
internal sealed class EventInserter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    public EventInserter(SqliteConnection connection)
    {
        _connection = connection;
        int rc = raw.sqlite3_prepare_v2(connection.Handle, EventRows.InsertSql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, connection.Handle);
    }

    public void Insert(DropEvent e)
    {
        var s = _statement;
        int i = 1;
        raw.sqlite3_bind_int64(s, i++, EventRows.ToUnixNs(e.Timestamp));
        raw.sqlite3_bind_int64(s, i++, unchecked((long)e.MonotonicNs));
        raw.sqlite3_bind_text(s, i++, e.Reason);
        raw.sqlite3_bind_int64(s, i++, e.ReasonCode);
        raw.sqlite3_bind_int64(s, i++, unchecked((long)e.LocationAddress));
        raw.sqlite3_bind_text(s, i++, e.Location);
        raw.sqlite3_bind_int64(s, i++, (long)e.Family);
        raw.sqlite3_bind_int64(s, i++, e.EtherType);
        raw.sqlite3_bind_int64(s, i++, e.IpProtocol);
        Address(s, i++, e.SourceAddress);
        Address(s, i++, e.DestinationAddress);
        Int(s, i++, e.SourcePort);
        Int(s, i++, e.DestinationPort);
        Int(s, i++, e.IcmpType);
        Int(s, i++, e.IcmpCode);
        raw.sqlite3_bind_int64(s, i++, e.Length);
        raw.sqlite3_bind_int64(s, i++, e.SkbLength);
        raw.sqlite3_bind_int64(s, i++, e.Ifindex);
        raw.sqlite3_bind_text(s, i++, e.Ifname);
        raw.sqlite3_bind_int64(s, i++, e.Netns);
        raw.sqlite3_bind_int64(s, i++, e.Cpu);
        raw.sqlite3_bind_int64(s, i++, e.Pid);
        raw.sqlite3_bind_int64(s, i++, e.Tid);
        raw.sqlite3_bind_text(s, i++, e.Comm);
        raw.sqlite3_bind_int64(s, i++, (long)e.Flags);
        raw.sqlite3_bind_blob(s, i++, e.Headers.Span); // an empty span binds a zero-length blob, never NULL
        raw.sqlite3_bind_int64(s, i++, e.L3Offset);
        raw.sqlite3_bind_int64(s, i++, unchecked((long)e.SocketCookie));
        Int(s, i++, e.OwnerPid);
        Text(s, i++, e.OwnerComm);
        raw.sqlite3_bind_int64(s, i++, unchecked((long)e.CgroupId));
        Text(s, i++, e.Cgroup);
        Text(s, i++, e.Container);
        Text(s, i++, e.NetnsName);
        Text(s, i, e.Stack is { } stack ? EventRows.StackJson(stack) : null);
        int rc = raw.sqlite3_step(s);
        raw.sqlite3_reset(s);
        if (rc != raw.SQLITE_DONE)
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
    }

    private static void Address(sqlite3_stmt s, int index, IPAddress? address)
    {
        if (address is null)
        {
            raw.sqlite3_bind_null(s, index);
            return;
        }
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
            written = 0;
        raw.sqlite3_bind_blob(s, index, bytes[..written]);
    }

    private static void Int(sqlite3_stmt s, int index, long? value)
    {
        if (value is { } v)
            raw.sqlite3_bind_int64(s, index, v);
        else
            raw.sqlite3_bind_null(s, index);
    }

    private static void Text(sqlite3_stmt s, int index, string? value)
    {
        if (value is null)
            raw.sqlite3_bind_null(s, index);
        else
            raw.sqlite3_bind_text(s, index, value);
    }

    public void Dispose() => _statement.Dispose();
}
