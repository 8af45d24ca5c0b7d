using Microsoft.Data.Sqlite;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Core.Tests.History;

public sealed class HistoryDatabaseTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string? NoName(uint ifindex, uint netns) => null;

    [Fact]
    public void Write_DisposeAndReopen_EveryEventFieldReadsBack()
    {
        var full = HistorySamples.Full(T0.AddTicks(1_234_567));
        var bare = Events.EventSamples.Arp() with { Timestamp = T0.AddSeconds(1), Headers = default, Stack = [] };
        var icmp = Events.EventSamples.Icmp() with { Timestamp = T0.AddSeconds(2) };
        using (var db = HistoryDatabase.Open(_folder.Database))
            Assert.Equal(3, db.Write([[full, bare], [icmp]], [], NoName));

        using (var reopened = HistoryDatabase.Open(_folder.Database))
            reopened.Write([], [], NoName); // a second open migrates nothing and keeps the rows
        var rows = new HistoryReader(_folder.Database).Events(new EventQuery { Limit = 10 });

        Assert.Equal(3, rows.Count);
        HistorySamples.AssertSame(icmp, rows[0].Event); // newest first
        HistorySamples.AssertSame(bare, rows[1].Event);
        HistorySamples.AssertSame(full, rows[2].Event);
        Assert.Equal([3L, 2L, 1L], rows.Select(r => r.Id));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Open_NewFolderAndDatabase_AreForTheOwnerOnly()
    {
        // SECURITY.md 5.3: captured headers are traffic; other local users must not read them.
        string folder = System.IO.Path.Combine(_folder.Path, "data");
        string path = System.IO.Path.Combine(folder, "history.db");
        using (var db = HistoryDatabase.Open(path))
            db.Write([[HistorySamples.Full(T0)]], [], NoName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
            File.GetUnixFileMode(folder));
        foreach (var file in Directory.GetFiles(folder))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Contains(path, Directory.GetFiles(folder));
    }

    [Fact]
    public void Open_DatabaseAnotherWriterHolds_IsRefusedUntilItCloses()
    {
        var first = HistoryDatabase.Open(_folder.Database);
        var refused = Assert.Throws<HistoryException>(() => HistoryDatabase.Open(_folder.Database));
        Assert.Equal($"history database {_folder.Database} is being recorded by another packet-monitor: give this one its own --data-dir, or --no-history",
            refused.Message);
        Assert.Empty(new HistoryReader(_folder.Database).Events(new EventQuery { Limit = 1 })); // readers are not locked out

        first.Dispose();
        using var second = HistoryDatabase.Open(_folder.Database);
        Assert.Equal(1, second.Write([[HistorySamples.Full(T0)]], [], NoName));
    }

    [Fact]
    public void Open_NewDatabase_IsWalWithIncrementalVacuumAndRecordsItsSchemaVersion()
    {
        using (HistoryDatabase.Open(_folder.Database)) { }
        using var connection = new SqliteConnection($"Data Source={_folder.Database};Pooling=False");
        connection.Open();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal(2L, Scalar(connection, "PRAGMA auto_vacuum")); // 2 = incremental
        Assert.Equal((long)HistorySchema.CurrentVersion, Scalar(connection, "SELECT max(version) FROM schema_migrations"));
        Assert.Equal(1L, Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'events_time'"));
    }

    [Fact]
    public void Open_DatabaseOfANewerVersion_IsRefusedWithOneLine()
    {
        using (HistoryDatabase.Open(_folder.Database)) { }
        using (var connection = new SqliteConnection($"Data Source={_folder.Database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<HistoryException>(() => HistoryDatabase.Open(_folder.Database));
        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Open_GarbageFile_SaysCorruptAndWhatToDo()
    {
        File.WriteAllBytes(_folder.Database, Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray());

        var error = Assert.Throws<HistoryException>(() => HistoryDatabase.Open(_folder.Database));
        Assert.Contains(_folder.Database, error.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt or not a SQLite database", error.Message, StringComparison.Ordinal);
        Assert.Contains("delete it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reader_NoDatabase_SaysWhereItLookedAndWhatWritesIt()
    {
        var error = Assert.Throws<HistoryException>(() => new HistoryReader(_folder.Database).Summary(T0, T0.AddHours(1)));
        Assert.Contains($"no history database at {_folder.Database}", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_SameSecondTwice_CountsAreAddedNotReplaced()
    {
        long s = T0.ToUnixTimeSeconds();
        using (var db = HistoryDatabase.Open(_folder.Database))
        {
            db.Write([], [new CountRow(s, "NO_SOCKET", 3, 17, 1, 7, 5, 500)], NoName);
            db.Write([], [new CountRow(s, "NO_SOCKET", 3, 17, 1, 7, 2, 200)], (_, _) => "lo");
        }
        var rates = new HistoryReader(_folder.Database).Rates(new RateQuery(s, s + 1, 1) { Interface = "lo" });
        Assert.Equal(7, rates.TotalPackets);
        Assert.Equal(700, rates.TotalBytes);
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(7, 3, 11)]
    [InlineData(60, 0, 0)]
    [InlineData(60, 17, 43)]
    [InlineData(300, 29, 1)]
    [InlineData(3600, 0, 0)]
    [InlineData(86400, 5, 5)]
    public void Rates_AnyStepAndRange_AreExactSumsOfTheInsertedCounts(long step, long startOffset, long endTrim)
    {
        var random = new Random(1234);
        long start = T0.ToUnixTimeSeconds();
        var rows = new List<CountRow>();
        string[] reasons = ["NO_SOCKET", "NETFILTER_DROP", "SOCKET_RCVBUFF"];
        for (long s = start; s < start + 3 * 3600; s++)
        {
            foreach (var (reason, i) in reasons.Select((r, i) => (r, i)))
            {
                if (random.Next(3) == 0)
                    continue;
                rows.Add(new CountRow(s, reason, (uint)i, (byte)(i == 1 ? 6 : 17), (uint)(i + 1), 1, (ulong)random.Next(1, 1000), (ulong)random.Next(1, 100_000)));
            }
        }
        using (var db = HistoryDatabase.Open(_folder.Database))
            db.Write([], rows, (ifindex, _) => $"eth{ifindex}");

        long from = start + 600 + startOffset, to = start + 3 * 3600 - 600 - endTrim;
        var series = new HistoryReader(_folder.Database).Rates(new RateQuery(from, to, step));

        var expected = rows.Where(r => r.Second >= from && r.Second < to)
            .GroupBy(r => (Bucket: r.Second / step * step, r.Reason))
            .ToDictionary(g => g.Key, g => (Packets: g.Sum(r => (long)r.Packets), Bytes: g.Sum(r => (long)r.Bytes)));
        Assert.Equal(from / step * step, series.Timestamps[0]);
        Assert.True(series.Timestamps[^1] < to && series.Timestamps[^1] + step >= to);
        Assert.All(series.Timestamps.Zip(series.Timestamps.Skip(1)), pair => Assert.Equal(step, pair.Second - pair.First));
        Assert.Equal(reasons.Order(StringComparer.Ordinal), series.Series.Select(s => s.Reason));
        foreach (var reason in series.Series)
        {
            for (int k = 0; k < series.Timestamps.Count; k++)
            {
                var want = expected.GetValueOrDefault((series.Timestamps[k], reason.Reason));
                Assert.Equal(want.Packets, reason.Packets[k]);
                Assert.Equal(want.Bytes, reason.Bytes[k]);
            }
        }
        Assert.Equal(expected.Values.Sum(v => v.Packets), series.TotalPackets);
    }

    [Fact]
    public void Rates_Filters_NarrowByReasonProtocolAndInterface()
    {
        long s = T0.ToUnixTimeSeconds();
        using (var db = HistoryDatabase.Open(_folder.Database))
        {
            db.Write([], [
                new CountRow(s, "NO_SOCKET", 3, 17, 1, 7, 10, 0),
                new CountRow(s, "NO_SOCKET", 3, 6, 2, 7, 20, 0),
                new CountRow(s + 1, "NETFILTER_DROP", 14, 6, 2, 7, 40, 0),
            ], (ifindex, _) => ifindex == 1 ? "lo" : "eth0");
        }
        var reader = new HistoryReader(_folder.Database);
        long Total(RateQuery q) => reader.Rates(q).TotalPackets;

        Assert.Equal(70, Total(new RateQuery(s, s + 2, 1)));
        Assert.Equal(30, Total(new RateQuery(s, s + 2, 1) { Reason = "no_socket" }));
        Assert.Equal(60, Total(new RateQuery(s, s + 2, 1) { Protocol = 6 }));
        Assert.Equal(60, Total(new RateQuery(s, s + 2, 1) { Interface = "eth0" }));
        Assert.Equal(20, Total(new RateQuery(s, s + 2, 1) { Reason = "NO_SOCKET", Protocol = 6, Interface = "eth0" }));
        Assert.Equal(0, Total(new RateQuery(s, s + 2, 1) { Interface = "wlan0" }));
    }

    [Fact]
    public void Events_TimeRangeAndFilters_NewestFirstWithinTheRange()
    {
        var events = Enumerable.Range(0, 100).Select(i => HistorySamples.Full(T0.AddSeconds(i), i) with
        {
            Reason = i % 2 == 0 ? "NO_SOCKET" : "NETFILTER_DROP",
            SourceAddress = HistorySamples.Address(i),
        }).ToList();
        using (var db = HistoryDatabase.Open(_folder.Database))
            db.Write([events], [], NoName);
        var reader = new HistoryReader(_folder.Database);

        var range = reader.Events(new EventQuery { Limit = 1000, Since = T0.AddSeconds(10), Until = T0.AddSeconds(20) });
        Assert.Equal(Enumerable.Range(10, 10).Reverse(), range.Select(r => (int)(r.Event.Timestamp - T0).TotalSeconds));

        var limited = reader.Events(new EventQuery { Limit = 3, Reason = "NETFILTER_DROP" });
        Assert.Equal([99, 97, 95], limited.Select(r => (int)(r.Event.Timestamp - T0).TotalSeconds));

        var host = reader.Events(new EventQuery { Limit = 2, Host = System.Net.IPNetwork.Parse("10.0.0.0/28"), Until = T0.AddSeconds(50) });
        Assert.Equal([15, 14], host.Select(r => (int)(r.Event.Timestamp - T0).TotalSeconds));

        var port = reader.Events(new EventQuery { Limit = 10, Port = 1042, Protocol = 6, Interface = "lo" });
        Assert.Equal(42, (int)(Assert.Single(port).Event.Timestamp - T0).TotalSeconds);
    }

    [Fact]
    public void Summary_ByReason_ExactCountsAndKeptEvents()
    {
        long s = T0.ToUnixTimeSeconds();
        using (var db = HistoryDatabase.Open(_folder.Database))
        {
            db.Write([Enumerable.Range(0, 4).Select(i => HistorySamples.Full(T0.AddSeconds(90 + i), i)).ToList()], [
                new CountRow(s + 30, "NO_SOCKET", 3, 17, 1, 7, 10, 100),   // before the range
                new CountRow(s + 61, "NO_SOCKET", 3, 17, 1, 7, 5, 50),     // edge second
                new CountRow(s + 120, "NO_SOCKET", 3, 17, 1, 7, 6, 60),    // whole minute
                new CountRow(s + 200, "NETFILTER_DROP", 14, 6, 1, 7, 9, 90),
                new CountRow(s + 250, "NETFILTER_DROP", 14, 6, 1, 7, 1, 10), // after the range
            ], NoName);
        }
        var summary = new HistoryReader(_folder.Database).Summary(T0.AddSeconds(61), T0.AddSeconds(250));

        Assert.Equal([("NO_SOCKET", 11L, 110L, 4L), ("NETFILTER_DROP", 9L, 90L, 0L)],
            summary.Reasons.Select(r => (r.Reason, r.Packets, r.Bytes, r.Events)));
        Assert.Equal(20, summary.TotalPackets);
        Assert.Equal(4, summary.TotalEvents);
    }

    [Fact]
    public void Maintain_Retention_DeletesOnlyWhatIsOlder()
    {
        long s = T0.ToUnixTimeSeconds();
        using var db = HistoryDatabase.Open(_folder.Database);
        db.Write([Enumerable.Range(0, 50).Select(i => HistorySamples.Full(T0.AddHours(i), i)).ToList()],
            Enumerable.Range(0, 50).Select(i => new CountRow(s + i * 3600L, "NO_SOCKET", 3, 17, 1, 7, 1, 1)).ToList(), NoName);

        var result = db.Maintain(T0.AddHours(49.5), TimeSpan.FromHours(10), long.MaxValue);

        Assert.Equal(40, result.EventsDeleted);
        Assert.Equal(40, result.SecondRowsDeleted);
        Assert.Equal(40, result.MinuteRowsDeleted);
        var reader = new HistoryReader(_folder.Database);
        Assert.Equal(10, reader.Events(new EventQuery { Limit = 1000 }).Count);
        Assert.Equal(10, reader.Rates(new RateQuery(s, s + 50 * 3600, 3600)).TotalPackets);
        Assert.Equal(10, reader.Rates(new RateQuery(s, s + 50 * 3600, 1)).TotalPackets);
    }

    [Fact]
    public void Maintain_RetentionDeletedMostRows_GivesTheSpaceBackToTheFileSystem()
    {
        using var db = HistoryDatabase.Open(_folder.Database);
        for (int chunk = 0; chunk < 5; chunk++)
            db.Write([Enumerable.Range(chunk * 2000, 2000).Select(i => HistorySamples.Full(T0.AddSeconds(i), i)).ToList()], [], NoName);
        db.Maintain(T0, TimeSpan.FromDays(1), long.MaxValue);
        long before = new FileInfo(_folder.Database).Length;

        for (int pass = 0; pass < 50 && new FileInfo(_folder.Database).Length > before / 4; pass++)
            db.Maintain(T0.AddDays(1).AddSeconds(9000), TimeSpan.FromDays(1), long.MaxValue); // the 1,000 newest events stay

        Assert.Equal(1000, new HistoryReader(_folder.Database).Events(new EventQuery { Limit = 10_000 }).Count);
        long after = new FileInfo(_folder.Database).Length;
        Assert.True(after < before / 4, $"file {before} -> {after} bytes");
    }

    [Fact]
    public void Maintain_OverTheSizeLimit_DeletesOldestEventsFirstKeepsCountsAndShrinksTheFile()
    {
        const long limit = 2L << 20;
        long s = T0.ToUnixTimeSeconds();
        using var db = HistoryDatabase.Open(_folder.Database, limit);
        for (int chunk = 0; chunk < 10; chunk++)
        {
            var events = Enumerable.Range(chunk * 2000, 2000).Select(i => HistorySamples.Full(T0.AddMilliseconds(i), i)).ToList();
            db.Write([events], [new CountRow(s + chunk, "NO_SOCKET", 3, 17, 1, 7, 2000, 2000 * 64)], NoName);
        }
        long before = db.FileBytes();
        Assert.True(before > 2 * limit, $"the test wrote only {before} bytes");

        for (int pass = 0; pass < 50 && db.FileBytes() > limit; pass++)
            db.Maintain(T0.AddSeconds(30), TimeSpan.FromDays(7), limit);

        long after = db.FileBytes();
        Assert.True(after <= limit, $"file {after} bytes after maintenance, limit {limit}");
        Assert.Equal(after, new FileInfo(_folder.Database).Length + FileLengthOrZero(_folder.Database + "-wal"));
        var reader = new HistoryReader(_folder.Database);
        var kept = reader.Events(new EventQuery { Limit = 10_000 });
        Assert.InRange(kept.Count, 1000, 19_999);
        // The newest are kept, contiguous: only the oldest went.
        Assert.Equal(20_000L, kept[0].Id);
        Assert.Equal(kept.Count, kept[0].Id - kept[^1].Id + 1);
        Assert.Equal(20_000, reader.Rates(new RateQuery(s, s + 60, 60)).TotalPackets);
    }

    [Fact]
    public void Maintain_CountsAloneOverTheLimit_PerSecondGoBeforePerMinute()
    {
        const long limit = 1L << 20;
        long s = T0.ToUnixTimeSeconds();
        using var db = HistoryDatabase.Open(_folder.Database, limit);
        // 40 series x 4 hours of seconds: several MB of per-second rows, far fewer per-minute ones.
        for (int hour = 0; hour < 4; hour++)
        {
            var rows = new List<CountRow>();
            for (long second = s + hour * 3600L; second < s + (hour + 1) * 3600L; second++)
                rows.AddRange(Enumerable.Range(0, 40).Select(i => new CountRow(second, "NO_SOCKET", 3, 17, (uint)i, 7, 1, 100)));
            db.Write([], rows, NoName);
        }
        Assert.True(db.FileBytes() > limit);

        for (int pass = 0; pass < 50 && db.FileBytes() > limit; pass++)
            db.Maintain(T0.AddHours(4), TimeSpan.FromDays(7), limit);

        Assert.True(db.FileBytes() <= limit, $"{db.FileBytes()} bytes");
        var reader = new HistoryReader(_folder.Database);
        long total = 4 * 3600 * 40;
        Assert.Equal(total, reader.Rates(new RateQuery(s, s + 4 * 3600, 3600)).TotalPackets); // minutes all kept
        long seconds = reader.Rates(new RateQuery(s, s + 4 * 3600, 3600 + 1)).TotalPackets; // step not in whole minutes: per-second rows
        Assert.InRange(seconds, 1, total - 1);
        // The per-second rows kept are the newest, without a gap.
        Assert.Equal(seconds, reader.Rates(new RateQuery(s + 4 * 3600 - seconds / 40, s + 4 * 3600, 1)).TotalPackets);
    }

    [Fact]
    public async Task Readers_WhileTheWriterCommits_AlwaysSeeWholeBatches()
    {
        long s = T0.ToUnixTimeSeconds();
        using var db = HistoryDatabase.Open(_folder.Database);
        db.Write([], [], NoName);
        var reader = new HistoryReader(_folder.Database);
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        int reads = 0;
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var summary = reader.Summary(T0, T0.AddHours(1));
                // Each batch writes 100 events and 100 packets in one transaction: a reader sees both or neither.
                if (summary.TotalPackets != summary.TotalEvents || summary.TotalPackets % 100 != 0)
                    lock (failures) failures.Add($"{summary.TotalPackets} packets vs {summary.TotalEvents} events");
                Interlocked.Increment(ref reads);
            }
        })).ToList();

        for (int batch = 0; batch < 100; batch++)
        {
            var events = Enumerable.Range(0, 100).Select(i => HistorySamples.Full(T0.AddSeconds(batch), i)).ToList();
            db.Write([events], [new CountRow(s + batch, "NO_SOCKET", 3, 6, 1, 4026531840, 100, 100)], NoName);
        }
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.True(reads > 3, $"only {reads} reads");
        Assert.Equal(10_000, reader.Summary(T0, T0.AddHours(1)).TotalEvents);
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static long FileLengthOrZero(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
