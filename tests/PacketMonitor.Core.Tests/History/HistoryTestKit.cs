using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Core.Tests.Events;

namespace PacketMonitor.Core.Tests.History;

/// <summary>A folder of its own for one test's database, deleted afterwards.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("pm-history-").FullName;

    public string Database => System.IO.Path.Combine(Path, "history.db");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

internal sealed class TestReasons : IReasonNames
{
    public string NameOf(uint code) => code switch
    {
        2 => "NOT_SPECIFIED",
        3 => "NO_SOCKET",
        6 => "SOCKET_RCVBUFF",
        14 => "NETFILTER_DROP",
        _ => $"REASON_{code}",
    };
}

/// <summary>A drop source whose events and cumulative counters the test sets.</summary>
internal sealed class ScriptedSource : IDropSource
{
    private readonly Lock _gate = new();
    private List<CounterEntry> _counters = [];

    public ChannelWriter<IReadOnlyList<DropEvent>>? Events { get; private set; }

    public IReasonNames Reasons { get; } = new TestReasons();

    public void SetCounters(params CounterEntry[] entries)
    {
        lock (_gate)
            _counters = [.. entries];
    }

    public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events)
    {
        Events = events;
        return new Active(this);
    }

    private sealed class Active(ScriptedSource source) : IActiveCapture
    {
        public string AttachMode => "tp_btf";

        public CounterSnapshot ReadCounters()
        {
            lock (source._gate)
                return new(DateTimeOffset.UtcNow, [.. source._counters]);
        }

        public IReadOnlyList<LocationCount> Locations(CounterSnapshot counters) => [];
        public EventLosses ReadLosses() => new();
        public void Dispose() => source.Events!.TryComplete();
    }
}

internal static class HistorySamples
{
    /// <summary>An event with every field set, attribution included.</summary>
    public static DropEvent Full(DateTimeOffset time, int n = 0) => EventSamples.Ipv4Tcp() with
    {
        Timestamp = time,
        MonotonicNs = 9_000_000_000_000_000_001UL + (ulong)n,
        LocationAddress = 0xffffffff81a2b3c4UL,
        SourcePort = (ushort)(1000 + n % 60000),
        Headers = Enumerable.Range(0, 54).Select(i => (byte)(i * 7 + n)).ToArray(),
        L3Offset = 14,
        SocketCookie = 0x8000_0000_0000_0042UL,
        OwnerPid = 4242,
        OwnerComm = "nginx",
        CgroupId = 0xffff_0000_0000_0001UL,
        Cgroup = "/system.slice/nginx.service",
        Container = "nginx.service",
        NetnsName = "blue",
        Stack = ["kfree_skb_reason+0x1", "udp_rcv+0x2c", "ip_local_deliver+0x10"],
    };

    /// <summary>Compares two events field by field (memory and list fields by content).</summary>
    public static void AssertSame(DropEvent expected, DropEvent actual)
    {
        Assert.Equal(expected with { Headers = default, Stack = null }, actual with { Headers = default, Stack = null });
        Assert.Equal(expected.Headers.ToArray(), actual.Headers.ToArray());
        Assert.Equal(expected.Stack, actual.Stack);
    }

    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(10)))
        {
            if (condition())
                return true;
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        return condition();
    }

    public static IPAddress Address(int n) => new([10, 0, (byte)(n >> 8), (byte)n]);
}

/// <summary>Tests that need root (mount, chattr): skipped without it, failed under CI=true.</summary>
internal static class RootOnly
{
    public static void Require()
    {
        if (Environment.UserName == "root")
            return;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail("CI=true but this test needs root");
        Assert.Skip("needs root");
    }
}
