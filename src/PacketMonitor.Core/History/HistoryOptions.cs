namespace PacketMonitor.Core.History;

/// <summary>Where and how long drop history is kept (<c>serve</c> records by default, <c>watch --history</c> on request).</summary>
public sealed record HistoryOptions
{
    public const string DefaultDataDirectory = "/var/lib/packet-monitor";
    public const string FileName = "history.db";

    /// <summary>Default <c>--retention</c>: 7 days.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(7);

    /// <summary>Default <c>--max-db-size</c>: 1 GiB.</summary>
    public const long DefaultMaxDatabaseBytes = 1L << 30;

    /// <summary>Smallest <c>--max-db-size</c> accepted: below it the per-second counts alone may not fit.</summary>
    public const long MinMaxDatabaseBytes = 1L << 20;

    /// <summary>The database file (default <c>/var/lib/packet-monitor/history.db</c>).</summary>
    public string DatabasePath { get; init; } = Path.Combine(DefaultDataDirectory, FileName);

    /// <summary>
    /// Only the counters of this network namespace (inode) are recorded, as <c>--netns</c> scopes the totals of
    /// <c>watch</c>; null records every namespace's.
    /// </summary>
    public uint? Netns { get; init; }

    /// <summary>Data older than this is deleted (events, per-second and per-minute counts).</summary>
    public TimeSpan Retention { get; init; } = DefaultRetention;

    /// <summary>
    /// Upper bound of the database file plus its write-ahead log. When the data reaches
    /// <see cref="SizeHighWatermark"/> of it, the oldest events go first, then the oldest per-second
    /// counts; the per-minute counts are kept longest.
    /// </summary>
    public long MaxDatabaseBytes { get; init; } = DefaultMaxDatabaseBytes;

    /// <summary>
    /// Events and counters are committed at least this often: a crash (SIGKILL) loses at most this
    /// much, plus what was still queued.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most events in one transaction: at high rates a batch is committed as soon as it is full.</summary>
    public int MaxBatchEvents { get; init; } = 20_000;

    /// <summary>Events that may wait for the writer; beyond it they are counted as lost (stage "history").</summary>
    public int QueueCapacityEvents { get; init; } = 64 * 1024; // about half a second at full rate; bounds memory (bench/soak)

    /// <summary>How often retention and the size limit are enforced (and the file checked).</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After a failure, how long to wait before trying to open the database again.</summary>
    public TimeSpan ReopenInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Fraction of <see cref="MaxDatabaseBytes"/> at which old data starts being deleted.</summary>
    internal double SizeHighWatermark { get; init; } = 0.9;

    /// <summary>Fraction of <see cref="MaxDatabaseBytes"/> deletion brings the data down to.</summary>
    internal double SizeLowWatermark { get; init; } = 0.8;
}
