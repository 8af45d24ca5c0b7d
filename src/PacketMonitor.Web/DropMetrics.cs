using System.Reflection;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Metrics;
using PacketMonitor.Core.Monitoring;
using Prometheus;

namespace PacketMonitor.Web;

/// <summary>Settings of the Prometheus metrics.</summary>
public sealed class DropMetricsOptions
{
    /// <summary>Most distinct <c>interface</c> label values; the rest fold into <c>other</c> (<c>--metrics-max-interfaces</c>).</summary>
    public int MaxInterfaces { get; set; } = InterfaceLabels.DefaultMaxNames;

    /// <summary>The name of (ifindex, netns inode) in its namespace, or null. Default: none known (labels <c>ifindexN</c>).</summary>
    public Func<uint, uint, string?> InterfaceName { get; set; } = (_, _) => null;

    /// <summary>The <c>kernel</c> label of <c>packet_monitor_build_info</c> (the running kernel's release).</summary>
    public string Kernel { get; set; } = "unknown";

    /// <summary>The <c>version</c> label of <c>packet_monitor_build_info</c>. Default: this build's version.</summary>
    public string Version { get; set; } = typeof(DropMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DropMetrics).Assembly.GetName().Version?.ToString() ?? "unknown";
}

/// <summary>
/// The Prometheus metrics of one monitor, in a registry of its own (several monitors can live in one process):
/// <list type="bullet">
/// <item><c>packet_monitor_drops_total{reason,protocol,interface}</c> and <c>packet_monitor_dropped_bytes_total{…}</c>:
/// the exact kernel counters, monotonic for the life of the process (see <see cref="DropTotals"/>);</item>
/// <item><c>packet_monitor_events_lost_total{stage}</c>: events lost per stage (<see cref="LossStats.ByStage"/>);</item>
/// <item><c>packet_monitor_device_drops_total{kind}</c> and <c>packet_monitor_softnet_total{kind}</c>: the drops kfree_skb cannot see;</item>
/// <item><c>packet_monitor_monitoring</c>: 1 while attached, else 0;</item>
/// <item><c>packet_monitor_build_info{version,attach_mode,kernel}</c>: always 1.</item>
/// </list>
/// The counters are set from the latest counter reading (at most one poll interval old) just before each scrape,
/// by prometheus-net's before-collect callback; the text format is prometheus-net's.
/// </summary>
public sealed class DropMetrics
{
    private readonly DropTotals _totals;
    private readonly Counter _drops;
    private readonly Counter _bytes;
    private readonly Counter _lost;
    private readonly Gauge _monitoring;
    private readonly Counter _deviceDrops;
    private readonly Counter _softnet;
    private readonly Dictionary<(Counter, string), ulong> _blindSpotLast = [];
    private readonly Lock _blindSpotGate = new();
    private DateTimeOffset? _blindSpotStart;
    private readonly Gauge _buildInfo;
    private readonly DropMetricsOptions _options;
    private readonly Lock _statusGate = new();
    private string _attachMode = "none";
    private bool _running;

