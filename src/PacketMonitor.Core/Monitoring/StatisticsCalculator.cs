using System.Globalization;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Reasons;

namespace PacketMonitor.Core.Monitoring;

/// <summary>
/// Turns successive counter snapshots (exact) and the stream of events (detail) into
/// <see cref="StatsSnapshot"/>s: rates over the last second and minute, breakdowns, top lists.
/// Not thread-safe: the session calls it from its pump and poller under one lock.
/// </summary>
public sealed class StatisticsCalculator(IReasonNames reasons)
{
    private const int TopCount = 10;
    private const int MaxFlows = 20_000;

    /// <summary>The interface name of drops that had no device (a socket closed, a queue purged).</summary>
    public const string NoDevice = "(no device)";

    private readonly Queue<(DateTimeOffset Time, ulong Total)> _minute = new();
    private readonly Dictionary<(uint Ifindex, uint Netns), string> _interfaceNames = [];
    // Keyed by the raw values: formatting happens only for the top entries, not per event.
    private readonly Dictionary<(System.Net.IPAddress Src, ushort? SrcPort, System.Net.IPAddress Dst, ushort? DstPort, byte Protocol), ulong> _flows = [];
    // Keyed by container, else owner pid, else cgroup; the value keeps the last event's names.
    private readonly Dictionary<(string? Container, uint? Pid, string? Cgroup), (ulong Count, DropEvent Last)> _workloads = [];
    private CounterSnapshot? _previous;

    public void Reset()
    {
        _minute.Clear();
        _flows.Clear();
        _workloads.Clear();
        _previous = null;
    }

