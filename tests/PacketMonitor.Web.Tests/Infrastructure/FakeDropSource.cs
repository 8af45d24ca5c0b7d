using System.Threading.Channels;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web.Tests.Infrastructure;

/// <summary>
/// A drop source without a kernel: tests push events and set the exact counters, losses and locations
/// that the session then polls. Start can be told to fail.
/// </summary>
public sealed class FakeDropSource : IDropSource
{
    public const string Mode = "fake_mode";

    private readonly Lock _gate = new();
    private ChannelWriter<IReadOnlyList<DropEvent>>? _writer;
    private IReadOnlyList<CounterEntry> _counters = [];
    private IReadOnlyList<LocationCount> _locations = [];
    private EventLosses _losses = new();

    public IReasonNames Reasons { get; } = new FakeReasons();

    /// <summary>Thrown by the next starts while set.</summary>
    public Exception? StartFailure { get; set; }

    public int Starts { get; private set; }

    public bool Running
    {
        get { lock (_gate) return _writer is not null; }
    }

    public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events)
    {
        if (StartFailure is { } failure)
            throw failure;
        lock (_gate)
        {
            _writer = events;
            Starts++;
        }
        return new Capture(this, events);
    }

    /// <summary>Delivers one batch as the ring-buffer reader would; false when not running or the session's queue is full.</summary>
    public bool Push(IReadOnlyList<DropEvent> batch)
    {
        lock (_gate)
            return _writer is not null && _writer.TryWrite(batch);
    }

    public void SetCounters(params CounterEntry[] entries)
    {
        lock (_gate)
            _counters = [.. entries];
    }

    public void SetLocations(params LocationCount[] locations)
    {
        lock (_gate)
            _locations = [.. locations];
    }

    public void SetLosses(EventLosses losses)
    {
        lock (_gate)
            _losses = losses;
    }

    private sealed class Capture(FakeDropSource source, ChannelWriter<IReadOnlyList<DropEvent>> writer) : IActiveCapture
    {
        public string AttachMode => Mode;

        public CounterSnapshot ReadCounters()
        {
            lock (source._gate)
                return new CounterSnapshot(DateTimeOffset.UtcNow, source._counters);
        }

        public IReadOnlyList<LocationCount> Locations(CounterSnapshot counters)
        {
            lock (source._gate)
                return source._locations;
        }

        public EventLosses ReadLosses()
        {
            lock (source._gate)
                return source._losses;
        }

        public void Dispose()
        {
            lock (source._gate)
            {
                if (ReferenceEquals(source._writer, writer))
                    source._writer = null;
            }
            writer.TryComplete();
        }
    }
}

/// <summary>A few reason names as a 6.x kernel numbers them.</summary>
public sealed class FakeReasons : IReasonNames
{
    public static readonly IReadOnlyList<(uint Code, string Name)> All =
    [
        (2, "NOT_SPECIFIED"),
        (3, "NO_SOCKET"),
        (6, "SOCKET_RCVBUFF"),
        (8, "PKT_TOO_SMALL"),
        (14, "NETFILTER_DROP"),
    ];

    public string NameOf(uint code) =>
        All.FirstOrDefault(r => r.Code == code).Name ?? $"REASON_{code}";
}
