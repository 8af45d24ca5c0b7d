using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace PacketMonitor.Web;

/// <summary>
/// Describes an event object in the OpenAPI document: it is written by hand (<see cref="EventJson"/>),
/// so the schema cannot be derived from a type.
/// </summary>
internal static class EventSchema
{
    private static readonly (string Name, JsonSchemaType Type, string Description)[] Fields =
    [
        ("id", JsonSchemaType.Integer, "Sequence number in the server's recent-events window (0: already left it)."),
        ("timestamp", JsonSchemaType.String, "UTC time of the drop with microseconds, e.g. 2026-01-31T12:00:00.123456Z."),
        ("reason", JsonSchemaType.String, "Drop reason name without SKB_DROP_REASON_, from the running kernel."),
        ("reason_code", JsonSchemaType.Integer, "Raw reason value (kernel-specific; subsystem in the top 16 bits)."),
        ("location", JsonSchemaType.String, "Kernel function that dropped the packet, function+0xoffset."),
        ("family", JsonSchemaType.String, "ipv4, ipv6 or other."),
        ("protocol", JsonSchemaType.String, "TCP, UDP, ICMP, ICMPv6, another protocol number, or other (no IP header)."),
        ("ip_protocol", JsonSchemaType.Integer, "IP protocol number (0 without an IP header)."),
        ("src_addr", JsonSchemaType.String | JsonSchemaType.Null, "Source address."),
        ("dst_addr", JsonSchemaType.String | JsonSchemaType.Null, "Destination address."),
        ("src_port", JsonSchemaType.Integer | JsonSchemaType.Null, "Source port (TCP, UDP)."),
        ("dst_port", JsonSchemaType.Integer | JsonSchemaType.Null, "Destination port (TCP, UDP)."),
        ("icmp_type", JsonSchemaType.Integer | JsonSchemaType.Null, "ICMP or ICMPv6 type."),
        ("icmp_code", JsonSchemaType.Integer | JsonSchemaType.Null, "ICMP or ICMPv6 code."),
        ("length", JsonSchemaType.Integer, "Packet length from the network header."),
        ("skb_len", JsonSchemaType.Integer, "Length of the socket buffer."),
        ("ifindex", JsonSchemaType.Integer, "Interface index."),
        ("ifname", JsonSchemaType.String, "Interface name (may be empty); untrusted kernel text."),
        ("netns", JsonSchemaType.Integer, "Network namespace inode."),
        ("cpu", JsonSchemaType.Integer, "CPU that dropped the packet."),
        ("pid", JsonSchemaType.Integer, "CPU context: the task running when the packet was dropped (often a softirq)."),
        ("tid", JsonSchemaType.Integer, "Thread id of that task."),
        ("comm", JsonSchemaType.String, "Command name of that task; untrusted kernel text."),
        ("headers_hex", JsonSchemaType.String, "Captured packet bytes, lowercase hex."),
        ("l3_offset", JsonSchemaType.Integer, "Where the network header starts in the captured bytes."),
    ];

    public static void Add(OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
        {
            // The exporter sees a converter, not properties: fill in the array of EventsResponse.events.
            if (context.JsonTypeInfo.Type == typeof(EventsResponse)
                && schema.Properties?.TryGetValue("events", out var events) == true && events is OpenApiSchema array)
            {
                array.Type = JsonSchemaType.Array;
                array.Items = EventObject();
                array.Description = "Newest first.";
            }
            return Task.CompletedTask;
        });

    private static OpenApiSchema EventObject() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "One dropped packet: id, the fields of `packet-monitor watch --json`, headers_hex and l3_offset.",
        Properties = Fields.ToDictionary(f => f.Name, f => (IOpenApiSchema)new OpenApiSchema { Type = f.Type, Description = f.Description }),
        Required = Fields.Select(f => f.Name).ToHashSet(),
    };
}
