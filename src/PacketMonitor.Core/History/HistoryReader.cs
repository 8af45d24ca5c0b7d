using System.Text;
using Microsoft.Data.Sqlite;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.History;

/// <summary>What a time series of the per-second counts asks for: seconds [From, To), buckets of Step seconds.</summary>
public sealed record RateQuery(long From, long To, long Step)
{
    public string? Reason { get; init; }
    public byte? Protocol { get; init; }
    public string? Interface { get; init; }
}

/// <summary>Drops of one reason per bucket (aligned with <see cref="RateSeries.Timestamps"/>).</summary>
public sealed record ReasonSeries(string Reason, IReadOnlyList<long> Packets, IReadOnlyList<long> Bytes);

/// <summary>
/// A time series from the exact counts: bucket k starts at <c>Timestamps[k]</c> (Unix seconds, a multiple of
/// <c>Step</c>) and holds the drops in [start, start + step) ∩ [from, to).
/// </summary>
public sealed record RateSeries(long From, long To, long Step, IReadOnlyList<long> Timestamps, IReadOnlyList<ReasonSeries> Series,
    long TotalPackets, long TotalBytes);

/// <summary>Exact drops of one reason over a time range, and how many of its events history holds.</summary>
public sealed record ReasonSummary(string Reason, long Packets, long Bytes, long Events);

/// <summary>The <c>packet-monitor history</c> summary: drops by reason over [From, To).</summary>
public sealed record HistorySummary(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ReasonSummary> Reasons, long TotalPackets, long TotalBytes, long TotalEvents,
    DateTimeOffset? OldestCount, DateTimeOffset? NewestCount);

/// <summary>
/// Queries of the history database, each on a read-only connection of its own: safe from any number of
/// threads and processes while the recorder writes (WAL readers see the last committed batch).
/// </summary>
/// <remarks>
/// Counts come from two tables: per-minute totals for the whole minutes of a range when the step is a
/// multiple of 60 s (a 24-hour series reads 1,440 rows per series instead of 86,400), per-second rows for
/// the rest. Both are exact sums of the same kernel counter deltas.
/// </remarks>
public sealed class HistoryReader(string path)
{
    public string Path { get; } = path;

    /// <summary>Fails with one line when there is no database file.</summary>
    /// <exception cref="HistoryException">No file at <see cref="Path"/>.</exception>
    public void RequireFile()
    {
        if (File.Exists(Path))
            return;
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? "/";
        try
        {
            _ = Directory.Exists(folder) ? Directory.GetFiles(folder, "history.db*") : null;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new HistoryException($"history database {Path} is not accessible: no permission to look into {folder} (run as root, or give this user read access to the folder and the file)", e);
        }
        throw new HistoryException($"no history database at {Path}: history is recorded by `packet-monitor serve` (or `watch --history`); pass --data-dir if it is elsewhere");
    }

