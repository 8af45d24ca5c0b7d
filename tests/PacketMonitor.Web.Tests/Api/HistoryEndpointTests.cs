using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.History;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Api;

/// <summary>/api/history/rates, /api/events over a time range, and the history state in /api/stats.</summary>
public sealed class HistoryEndpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pm-web-history-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private HistoryOptions History() => new()
    {
        DatabasePath = Path.Combine(_folder, "history.db"),
        FlushInterval = TimeSpan.FromMilliseconds(100),
        MaintenanceInterval = TimeSpan.FromMilliseconds(500),
    };

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(DashboardHost host, string relative)
    {
        using var response = await host.Http.GetAsync(relative, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("step=0", "step")]
    [InlineData("step=fast", "step")]
    [InlineData("step=-5", "step")]
    [InlineData("step=400d", "step")]
    [InlineData("from=yesterday", "from")]
    [InlineData("from=2026-02-30T00:00:00Z", "from")]
    [InlineData("to=soon", "to")]
    [InlineData("from=1769860800&to=1769860800", "from")]
    [InlineData("from=1769864400&to=1769860800", "from")]
    [InlineData("from=1769860800&to=1769947200&step=1", "step")]
    [InlineData("from=1&from=2", "from")]
    [InlineData("step=", "step")]
    [InlineData("reason=NO SOCKET", "reason")]
    [InlineData("protocol=tcpx", "protocol")]
    [InlineData("interface=abcdefghijklmnop", "interface")]
    [InlineData("port=80", "port")]
    [InlineData("host=10.0.0.1", "host")]
    [InlineData("limit=5", "limit")]
    public async Task GetRates_BadParameter_Returns400ProblemNamingIt(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(history: History());

        var (status, problem) = await GetAsync(host, "/api/history/rates?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith(parameter + ": ", detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', detail);
    }

    [Fact]
    public async Task GetRates_HistoryOff_Returns503SayingSo()
    {
        await using var host = await DashboardHost.StartAsync();

        var (status, problem) = await GetAsync(host, "/api/history/rates");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("--no-history", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetRates_CountersRecorded_ExactTotalsPerReasonAndDefaultStepGivesAtMost300Buckets()
    {
        await using var host = await DashboardHost.StartAsync(history: History(), pollInterval: TimeSpan.FromMilliseconds(100));
        host.Source.SetCounters(new CounterEntry(3, 17, 1, 7, 1000, 64_000), new CounterEntry(14, 6, 2, 7, 7, 420));
        await Wait.UntilAsync(() => host.History!.Status.RowsWritten >= 2, "the counts in the database");
        host.Source.SetCounters(new CounterEntry(3, 17, 1, 7, 1500, 96_000), new CounterEntry(14, 6, 2, 7, 7, 420));
        await Wait.UntilAsync(() => host.History!.Status.RowsWritten >= 3, "the second delta in the database");

        var (status, body) = await GetAsync(host, "/api/history/rates");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1507, body.GetProperty("total_packets").GetInt64());
        Assert.Equal(96_420, body.GetProperty("total_bytes").GetInt64());
        long step = body.GetProperty("step").GetInt64();
        var timestamps = body.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
        Assert.InRange(timestamps.Count, 2, 300);
        Assert.All(timestamps, t => Assert.Equal(0, t % step));
        var series = body.GetProperty("series").EnumerateArray().ToDictionary(s => s.GetProperty("reason").GetString()!,
            s => s.GetProperty("packets").EnumerateArray().Select(p => p.GetInt64()).ToList());
        Assert.Equal(["NETFILTER_DROP", "NO_SOCKET"], series.Keys.Order());
        Assert.Equal(1500, series["NO_SOCKET"].Sum());
        Assert.Equal(7, series["NETFILTER_DROP"].Sum());
        Assert.All(series.Values, s => Assert.Equal(timestamps.Count, s.Count));

        var (_, udp) = await GetAsync(host, "/api/history/rates?protocol=udp&step=1m");
        Assert.Equal(1500, udp.GetProperty("total_packets").GetInt64());
        Assert.Equal(60, udp.GetProperty("step").GetInt64());
    }

    [Fact]
    public async Task GetEvents_RangeBeforeTheMemoryWindow_ComesFromHistory_InsideItFromMemory()
    {
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);
        await using var host = await DashboardHost.StartAsync(history: History(), recentCapacity: 5);
        var events = Enumerable.Range(0, 20).Select(i => Samples.Event(time: t0.AddSeconds(i), destinationPort: (ushort)(1000 + i))).ToList();
        Assert.True(host.Source.Push(events));
        await Wait.UntilAsync(() => host.History!.Status.EventsWritten == 20, "the events in the database");

        var (_, old) = await GetAsync(host, $"/api/events?from={t0.ToUnixTimeSeconds()}&until={Uri.EscapeDataString(t0.AddSeconds(10).ToString("O"))}&limit=100");
        Assert.Equal("history", old.GetProperty("source").GetString());
        Assert.Equal(Enumerable.Range(1000, 10).Reverse(), old.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("dst_port").GetInt32()));

        var (_, recent) = await GetAsync(host, $"/api/events?from={Uri.EscapeDataString(t0.AddSeconds(16).ToString("O"))}");
        Assert.Equal("memory", recent.GetProperty("source").GetString());
        Assert.Equal([1019, 1018, 1017, 1016], recent.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("dst_port").GetInt32()));

        var (_, plain) = await GetAsync(host, "/api/events");
        Assert.Equal("memory", plain.GetProperty("source").GetString());
        Assert.Equal(5, plain.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("from=2026-01-31T12:00:00Z&until=2026-01-31T11:00:00Z", "until")]
    [InlineData("from=1769860800&since=2026-01-31T12:00:00Z", "from")]
    [InlineData("until=later", "until")]
    [InlineData("from=12:00", "from")]
    public async Task GetEvents_BadRange_Returns400NamingIt(string query, string parameter)
    {
        await using var host = await DashboardHost.StartAsync(history: History());

        var (status, problem) = await GetAsync(host, "/api/events?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(parameter + ": ", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStats_History_ShowsStateRowsAndSize()
    {
        await using var host = await DashboardHost.StartAsync(history: History());
        Assert.True(host.Source.Push([Samples.Event()]));
        await Wait.UntilAsync(() => host.History!.Status.EventsWritten == 1, "the event in the database");

        var history = (await host.GetJsonAsync("/api/stats")).GetProperty("history");

        Assert.Equal("ok", history.GetProperty("state").GetString());
        Assert.Equal(Path.Combine(_folder, "history.db"), history.GetProperty("path").GetString());
        Assert.Equal(1, history.GetProperty("events_written").GetInt64());
        Assert.Equal(0, history.GetProperty("rows_lost").GetInt64());
        Assert.True(history.GetProperty("database_bytes").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Null, history.GetProperty("message").ValueKind);
    }

    [Fact]
    public async Task GetStats_CorruptDatabase_FailedWithMessageLossesCountedAndMonitoringRuns()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "history.db"), new string('x', 10_000), TestContext.Current.CancellationToken);
        await using var host = await DashboardHost.StartAsync(history: History());
        Assert.True(host.Source.Push([Samples.Event(), Samples.Event()]));
        await Wait.UntilAsync(() => host.History!.Status.EventsLost == 2, "the lost events counted");

        var stats = await host.GetJsonAsync("/api/stats");

        Assert.True(stats.GetProperty("running").GetBoolean());
        var history = stats.GetProperty("history");
        Assert.Equal("failed", history.GetProperty("state").GetString());
        Assert.Contains("corrupt", history.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, stats.GetProperty("events_lost").GetProperty("history").GetInt64());
        var (status, problem) = await GetAsync(host, "/api/history/rates");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("corrupt", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, (await host.GetJsonAsync("/api/events")).GetProperty("count").GetInt32()); // the live window still works
    }

    [Fact]
    public async Task GetStats_NoHistory_StateDisabled()
    {
        await using var host = await DashboardHost.StartAsync();

        var history = (await host.GetJsonAsync("/api/stats")).GetProperty("history");

        Assert.Equal("disabled", history.GetProperty("state").GetString());
    }
}
