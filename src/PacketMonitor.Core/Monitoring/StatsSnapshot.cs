namespace PacketMonitor.Core.Monitoring;

/// <summary>What /api/stats, the dashboard and the live feed show; totals from the exact kernel counters.</summary>
public sealed record StatsSnapshot
{
    public bool Running { get; init; }
    public string? AttachMode { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset Time { get; init; }
    public ulong TotalDrops { get; init; }
    public ulong TcpDrops { get; init; }
    public ulong UdpDrops { get; init; }
    public ulong OtherDrops { get; init; }
    public ulong TotalBytes { get; init; }
    public DropRates DropsPerSecond { get; init; } = new(0, 0);
    public IReadOnlyList<ReasonStat> ByReason { get; init; } = [];
    public IReadOnlyList<ProtocolStat> ByProtocol { get; init; } = [];
    public IReadOnlyList<InterfaceStat> ByInterface { get; init; } = [];

    /// <summary>Most frequent flows among the events received (events, not exact counters).</summary>
    public IReadOnlyList<FlowStat> TopFlows { get; init; } = [];

    public IReadOnlyList<LocationStat> TopLocations { get; init; } = [];
    public LossStats EventsLost { get; init; } = new(0, 0, 0, 0);

    /// <summary>Drops in the last second by reason name (the live chart's newest point).</summary>
    public IReadOnlyDictionary<string, ulong> LastSecondByReason { get; init; } = new Dictionary<string, ulong>();

    /// <summary>Whether drops are recorded into the history database, and how that goes.</summary>
    public History.HistoryStatus History { get; init; } = Core.History.HistoryStatus.Disabled;

    public static StatsSnapshot Stopped(DateTimeOffset now) => new() { Time = now };
}

public sealed record DropRates(
    [property: System.Text.Json.Serialization.JsonPropertyName("last_1s")] double Last1s,
    [property: System.Text.Json.Serialization.JsonPropertyName("last_1m")] double Last1m);

public sealed record ReasonStat(string Name, uint Code, ulong Count, string Explanation);

public sealed record ProtocolStat(string Protocol, ulong Count);

public sealed record InterfaceStat(string Name, uint Ifindex, uint Netns, ulong Count);

public sealed record FlowStat(string Source, string Destination, string Protocol, ulong Count);

public sealed record LocationStat(string Location, string Reason, ulong Count);

/// <summary>Events lost per stage: kernel ring full, userspace queue full, live clients too slow (and filtered, not a loss).</summary>
public sealed record LossStats(ulong RingBufferFull, ulong QueueFull, ulong SlowClients, ulong Filtered)
{
    /// <summary>Events the history writer could not record (its queue was full, or the database failed).</summary>
    public ulong History { get; init; }
}