    public DropMetrics(IReasonNames reasons, DropMetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reasons);
        _options = options ?? new DropMetricsOptions();
        if (_options.MaxInterfaces < 1)
            throw new ArgumentException($"--metrics-max-interfaces: {_options.MaxInterfaces} must be at least 1");
        _totals = new DropTotals(reasons, new InterfaceLabels(_options.MaxInterfaces, _options.InterfaceName));
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        string[] dropLabels = ["reason", "protocol", "interface"];
        _drops = factory.CreateCounter("packet_monitor_drops_total",
            "Packets dropped by the kernel (exact in-kernel counters), by drop reason, L4 protocol and interface.",
            new CounterConfiguration { LabelNames = dropLabels });
        _bytes = factory.CreateCounter("packet_monitor_dropped_bytes_total",
            "Bytes of the packets dropped by the kernel (skb length), by drop reason, L4 protocol and interface.",
            new CounterConfiguration { LabelNames = dropLabels });
        _lost = factory.CreateCounter("packet_monitor_events_lost_total",
            "Drop events (the per-packet detail, not the counts) lost, by stage: ring_full, filtered (by a kernel filter, on purpose), queue_full, slow_clients, history (not recorded in the history database).",
            new CounterConfiguration { LabelNames = ["stage"] });
        _deviceDrops = factory.CreateCounter("packet_monitor_device_drops_total",
            "Packets the network devices dropped or missed, summed over the interfaces of the monitored namespaces (kfree_skb may not see these; per interface in /api/stats): rx_dropped, tx_dropped, rx_missed.",
            new CounterConfiguration { LabelNames = ["kind"] });
        _softnet = factory.CreateCounter("packet_monitor_softnet_total",
            "Per-CPU backlog events from /proc/net/softnet_stat, summed over CPUs: dropped (backlog full), time_squeeze (softirq budget ran out), flow_limit.",
            new CounterConfiguration { LabelNames = ["kind"] });
        _monitoring = factory.CreateGauge("packet_monitor_monitoring", "1 while the kernel program is attached, 0 when monitoring is stopped.");
        _buildInfo = factory.CreateGauge("packet_monitor_build_info", "Always 1: the version, the attach mode in use (or last used) and the kernel release.",
            new GaugeConfiguration { LabelNames = ["version", "attach_mode", "kernel"] });
        Registry.AddBeforeCollectCallback(Publish);
    }

    /// <summary>
    /// Events the history recorder lost so far (for the life of the process, so outside the per-capture totals),
    /// exported as the <c>history</c> stage; null when history is off.
    /// </summary>
    public Func<ulong>? HistoryLost { get; set; }

    /// <summary>The registry to serve (<c>GET /metrics</c>).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Takes a reading of the exact counters (every one, including the last of each capture).</summary>
    public void Record(CounterReading reading) => _totals.Record(reading);

    /// <summary>Whether monitoring runs, and how it attached.</summary>
    public void SetStatus(bool running, string? attachMode)
    {
        lock (_statusGate)
        {
            _running = running;
            if (attachMode is not null)
                _attachMode = attachMode;
        }
    }

    /// <summary>
    /// Takes the device and softnet counters kfree_skb cannot see. Their totals count from each start of monitoring
    /// (<paramref name="startedAt"/>), so the exported counters add what each reading grew by: monotonic.
    /// </summary>
    public void RecordBlindSpots(BlindSpotStats? blindSpots, DateTimeOffset? startedAt)
    {
        if (blindSpots is null)
            return;
        lock (_blindSpotGate)
        {
            if (startedAt != _blindSpotStart)
            {
                _blindSpotStart = startedAt;
                _blindSpotLast.Clear(); // a new start: its totals begin at zero
            }
            Grow(_deviceDrops, "rx_dropped", blindSpots.AllInterfaces.RxDropped.Total);
            Grow(_deviceDrops, "tx_dropped", blindSpots.AllInterfaces.TxDropped.Total);
            Grow(_deviceDrops, "rx_missed", blindSpots.AllInterfaces.RxMissed.Total);
            Grow(_softnet, "dropped", blindSpots.Softnet.Dropped.Total);
            Grow(_softnet, "time_squeeze", blindSpots.Softnet.TimeSqueeze.Total);
            if (blindSpots.Softnet.FlowLimit is { } flowLimit)
                Grow(_softnet, "flow_limit", flowLimit.Total);
        }
    }

    private void Grow(Counter counter, string kind, ulong total)
    {
        ulong last = _blindSpotLast.GetValueOrDefault((counter, kind));
        _blindSpotLast[(counter, kind)] = total;
        counter.WithLabels(kind).Inc(total >= last ? total - last : total);
    }

    /// <summary>Follows a session's counter readings, statistics and status until the returned handle is disposed.</summary>
    public IDisposable Follow(MonitorSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        void OnStatus(MonitorStatus status) => SetStatus(status.Running, status.AttachMode);
        void OnStats(StatsSnapshot stats) => RecordBlindSpots(stats.BlindSpots, stats.StartedAt);
        session.CountersRead += Record;
        session.StatusChanged += OnStatus;
        session.StatsUpdated += OnStats;
        OnStatus(session.Status);
        return new Unsubscriber(() =>
        {
            session.CountersRead -= Record;
            session.StatusChanged -= OnStatus;
            session.StatsUpdated -= OnStats;
        });
    }

    private void Publish()
    {
        foreach (var total in _totals.Drops())
        {
            var (reason, protocol, iface) = total.Series;
            _drops.WithLabels(reason, protocol, iface).IncTo(total.Packets);
            _bytes.WithLabels(reason, protocol, iface).IncTo(total.Bytes);
        }
        foreach (var (stage, count) in _totals.Losses())
            _lost.WithLabels(stage).IncTo(count);
        if (HistoryLost is { } historyLost)
            _lost.WithLabels("history").IncTo(historyLost());
        bool running;
        string attachMode;
        lock (_statusGate)
            (running, attachMode) = (_running, _attachMode);
        _monitoring.Set(running ? 1 : 0);
        foreach (var labels in _buildInfo.GetAllLabelValues().Where(l => l[1] != attachMode).ToList())
            _buildInfo.RemoveLabelled(labels);
        _buildInfo.WithLabels(_options.Version, attachMode, _options.Kernel).Set(1);
    }

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
