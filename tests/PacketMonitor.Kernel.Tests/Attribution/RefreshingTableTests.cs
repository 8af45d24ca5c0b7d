using System.Diagnostics;
using PacketMonitor.Kernel.Attribution;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Attribution;

public sealed class RefreshingTableTests
{
    /// <summary>A source whose contents and load time the test controls; counts its loads.</summary>
    private sealed class Source
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<int, string> _entries = [];
        private int _loads;

        public TimeSpan Delay { get; set; }
        public bool Fail { get; set; }
        public int Loads => Volatile.Read(ref _loads);

        public void Set(int key, string value)
        {
            lock (_gate)
                _entries[key] = value;
        }

        public Dictionary<int, string> Load()
        {
            Interlocked.Increment(ref _loads);
            Thread.Sleep(Delay);
            if (Fail)
                throw new IOException("gone");
            lock (_gate)
                return new Dictionary<int, string>(_entries);
        }
    }

    private static readonly RefreshPolicy Generous = new()
    {
        MinInterval = TimeSpan.FromMilliseconds(300),
        WaitBudget = TimeSpan.FromSeconds(5),
        UnknownFor = TimeSpan.FromSeconds(30),
        MaxAge = TimeSpan.FromHours(1),
    };

    [Fact]
    public void TryGet_FirstMiss_WaitsForOneLoadAndFindsTheKey()
    {
        var source = new Source();
        source.Set(1, "one");
        using var table = new RefreshingTable<int, string>(source.Load, Generous, TimeProvider.System);

        Assert.True(table.TryGet(1, out var value));
        Assert.Equal("one", value);
        Assert.True(table.TryGet(1, out _));
        Assert.Equal(1, source.Loads);
    }

    [Fact]
    public async Task TryGet_KeyAbsentFromALoadThatBeganAfterItsMiss_IsUnknownAndAsksNoMoreLoads()
    {
        var source = new Source();
        using var table = new RefreshingTable<int, string>(source.Load, Generous, TimeProvider.System);

        Assert.False(table.TryGet(7, out _));
        await Task.Delay(Generous.MinInterval * 3, TestContext.Current.CancellationToken);
        source.Set(7, "late");
        for (int i = 0; i < 100; i++)
            Assert.False(table.TryGet(7, out _)); // remembered as unknown: no wait, no load
        await Task.Delay(Generous.MinInterval * 2, TestContext.Current.CancellationToken);

        Assert.Equal(1, source.Loads);
    }

    [Fact]
    public async Task TryGet_MissSoonAfterALoad_DoesNotWaitButALaterLoadFindsIt()
    {
        var source = new Source();
        source.Set(1, "one");
        var policy = Generous with { MinInterval = TimeSpan.FromSeconds(2) };
        using var table = new RefreshingTable<int, string>(source.Load, policy, TimeProvider.System);
        Assert.True(table.TryGet(1, out _));
        source.Set(2, "two"); // a socket opened just after the scan

        var watch = Stopwatch.StartNew();
        bool found = table.TryGet(2, out _);
        watch.Stop();

        Assert.False(found);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"a rate-limited miss waited {watch.Elapsed}");
        Assert.True(await KernelTest.EventuallyAsync(() => table.TryGet(2, out _), TimeSpan.FromSeconds(10)));
        Assert.Equal(2, source.Loads);
    }

    [Fact]
    public async Task TryGet_SlowLoad_WaitsAtMostTheBudgetInTotal()
    {
        var source = new Source { Delay = TimeSpan.FromSeconds(1) };
        source.Set(1, "one");
        using var table = new RefreshingTable<int, string>(source.Load,
            Generous with { WaitBudget = TimeSpan.FromMilliseconds(100) }, TimeProvider.System);

        var watch = Stopwatch.StartNew();
        int found = 0;
        for (int i = 0; i < 20; i++)
            found += table.TryGet(1, out _) ? 1 : 0;
        watch.Stop();

        Assert.Equal(0, found);
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(800), $"20 misses during one slow load waited {watch.Elapsed}");
        Assert.True(await KernelTest.EventuallyAsync(() => table.TryGet(1, out _), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Preload_LoadsBeforeTheFirstLookup()
    {
        var source = new Source();
        source.Set(1, "one");
        using var table = new RefreshingTable<int, string>(source.Load, Generous, TimeProvider.System);

        table.Preload();

        Assert.True(await KernelTest.EventuallyAsync(() => table.Loads == 1));
        Assert.True(table.TryGet(1, out _));
        Assert.Equal(1, source.Loads);
    }

    [Fact]
    public async Task TryGet_FailingLoad_KeepsThePreviousTable()
    {
        var source = new Source();
        source.Set(1, "one");
        using var table = new RefreshingTable<int, string>(source.Load, Generous, TimeProvider.System);
        Assert.True(table.TryGet(1, out _));
        source.Fail = true;

        Assert.False(table.TryGet(2, out _));
        await KernelTest.EventuallyAsync(() => source.Loads >= 2);
        await Task.Delay(50, TestContext.Current.CancellationToken);

        Assert.True(table.TryGet(1, out var value));
        Assert.Equal("one", value);
    }

    [Fact]
    public async Task TryGet_OldTable_IsReloadedInTheBackground()
    {
        var source = new Source();
        source.Set(1, "old");
        using var table = new RefreshingTable<int, string>(source.Load,
            Generous with { MinInterval = TimeSpan.FromMilliseconds(50), MaxAge = TimeSpan.FromMilliseconds(200) }, TimeProvider.System);
        Assert.True(table.TryGet(1, out _));
        source.Set(1, "new"); // e.g. the process behind a pid changed its name

        await Task.Delay(300, TestContext.Current.CancellationToken);
        for (int i = 0; i < 2048; i++) // the age is checked once per 1024 hits
            Assert.True(table.TryGet(1, out _));

        Assert.True(await KernelTest.EventuallyAsync(() => table.TryGet(1, out var v) && v == "new"));
    }
}
