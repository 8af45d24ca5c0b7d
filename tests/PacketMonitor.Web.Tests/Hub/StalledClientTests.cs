using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using PacketMonitor.Web.Tests.Infrastructure;

namespace PacketMonitor.Web.Tests.Hub;

public sealed class StalledClientTests
{
    /// <summary>
    /// A raw WebSocket that completes the SignalR handshake and then never reads, with a tiny
    /// receive buffer so that the server's side fills up quickly.
    /// </summary>
    private static async Task<(ClientWebSocket Socket, HttpMessageInvoker Invoker)> StalledClientAsync(DashboardHost host)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var invoker = new HttpMessageInvoker(handler);
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{host.BaseAddress.Authority}/hubs/monitor"), invoker, TestContext.Current.CancellationToken);
        await ws.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true,
            TestContext.Current.CancellationToken);
        return (ws, invoker);
    }

    [Fact]
    public async Task PacketEvents_StalledClientConnected_OtherClientsKeepReceiving()
    {
        await using var host = await DashboardHost.StartAsync();
        var (stalled, invoker) = await StalledClientAsync(host);
        using var _ = invoker;
        using var __ = stalled;
        await host.WaitForLiveClientsAsync(1);
        var hub = host.Hub();
        var inbox = new HubInbox(hub);
        await hub.StartAsync(TestContext.Current.CancellationToken);
        await host.WaitForLiveClientsAsync(2);

        // Large events (about 1 KB of JSON each) fill the stalled connection's buffers within a few messages.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        int round = 0;
        while (host.Feed.SlowClientEvents == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the stalled client was never skipped");
            host.Source.Push(Samples.Many(200, prefix: $"r{round++}-", headerBytes: 400));
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        // The stalled client is now skipped: the other one must still get the newest events, promptly.
        for (int i = 0; i < 10; i++)
        {
            host.Source.Push(Samples.Many(200, prefix: $"after{i}-", headerBytes: 400));
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        host.Source.Push([Samples.Event(comm: "final")]);

        await inbox.WaitForAsync("packet_events",
            m => m.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("comm").GetString() == "final"),
            TimeSpan.FromSeconds(3));
        var stats = await host.GetJsonAsync("/api/stats");
        Assert.True(stats.GetProperty("events_lost").GetProperty("slow_clients").GetUInt64() > 0);
        Assert.Equal(2, host.Feed.ClientCount);
        stalled.Abort();
    }
}
