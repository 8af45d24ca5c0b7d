using System.Text.Json.Serialization;

namespace PacketMonitor.Core.History;

/// <summary>Whether drops are being recorded.</summary>
public enum HistoryState
{
    /// <summary>Not recording on purpose (<c>--no-history</c>, or <c>watch</c> without <c>--history</c>).</summary>
    [JsonStringEnumMemberName("disabled")]
    Disabled,

    /// <summary>Recording.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>The database cannot be used; monitoring goes on without history (see the message).</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>The recorder's state as <c>/api/stats</c> (<c>history</c>) and the dashboard show it.</summary>
public sealed record HistoryStatus
{
    [JsonConverter(typeof(JsonStringEnumConverter<HistoryState>))]
    public HistoryState State { get; init; }

    /// <summary>Why it failed (one line), or null.</summary>
    public string? Message { get; init; }

    /// <summary>The database file, or null when disabled.</summary>
    public string? Path { get; init; }

    /// <summary>Event rows and count rows committed since start.</summary>
    public long RowsWritten { get; init; }

    /// <summary>Events among <see cref="RowsWritten"/>.</summary>
    public long EventsWritten { get; init; }

    /// <summary>Events and count rows not recorded: the writer's queue was full, or the database had failed.</summary>
    public long RowsLost { get; init; }

    /// <summary>Events among <see cref="RowsLost"/> (<c>events_lost.history</c>).</summary>
    public long EventsLost { get; init; }

    /// <summary>The file and its write-ahead log on disk, in bytes.</summary>
    public long DatabaseBytes { get; init; }

    public long MaxDatabaseBytes { get; init; }

    public long RetentionSeconds { get; init; }

    /// <summary>When the last batch was committed.</summary>
    public DateTimeOffset? LastWrite { get; init; }

    public static HistoryStatus Disabled { get; } = new() { State = HistoryState.Disabled };
}
