using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Tests.Events;

namespace PacketMonitor.Core.Tests.Monitoring;

public sealed class MonitorSessionTests
{
    private sealed class Names : IReasonNames
    {
        public string NameOf(uint code) => code == 3 ? "NO_SOCKET" : $"UNKNOWN_{code}";
    }

    /// <summary>A source whose events and counters the test sets.</summary>
    private sealed class ScriptedSource : IDropSource
    {
        public ChannelWriter<IReadOnlyList<DropEvent>>? Events;
        public List<CounterEntry> Counters { get; } = [];
        public int Starts;

        public IReasonNames Reasons { get; } = new Names();

        public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events)
        {
            Starts++;
            Events = events;
            return new Active(this);
        }

        private sealed class Active(ScriptedSource source) : IActiveCapture
        {
            public string AttachMode => "tp_btf";
            public CounterSnapshot ReadCounters() => new(DateTimeOffset.UtcNow, [.. source.Counters]);
            public IReadOnlyList<LocationCount> Locations(CounterSnapshot counters) => [];
            public EventLosses ReadLosses() => new();
            public void Dispose() => source.Events!.TryComplete();
        }
    }

    private static MonitorSession Session(ScriptedSource source) =>
        new(source, TimeProvider.System, NullLogger<MonitorSession>.Instance, pollInterval: TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task StartStop_AreIdempotentAndReportStatus()
    {
        var source = new ScriptedSource();
        await using var session = Session(source);
        var changes = new List<MonitorStatus>();
        session.StatusChanged += changes.Add;
        var cancel = TestContext.Current.CancellationToken;

        await session.StartAsync(cancel);
        await session.StartAsync(cancel);
        await session.StopAsync(cancel);
        await session.StopAsync(cancel);

        Assert.Equal(1, source.Starts);
        Assert.Equal([true, false], changes.Select(c => c.Running)); // no-op calls change nothing and announce nothing
    }

    [Fact]
    public async Task CountersRead_EachCaptureIsNumbered_AndEndsWithItsFinalReading()
    {
        var source = new ScriptedSource();
        await using var session = Session(source);
        var readings = new List<CounterReading>();
        session.CountersRead += r => { lock (readings) readings.Add(r); };
        var cancel = TestContext.Current.CancellationToken;

        await session.StartAsync(cancel);
        source.Counters.Add(new CounterEntry(3, 17, 1, 1, 5, 250));
        await session.StopAsync(cancel);
        var first = readings.ToList();
        source.Counters.Clear();
        await session.StartAsync(cancel);
        Assert.True(await Eventually(() => { lock (readings) return readings.Count > first.Count; }));
        await session.StopAsync(cancel);

        Assert.Equal(5UL, first[^1].Counters.TotalPackets); // the stop's own read, after the last poll
        Assert.All(first, r => Assert.Equal(first[0].Capture, r.Capture));
        Assert.All(readings.Skip(first.Count), r => Assert.NotEqual(first[0].Capture, r.Capture));
    }

    [Fact]
    public async Task Events_ReachRecentAndSubscribers_AndSlowSubscriberLossIsCounted()
    {
        var source = new ScriptedSource();
        await using var session = Session(source);
        using var fast = session.Subscribe(capacityEvents: 1000);
        using var slow = session.Subscribe(capacityEvents: 5);
        await session.StartAsync(TestContext.Current.CancellationToken);

        var batch = Enumerable.Range(0, 10).Select(_ => EventSamples.Ipv4Tcp()).ToList();
        source.Events!.TryWrite(batch);

        Assert.True(await Eventually(() => session.Recent.Query(new EventQuery { Limit = 100 }).Count == 10));
        Assert.True(await fast.Reader.WaitToReadAsync(TestContext.Current.CancellationToken));
        Assert.True(fast.Reader.TryRead(out var received));
        Assert.Equal(10, received.Count);
        Assert.Equal(10, slow.Lost); // a batch that does not fit is lost whole, and counted
        Assert.True(await Eventually(() => session.Stats.EventsLost.SlowClients == 10));
    }

    [Fact]
    public async Task Stats_ComeFromTheCounters()
    {
        var source = new ScriptedSource();
        source.Counters.Add(new CounterEntry(3, 17, 1, 42, 100, 6400));
        source.Counters.Add(new CounterEntry(3, 6, 1, 42, 5, 300));
        await using var session = Session(source);
        await session.StartAsync(TestContext.Current.CancellationToken);

        Assert.True(await Eventually(() => session.Stats.TotalDrops == 105));
        var stats = session.Stats;
        Assert.Equal(100UL, stats.UdpDrops);
        Assert.Equal(5UL, stats.TcpDrops);
        Assert.Equal(0UL, stats.OtherDrops);
        Assert.Equal(6700UL, stats.TotalBytes);
        Assert.Equal("NO_SOCKET", Assert.Single(stats.ByReason).Name);
        Assert.True(stats.Running);
        Assert.Equal("tp_btf", stats.AttachMode);
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
            await Task.Delay(10, TestContext.Current.CancellationToken);
        return condition();
    }
}
