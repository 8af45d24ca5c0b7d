using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.BlindSpots;
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

    /// <summary>Device counters the test sets; every read is one sample.</summary>
    private sealed class ScriptedBlindSpots : IBlindSpotSampler
    {
        public ulong TxDropped;
        public int Samples;

        public string Coverage => "scripted";

        public BlindSpotSample Sample()
        {
            Interlocked.Increment(ref Samples);
            var veth = new InterfaceCounters(42, "pod", 3, "veth0", new DeviceCounters(0, Interlocked.Read(ref TxDropped), 0, 0, 0, 0, 0));
            return new BlindSpotSample(DateTimeOffset.UtcNow, [veth], [new SoftnetCounters(0, 1, 0, 0, 0)], []);
        }
    }

    [Fact]
    public async Task Stats_BlindSpots_CountFromTheStartOfEachRun()
    {
        var source = new ScriptedSource();
        var devices = new ScriptedBlindSpots { TxDropped = 100 }; // dropped before monitoring started: not counted
        await using var session = new MonitorSession(source, TimeProvider.System, NullLogger<MonitorSession>.Instance,
            pollInterval: TimeSpan.FromMilliseconds(50), blindSpots: devices);
        var cancel = TestContext.Current.CancellationToken;

        await session.StartAsync(cancel);
        Interlocked.Add(ref devices.TxDropped, 7);
        Assert.True(await Eventually(() => session.Stats.BlindSpots?.Interfaces.SingleOrDefault()?.TxDropped.Total == 7));
        Assert.Equal(("veth0", 42u, "pod", "scripted"),
            (session.Stats.BlindSpots!.Interfaces[0].Name, session.Stats.BlindSpots.Interfaces[0].Netns,
             session.Stats.BlindSpots.Interfaces[0].NetnsName, session.Stats.BlindSpots.Coverage));
        await session.StopAsync(cancel);

        Interlocked.Add(ref devices.TxDropped, 5); // while stopped
        await session.StartAsync(cancel);
        Interlocked.Add(ref devices.TxDropped, 1);
        Assert.True(await Eventually(() => session.Stats.Running && session.Stats.BlindSpots?.Interfaces.SingleOrDefault()?.TxDropped.Total == 1));
    }

    [Fact]
    public async Task Stats_WithoutSampler_HaveNoBlindSpots()
    {
        var source = new ScriptedSource();
        source.Counters.Add(new CounterEntry(3, 17, 1, 42, 1, 64));
        await using var session = Session(source);
        await session.StartAsync(TestContext.Current.CancellationToken);

        Assert.True(await Eventually(() => session.Stats.TotalDrops == 1));
        Assert.Null(session.Stats.BlindSpots);
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
            await Task.Delay(10, TestContext.Current.CancellationToken);
        return condition();
    }
}
