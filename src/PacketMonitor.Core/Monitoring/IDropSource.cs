using System.Threading.Channels;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Monitoring;

/// <summary>
/// Where drops come from: the kernel program in production, a fake in tests. One capture at a time;
/// <see cref="MonitorSession"/> is the only caller.
/// </summary>
public interface IDropSource
{
    /// <summary>Attaches and starts delivering event batches to <paramref name="events"/> (completed when stopped).</summary>
    IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events);

    /// <summary>Names and codes of the running kernel's drop reasons.</summary>
    IReasonNames Reasons { get; }
}

/// <summary>A running capture; disposing detaches it (after delivering what was pending).</summary>
public interface IActiveCapture : IDisposable
{
    /// <summary>tp_btf, raw_tp or tracepoint.</summary>
    string AttachMode { get; }

    /// <summary>Exact counters since this capture started.</summary>
    CounterSnapshot ReadCounters();

    /// <summary>Exact drops by (reason, kernel location) in a snapshot, with the locations' symbols.</summary>
    IReadOnlyList<LocationCount> Locations(CounterSnapshot counters);

    /// <summary>Event losses inside the source (ring full, reader queue full, filtered).</summary>
    EventLosses ReadLosses();
}

/// <summary>Drops counted at one kernel location for one reason.</summary>
public readonly record struct LocationCount(uint ReasonCode, ulong Address, string Location, ulong Packets);
