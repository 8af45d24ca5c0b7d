namespace PacketMonitor.Core.Counters;

/// <summary>Exact drop totals for one (reason, L4 protocol, interface, namespace, kernel location) key, summed over CPUs.</summary>
public readonly record struct CounterEntry(uint ReasonCode, byte IpProtocol, uint Ifindex, uint Netns, ulong Packets, ulong Bytes, ulong Location = 0);

/// <summary>Where events went missing (drops themselves are always counted exactly).</summary>
public sealed record EventLosses
{
    /// <summary>The kernel could not reserve ring-buffer space: userspace fell behind.</summary>
    public ulong RingBufferFull { get; init; }

    /// <summary>Userspace's bounded queue between reader and output was full.</summary>
    public ulong QueueFull { get; init; }

    /// <summary>Suppressed on purpose by a kernel filter (not a loss; shown for completeness).</summary>
    public ulong Filtered { get; init; }

    /// <summary>The kernel skipped the program because it was already running on that CPU (nested drop).</summary>
    public ulong KernelRecursionMisses { get; init; }
}

/// <summary>One read of the kernel's exact counters.</summary>
public sealed record CounterSnapshot(DateTimeOffset Taken, IReadOnlyList<CounterEntry> Entries)
{
    public ulong TotalPackets => Entries.Aggregate(0UL, (sum, e) => sum + e.Packets);
    public ulong TotalBytes => Entries.Aggregate(0UL, (sum, e) => sum + e.Bytes);
}