    /// <exception cref="HistoryException">The file is missing, unreadable or corrupt.</exception>
    public RateSeries Rates(RateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Step, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(query.To, query.From);
        long first = FloorTo(query.From, query.Step);
        int buckets = checked((int)((query.To - first + query.Step - 1) / query.Step));
        var timestamps = new long[buckets];
        for (int k = 0; k < buckets; k++)
            timestamps[k] = first + k * query.Step;
        var series = new SortedDictionary<string, (long[] Packets, long[] Bytes)>(StringComparer.Ordinal);
        long totalPackets = 0, totalBytes = 0;

        Run(connection =>
        {
            // The matching series first (a small table), then the count rows streamed in time order and
            // summed here: no join and no sort per row, which is what a GROUP BY over a day of seconds costs.
            var reasons = new Dictionary<long, (long[] Packets, long[] Bytes)>();
            using (var matching = connection.CreateCommand())
            {
                var sql = new StringBuilder("SELECT s.id, s.reason FROM series s WHERE 1 = 1");
                AddSeriesFilters(sql, matching, query.Reason, query.Protocol, query.Interface);
                matching.CommandText = sql.ToString();
                using var reader = matching.ExecuteReader();
                while (reader.Read())
                {
                    string reason = reader.GetString(1);
                    if (!series.TryGetValue(reason, out var values))
                        series[reason] = values = (new long[buckets], new long[buckets]);
                    reasons[reader.GetInt64(0)] = values;
                }
            }
            if (reasons.Count == 0)
                return;
            foreach (var (table, column, from, to) in Parts(query.From, query.To, query.Step))
            {
                using var command = connection.CreateCommand();
                command.CommandText = $"SELECT c.{column}, c.series_id, c.packets, c.bytes FROM {table} c WHERE c.{column} >= $from AND c.{column} < $to";
                command.Parameters.AddWithValue("$from", from);
                command.Parameters.AddWithValue("$to", to);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    if (!reasons.TryGetValue(reader.GetInt64(1), out var values))
                        continue;
                    int k = (int)((reader.GetInt64(0) - first) / query.Step);
                    long packets = reader.GetInt64(2), bytes = reader.GetInt64(3);
                    values.Packets[k] += packets;
                    values.Bytes[k] += bytes;
                    totalPackets += packets;
                    totalBytes += bytes;
                }
            }
        });
        // Series of the filter that had no drops in the range are left out.
        foreach (var empty in series.Where(s => s.Value.Packets.All(p => p == 0)).Select(s => s.Key).ToList())
            series.Remove(empty);
        return new RateSeries(query.From, query.To, query.Step, timestamps,
            series.Select(s => new ReasonSeries(s.Key, s.Value.Packets, s.Value.Bytes)).ToList(), totalPackets, totalBytes);
    }

    /// <summary>Matching events in [since, until), newest first, at most <see cref="EventQuery.Limit"/>; ids are the database's.</summary>
    /// <exception cref="HistoryException">The file is missing, unreadable or corrupt.</exception>
    public IReadOnlyList<(long Id, DropEvent Event)> Events(EventQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = new List<(long, DropEvent)>();
        Run(connection =>
        {
            using var command = connection.CreateCommand();
            var sql = new StringBuilder($"SELECT {EventRows.SelectColumns} FROM events WHERE 1 = 1");
            if (query.Since is { } since)
            {
                sql.Append(" AND time_ns >= $since");
                command.Parameters.AddWithValue("$since", EventRows.ToUnixNs(since));
            }
            if (query.Until is { } until)
            {
                sql.Append(" AND time_ns < $until");
                command.Parameters.AddWithValue("$until", EventRows.ToUnixNs(until));
            }
            if (query.Reason is { } reason)
            {
                sql.Append(" AND reason = $reason COLLATE NOCASE");
                command.Parameters.AddWithValue("$reason", reason);
            }
            if (query.Protocol is { } protocol)
            {
                sql.Append(" AND ip_protocol = $protocol");
                command.Parameters.AddWithValue("$protocol", (int)protocol);
            }
            if (query.Port is { } port)
            {
                sql.Append(" AND (src_port = $port OR dst_port = $port)");
                command.Parameters.AddWithValue("$port", (int)port);
            }
            if (query.Interface is { } ifname)
            {
                sql.Append(" AND ifname = $ifname");
                command.Parameters.AddWithValue("$ifname", ifname);
            }
            sql.Append(" ORDER BY time_ns DESC, id DESC");
            if (query.Host is null)
            {
                sql.Append(" LIMIT $limit");
                command.Parameters.AddWithValue("$limit", query.Limit);
            }
            command.CommandText = sql.ToString();
            using var reader = command.ExecuteReader();
            // An address block is matched here, row by row, until the limit.
            while (result.Count < query.Limit && reader.Read())
            {
                var row = EventRows.Read(reader);
                if (query.Matches(row.Event))
                    result.Add(row);
            }
        });
        return result;
    }

    /// <summary>Exact drops by reason over [from, to), with the number of events kept for each.</summary>
    /// <exception cref="HistoryException">The file is missing, unreadable or corrupt.</exception>
    public HistorySummary Summary(DateTimeOffset from, DateTimeOffset to)
    {
        long fromSecond = FloorTo(from.ToUnixTimeSeconds(), 1), toSecond = Math.Max(fromSecond + 1, CeilingSeconds(to));
        var byReason = new SortedDictionary<string, (long Packets, long Bytes, long Events)>(StringComparer.Ordinal);
        DateTimeOffset? oldest = null, newest = null;
        Run(connection =>
        {
            foreach (var (table, column, a, b) in Parts(fromSecond, toSecond, 60))
            {
                using var command = connection.CreateCommand();
                command.CommandText = $"""
                    SELECT s.reason, sum(c.packets), sum(c.bytes) FROM {table} c JOIN series s ON s.id = c.series_id
                    WHERE c.{column} >= $from AND c.{column} < $to GROUP BY s.reason
                    """;
                command.Parameters.AddWithValue("$from", a);
                command.Parameters.AddWithValue("$to", b);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var sum = byReason.GetValueOrDefault(reader.GetString(0));
                    byReason[reader.GetString(0)] = (sum.Packets + reader.GetInt64(1), sum.Bytes + reader.GetInt64(2), sum.Events);
                }
            }
            using (var events = connection.CreateCommand())
            {
                events.CommandText = "SELECT reason, count(*) FROM events WHERE time_ns >= $from AND time_ns < $to GROUP BY reason";
                events.Parameters.AddWithValue("$from", EventRows.ToUnixNs(from));
                events.Parameters.AddWithValue("$to", EventRows.ToUnixNs(to));
                using var reader = events.ExecuteReader();
                while (reader.Read())
                {
                    var sum = byReason.GetValueOrDefault(reader.GetString(0));
                    byReason[reader.GetString(0)] = (sum.Packets, sum.Bytes, sum.Events + reader.GetInt64(1));
                }
            }
            using var range = connection.CreateCommand();
            range.CommandText = "SELECT min(minute), max(minute) FROM counts_minute";
            using var rangeReader = range.ExecuteReader();
            if (rangeReader.Read() && !rangeReader.IsDBNull(0))
            {
                oldest = DateTimeOffset.FromUnixTimeSeconds(rangeReader.GetInt64(0));
                newest = DateTimeOffset.FromUnixTimeSeconds(rangeReader.GetInt64(1) + 59);
            }
        });
        var reasons = byReason.Select(r => new ReasonSummary(r.Key, r.Value.Packets, r.Value.Bytes, r.Value.Events))
            .OrderByDescending(r => r.Packets).ThenByDescending(r => r.Events).ThenBy(r => r.Reason, StringComparer.Ordinal).ToList();
        return new HistorySummary(from, to, reasons, reasons.Sum(r => r.Packets), reasons.Sum(r => r.Bytes), reasons.Sum(r => r.Events), oldest, newest);
    }

    /// <summary>
    /// The tables that cover seconds [from, to): whole minutes from <c>counts_minute</c> when every bucket is made
    /// of whole minutes (step a multiple of 60), the edges and everything else from <c>counts_second</c>.
    /// </summary>
    internal static IEnumerable<(string Table, string Column, long From, long To)> Parts(long from, long to, long step)
    {
        long firstMinute = CeilingTo(from, 60), endMinute = FloorTo(to, 60);
        if (step % 60 != 0 || endMinute <= firstMinute)
        {
            yield return ("counts_second", "second", from, to);
            yield break;
        }
        if (from < firstMinute)
            yield return ("counts_second", "second", from, firstMinute);
        yield return ("counts_minute", "minute", firstMinute, endMinute);
        if (endMinute < to)
            yield return ("counts_second", "second", endMinute, to);
    }

    private static void AddSeriesFilters(StringBuilder sql, SqliteCommand command, string? reason, byte? protocol, string? ifname)
    {
        if (reason is not null)
        {
            sql.Append(" AND s.reason = $reason COLLATE NOCASE");
            command.Parameters.AddWithValue("$reason", reason);
        }
        if (protocol is { } p)
        {
            sql.Append(" AND s.ip_protocol = $protocol");
            command.Parameters.AddWithValue("$protocol", (int)p);
        }
        if (ifname is not null)
        {
            sql.Append(" AND s.ifname = $ifname");
            command.Parameters.AddWithValue("$ifname", ifname);
        }
    }

    private void Run(Action<SqliteConnection> query)
    {
        RequireFile();
        try
        {
            try
            {
                Query(HistoryDatabase.Connect(Path, readOnly: true), query);
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 8 or 14 && !File.Exists(Path + "-wal"))
            {
                // No writer (no -wal) and a folder this user cannot write, so SQLite cannot create the WAL's
                // shared-memory file even to read: the file cannot change meanwhile, so read it as immutable.
                Query(HistoryDatabase.Connect(Path, readOnly: true, immutable: true), query);
            }
        }
        catch (SqliteException e)
        {
            throw HistoryDatabase.Describe(Path, e);
        }
    }

    private static void Query(SqliteConnection connection, Action<SqliteConnection> query)
    {
        using (connection)
        {
            // One read transaction: every statement of the query sees the same committed batches.
            using var snapshot = connection.BeginTransaction(deferred: true);
            query(connection);
        }
    }

    private static long FloorTo(long value, long step) => value - (((value % step) + step) % step);

    private static long CeilingTo(long value, long step) => -FloorTo(-value, step);

    private static long CeilingSeconds(DateTimeOffset time)
    {
        long seconds = time.ToUnixTimeSeconds();
        return time.UtcTicks % TimeSpan.TicksPerSecond == 0 ? seconds : seconds + 1;
    }
}