    /// <summary>Learns interface names and flows from events.</summary>
    public void Observe(IReadOnlyList<DropEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var e in batch)
        {
            if (e.Ifname.Length > 0)
                _interfaceNames[(e.Ifindex, e.Netns)] = e.Ifname;
            if (e.Container is not null || e.OwnerPid is not null || e.Cgroup is not null)
            {
                var workload = e.Container is not null ? (e.Container, null, null)
                    : e.OwnerPid is not null ? ((string?)null, e.OwnerPid, (string?)null)
                    : (null, null, e.Cgroup);
                _workloads[workload] = (_workloads.GetValueOrDefault(workload).Count + 1, e);
            }
            if (e.SourceAddress is null || e.DestinationAddress is null)
                continue;
            var key = (e.SourceAddress, e.SourcePort, e.DestinationAddress, e.DestinationPort, e.IpProtocol);
            _flows[key] = _flows.GetValueOrDefault(key) + 1;
        }
        if (_workloads.Count > MaxFlows)
        {
            foreach (var rare in _workloads.Where(w => w.Value.Count <= 1).Select(w => w.Key).ToList())
                _workloads.Remove(rare);
        }
        if (_flows.Count > MaxFlows)
        {
            // Keep the heavy hitters: forget flows seen once.
            foreach (var rare in _flows.Where(f => f.Value <= 1).Select(f => f.Key).ToList())
                _flows.Remove(rare);
        }
    }

    private static string Endpoint(System.Net.IPAddress address, ushort? port) =>
        port is null ? address.ToString()
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]:{port.Value.ToString(CultureInfo.InvariantCulture)}"
        : $"{address}:{port.Value.ToString(CultureInfo.InvariantCulture)}";

    public StatsSnapshot Compute(CounterSnapshot counters, IReadOnlyList<LocationCount> locations, LossStats losses,
        string attachMode, DateTimeOffset startedAt)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(locations);
        ulong total = counters.TotalPackets;

        double last1s = 0;
        var lastSecond = new Dictionary<string, ulong>();
        if (_previous is not null)
        {
            double seconds = Math.Max((counters.Taken - _previous.Taken).TotalSeconds, 0.001);
            last1s = (total - Math.Min(total, _previous.TotalPackets)) / seconds;
            var before = _previous.Entries.GroupBy(e => e.ReasonCode).ToDictionary(g => g.Key, g => Sum(g));
            foreach (var g in counters.Entries.GroupBy(e => e.ReasonCode))
            {
                ulong now = Sum(g), was = before.GetValueOrDefault(g.Key);
                if (now > was)
                    lastSecond[reasons.NameOf(g.Key)] = now - was;
            }
        }
        _minute.Enqueue((counters.Taken, total));
        while (_minute.Count > 1 && counters.Taken - _minute.Peek().Time > TimeSpan.FromSeconds(60))
            _minute.Dequeue();
        var oldest = _minute.Peek();
        double minuteSeconds = (counters.Taken - oldest.Time).TotalSeconds;
        double last1m = minuteSeconds > 0.5 ? (total - oldest.Total) / minuteSeconds : last1s;
        _previous = counters;

        return new StatsSnapshot
        {
            Running = true,
            AttachMode = attachMode,
            StartedAt = startedAt,
            Time = counters.Taken,
            TotalDrops = total,
            TcpDrops = Sum(counters.Entries.Where(e => e.IpProtocol == 6)),
            UdpDrops = Sum(counters.Entries.Where(e => e.IpProtocol == 17)),
            OtherDrops = Sum(counters.Entries.Where(e => e.IpProtocol is not 6 and not 17)),
            TotalBytes = counters.TotalBytes,
            DropsPerSecond = new DropRates(Math.Round(last1s, 1), Math.Round(last1m, 1)),
            ByReason = counters.Entries.GroupBy(e => e.ReasonCode)
                .Select(g => (Code: g.Key, Name: reasons.NameOf(g.Key), Count: Sum(g)))
                .OrderByDescending(r => r.Count)
                .Select(r => (r, Info: ReasonCatalog.Describe(r.Name)))
                .Select(x => new ReasonStat(x.r.Name, x.r.Code, x.r.Count, x.Info.Explanation) { Hint = x.Info.Hint })
                .ToList(),
            ByProtocol = counters.Entries.GroupBy(e => e.IpProtocol)
                .Select(g => new ProtocolStat(ProtocolNames.Of(g.Key, g.Key != 0), Sum(g)))
                .OrderByDescending(p => p.Count).ToList(),
            ByInterface = counters.Entries.GroupBy(e => (e.Ifindex, e.Netns))
                .Select(g => new InterfaceStat(_interfaceNames.GetValueOrDefault(g.Key, g.Key.Ifindex == 0 ? NoDevice : $"ifindex {g.Key.Ifindex}"), g.Key.Ifindex, g.Key.Netns, Sum(g)))
                .OrderByDescending(i => i.Count).Take(TopCount * 2).ToList(),
            TopFlows = _flows.OrderByDescending(f => f.Value).Take(TopCount)
                .Select(f => new FlowStat(Endpoint(f.Key.Src, f.Key.SrcPort), Endpoint(f.Key.Dst, f.Key.DstPort),
                    ProtocolNames.Of(f.Key.Protocol), f.Value)).ToList(),
            TopLocations = locations.OrderByDescending(l => l.Packets).Take(TopCount)
                .Select(l => new LocationStat(l.Location, reasons.NameOf(l.ReasonCode), l.Packets)).ToList(),
            TopWorkloads = _workloads.OrderByDescending(w => w.Value.Count).Take(TopCount)
                .Select(w => Workload(w.Value.Last, w.Value.Count)).ToList(),
            EventsLost = losses,
            LastSecondByReason = lastSecond,
        };
    }

    private static WorkloadStat Workload(DropEvent e, ulong count)
    {
        string name = e.Container
            ?? (e.OwnerPid is { } pid ? $"{e.OwnerComm} ({pid.ToString(CultureInfo.InvariantCulture)})" : e.Cgroup ?? "");
        return new WorkloadStat(name, e.Container, e.Cgroup, e.Container is null ? e.OwnerPid : null,
            e.Container is null ? e.OwnerComm : null, count);
    }

    private static ulong Sum(IEnumerable<CounterEntry> entries) => entries.Aggregate(0UL, (s, e) => s + e.Packets);
}
