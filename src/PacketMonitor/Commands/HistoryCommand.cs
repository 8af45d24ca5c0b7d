using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor history`: drops by reason over a time range, from the history database (no root needed to read it).</summary>
public static class HistoryCommand
{
    public static readonly Option<string?> From = new("--from") { Description = "Start: ISO 8601 (2026-01-31T12:00:00Z) or Unix seconds", HelpName = "TIME" };
    public static readonly Option<string?> To = new("--to") { Description = "End (default now): ISO 8601 or Unix seconds", HelpName = "TIME" };
    public static readonly Option<string?> Since = new("--since") { Description = "The last TIME up to now (default 24h; e.g. 30m, 12h, 7d)", HelpName = "TIME" };
    public static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    private static readonly TimeSpan DefaultSpan = TimeSpan.FromHours(24);

    public static Command Create(TextWriter stdout)
    {
        var command = new Command("history", "Drops by reason over a time range, from the history that serve (or watch --history) recorded")
        {
            From, To, Since, Json, HistorySettings.DataDir,
        };
        command.SetAction(result => Run(result, stdout, DateTimeOffset.UtcNow));
        return command;
    }

    internal static int Run(ParseResult result, TextWriter stdout, DateTimeOffset now)
    {
        var (from, to) = Range(result, now);
        string dataDir = result.GetValue(HistorySettings.DataDir) is { } dir ? Path.GetFullPath(dir) : HistoryOptions.DefaultDataDirectory;
        var reader = new HistoryReader(Path.Combine(dataDir, HistoryOptions.FileName));
        reader.RequireFile();
        var summary = reader.Summary(from, to);
        stdout.Write(result.GetValue(Json) ? ToJson(summary, reader.Path) : ToText(summary, reader.Path));
        stdout.Flush();
        return (int)ExitCode.Ok;
    }

    /// <summary>[from, to) from --from/--to or --since (default the last 24 hours).</summary>
    internal static (DateTimeOffset From, DateTimeOffset To) Range(ParseResult result, DateTimeOffset now)
    {
        string? fromText = result.GetValue(From), toText = result.GetValue(To), sinceText = result.GetValue(Since);
        if (sinceText is not null && (fromText is not null || toText is not null))
            throw new CliException("--since counts back from now: give either --since or --from/--to");
        var to = toText is null ? now : Time("--to", toText);
        var from = fromText is not null ? Time("--from", fromText)
            : to - (sinceText is null ? DefaultSpan : ValueParsers.Duration("--since", sinceText));
        if (from >= to)
            throw new CliException($"--from: {Iso(from)} is not before --to {Iso(to)}");
        return (from, to);
    }

    private static DateTimeOffset Time(string option, string text) =>
        TimeText.TryParse(text.Trim(), out var time)
            ? time
            : throw new CliException($"{option}: '{text}' is not an ISO 8601 time or Unix seconds ({TimeText.Examples})");

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static string ToText(HistorySummary summary, string path)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"Drops by reason from {Iso(summary.From)} to {Iso(summary.To)} ({path})\n");
        sb.Append(inv, $"  {"reason",-36} {"drops",14} {"bytes",16} {"events kept",12}\n");
        foreach (var r in summary.Reasons)
            sb.Append(inv, $"  {r.Reason,-36} {r.Packets,14} {r.Bytes,16} {r.Events,12}\n");
        sb.Append(inv, $"  {"total",-36} {summary.TotalPackets,14} {summary.TotalBytes,16} {summary.TotalEvents,12}\n");
        if (summary.Reasons.Count == 0)
            sb.Append("  (no drops recorded in this range)\n");
        sb.Append(summary.OldestCount is { } oldest && summary.NewestCount is { } newest
            ? string.Create(inv, $"counts kept from {Iso(oldest)} to {Iso(newest)}\n")
            : "the database holds no counts yet\n");
        return sb.ToString();
    }

    internal static string ToJson(HistorySummary summary, string path)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("from", Iso(summary.From));
            json.WriteString("to", Iso(summary.To));
            json.WriteString("path", path);
            json.WriteStartArray("reasons");
            foreach (var r in summary.Reasons)
            {
                json.WriteStartObject();
                json.WriteString("reason", r.Reason);
                json.WriteNumber("packets", r.Packets);
                json.WriteNumber("bytes", r.Bytes);
                json.WriteNumber("events", r.Events);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("total_packets", summary.TotalPackets);
            json.WriteNumber("total_bytes", summary.TotalBytes);
            json.WriteNumber("total_events", summary.TotalEvents);
            if (summary.OldestCount is { } oldest)
                json.WriteString("oldest", Iso(oldest));
            else
                json.WriteNull("oldest");
            if (summary.NewestCount is { } newest)
                json.WriteString("newest", Iso(newest));
            else
                json.WriteNull("newest");
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
