using System.Globalization;
using Microsoft.Data.Sqlite;

namespace PacketMonitor.Core.History;

/// <summary>
/// The history database's schema as an ordered list of migrations. <c>schema_migrations</c> records
/// each one applied; opening a database applies the missing ones in one transaction, and refuses a
/// database written by a newer packet-monitor.
/// </summary>
/// <remarks>
/// Times are UTC: events in nanoseconds since the Unix epoch, counts in seconds (per-minute rows at the
/// minute's first second). Unsigned 64-bit kernel values (addresses, cookies, cgroup ids) are stored as
/// their two's-complement <c>INTEGER</c>. A (reason, protocol, interface, namespace) combination is one row
/// of <c>series</c>; the count tables refer to it, which keeps a per-second row at a few bytes.
/// </remarks>
internal static class HistorySchema
{
    private static readonly (int Version, string Description, string Sql)[] Migrations =
    [
        (1, "series, per-second and per-minute counts, events",
            """
            CREATE TABLE series (
                id INTEGER PRIMARY KEY,
                reason TEXT NOT NULL,
                reason_code INTEGER NOT NULL,
                ip_protocol INTEGER NOT NULL,
                ifindex INTEGER NOT NULL,
                netns INTEGER NOT NULL,
                ifname TEXT NOT NULL DEFAULT '',
                UNIQUE (reason, reason_code, ip_protocol, ifindex, netns)
            );
            CREATE TABLE counts_second (
                second INTEGER NOT NULL,
                series_id INTEGER NOT NULL REFERENCES series(id),
                packets INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                PRIMARY KEY (second, series_id)
            ) WITHOUT ROWID;
            CREATE TABLE counts_minute (
                minute INTEGER NOT NULL,
                series_id INTEGER NOT NULL REFERENCES series(id),
                packets INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                PRIMARY KEY (minute, series_id)
            ) WITHOUT ROWID;
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                time_ns INTEGER NOT NULL,
                monotonic_ns INTEGER NOT NULL,
                reason TEXT NOT NULL,
                reason_code INTEGER NOT NULL,
                location_address INTEGER NOT NULL,
                location TEXT NOT NULL,
                family INTEGER NOT NULL,
                ether_type INTEGER NOT NULL,
                ip_protocol INTEGER NOT NULL,
                src_addr BLOB,
                dst_addr BLOB,
                src_port INTEGER,
                dst_port INTEGER,
                icmp_type INTEGER,
                icmp_code INTEGER,
                length INTEGER NOT NULL,
                skb_len INTEGER NOT NULL,
                ifindex INTEGER NOT NULL,
                ifname TEXT NOT NULL,
                netns INTEGER NOT NULL,
                cpu INTEGER NOT NULL,
                pid INTEGER NOT NULL,
                tid INTEGER NOT NULL,
                comm TEXT NOT NULL,
                flags INTEGER NOT NULL,
                headers BLOB NOT NULL,
                l3_offset INTEGER NOT NULL,
                socket_cookie INTEGER NOT NULL,
                owner_pid INTEGER,
                owner_comm TEXT,
                cgroup_id INTEGER NOT NULL,
                cgroup TEXT,
                container TEXT,
                netns_name TEXT,
                stack TEXT
            );
            CREATE INDEX events_time ON events (time_ns);
            """),
    ];

    /// <summary>The version this build writes.</summary>
    public static int CurrentVersion => Migrations[^1].Version;

    /// <summary>Applies the missing migrations; returns the version the database is at.</summary>
    /// <exception cref="HistoryException">The database is newer than this program.</exception>
    public static int Migrate(SqliteConnection connection)
    {
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)";
            create.ExecuteNonQuery();
        }
        int current = Version(connection);
        if (current > CurrentVersion)
            throw new HistoryException($"the history database has schema version {current}, newer than this packet-monitor understands ({CurrentVersion}): upgrade packet-monitor or use another --data-dir");
        if (current == CurrentVersion)
            return current;
        using var transaction = connection.BeginTransaction();
        foreach (var (version, description, sql) in Migrations.Where(m => m.Version > current))
        {
            using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = sql;
            migrate.ExecuteNonQuery();
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($v, $d, $t)";
            record.Parameters.AddWithValue("$v", version);
            record.Parameters.AddWithValue("$d", description);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
        }
        transaction.Commit();
        return CurrentVersion;
    }

    /// <summary>The highest migration applied (0 for an empty database).</summary>
    public static int Version(SqliteConnection connection)
    {
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT coalesce(max(version), 0) FROM schema_migrations";
        return Convert.ToInt32(query.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}

/// <summary>A history database problem, said in one line (path, what is wrong, what to do).</summary>
public sealed class HistoryException : Exception
{
    public HistoryException() { }
    public HistoryException(string message) : base(message) { }
    public HistoryException(string message, Exception inner) : base(message, inner) { }
}
