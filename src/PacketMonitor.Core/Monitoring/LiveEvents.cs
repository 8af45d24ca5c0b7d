using System.Runtime.CompilerServices;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Monitoring;

/// <summary>
/// One capture of an <see cref="IDropSource"/> read as an async sequence of event batches, for a single consumer
/// that takes everything in order (an export). Unlike <see cref="MonitorSession"/> there is no fan-out, no
/// statistics and no recent window.
/// </summary>
/// <remarks>
/// The source writes into a bounded <see cref="EventBacklog"/> and never waits; a batch that does not fit is
/// lost and counted by the source (<see cref="EventLosses.QueueFull"/>). <see cref="Stop"/> detaches: the
/// events delivered until then are still read, then the sequence ends.
/// </remarks>
public sealed class LiveEvents : IDisposable
{
    /// <summary>About a second of events at the highest rates measured, as for `watch`.</summary>
    public const int DefaultCapacityEvents = 256 * 1024;

    private readonly EventBacklog _backlog;
    private readonly IActiveCapture _capture;
    private readonly Lock _gate = new();
    private EventLosses? _lossesAtStop;

    private LiveEvents(EventBacklog backlog, IActiveCapture capture)
    {
        _backlog = backlog;
        _capture = capture;
    }

    /// <summary>Attaches the source (its exceptions pass through: nothing is left attached).</summary>
    public static LiveEvents Start(IDropSource source, int capacityEvents = DefaultCapacityEvents)
    {
        ArgumentNullException.ThrowIfNull(source);
        var backlog = new EventBacklog(capacityEvents);
        return new LiveEvents(backlog, source.Start(backlog.Writer));
    }

    /// <summary>tp_btf, raw_tp or tracepoint.</summary>
    public string AttachMode => _capture.AttachMode;

    /// <summary>Whether <see cref="Stop"/> has run.</summary>
    public bool Stopped
    {
        get { lock (_gate) return _lossesAtStop is not null; }
    }

    /// <summary>Batches in arrival order until the capture is stopped and drained. Read it once.</summary>
    public async IAsyncEnumerable<IReadOnlyList<DropEvent>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = _backlog.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryRead(out var batch))
            {
                _backlog.Release(batch.Count);
                yield return batch;
            }
        }
    }

    /// <summary>Event losses so far (or at the stop).</summary>
    public EventLosses Losses
    {
        get
        {
            lock (_gate)
                return _lossesAtStop ?? _capture.ReadLosses();
        }
    }

    /// <summary>Detaches (idempotent, from any thread) and returns the losses read just before.</summary>
    public EventLosses Stop()
    {
        lock (_gate)
        {
            if (_lossesAtStop is { } losses)
                return losses;
            // Read while the maps are still open; disposing drains the ring and completes the backlog.
            try
            {
                _lossesAtStop = _capture.ReadLosses();
            }
            finally
            {
                _lossesAtStop ??= new EventLosses();
                _capture.Dispose();
            }
            return _lossesAtStop;
        }
    }

    public void Dispose() => Stop();
}
