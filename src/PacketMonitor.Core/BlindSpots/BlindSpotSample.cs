namespace PacketMonitor.Core.BlindSpots;

/// <summary>
/// Drop and error counters of one network device as the kernel keeps them (<c>struct rtnl_link_stats64</c>,
/// what <c>ip -s link</c> shows), counted since the device was created.
/// </summary>
public readonly record struct DeviceCounters(
    ulong RxDropped, ulong TxDropped, ulong RxMissed, ulong RxFifo, ulong TxFifo, ulong RxErrors, ulong TxErrors);

/// <summary>One device's counters, in the network namespace it lives in.</summary>
/// <param name="Netns">Inode of the namespace (as the kernel program reports it).</param>
/// <param name="NetnsName">Its name in /run/netns, or empty (e.g. the monitor's own unnamed namespace).</param>
public readonly record struct InterfaceCounters(uint Netns, string NetnsName, int Ifindex, string Name, DeviceCounters Counters);

/// <summary>
/// One CPU's line of <c>/proc/net/softnet_stat</c>. The kernel prints 32-bit counters that wrap around.
/// </summary>
/// <param name="Cpu">The CPU number (its own column on 5.10+ kernels, else the line number).</param>
/// <param name="Processed">Packets taken from the backlog by this CPU's receive softirq.</param>
/// <param name="Dropped">Packets dropped because this CPU's input backlog was full (net.core.netdev_max_backlog).</param>
/// <param name="TimeSqueeze">Times the receive softirq stopped with work left (budget or time used up).</param>
/// <param name="FlowLimit">Packets dropped by the per-flow backlog limit (flow_limit_count); null when the kernel prints no such column.</param>
public readonly record struct SoftnetCounters(int Cpu, uint Processed, uint Dropped, uint TimeSqueeze, uint? FlowLimit);

/// <summary>One reading of every counter that shows drops the kfree_skb hook may not see.</summary>
/// <param name="Taken">When it was read.</param>
/// <param name="Interfaces">Devices of every covered namespace.</param>
/// <param name="Softnet">Per-CPU backlog counters (machine-wide, not per namespace); empty when unreadable.</param>
/// <param name="Problems">What could not be read, one line each (empty when everything was read).</param>
public sealed record BlindSpotSample(
    DateTimeOffset Taken,
    IReadOnlyList<InterfaceCounters> Interfaces,
    IReadOnlyList<SoftnetCounters> Softnet,
    IReadOnlyList<string> Problems);

/// <summary>Reads the device and softnet counters; the kernel implementation lives in PacketMonitor.Kernel.</summary>
public interface IBlindSpotSampler
{
    /// <summary>Which network namespaces the interface counters cover, in words.</summary>
    string Coverage { get; }

    /// <summary>Reads every counter now. Never throws for kernel trouble: what failed is in <see cref="BlindSpotSample.Problems"/>.</summary>
    BlindSpotSample Sample();
}
