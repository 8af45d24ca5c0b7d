using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.History;

/// <summary>What one maintenance pass deleted.</summary>
public readonly record struct MaintenanceResult(long EventsDeleted, long SecondRowsDeleted, long MinuteRowsDeleted, long DatabaseBytes);

/// <summary>
/// The writing side of the history database: one connection, owned by one thread (the recorder's
/// writer). WAL mode with <c>synchronous=NORMAL</c>: a committed batch survives a killed process;
/// readers never block the writer. Incremental auto-vacuum lets deleted space go back to the file system.
/// </summary>
public sealed class HistoryDatabase : IDisposable
{
    private const int DeleteChunkRows = 20_000;
    private const long VacuumStepPages = 4096; // 16 MiB of 4 KiB pages
    private static readonly byte[] SqliteMagic = "SQLite format 3\0"u8.ToArray();

    private readonly SqliteConnection _connection;
    private readonly EventInserter _insertEvent;
    private readonly SqliteCommand _upsertSecond;
    private readonly SqliteCommand _upsertMinute;
    private readonly Dictionary<(string Reason, uint Code, byte Protocol, uint Ifindex, uint Netns), (long Id, string Ifname)> _series = [];
    private readonly long _pageSize;
    private FileStream? _writerLock;

    private HistoryDatabase(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
        _pageSize = Scalar("PRAGMA page_size");
        LoadSeries();
        _insertEvent = new EventInserter(connection);
        _upsertSecond = Upsert("counts_second", "second");
        _upsertMinute = Upsert("counts_minute", "minute");
    }

    public string Path { get; }

    /// <summary>Bytes of write-ahead log after which the writer checkpoints (and SQLite truncates the log to).</summary>
    public long WalLimit { get; private init; } = 4L << 20;

