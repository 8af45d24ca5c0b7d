using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Web;

/// <summary>
/// One event as the API and the live feed show it: <c>id</c> (its sequence number in the recent-events
/// window; 0 when it had already left that window), exactly the fields of <c>watch --json</c>
/// (<see cref="EventJsonWriter"/>), then <c>headers_hex</c> (the captured bytes, lowercase hex) and
/// <c>l3_offset</c> (where the network header starts in them).
/// </summary>
[JsonConverter(typeof(EventViewConverter))]
internal sealed record EventView(long Id, DropEvent Event);

internal sealed class EventViewConverter : JsonConverter<EventView>
{
    public override EventView Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("events are written, never read");

    public override void Write(Utf8JsonWriter writer, EventView value, JsonSerializerOptions options) =>
        EventJson.Write(writer, value.Id, value.Event);
}

/// <summary>JSON that was rendered once and is written as it is (a live-feed batch sent to every client).</summary>
[JsonConverter(typeof(RawJsonConverter))]
internal sealed class RawJson(ReadOnlyMemory<byte> utf8)
{
    public ReadOnlyMemory<byte> Utf8 { get; } = utf8;
}

internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("raw JSON is written, never read");

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Utf8.Span, skipInputValidation: true);
}

internal static class EventJson
{
    // The default encoder escapes <, >, &, ' and non-ASCII: kernel strings end up in a web page.
    // Written into a buffer of our own and copied raw, so the bytes are the same whatever encoder
    // the caller's writer has (the API's and the hub's differ).
    private static readonly JsonWriterOptions InnerOptions = new() { SkipValidation = true };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_inner;
    [ThreadStatic] private static Utf8JsonWriter? t_innerWriter;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_outer;

    /// <summary>Writes one event object (see <see cref="EventView"/>) as the next value of <paramref name="writer"/>.</summary>
    public static void Write(Utf8JsonWriter writer, long id, DropEvent e)
    {
        var inner = t_inner ??= new ArrayBufferWriter<byte>(1024);
        var innerWriter = t_innerWriter ??= new Utf8JsonWriter(inner, InnerOptions);
        var outer = t_outer ??= new ArrayBufferWriter<byte>(2048);
        inner.ResetWrittenCount();
        outer.ResetWrittenCount();
        innerWriter.Reset(inner);
        try
        {
            EventJsonWriter.Write(innerWriter, e);
            innerWriter.Flush();
        }
        catch
        {
            innerWriter.Reset();
            throw;
        }

        // {"id":N, + the event's fields + ,"headers_hex":"..","l3_offset":N}
        var fields = inner.WrittenSpan[1..^1];
        Append(outer, "{\"id\":"u8);
        AppendNumber(outer, id);
        Append(outer, ","u8);
        Append(outer, fields);
        Append(outer, ",\"headers_hex\":\""u8);
        var headers = e.Headers.Span;
        var hex = outer.GetSpan(headers.Length * 2);
        Convert.TryToHexStringLower(headers, hex, out int written);
        outer.Advance(written);
        Append(outer, "\",\"l3_offset\":"u8);
        AppendNumber(outer, e.L3Offset);
        Append(outer, "}"u8);
        writer.WriteRawValue(outer.WrittenSpan, skipInputValidation: true);
    }

    /// <summary>A JSON array of events, rendered once.</summary>
    public static RawJson Array(IEnumerable<(long Id, DropEvent Event)> events)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var w = new Utf8JsonWriter(buffer, InnerOptions))
        {
            w.WriteStartArray();
            foreach (var (id, e) in events)
                Write(w, id, e);
            w.WriteEndArray();
        }
        return new RawJson(buffer.WrittenMemory);
    }

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);

    private static void AppendNumber(ArrayBufferWriter<byte> buffer, long value)
    {
        var span = buffer.GetSpan(20);
        value.TryFormat(span, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        buffer.Advance(n);
    }
}
