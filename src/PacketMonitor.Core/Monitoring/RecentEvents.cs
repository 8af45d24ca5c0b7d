using System.Net;
using PacketMonitor.Core.Attribution;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Monitoring;

/// <summary>What a query of recent events asks for; null fields match everything.</summary>
public sealed record EventQuery
{
    public int Limit { get; init; } = 100;
    public string? Reason { get; init; }
    public byte? Protocol { get; init; }
    public IPNetwork? Host { get; init; }
    public ushort? Port { get; init; }
    public string? Interface { get; init; }
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events before this time (exclusive).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only drops whose socket this process owned.</summary>
    public uint? OwnerPid { get; init; }

    /// <summary>Only drops of sockets in this cgroup or below it (a path such as /system.slice).</summary>
    public string? Cgroup { get; init; }

    /// <summary>Only drops of this container or unit: its name (docker:3f4e5a6b7c8d, nginx.service), short or full id.</summary>
    public string? Container { get; init; }

    /// <summary>Only drops in the network namespace with this name (/run/netns name or pid:N).</summary>
    public string? NetnsName { get; init; }

    public bool Matches(DropEvent e) =>
        (Reason is null || string.Equals(e.Reason, Reason, StringComparison.OrdinalIgnoreCase))
        && (Protocol is null || e.IpProtocol == Protocol)
        && (Host is null || (e.SourceAddress is { } s && Host.Value.Contains(s)) || (e.DestinationAddress is { } d && Host.Value.Contains(d)))
        && (Port is null || e.SourcePort == Port || e.DestinationPort == Port)
        && (Interface is null || string.Equals(e.Ifname, Interface, StringComparison.Ordinal))
        && (Since is null || e.Timestamp >= Since)
        && (OwnerPid is null || e.OwnerPid == OwnerPid)
        && (Cgroup is null || (e.Cgroup is { } path && CgroupContains(Cgroup, path)))
        && (Container is null || (e.Container is { } container && ContainerNames.Matches(container, Container)))
        && (NetnsName is null || string.Equals(e.NetnsName, NetnsName, StringComparison.Ordinal))
        && (Until is null || e.Timestamp < Until);

    private static bool CgroupContains(string parent, string path)
    {
        var prefix = parent.TrimEnd('/');
        return prefix.Length == 0 // "/": the whole tree
            || string.Equals(path, prefix, StringComparison.Ordinal)
            || (path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length && path[prefix.Length] == '/');
    }
}

/// <summary>The last N events in memory, each with a sequence number; thread-safe, newest first on query.</summary>
public sealed class RecentEvents(int capacity = RecentEvents.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;

    private readonly (long Id, DropEvent Event)[] _ring = new (long, DropEvent)[capacity];
    private readonly Lock _gate = new();
    private long _next;

    public int Capacity => _ring.Length;

    /// <summary>Sequence number the next event will get; ids start at 1.</summary>
    public long LastId { get { lock (_gate) return _next; } }

    public void Add(IReadOnlyList<DropEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            foreach (var e in batch)
            {
                _next++;
                _ring[_next % _ring.Length] = (_next, e);
            }
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            Array.Clear(_ring);
            _next = 0;
        }
    }

    /// <summary>Matching events, newest first, at most <see cref="EventQuery.Limit"/>.</summary>
    public IReadOnlyList<(long Id, DropEvent Event)> Query(EventQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = new List<(long, DropEvent)>(Math.Min(query.Limit, 256));
        lock (_gate)
        {
            long oldest = Math.Max(1, _next - _ring.Length + 1);
            for (long id = _next; id >= oldest && result.Count < query.Limit; id--)
            {
                var entry = _ring[id % _ring.Length];
                if (entry.Event is not null && entry.Id == id && query.Matches(entry.Event))
                    result.Add(entry);
            }
        }
        return result;
    }

    /// <summary>Time of the oldest event still in memory, or null when there is none.</summary>
    public DateTimeOffset? OldestTimestamp()
    {
        lock (_gate)
        {
            long oldest = Math.Max(1, _next - _ring.Length + 1);
            var entry = _ring[oldest % _ring.Length];
            return _next > 0 && entry.Id == oldest ? entry.Event.Timestamp : null;
        }
    }

    /// <summary>One event by id, if it is still in memory.</summary>
    public DropEvent? Find(long id)
    {
        lock (_gate)
        {
            var entry = _ring[id % _ring.Length];
            return id > 0 && entry.Id == id ? entry.Event : null;
        }
    }
}
