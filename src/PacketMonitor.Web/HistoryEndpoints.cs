using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>The history recorder the server was given (none with <c>--no-history</c>); registered either way.</summary>
public sealed class HistoryAccess(HistoryRecorder? recorder)
{
    public HistoryRecorder? Recorder { get; } = recorder;

    /// <summary>What <c>/api/stats</c> shows as <c>history</c>.</summary>
    public HistoryStatus Status => Recorder?.Status ?? HistoryStatus.Disabled;
}

/// <summary><c>GET /api/history/rates</c>: per-bucket drops by reason; <c>timestamps[k]</c> (Unix seconds) starts bucket k.</summary>
internal sealed record RatesResponse(DateTimeOffset From, DateTimeOffset To, long Step, IReadOnlyList<long> Timestamps,
    IReadOnlyList<ReasonSeries> Series, long TotalPackets, long TotalBytes);

/// <summary>The history endpoints, and where <c>/api/events</c> takes a time range from.</summary>
internal static class HistoryEndpoints
{
    public const string FromMemory = "memory";
    public const string FromHistory = "history";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/history/rates", GetRates)
            .WithName("GetHistoryRates")
            .WithSummary("Drops per time bucket by reason, from the exact per-second counts of the history database.")
            .WithDescription("Buckets are aligned to multiples of step since the Unix epoch; the first and last hold only the part inside from-to. "
                + "Values are drops (packets) and bytes per bucket, not per second. A bad parameter gives 400; history off or unusable gives 503.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static Results<Ok<RatesResponse>, ProblemHttpResult> GetRates(
        HttpRequest request,
        HistoryAccess history,
        [FromQuery, Description("Start: ISO 8601 or Unix seconds. Default: an hour before to.")] string? from = null,
        [FromQuery, Description("End (exclusive): ISO 8601 or Unix seconds. Default: now.")] string? to = null,
        [FromQuery, Description("Bucket size: seconds, or 10s, 5m, 1h, 1d. Default: a round step giving at most 300 buckets; at most 10000 buckets.")] string? step = null,
        [FromQuery, Description("Reason name, any case, with or without SKB_DROP_REASON_.")] string? reason = null,
        [FromQuery, Description("tcp, udp, icmp, icmpv6 or a protocol number 0-255.")] string? protocol = null,
        [FromQuery(Name = "interface"), Description("Interface name.")] string? iface = null)
    {
        _ = (from, to, step, reason, protocol, iface); // declared for the OpenAPI document; the query is read whole
        if (!RatesQueryParser.TryParse(request.Query, DateTimeOffset.UtcNow, out var query, out var error))
            return TypedResults.Problem(detail: error, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        if (history.Recorder is not { } recorder)
            return Unavailable("history is off (serve was started with --no-history)");
        try
        {
            var rates = recorder.Reader.Rates(query);
            return TypedResults.Ok(new RatesResponse(DateTimeOffset.FromUnixTimeSeconds(rates.From), DateTimeOffset.FromUnixTimeSeconds(rates.To),
                rates.Step, rates.Timestamps, rates.Series, rates.TotalPackets, rates.TotalBytes));
        }
        catch (HistoryException e)
        {
            return Unavailable(e.Message);
        }
    }

    /// <summary>
    /// The events of a query, and where they came from: the in-memory window when it covers the start of the
    /// range (or no range was asked for, or history is off), the database otherwise.
    /// </summary>
    /// <exception cref="HistoryException">The database cannot be read.</exception>
    public static (IReadOnlyList<(long Id, DropEvent Event)> Events, string Source) Query(MonitorSession session, HistoryAccess history, EventQuery query, bool timeRange)
    {
        if (!timeRange || history.Recorder is not { } recorder)
            return (session.Recent.Query(query), FromMemory);
        if (query.Since is { } since && session.Recent.OldestTimestamp() is { } oldest && since >= oldest)
            return (session.Recent.Query(query), FromMemory);
        return (recorder.Reader.Events(query), FromHistory);
    }

    public static ProblemHttpResult Unavailable(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable");
}
