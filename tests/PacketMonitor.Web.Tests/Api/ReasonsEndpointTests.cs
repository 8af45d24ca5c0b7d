using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Reasons;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

public sealed class ReasonsEndpointTests
{
    [Fact]
    public async Task GetReasons_WithTheKernelsList_ListsEveryReasonWithExplanationAndHint()
    {
        await using var host = await DashboardHost.StartAsync(o => o.ReasonList = () => FakeReasons.All);

        var reasons = await host.GetJsonAsync("/api/reasons");

        Assert.Equal(FakeReasons.All.Select(r => r.Code), reasons.EnumerateArray().Select(r => r.GetProperty("code").GetUInt32()));
        foreach (var r in reasons.EnumerateArray())
        {
            var info = ReasonCatalog.Describe(r.GetProperty("name").GetString()!);
            Assert.Equal(info.Explanation, r.GetProperty("explanation").GetString());
            Assert.Equal(info.Hint, r.GetProperty("hint").GetString());
        }
        Assert.Equal("NO_SOCKET", reasons[1].GetProperty("name").GetString());
    }

    [Fact]
    public async Task GetReasons_WithoutTheKernelsList_ListsTheReasonsCountedSoFar()
    {
        await using var host = await DashboardHost.StartAsync();
        host.Source.SetCounters(new CounterEntry(14, 6, 2, 1, 9, 900));
        await Wait.UntilAsync(() => host.GetJsonAsync("/api/stats"), s => s.GetProperty("total_drops").GetUInt64() == 9, "a poll");

        var reasons = await host.GetJsonAsync("/api/reasons");

        var only = Assert.Single(reasons.EnumerateArray());
        Assert.Equal("NETFILTER_DROP", only.GetProperty("name").GetString());
        Assert.Equal(14u, only.GetProperty("code").GetUInt32());
        Assert.False(string.IsNullOrEmpty(only.GetProperty("hint").GetString()));
    }
}
