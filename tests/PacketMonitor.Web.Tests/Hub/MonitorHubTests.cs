using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using PacketMonitor.Core.Counters;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Hub;

public sealed class MonitorHubTests
{
    private static async Task<(HubConnection Hub, HubInbox Inbox)> ConnectAsync(DashboardHost host, int liveClients = 1)
    {
        var hub = host.Hub();
        var inbox = new HubInbox(hub);
        await hub.StartAsync(TestContext.Current.CancellationToken);
        await host.WaitForLiveClientsAsync(liveClients);
        return (hub, inbox);
    }

    private static string[] Comms(JsonElement events) =>
        [.. events.EnumerateArray().Select(e => e.GetProperty("comm").GetString()!)];

    [Fact]
    public async Task Connect_SendsInitialDataWithStatsAndTheLast50EventsThenStatus()
    {
        await using var host = await DashboardHost.StartAsync();
        Assert.True(host.Source.Push(Samples.Many(60)));
        await Wait.UntilAsync(() => host.Session.Recent.LastId == 60, "the events in the recent window");

        var (_, inbox) = await ConnectAsync(host);
        await inbox.WaitForAsync("status");

        var messages = inbox.All;
        Assert.Equal("initial_data", messages[0].Method);
        Assert.Equal("status", messages[1].Method);
        var initial = messages[0].Payload;
        var events = initial.GetProperty("events");
        Assert.Equal(50, events.GetArrayLength());
        Assert.Equal("task59", events[0].GetProperty("comm").GetString());
        Assert.Equal(60, events[0].GetProperty("id").GetInt64());
        Assert.Equal("task10", events[49].GetProperty("comm").GetString());
        Assert.True(events[0].TryGetProperty("headers_hex", out _));
        var stats = initial.GetProperty("stats");
        Assert.True(stats.GetProperty("running").GetBoolean());
        Assert.True(stats.TryGetProperty("total_drops", out _));
        Assert.True(stats.TryGetProperty("events_lost", out _));
        var status = messages[1].Payload;
        Assert.True(status.GetProperty("running").GetBoolean());
        Assert.Equal(FakeDropSource.Mode, status.GetProperty("attach_mode").GetString());
        Assert.Equal(host.Session.Status.StartedAt, status.GetProperty("started_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Connect_EventsInInitialData_AreTheSameObjectsAsTheApis()
    {
        await using var host = await DashboardHost.StartAsync();
        Assert.True(host.Source.Push(Samples.Many(3)));
        await Wait.UntilAsync(() => host.Session.Recent.LastId == 3, "the events in the recent window");

        var (_, inbox) = await ConnectAsync(host);
        var initial = await inbox.WaitForAsync("initial_data");
        var api = await host.GetJsonAsync("/api/events");

        Assert.Equal(api.GetProperty("events").ToString(), initial.GetProperty("events").ToString());
    }

    [Fact]
    public async Task StartAndStopMonitor_FromOneClient_BroadcastStatusToAnother()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        var (a, _) = await ConnectAsync(host, liveClients: 1);
        var (_, inboxB) = await ConnectAsync(host, liveClients: 2);

        var started = await a.InvokeAsync<JsonElement>("start_monitor", TestContext.Current.CancellationToken);
        var runningSeenByB = await inboxB.WaitForAsync("status", s => s.GetProperty("running").GetBoolean());
        var stopped = await a.InvokeAsync<JsonElement>("stop_monitor", TestContext.Current.CancellationToken);
        var stoppedSeenByB = await inboxB.WaitForAsync("status", s => !s.GetProperty("running").GetBoolean()
            && inboxB.Of("status").Count >= 3); // connect, start, stop

        Assert.True(started.GetProperty("running").GetBoolean());
        Assert.Equal(FakeDropSource.Mode, started.GetProperty("attach_mode").GetString());
        Assert.Equal(started.ToString(), runningSeenByB.ToString());
        Assert.False(stopped.GetProperty("running").GetBoolean());
        Assert.Equal(JsonValueKind.Null, stoppedSeenByB.GetProperty("attach_mode").ValueKind);
        Assert.False(host.Session.Status.Running);
    }

    [Fact]
    public async Task StartMonitor_AlreadyRunning_ReturnsTheSameStatus()
    {
        await using var host = await DashboardHost.StartAsync();
        var (hub, _) = await ConnectAsync(host);

        var status = await hub.InvokeAsync<JsonElement>("start_monitor", TestContext.Current.CancellationToken);

        Assert.True(status.GetProperty("running").GetBoolean());
        Assert.Equal(1, host.Source.Starts);
    }

    [Fact]
    public async Task StartMonitor_SourceFails_ThrowsHubExceptionWithTheMessage()
    {
        await using var host = await DashboardHost.StartAsync(monitoring: false);
        host.Source.StartFailure = new InvalidOperationException("attach tp_btf/kfree_skb: EPERM");
        var (hub, _) = await ConnectAsync(host);

        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<JsonElement>("start_monitor", TestContext.Current.CancellationToken));

        Assert.Contains("attach tp_btf/kfree_skb: EPERM", error.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task Stats_WhileRunning_ArePushedAfterEveryPoll()
    {
        await using var host = await DashboardHost.StartAsync();
        var (_, inbox) = await ConnectAsync(host);
        host.Source.SetCounters(new CounterEntry(3, 6, 2, 1, 42, 4200));

        var stats = await inbox.WaitForAsync("stats", s => s.GetProperty("total_drops").GetUInt64() == 42);
        await Wait.UntilAsync(() => inbox.Of("stats").Count >= 3, "more stats messages");

        Assert.True(stats.GetProperty("running").GetBoolean());
        Assert.Equal(42UL, stats.GetProperty("tcp_drops").GetUInt64());
        Assert.Equal("NO_SOCKET", stats.GetProperty("by_reason")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task PacketEvents_ThousandEventsQuickly_AtMost200PerMessageAndNoneUnaccounted()
    {
        await using var host = await DashboardHost.StartAsync();
        var (_, inbox) = await ConnectAsync(host);
        const int Sent = 1000;

        for (int i = 0; i < 10; i++)
            Assert.True(host.Source.Push(Samples.Many(100, prefix: $"b{i}-")));

        await Wait.UntilAsync(() => Accounted(inbox) >= Sent, "all events delivered or counted as omitted");
        await Task.Delay(300, TestContext.Current.CancellationToken); // nothing more may arrive
        var messages = inbox.Of("packet_events");

        Assert.Equal(Sent, Accounted(inbox));
        Assert.All(messages, m => Assert.InRange(m.GetProperty("events").GetArrayLength(), 0, 200));
        Assert.Contains("b9-99", Comms(messages[^1].GetProperty("events"))[0], StringComparison.Ordinal); // the newest is always kept
    }

    private static long Accounted(HubInbox inbox) =>
        inbox.Of("packet_events").Sum(m => m.GetProperty("events").GetArrayLength() + m.GetProperty("omitted").GetInt64());

    [Fact]
    public async Task PacketEvents_Batch_IsNewestFirstWithTheApisIds()
    {
        await using var host = await DashboardHost.StartAsync();
        Assert.True(host.Source.Push(Samples.Many(5, prefix: "old")));
        await Wait.UntilAsync(() => host.Session.Recent.LastId == 5, "the first events");
        var (_, inbox) = await ConnectAsync(host);

        Assert.True(host.Source.Push(Samples.Many(3, prefix: "new")));
        var message = await inbox.WaitForAsync("packet_events");
        var api = await host.GetJsonAsync("/api/events?limit=3");

        Assert.Equal(["new2", "new1", "new0"], Comms(message.GetProperty("events")));
        Assert.Equal(0, message.GetProperty("omitted").GetInt64());
        Assert.Equal(api.GetProperty("events").ToString(), message.GetProperty("events").ToString());
    }

    [Fact]
    public async Task PacketEvents_SteadyFlow_AtMostTenMessagesASecond()
    {
        await using var host = await DashboardHost.StartAsync();
        var (_, inbox) = await ConnectAsync(host);

        var start = DateTime.UtcNow;
        while (DateTime.UtcNow - start < TimeSpan.FromSeconds(1.5))
        {
            host.Source.Push(Samples.Many(5));
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
        await Task.Delay(200, TestContext.Current.CancellationToken);

        var times = inbox.All.Where(m => m.Method == "packet_events").Select(m => m.At).ToList();
        Assert.InRange(times.Count, 5, 1 + (int)Math.Ceiling((DateTime.UtcNow - start).TotalSeconds * 10));
    }

    [Fact]
    public async Task Disconnect_RemovesTheClientFromTheLiveFeed()
    {
        await using var host = await DashboardHost.StartAsync();
        var (hub, _) = await ConnectAsync(host);

        await hub.StopAsync(TestContext.Current.CancellationToken);

        await Wait.UntilAsync(() => host.Feed.ClientCount == 0, "the client to be forgotten");
    }
}
