using System.Text.Json.Serialization;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>
/// Compile-time JSON metadata for every payload of the API and the hub (snake_case), so serialization
/// needs no reflection (and keeps working where reflection-based JSON is turned off, as in trimmed or AOT builds).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StatsSnapshot))]
[JsonSerializable(typeof(MonitorStatus))]
[JsonSerializable(typeof(EventsResponse))]
[JsonSerializable(typeof(RatesResponse))]
[JsonSerializable(typeof(List<ReasonView>))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(InitialData))]
[JsonSerializable(typeof(PacketEventsMessage))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
