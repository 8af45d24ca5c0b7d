using Microsoft.AspNetCore.SignalR;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>
/// The live feed at <c>/hubs/monitor</c> (JSON protocol, snake_case payloads).
/// Server to client: <c>initial_data</c> {stats, events} and <c>status</c> {running, attach_mode, started_at}
/// on connect; then <c>packet_events</c> {events, omitted}, <c>stats</c> and <c>status</c> (see <see cref="LiveFeed"/>).
/// Client to server: <c>start_monitor</c> and <c>stop_monitor</c>, which return the status; the change is
/// broadcast to every client as <c>status</c>.
/// </summary>
internal sealed class MonitorHub(MonitorSession session, LiveFeed feed) : Hub
{
    public const string Path = "/hubs/monitor";
    public const int InitialEvents = 50;

    public override async Task OnConnectedAsync()
    {
        long lastId = session.Recent.LastId;
        var events = session.Recent.Query(new EventQuery { Limit = InitialEvents })
            .Select(e => new EventView(e.Id, e.Event)).ToList();
        long seenThroughId = events.Count > 0 ? events[0].Id : lastId;
        await Clients.Caller.SendAsync("initial_data", new InitialData(feed.CurrentStats(), events));
        await Clients.Caller.SendAsync("status", session.Status);
        // After the initial data, so packet_events never comes first nor repeats its events.
        feed.Register(Context.ConnectionId, seenThroughId);
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        feed.Unregister(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    [HubMethodName("start_monitor")]
    public async Task<MonitorStatus> StartMonitor()
    {
        try
        {
            return await session.StartAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new HubException($"monitoring could not start: {e.Message}");
        }
    }

    [HubMethodName("stop_monitor")]
    public Task<MonitorStatus> StopMonitor() => session.StopAsync(CancellationToken.None);
}
