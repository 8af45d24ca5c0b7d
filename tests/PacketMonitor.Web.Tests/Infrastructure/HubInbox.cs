using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace PacketMonitor.Web.Tests.Infrastructure;

/// <summary>Records every server-to-client message of one hub connection, in order of arrival.</summary>
public sealed class HubInbox
{
    private readonly ConcurrentQueue<(string Method, JsonElement Payload, DateTime At)> _messages = new();

    public HubInbox(HubConnection hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        foreach (var method in new[] { "initial_data", "status", "packet_events", "stats" })
            hub.On<JsonElement>(method, payload => _messages.Enqueue((method, payload.Clone(), DateTime.UtcNow)));
    }

    public IReadOnlyList<(string Method, JsonElement Payload, DateTime At)> All => [.. _messages];

    public IReadOnlyList<JsonElement> Of(string method) => [.. _messages.Where(m => m.Method == method).Select(m => m.Payload)];

    public async Task<JsonElement> WaitForAsync(string method, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        var found = await Wait.UntilAsync(
            () => Task.FromResult(_messages.Where(m => m.Method == method).Select(m => (JsonElement?)m.Payload)
                .FirstOrDefault(p => match is null || match(p!.Value))),
            p => p is not null,
            $"a '{method}' message",
            timeout);
        return found!.Value;
    }
}
