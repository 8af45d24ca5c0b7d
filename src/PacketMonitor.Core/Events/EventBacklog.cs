using System.Threading.Channels;

namespace PacketMonitor.Core.Events;

/// <summary>
/// The queue between the ring-buffer reader and one consumer, bounded by the number of
/// events it holds rather than by batches (a batch is anything from 1 to 4096 events).
/// Writing never waits: a batch that does not fit is refused and the writer counts it lost.
/// The consumer calls <see cref="Release"/> for every batch it has taken.
/// </summary>
public sealed class EventBacklog
{
    private readonly Channel<IReadOnlyList<DropEvent>> _channel =
        Channel.CreateUnbounded<IReadOnlyList<DropEvent>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private long _queued;

    public EventBacklog(int capacityEvents)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityEvents, 1);
        CapacityEvents = capacityEvents;
        Writer = new BoundedWriter(this);
    }

    public int CapacityEvents { get; }

    /// <summary>Events queued and not yet released.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    public ChannelWriter<IReadOnlyList<DropEvent>> Writer { get; }

    public ChannelReader<IReadOnlyList<DropEvent>> Reader => _channel.Reader;

    /// <summary>Returns the room of a batch the consumer has finished with.</summary>
    public void Release(int events) => Interlocked.Add(ref _queued, -events);

    private sealed class BoundedWriter(EventBacklog queue) : ChannelWriter<IReadOnlyList<DropEvent>>
    {
        public override bool TryWrite(IReadOnlyList<DropEvent> item)
        {
            if (Interlocked.Add(ref queue._queued, item.Count) > queue.CapacityEvents)
            {
                Interlocked.Add(ref queue._queued, -item.Count);
                return false;
            }
            if (queue._channel.Writer.TryWrite(item))
                return true;
            Interlocked.Add(ref queue._queued, -item.Count); // completed meanwhile
            return false;
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
            queue._channel.Writer.WaitToWriteAsync(cancellationToken);

        public override bool TryComplete(Exception? error = null) => queue._channel.Writer.TryComplete(error);
    }
}
