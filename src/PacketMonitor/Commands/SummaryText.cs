using System.Globalization;
using System.Text;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Cli.Commands;

/// <summary>Text tables of the exact kernel counters: the periodic --summary and the summary at exit.</summary>
public static class SummaryText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One block per second: drops/s and totals by reason, protocol and interface.</summary>
    public static string Periodic(CounterSnapshot previous, CounterSnapshot now, IReasonNames reasons, Func<uint, string>? interfaceName = null)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(now);
        ArgumentNullException.ThrowIfNull(reasons);
        interfaceName ??= InterfaceNames();
        double seconds = Math.Max((now.Taken - previous.Taken).TotalSeconds, 0.001);
        var sb = new StringBuilder();
        ulong total = now.TotalPackets;
        ulong delta = total - Math.Min(total, previous.TotalPackets);
        sb.Append(Inv, $"[{now.Taken:HH:mm:ss}] drops/s: {delta / seconds:F0}   total: {total}\n");
        Table(sb, "reason", now, previous, e => $"{reasons.NameOf(e.ReasonCode)} ({e.ReasonCode})", seconds);
        Table(sb, "protocol", now, previous, e => ProtocolNames.Of(e.IpProtocol), seconds);
        Table(sb, "interface", now, previous, e => interfaceName(e.Ifindex), seconds);
        sb.Append('\n');
        return sb.ToString();
    }

    private static void Table(StringBuilder sb, string title, CounterSnapshot now, CounterSnapshot previous,
        Func<CounterEntry, string> keyOf, double seconds)
    {
        var before = previous.Entries.GroupBy(keyOf).ToDictionary(g => g.Key, g => g.Aggregate(0UL, (s, e) => s + e.Packets));
        var rows = now.Entries.GroupBy(keyOf)
            .Select(g => (Key: g.Key, Total: g.Aggregate(0UL, (s, e) => s + e.Packets)))
            .OrderByDescending(r => r.Total)
            .Take(10);
        foreach (var (key, totalPackets) in rows)
        {
            ulong was = before.GetValueOrDefault(key);
            double rate = (totalPackets - Math.Min(was, totalPackets)) / seconds;
            sb.Append(Inv, $"  {title,-9} {key,-40} {rate,10:F0}/s {totalPackets,14}\n");
        }
    }

    /// <summary>The summary printed at exit: drops per reason, and what happened to the events.</summary>
    public static string Final(CounterSnapshot counters, EventLosses losses, IReasonNames reasons,
        long? received, long written, bool eventsEnabled)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentNullException.ThrowIfNull(reasons);
        var sb = new StringBuilder();
        sb.Append("\nDrops by reason (exact kernel counters):\n");
        var byReason = counters.Entries
            .GroupBy(e => e.ReasonCode)
            .Select(g => (Code: g.Key, Packets: g.Aggregate(0UL, (s, e) => s + e.Packets), Bytes: g.Aggregate(0UL, (s, e) => s + e.Bytes)))
            .OrderByDescending(r => r.Packets);
        foreach (var (code, packets, bytes) in byReason)
            sb.Append(Inv, $"  {reasons.NameOf(code) + " (" + code.ToString(Inv) + ")",-40} {packets,12} packets {bytes,14} bytes\n");
        sb.Append(Inv, $"drops: total {counters.TotalPackets}, bytes {counters.TotalBytes}\n");
        if (eventsEnabled)
        {
            sb.Append(Inv, $"events: received {received ?? 0}, written {written}, lost ring_full {losses.RingBufferFull}, lost queue_full {losses.QueueFull}, filtered {losses.Filtered}\n");
        }
        else
        {
            sb.Append("events: off (counters only)\n");
        }
        if (losses.KernelRecursionMisses > 0)
            sb.Append(Inv, $"warning: the kernel skipped the program {losses.KernelRecursionMisses} times (nested drops on one CPU): those drops are not counted\n");
        return sb.ToString();
    }

    /// <summary>
    /// The device and softnet counters that moved since the start (or in the last interval), one line per
    /// counter in the periodic table's shape; one line saying so when none moved.
    /// </summary>
    public static string BlindSpots(BlindSpotStats stats, bool periodic)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var rows = new List<(string Title, string Key, CounterRate Rate)>();
        foreach (var device in stats.Interfaces)
        {
            string where = device.NetnsName.Length > 0 ? $"{device.Name} [{device.NetnsName}]" : $"{device.Name} (netns {device.Netns})";
            foreach (var (counter, rate) in (ReadOnlySpan<(string, CounterRate)>)[
                ("rx_dropped", device.RxDropped), ("tx_dropped", device.TxDropped), ("rx_missed", device.RxMissed), ("rx_fifo", device.RxFifo)])
                rows.Add(("device", $"{where} {counter}", rate));
        }
        rows.Add(("softnet", "dropped (backlog full)", stats.Softnet.Dropped));
        rows.Add(("softnet", "time_squeeze", stats.Softnet.TimeSqueeze));
        if (stats.Softnet.FlowLimit is CounterRate flowLimit)
            rows.Add(("softnet", "flow_limit", flowLimit));

        var sb = new StringBuilder();
        var moved = rows.Where(r => r.Rate.Total > 0).ToList();
        if (!periodic)
            sb.Append(Inv, $"Drops kfree_skb cannot see (device and softnet counters since start; {stats.Coverage}):\n");
        if (moved.Count == 0)
            sb.Append(Inv, $"  {"unseen",-9} none in {stats.InterfaceCount} devices of {stats.Namespaces} namespaces and the softnet backlog\n");
        foreach (var (title, key, rate) in moved)
        {
            if (periodic)
                sb.Append(Inv, $"  {title,-9} {key,-40} {rate.PerSecond,10:F0}/s {rate.Total,14}\n");
            else
                sb.Append(Inv, $"  {title + " " + key,-50} {rate.Total,14}\n");
        }
        foreach (var problem in stats.Problems)
            sb.Append(Inv, $"  warning: {problem}\n");
        return sb.ToString();
    }

    /// <summary>Names of this namespace's interfaces by index (from /sys/class/net); others show as "ifindex N".</summary>
    public static Func<uint, string> InterfaceNames(string sysClassNet = "/sys/class/net")
    {
        var names = new Dictionary<uint, string>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(sysClassNet))
            {
                if (uint.TryParse(File.ReadAllText(Path.Combine(dir, "ifindex")).Trim(), NumberStyles.None, Inv, out var index))
                    names[index] = Path.GetFileName(dir);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return ifindex => names.TryGetValue(ifindex, out var name) ? $"{name} ({ifindex})" : $"ifindex {ifindex}";
    }
}
