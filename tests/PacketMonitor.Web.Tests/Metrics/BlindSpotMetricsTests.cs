using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Metrics;

/// <summary>The drops kfree_skb cannot see, as Prometheus counters that never go down across restarts.</summary>
public sealed class BlindSpotMetricsTests
{
    private static BlindSpotStats Stats(ulong rxDropped, ulong txDropped, ulong softnetDropped) => new()
    {
        AllInterfaces = new InterfaceTotals(new CounterRate(rxDropped, 0), new CounterRate(txDropped, 0), CounterRate.Zero, CounterRate.Zero),
        Softnet = new SoftnetBlindSpot(2, new CounterRate(softnetDropped, 0), CounterRate.Zero, new CounterRate(1, 0)),
    };

    private static async Task<string> ScrapeAsync(DropMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task RecordBlindSpots_TotalsGrowThenRestartFromZero_ExportedCountersOnlyGrow()
    {
        var metrics = new DropMetrics(new FakeReasons());
        var first = DateTimeOffset.UtcNow;
        metrics.RecordBlindSpots(Stats(5, 1, 3), first);
        metrics.RecordBlindSpots(Stats(8, 1, 3), first);
        metrics.RecordBlindSpots(Stats(2, 0, 1), first.AddMinutes(1)); // monitoring restarted: its totals count from zero
        metrics.RecordBlindSpots(null, first.AddMinutes(1));            // no sampler: nothing changes

        string text = await ScrapeAsync(metrics);

        Assert.Contains("packet_monitor_device_drops_total{kind=\"rx_dropped\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("packet_monitor_device_drops_total{kind=\"tx_dropped\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("packet_monitor_device_drops_total{kind=\"rx_missed\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("packet_monitor_softnet_total{kind=\"dropped\"} 4", text, StringComparison.Ordinal);
        Assert.Contains("packet_monitor_softnet_total{kind=\"flow_limit\"} 2", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HistoryLost_IsTheHistoryStageOfEventsLost()
    {
        var metrics = new DropMetrics(new FakeReasons()) { HistoryLost = () => 42 };

        Assert.Contains("packet_monitor_events_lost_total{stage=\"history\"} 42", await ScrapeAsync(metrics), StringComparison.Ordinal);
    }
}
