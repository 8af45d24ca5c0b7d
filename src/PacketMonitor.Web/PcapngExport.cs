using PacketMonitor.Core.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PacketMonitor.Core.Exports;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>
/// <c>GET /api/events.pcapng</c>: the events <c>GET /api/events</c> would return for the same query, as a pcapng
/// capture for Wireshark (oldest first), streamed to the client as it is written.
/// </summary>
internal static class PcapngExport
{
    public const string ContentType = "application/x-pcapng";

    public static void MapPcapngExport(this IEndpointRouteBuilder api) =>
        api.MapGet("/events.pcapng", Get)
            .WithName("GetEventsPcapng")
            .WithSummary("Recent drop events as a pcapng capture (Wireshark, tshark), oldest first.")
            .WithDescription("Takes the query parameters of GET /api/events (limit defaults to "
                + $"{EventQueryParser.MaxLimit} here: every matching event still in memory). One interface per (interface, link type): "
                + "Ethernet when the MAC header was captured, else raw IPv4/IPv6. Each packet has its real length, the drop time "
                + "and a comment with the reason, kernel location and CPU context. A bad parameter value gives 400 with a problem body naming it.")
            .Produces<Stream>(StatusCodes.Status200OK, ContentType)
            .ProducesProblem(StatusCodes.Status400BadRequest);

    private static Results<PushStreamHttpResult, ProblemHttpResult> Get(HttpRequest request, MonitorSession session, HistoryAccess history)
    {
        if (!EventQueryParser.TryParse(request.Query, out var query, out var error))
            return TypedResults.Problem(detail: error, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        if (!request.Query.ContainsKey("limit"))
            query = query with { Limit = EventQueryParser.MaxLimit };
        IReadOnlyList<(long Id, DropEvent Event)> events;
        try
        {
            events = DashboardServer.MatchingEvents(session, history, query, request.Query).Events; // newest first
        }
        catch (PacketMonitor.Core.History.HistoryException e)
        {
            return HistoryEndpoints.Unavailable(e.Message);
        }
        var aborted = request.HttpContext.RequestAborted;
        string fileName = $"packet-monitor-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}.pcapng";
        request.HttpContext.Response.Headers.CacheControl = "no-store";
        return TypedResults.Stream(async body =>
        {
            try
            {
                await using var writer = new PcapngWriter(body, leaveOpen: true);
                for (int i = events.Count - 1; i >= 0; i--)
                    await writer.WriteAsync(events[i].Event, aborted);
            }
            catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or IOException)
            {
                // The client went away mid-download: nothing to report.
            }
        }, ContentType, fileName);
    }
}
