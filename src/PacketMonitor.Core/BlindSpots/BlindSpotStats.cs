namespace PacketMonitor.Core.BlindSpots;

/// <summary>A counter since monitoring started and its rate over the last sampling interval.</summary>
public sealed record CounterRate(ulong Total, double PerSecond)
{
    public static readonly CounterRate Zero = new(0, 0);
}

/// <summary>One device's drop and error counters since monitoring started.</summary>
public sealed record InterfaceBlindSpot(
    string Name, int Ifindex, uint Netns, string NetnsName,
    CounterRate RxDropped, CounterRate TxDropped, CounterRate RxMissed,
    CounterRate RxFifo, CounterRate TxFifo, CounterRate RxErrors, CounterRate TxErrors);

/// <summary>The dropped, missed and FIFO counters summed over every covered device.</summary>
public sealed record InterfaceTotals(CounterRate RxDropped, CounterRate TxDropped, CounterRate RxMissed, CounterRate RxFifo);

/// <summary>
/// The per-CPU backlog counters of <c>/proc/net/softnet_stat</c>, summed over the CPUs, since monitoring started.
/// <see cref="FlowLimit"/> is null when the kernel prints no flow-limit column.
/// </summary>
public sealed record SoftnetBlindSpot(int Cpus, CounterRate Dropped, CounterRate TimeSqueeze, CounterRate? FlowLimit);

/// <summary>
/// Drops the kfree_skb hook may not see, for <c>/api/stats</c> (<c>blind_spots</c>), the dashboard,
/// the summaries and <c>/metrics</c>: device counters (what <c>ip -s link</c> shows) and the softnet backlog.
/// </summary>
public sealed record BlindSpotStats
{
    /// <summary>Which network namespaces the interface counters cover.</summary>
    public string Coverage { get; init; } = "";

    /// <summary>Namespaces read in the last sample.</summary>
    public int Namespaces { get; init; }

    /// <summary>Devices read in the last sample (only the most active are listed in <see cref="Interfaces"/>).</summary>
    public int InterfaceCount { get; init; }

    /// <summary>The devices with the most drops since start (at most <see cref="BlindSpotTracker.MaxInterfacesShown"/>).</summary>
    public IReadOnlyList<InterfaceBlindSpot> Interfaces { get; init; } = [];

    /// <summary>Every covered device together.</summary>
    public InterfaceTotals AllInterfaces { get; init; } = new(CounterRate.Zero, CounterRate.Zero, CounterRate.Zero, CounterRate.Zero);

    public SoftnetBlindSpot Softnet { get; init; } = new(0, CounterRate.Zero, CounterRate.Zero, null);

    /// <summary>What each counter means, by its JSON name.</summary>
    public IReadOnlyDictionary<string, string> Notes { get; init; } = BlindSpotNotes.All;

    /// <summary>What could not be read in the last sample (empty when all was read).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>One short note per counter: what it counts and whether kfree_skb sees those drops too.</summary>
public static class BlindSpotNotes
{
    public const string RxDropped = "Received packets that the device, its driver or the core discarded before delivery (for example no buffer memory, no handler for the protocol, or on a veth a packet larger than the receiving side's MTU); some also reach kfree_skb with a reason, drops inside drivers often do not.";
    public const string TxDropped = "Packets that the device or its driver dropped on the way out (for example a veth whose peer is down or has a smaller MTU); some also reach kfree_skb, often only as NOT_SPECIFIED or QDISC_DROP, and this counter tells which device lost them.";
    public const string RxMissed = "Packets the network card had to drop because its receive ring was full: the host did not take them fast enough. They never became a socket buffer, so kfree_skb cannot see them; ip -s link shows them as missed.";
    public const string RxFifo = "Receive FIFO overruns reported by the card (overflow events, not always one per packet); kfree_skb cannot see them.";
    public const string TxFifo = "Transmit FIFO errors reported by the card.";
    public const string RxErrors = "Receive errors of every kind the driver counts (bad frames, CRC, length; some drivers include missed packets).";
    public const string TxErrors = "Transmit errors of every kind the driver counts (carrier, aborted, FIFO).";
    public const string SoftnetDropped = "Packets dropped because a CPU's input backlog was full (net.core.netdev_max_backlog, the second column of /proc/net/softnet_stat); recent kernels also report these to kfree_skb as CPU_BACKLOG.";
    public const string TimeSqueeze = "Not a drop: times a CPU's receive softirq stopped with packets left because its budget ran out (net.core.netdev_budget, netdev_budget_usecs). A steady rise means the CPU cannot keep up and NIC rings may overflow (rx_missed).";
    public const string FlowLimit = "Packets dropped by the per-flow backlog limit (net.core.flow_limit_cpu_bitmap), which keeps one heavy flow from filling a CPU's backlog.";

    /// <summary>Notes by the counters' JSON names.</summary>
    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>
    {
        ["rx_dropped"] = RxDropped,
        ["tx_dropped"] = TxDropped,
        ["rx_missed"] = RxMissed,
        ["rx_fifo"] = RxFifo,
        ["tx_fifo"] = TxFifo,
        ["rx_errors"] = RxErrors,
        ["tx_errors"] = TxErrors,
        ["softnet_dropped"] = SoftnetDropped,
        ["time_squeeze"] = TimeSqueeze,
        ["flow_limit"] = FlowLimit,
    }.AsReadOnly();
}
