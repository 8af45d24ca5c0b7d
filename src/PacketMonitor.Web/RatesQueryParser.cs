using System.Globalization;
using Microsoft.AspNetCore.Http;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>
/// Turns the query string of <c>GET /api/history/rates</c> into a <see cref="RateQuery"/>: <c>from</c> and <c>to</c>
/// (ISO 8601 or Unix seconds; default the last hour), <c>step</c> (seconds, or 30s, 5m, 1h, 1d; default a round
/// step giving at most 300 points) and the <c>reason</c>, <c>protocol</c> and <c>interface</c> filters of
/// <c>/api/events</c>. A bad value gives one line naming the parameter.
/// </summary>
internal static class RatesQueryParser
{
    public const int MaxPoints = 10_000;
    public const int TargetPoints = 300;

    private static readonly long[] RoundSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    private static readonly string[] Parameters = ["from", "to", "step", "reason", "protocol", "interface"];
    private static readonly string[] EventOnly = ["host", "port", "limit", "since", "until"];

    public static bool TryParse(IQueryCollection query, DateTimeOffset now, out RateQuery result, out string error)
    {
        ArgumentNullException.ThrowIfNull(query);
        result = null!;
        foreach (var name in EventOnly)
        {
            if (query.ContainsKey(name))
                return Fail($"{name}: not a filter of the rates (counts are kept by reason, protocol and interface; use from and to for the range)", out error);
        }
        var filters = new EventQuery();
        DateTimeOffset? from = null, to = null;
        long? step = null;
        if (EventQueryParser.SingleValues(query, Parameters, "leave the parameter out for its default", out error) is not { } given)
            return false;
        foreach (var (name, text) in given)
        {
            string? problem = name switch
            {
                "from" => Time(text, out from),
                "to" => Time(text, out to),
                "step" => Step(text, out step),
                "reason" => EventQueryParser.Reason(text, ref filters),
                "protocol" => EventQueryParser.Protocol(text, ref filters),
                _ => EventQueryParser.Interface(text, ref filters),
            };
            if (problem is not null)
                return Fail($"{name}: '{EventQueryParser.Shown(text)}' {problem}", out error);
        }

        // Whole seconds: the range covers every second it touches.
        long end = to is { } t ? CeilingSeconds(t) : now.ToUnixTimeSeconds() + 1;
        long start = from is { } f ? f.ToUnixTimeSeconds() : end - 3600;
        if (start >= end)
            return Fail($"from: must be before to ({Iso(start)} is not before {Iso(end)})", out error);
        long span = end - start;
        long chosen = step ?? RoundSteps.FirstOrDefault(s => span / s <= TargetPoints, RoundSteps[^1]);
        long points = (end - (start - Mod(start, chosen)) + chosen - 1) / chosen;
        if (points > MaxPoints)
            return Fail($"step: {chosen} s gives {points} points from {Iso(start)} to {Iso(end)}; at most {MaxPoints} (use a larger step)", out error);
        result = new RateQuery(start, end, chosen) { Reason = filters.Reason, Protocol = filters.Protocol, Interface = filters.Interface };
        error = "";
        return true;
    }

    private static string? Time(string text, out DateTimeOffset? time)
    {
        time = null;
        if (!TimeText.TryParse(text, out var parsed))
            return $"is not an ISO 8601 time or Unix seconds ({TimeText.Examples})";
        time = parsed;
        return null;
    }

    private static string? Step(string text, out long? step)
    {
        step = null;
        long scale = char.ToLowerInvariant(text[^1]) switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        string number = scale == 0 ? text : text[..^1];
        if (scale == 0)
            scale = 1;
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 1 || value > 366 * 86400 / scale)
            return "is not a step (seconds, or with a unit: 10s, 5m, 1h, 1d; at most a year)";
        step = value * scale;
        return null;
    }

    private static long CeilingSeconds(DateTimeOffset time) =>
        time.ToUnixTimeSeconds() + (time.UtcTicks % TimeSpan.TicksPerSecond == 0 ? 0 : 1);

    private static long Mod(long value, long step) => ((value % step) + step) % step;

    private static string Iso(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
