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
        ("context_pid", JsonSchemaType.Integer, "Same as pid, named for what it is: the CPU context, not the packet's owner."),
        ("context_comm", JsonSchemaType.String, "Same as comm (CPU context)."),
        ("owner_pid", JsonSchemaType.Integer | JsonSchemaType.Null, "Process holding the packet's socket open (from /proc/*/fd); null without a socket or when not found."),
        ("owner_comm", JsonSchemaType.String | JsonSchemaType.Null, "Command name of that process."),
        ("socket_cookie", JsonSchemaType.Integer | JsonSchemaType.Null, "Cookie of the packet's socket (the tracepoint's rx_sk, else skb->sk), as `ss -e` shows it in hex."),
        ("cgroup_id", JsonSchemaType.Integer | JsonSchemaType.Null, "cgroup v2 id of that socket (the inode of its cgroup directory)."),
        ("cgroup", JsonSchemaType.String | JsonSchemaType.Null, "cgroup v2 path of that socket, e.g. /system.slice/nginx.service."),
        ("container", JsonSchemaType.String | JsonSchemaType.Null, "Container (docker:ID, containerd:ID, cri-o:ID, podman:ID, k8s:ID, lxc:NAME) or systemd unit the cgroup shows."),
        ("netns_name", JsonSchemaType.String | JsonSchemaType.Null, "Name of the network namespace: its /run/netns name, else pid:N of a process inside it."),
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

    private static OpenApiSchema EventObject()
    {
        var properties = Fields.ToDictionary(f => f.Name, f => (IOpenApiSchema)new OpenApiSchema { Type = f.Type, Description = f.Description });
        // Only on events that have one (stacks are off by default): not required.
        properties["stack"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Array,
            Items = new OpenApiSchema { Type = JsonSchemaType.String },
            Description = "Kernel stack of the drop, innermost first, function+0xoffset; only with --stacks / --stacks-for.",
        };
        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "One dropped packet: id, the fields of `packet-monitor watch --json`, headers_hex and l3_offset.",
            Properties = properties,
            Required = Fields.Select(f => f.Name).ToHashSet(),
        };
    }
}