    /// <summary>
    /// Opens (creating the folder and the file if needed) and migrates the database.
    /// </summary>
    /// <exception cref="HistoryException">It cannot be created, opened, read or written; the message says why and what to do.</exception>
    public static HistoryDatabase Open(string path, long maxDatabaseBytes = HistoryOptions.DefaultMaxDatabaseBytes)
    {
        SqliteConnection? connection = null;
        FileStream? writerLock = null;
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
            {
                // Captured headers are traffic: the folder we create is not for everyone (0750).
                if (OperatingSystem.IsWindows())
                    Directory.CreateDirectory(directory);
                else
                    Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            }
            if (!OperatingSystem.IsWindows() && !File.Exists(path))
            {
                // Owner only (0600); SQLite gives its -wal and -shm files the database file's mode.
                using var created = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            writerLock = LockForWriting(path);
            connection = Connect(path, readOnly: false);
            // Must precede the first table; on an existing database it changes nothing.
            Execute(connection, "PRAGMA auto_vacuum = INCREMENTAL");
            string mode = Convert.ToString(ScalarObject(connection, "PRAGMA journal_mode = WAL"), CultureInfo.InvariantCulture) ?? "";
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
                throw new HistoryException($"history database {path}: cannot switch to WAL mode (journal mode stays '{mode}')");
            Execute(connection, "PRAGMA synchronous = NORMAL");
            // Checkpoints copy pages back into the file, which would also repair a header that was
            // overwritten meanwhile: this class checkpoints itself, after checking the file (CheckFile).
            Execute(connection, "PRAGMA wal_autocheckpoint = 0");
            // The write-ahead log counts against the size limit: a small share of it (see CheckpointIfLarge).
            long walLimit = Math.Clamp(maxDatabaseBytes / 32, 256L << 10, 16L << 20);
            Execute(connection, $"PRAGMA journal_size_limit = {walLimit}");
            HistorySchema.Migrate(connection);
            return new HistoryDatabase(path, connection) { WalLimit = walLimit, _writerLock = writerLock };
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            writerLock?.Dispose();
            throw Describe(path, e);
        }
        catch
        {
            connection?.Dispose();
            writerLock?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One writer per database: two monitors recording into one file would count every drop twice. An exclusive
    /// lock (flock, released by the kernel when the process dies) on <c>history.db.lock</c>; readers do not take it.
    /// </summary>
    private static FileStream LockForWriting(string path)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            return new FileStream(path + ".lock", options);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path + ".lock"))
        {
            throw new HistoryException(
                $"history database {path} is being recorded by another packet-monitor: give this one its own --data-dir, or --no-history");
        }
    }

    /// <summary>A connection without pooling (so a closed database releases its file at once).</summary>
    internal static SqliteConnection Connect(string path, bool readOnly, bool immutable = false)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = immutable ? new Uri(System.IO.Path.GetFullPath(path)).AbsoluteUri + "?immutable=1" : path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 10,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout = 5000");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return connection;
    }

    /// <summary>One line for a failure of the database at <paramref name="path"/>: what happened and what to do.</summary>
    public static HistoryException Describe(string path, Exception e)
    {
        if (e is HistoryException h)
            return h;
        string what = e switch
        {
            SqliteException { SqliteErrorCode: 11 or 26 } => "is corrupt or not a SQLite database: move it away or delete it to start a new one",
            SqliteException { SqliteErrorCode: 13 } => "cannot grow: the disk is full (free space, or lower --max-db-size / --retention)",
            SqliteException { SqliteErrorCode: 8 } => "is read-only: make it writable, or use another --data-dir",
            SqliteException { SqliteErrorCode: 14 } => "cannot be opened: check that the folder exists and is writable, or use another --data-dir",
            SqliteException { SqliteErrorCode: 3 or 23 } => "is not accessible: check its permissions, or use another --data-dir",
            SqliteException { SqliteErrorCode: 10 } => "cannot be read or written (I/O error): check the disk and the file's permissions",
            UnauthorizedAccessException => "is not accessible: check the permissions of the file and its folder, or use another --data-dir",
            _ => "cannot be used",
        };
        string detail = e is SqliteException s ? s.Message.Replace("SQLite Error ", "sqlite error ", StringComparison.Ordinal) : e.Message;
        return new HistoryException($"history database {path} {what} ({detail.TrimEnd('.')})", e);
    }

    /// <summary>
    /// Checks that the file at <see cref="Path"/> is still this database: a file deleted, replaced or
    /// overwritten under a running writer is otherwise only noticed when a page is read back.
    /// </summary>
    /// <exception cref="HistoryException">It is gone or no longer a SQLite database.</exception>
    public void CheckFile()
    {
        byte[] header = new byte[SqliteMagic.Length];
        try
        {
            using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header.AsSpan().SequenceEqual(SqliteMagic))
                throw new HistoryException($"history database {Path} is corrupt or not a SQLite database (overwritten?): move it away or delete it to start a new one");
        }
        catch (FileNotFoundException e)
        {
            throw new HistoryException($"history database {Path} was deleted while in use: it will be created again", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new HistoryException($"history database {Path} was deleted while in use (with its folder): it will be created again", e);
        }
        catch (IOException e)
        {
            throw new HistoryException($"history database {Path} cannot be read ({e.Message})", e);
        }
    }

    /// <summary>
    /// Writes events and per-second counts in one transaction (per-minute counts follow the per-second ones).
    /// </summary>
    /// <param name="ifname">Interface name for an (ifindex, netns), or null when unknown.</param>
    /// <returns>Rows inserted or updated.</returns>
    public long Write(IReadOnlyList<IReadOnlyList<DropEvent>> batches, IReadOnlyList<CountRow> counts, Func<uint, uint, string?> ifname)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(ifname);
        long rows = 0;
        using var transaction = _connection.BeginTransaction();
        try
        {
            foreach (var batch in batches)
            {
                foreach (var e in batch)
                    _insertEvent.Insert(e);
                rows += batch.Count;
            }
            foreach (var row in counts)
            {
                long series = SeriesId(row, ifname(row.Ifindex, row.Netns) ?? "", transaction);
                Add(_upsertSecond, transaction, row.Second, series, row);
                Add(_upsertMinute, transaction, row.Second - (row.Second % 60), series, row);
                rows++;
            }
            transaction.Commit();
        }
        catch
        {
            // The series cache may name rows the rollback removed.
            _series.Clear();
            throw;
        }
        return rows;
    }

    /// <summary>
    /// Copies the write-ahead log into the file once it holds more than <see cref="WalLimit"/>,
    /// after checking that the file is still this database.
    /// </summary>
    /// <exception cref="HistoryException">The file is gone or no longer a SQLite database.</exception>
    public void CheckpointIfLarge()
    {
        if (FileLength(Path + "-wal") <= WalLimit)
            return;
        CheckFile();
        Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE)");
    }

    /// <summary>Bytes the file and its write-ahead log take on disk.</summary>
    public long FileBytes() => FileLength(Path) + FileLength(Path + "-wal");

    /// <summary>Bytes the data takes inside the file (the file minus its free pages).</summary>
    public long UsedBytes() => (Scalar("PRAGMA page_count") - Scalar("PRAGMA freelist_count")) * _pageSize;

    /// <summary>
    /// Deletes what is older than <paramref name="retention"/>, then, while the data is above the high
    /// watermark of <paramref name="maxBytes"/>, the oldest events, then the oldest per-second counts,
    /// then the oldest per-minute counts, down to the low watermark; gives the freed pages back to the
    /// file system and truncates the write-ahead log. Stops early after <paramref name="budget"/>
    /// (the next pass goes on) so that the writer is never held up for long.
    /// </summary>
    /// <exception cref="HistoryException">The file is gone or no longer a SQLite database.</exception>
    public MaintenanceResult Maintain(DateTimeOffset now, TimeSpan retention, long maxBytes, double high = 0.9, double low = 0.8, TimeSpan? budget = null)
    {
        CheckFile();
        var clock = Stopwatch.StartNew();
        var limit = budget ?? TimeSpan.FromMilliseconds(250);
        long cutoffSecond = (now - retention).ToUnixTimeSeconds();
        long cutoffNs = EventRows.ToUnixNs(now - retention);
        long events = 0, seconds = 0, minutes = 0;

        events += DeleteWhile("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < $cut ORDER BY time_ns LIMIT $n)", cutoffNs, clock, limit);
        // The count tables are keyed by time: delete an hour (a day of minutes) at a time.
        seconds += DeleteWhile("DELETE FROM counts_second WHERE second < min($cut, (SELECT min(second) FROM counts_second) + 3600)", cutoffSecond, clock, limit);
        minutes += DeleteWhile("DELETE FROM counts_minute WHERE minute < min($cut, (SELECT min(minute) FROM counts_minute) + 86400)", cutoffSecond - 59, clock, limit);

        long target = (long)(maxBytes * low);
        if (UsedBytes() + FileLength(Path + "-wal") > maxBytes * high)
        {
            // Oldest first by id (insertion order, which is time order to within a batch), in chunks of about
            // WalLimit bytes with a checkpoint after each: a deleted row's page goes through the log too.
            while (clock.Elapsed < limit && UsedBytes() > target && Scalar("SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)") > 0)
            {
                events += Execute("DELETE FROM events WHERE id < (SELECT min(id) FROM events) + $n", EventChunk());
                Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE)");
            }
            while (clock.Elapsed < limit && UsedBytes() > target && Scalar("SELECT count(*) FROM (SELECT 1 FROM counts_second LIMIT 1)") > 0)
            {
                seconds += Execute("DELETE FROM counts_second WHERE second < (SELECT min(second) FROM counts_second) + $n", 600);
                Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE)");
            }
            while (clock.Elapsed < limit && UsedBytes() > target && Scalar("SELECT count(*) FROM (SELECT 1 FROM counts_minute LIMIT 1)") > 0)
            {
                minutes += Execute("DELETE FROM counts_minute WHERE minute < (SELECT min(minute) FROM counts_minute) + $n", 3600);
                Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE)");
            }
        }
        // Free pages are reused by new rows, so at the limit the file stops growing without being rewritten.
        // Giving pages back to the file system moves pages from the end (a rewrite of as much), so it is done
        // only when the file is above the high watermark or more than a quarter of it is free (after retention),
        // in steps with a checkpoint after each, which keeps the write-ahead log small too.
        long file = FileLength(Path), free = Scalar("PRAGMA freelist_count") * _pageSize;
        long excess = Math.Min(free, Math.Max(file - (long)(maxBytes * high), free > Math.Max(file / 4, 1L << 20) ? free : 0));
        while (excess > 0 && clock.Elapsed < limit)
        {
            long pages = Math.Min(excess / _pageSize + 1, VacuumStepPages);
            Execute(_connection, $"PRAGMA incremental_vacuum({pages})");
            Execute(_connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            excess -= pages * _pageSize;
        }
        if (FileLength(Path + "-wal") > 0)
            Execute(_connection, "PRAGMA wal_checkpoint(TRUNCATE)");
        return new MaintenanceResult(events, seconds, minutes, FileBytes());
    }

    /// <summary>Events worth about <see cref="WalLimit"/> bytes, at most a twentieth of them (ids are contiguous but for the oldest, deleted ones).</summary>
    private long EventChunk()
    {
        long rows = Scalar("SELECT coalesce(max(id) - min(id) + 1, 0) FROM events");
        long perRow = Math.Max(64, UsedBytes() / Math.Max(1, rows));
        return Math.Clamp(WalLimit / perRow, 500, Math.Max(500, rows / 20));
    }

    /// <summary>Whether the data and its log have reached the high watermark of <paramref name="maxBytes"/> (cheap: two pragmas and a stat).</summary>
    public bool AboveWatermark(long maxBytes, double high) => UsedBytes() + FileLength(Path + "-wal") > maxBytes * high;

    private long DeleteWhile(string sql, long cutoff, Stopwatch clock, TimeSpan limit)
    {
        long total = 0;
        while (clock.Elapsed < limit)
        {
            using var delete = _connection.CreateCommand();
            delete.CommandText = sql;
            delete.Parameters.AddWithValue("$cut", cutoff);
            delete.Parameters.AddWithValue("$n", DeleteChunkRows);
            int deleted = delete.ExecuteNonQuery();
            total += deleted;
            if (deleted == 0 || (deleted < DeleteChunkRows && sql.Contains("LIMIT", StringComparison.Ordinal)))
                break;
        }
        return total;
    }

    private long Execute(string sql, long n)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$n", n);
        return command.ExecuteNonQuery();
    }

    private long SeriesId(CountRow row, string ifname, SqliteTransaction transaction)
    {
        var key = (row.Reason, row.ReasonCode, row.IpProtocol, row.Ifindex, row.Netns);
        if (_series.TryGetValue(key, out var known))
        {
            if (ifname.Length > 0 && known.Ifname != ifname)
            {
                using var rename = _connection.CreateCommand();
                rename.Transaction = transaction;
                rename.CommandText = "UPDATE series SET ifname = $n WHERE id = $id";
                rename.Parameters.AddWithValue("$n", ifname);
                rename.Parameters.AddWithValue("$id", known.Id);
                rename.ExecuteNonQuery();
                _series[key] = (known.Id, ifname);
            }
            return known.Id;
        }
        using var insert = _connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO series (reason, reason_code, ip_protocol, ifindex, netns, ifname) VALUES ($r, $c, $p, $i, $n, $name)
            ON CONFLICT (reason, reason_code, ip_protocol, ifindex, netns) DO UPDATE SET ifname = CASE WHEN excluded.ifname = '' THEN ifname ELSE excluded.ifname END
            RETURNING id, ifname
            """;
        insert.Parameters.AddWithValue("$r", row.Reason);
        insert.Parameters.AddWithValue("$c", (long)row.ReasonCode);
        insert.Parameters.AddWithValue("$p", (int)row.IpProtocol);
        insert.Parameters.AddWithValue("$i", (long)row.Ifindex);
        insert.Parameters.AddWithValue("$n", (long)row.Netns);
        insert.Parameters.AddWithValue("$name", ifname);
        using var reader = insert.ExecuteReader();
        reader.Read();
        var entry = (reader.GetInt64(0), reader.GetString(1));
        _series[key] = entry;
        return entry.Item1;
    }

    private static void Add(SqliteCommand upsert, SqliteTransaction transaction, long time, long series, CountRow row)
    {
        upsert.Transaction = transaction;
        upsert.Parameters[0].Value = time;
        upsert.Parameters[1].Value = series;
        upsert.Parameters[2].Value = unchecked((long)row.Packets);
        upsert.Parameters[3].Value = unchecked((long)row.Bytes);
        upsert.ExecuteNonQuery();
        upsert.Transaction = null;
    }

    private SqliteCommand Upsert(string table, string timeColumn)
    {
        var command = _connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO {table} ({timeColumn}, series_id, packets, bytes) VALUES ($t, $s, $p, $b)
            ON CONFLICT ({timeColumn}, series_id) DO UPDATE SET packets = packets + excluded.packets, bytes = bytes + excluded.bytes
            """;
        foreach (var name in new[] { "$t", "$s", "$p", "$b" })
            command.Parameters.Add(new SqliteParameter(name, 0L));
        command.Prepare();
        return command;
    }

    private void LoadSeries()
    {
        using var query = _connection.CreateCommand();
        query.CommandText = "SELECT id, reason, reason_code, ip_protocol, ifindex, netns, ifname FROM series";
        using var reader = query.ExecuteReader();
        while (reader.Read())
        {
            _series[(reader.GetString(1), (uint)reader.GetInt64(2), (byte)reader.GetInt32(3), (uint)reader.GetInt64(4), (uint)reader.GetInt64(5))] =
                (reader.GetInt64(0), reader.GetString(6));
        }
    }

    private long Scalar(string sql) => Convert.ToInt64(ScalarObject(_connection, sql), CultureInfo.InvariantCulture);

    private static object? ScalarObject(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader(); // some pragmas return rows: step through them all
        while (reader.Read()) { }
    }

    private static long FileLength(string path)
    {
        try
        {
            return new FileInfo(path) is { Exists: true } file ? file.Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        _insertEvent.Dispose();
        _upsertSecond.Dispose();
        _upsertMinute.Dispose();
        _connection.Dispose();
        _writerLock?.Dispose();
    }
}
