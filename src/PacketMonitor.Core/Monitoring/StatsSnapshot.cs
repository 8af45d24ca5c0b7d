using PacketMonitor.Core.BlindSpots;

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

    /// <summary>Workloads (container or unit, else owning process) with the most dropped packets, from events.</summary>
    public IReadOnlyList<WorkloadStat> TopWorkloads { get; init; } = [];
    public LossStats EventsLost { get; init; } = new(0, 0, 0, 0);

    /// <summary>Drops in the last second by reason name (the live chart's newest point).</summary>
    public IReadOnlyDictionary<string, ulong> LastSecondByReason { get; init; } = new Dictionary<string, ulong>();

    /// <summary>
    /// Drops the kfree_skb hook may not see: device counters (rx/tx dropped, rx missed) and the softnet
    /// backlog, since the start, with rates; null when the session has no sampler.
    /// </summary>
    public BlindSpotStats? BlindSpots { get; init; }

    /// <summary>Whether drops are recorded into the history database, and how that goes.</summary>
    public History.HistoryStatus History { get; init; } = Core.History.HistoryStatus.Disabled;

    public static StatsSnapshot Stopped(DateTimeOffset now) => new() { Time = now };
}

public sealed record DropRates(
    [property: System.Text.Json.Serialization.JsonPropertyName("last_1s")] double Last1s,
    [property: System.Text.Json.Serialization.JsonPropertyName("last_1m")] double Last1m);

public sealed record ReasonStat(string Name, uint Code, ulong Count, string Explanation)
{
    /// <summary>What to check or do (from the reason catalogue).</summary>
    public string Hint { get; init; } = "";
}

public sealed record ProtocolStat(string Protocol, ulong Count);

public sealed record InterfaceStat(string Name, uint Ifindex, uint Netns, ulong Count);

public sealed record FlowStat(string Source, string Destination, string Protocol, ulong Count);

public sealed record LocationStat(string Location, string Reason, ulong Count);

/// <summary>
/// Drops owned by one workload: <paramref name="Workload"/> is the container or unit when the cgroup shows
/// one, else the owning process as "comm (pid)", else the cgroup path.
/// </summary>
public sealed record WorkloadStat(string Workload, string? Container, string? Cgroup, uint? OwnerPid, string? OwnerComm, ulong Count);

/// <summary>Events lost per stage: kernel ring full, userspace queue full, live clients too slow (and filtered, not a loss).</summary>
public sealed record LossStats(ulong RingBufferFull, ulong QueueFull, ulong SlowClients, ulong Filtered)
{
    /// <summary>Events the history writer could not record (its queue was full, or the database failed).</summary>
    public ulong History { get; init; }

    /// <summary>
    /// Every stage by its stable name (the <c>stage</c> label of <c>packet_monitor_events_lost_total</c>).
    /// A new loss stage is a new property here plus one line below.
    /// </summary>
    public IEnumerable<(string Stage, ulong Count)> ByStage()
    {
        yield return ("ring_full", RingBufferFull);
        yield return ("filtered", Filtered);
        yield return ("queue_full", QueueFull);
        yield return ("slow_clients", SlowClients);
    }
}
