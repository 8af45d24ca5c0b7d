using PacketMonitor.Core.Capture;
using PacketMonitor.Kernel;

namespace PacketMonitor.Cli.Commands;

/// <summary>How `watch` prints.</summary>
public enum OutputMode
{
    Text,
    Json,
    Summary,
    CountsOnly,
}

/// <summary>Validated settings of `packet-monitor watch`.</summary>
public sealed record WatchSettings
{
    public required CaptureOptions Capture { get; init; }
    public OutputMode Output { get; init; } = OutputMode.Text;
    public long? Count { get; init; }
    public TimeSpan? Duration { get; init; }
    public bool Verbose { get; init; }
    public RingReaderKind RingReader { get; init; } = RingReaderKind.Mapped;
    public MetricsSettings Metrics { get; init; } = new(null, null, PacketMonitor.Core.Metrics.InterfaceLabels.DefaultMaxNames);

    /// <summary>Where to record history (--history), or null.</summary>
    public PacketMonitor.Core.History.HistoryOptions? History { get; init; }
}

/// <summary>Prometheus metrics: where to serve them alone (null: not at all, or only on the dashboard), the token, the label limit.</summary>
public sealed record MetricsSettings(string? Listen, string? Token, int MaxInterfaces);
