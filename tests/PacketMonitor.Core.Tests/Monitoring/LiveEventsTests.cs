using System.Threading.Channels;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Tests.Events;

namespace PacketMonitor.Core.Tests.Monitoring;

public sealed class LiveEventsTests
{
    private sealed class Names : IReasonNames
    {
        public string NameOf(uint code) => $"R{code}";
    }

    /// <summary>A source the test pushes batches into; counts how often it was detached and when its losses were read.</summary>
    private sealed class ScriptedSource : IDropSource
    {
        public ChannelWriter<IReadOnlyList<DropEvent>>? Events;
        public int Disposals;
        public bool LossesReadAfterDispose;

        public IReasonNames Reasons { get; } = new Names();

        public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events)
        {
            Events = events;
            return new Active(this);
        }

        private sealed class Active(ScriptedSource source) : IActiveCapture
        {
            public string AttachMode => "tp_btf";
            public CounterSnapshot ReadCounters() => new(DateTimeOffset.UtcNow, []);
            public IReadOnlyList<LocationCount> Locations(CounterSnapshot counters) => [];

            public EventLosses ReadLosses()
            {
                source.LossesReadAfterDispose |= source.Disposals > 0;
                return new EventLosses { RingBufferFull = 7, QueueFull = 2 };
            }

            public void Dispose()
            {
                source.Disposals++;
                source.Events!.TryComplete();
            }
        }
    }

    private static DropEvent Event(uint pid) => EventSamples.Ipv4Tcp() with { Pid = pid };

    [Fact]
    public async Task ReadAll_BatchesInOrder_EndsAfterStopWithWhatWasDelivered()
    {
        var source = new ScriptedSource();
        using var live = LiveEvents.Start(source, capacityEvents: 100);
        Assert.True(source.Events!.TryWrite([Event(1), Event(2)]));
        Assert.True(source.Events.TryWrite([Event(3)]));

        var losses = live.Stop();
        var pids = new List<uint>();
        await foreach (var batch in live.ReadAllAsync(TestContext.Current.CancellationToken))
            pids.AddRange(batch.Select(e => e.Pid));

        Assert.Equal([1u, 2u, 3u], pids);
        Assert.Equal(7UL, losses.RingBufferFull);
        Assert.Equal(2UL, losses.QueueFull);
        Assert.False(source.LossesReadAfterDispose);
    }

    [Fact]
    public void Backlog_Full_RefusesTheBatchInsteadOfWaiting()
    {
        var source = new ScriptedSource();
        using var live = LiveEvents.Start(source, capacityEvents: 3);

        Assert.True(source.Events!.TryWrite([Event(1), Event(2)]));
        Assert.False(source.Events.TryWrite([Event(3), Event(4)]));
    }

    [Fact]
    public void Stop_TwiceAndDispose_DetachesOnceAndKeepsTheLosses()
    {
        var source = new ScriptedSource();
        var live = LiveEvents.Start(source);

        var first = live.Stop();
        var second = live.Stop();
        live.Dispose();

        Assert.Equal(1, source.Disposals);
        Assert.Same(first, second);
        Assert.Same(first, live.Losses);
        Assert.True(live.Stopped);
    }
}
