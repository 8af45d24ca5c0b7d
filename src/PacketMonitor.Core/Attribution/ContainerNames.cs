namespace PacketMonitor.Core.Attribution;

/// <summary>
/// Names the workload a cgroup v2 path belongs to: a container (<c>docker:3f4e5a6b7c8d</c>,
/// <c>containerd:…</c>, <c>cri-o:…</c>, <c>podman:…</c>, <c>k8s:…</c>, <c>lxc:NAME</c>) or a systemd unit
/// (<c>nginx.service</c>, <c>session-3.scope</c>). Pure string work: the paths come from the cgroup tree.
/// </summary>
/// <remarks>
/// The innermost recognisable segment wins, so a container nested in another (docker in docker) or a
/// container under a kubepods slice is named by itself. Hex container ids are cut to 12 characters, as
/// <c>docker ps</c> and <c>crictl ps</c> show them and as both accept them.
/// </remarks>
public static class ContainerNames
{
    public const int ShortIdLength = 12;

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    // systemd driver: <prefix><id>.scope
    private static readonly (string Prefix, string Runtime)[] ScopePrefixes =
    [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ];

    /// <summary>The container or unit of a cgroup path such as <c>/system.slice/docker-&lt;id&gt;.scope</c>; null when none shows.</summary>
    public static string? FromCgroupPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return null;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = segments.Length - 1; i >= 0; i--)
        {
            if (Container(segments, i) is { } container)
                return container;
        }
        for (int i = segments.Length - 1; i >= 0; i--)
        {
            var segment = segments[i];
            if (segment.EndsWith(".service", StringComparison.Ordinal) || segment.EndsWith(".scope", StringComparison.Ordinal))
                return segment;
        }
        return null;
    }

    private static string? Container(string[] segments, int i)
    {
        var segment = segments[i];
        if (segment.EndsWith(".scope", StringComparison.Ordinal))
        {
            var name = segment[..^".scope".Length];
            foreach (var (prefix, runtime) in ScopePrefixes)
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal))
                    continue;
                var id = name[prefix.Length..];
                // crio-conmon-<id>, libpod-conmon-<id>: the runtime's monitor process, not the container.
                if (id.Length == 0 || id.StartsWith("conmon-", StringComparison.Ordinal))
                    return null;
                return $"{runtime}:{ShortId(id)}";
            }
            return null;
        }

        string? parent = i > 0 ? segments[i - 1] : null;
        // cgroupfs driver: /docker/<id>, /libpod_parent/libpod-<id>, /kubepods/<qos>/pod<uid>/<id>, /lxc.payload.<name>
        if (IsFullHexId(segment))
        {
            if (parent == "docker")
                return $"docker:{ShortId(segment)}";
            if (parent is not null && parent.StartsWith("pod", StringComparison.Ordinal)
                && segments.Take(i).Any(s => s.StartsWith("kubepods", StringComparison.Ordinal)))
                return $"k8s:{ShortId(segment)}";
        }
        if (parent == "libpod_parent" && segment.StartsWith("libpod-", StringComparison.Ordinal) && segment.Length > "libpod-".Length
            && !segment.StartsWith("libpod-conmon-", StringComparison.Ordinal))
            return $"podman:{ShortId(segment["libpod-".Length..])}";
        if (segment.StartsWith("lxc.payload.", StringComparison.Ordinal) && segment.Length > "lxc.payload.".Length)
            return $"lxc:{segment["lxc.payload.".Length..]}";
        return null;
    }

    /// <summary>The id part of a container name (<c>docker:3f4e5a6b7c8d</c> gives <c>3f4e5a6b7c8d</c>); the name itself for a unit.</summary>
    public static string IdOf(string container)
    {
        ArgumentNullException.ThrowIfNull(container);
        int colon = container.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? container : container[(colon + 1)..];
    }

    /// <summary>
    /// Whether a user's value names this container: its full name, its id, or a longer id it abbreviates
    /// (a full 64-digit id as docker inspect shows it).
    /// </summary>
    public static bool Matches(string container, string value)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(value);
        if (string.Equals(container, value, StringComparison.OrdinalIgnoreCase))
            return true;
        var id = IdOf(container);
        if (string.Equals(id, value, StringComparison.OrdinalIgnoreCase))
            return true;
        return id.Length == ShortIdLength && value.Length > ShortIdLength && IsHex(value)
            && value.StartsWith(id, StringComparison.OrdinalIgnoreCase);
    }

    private static string ShortId(string id) => id.Length > ShortIdLength && IsHex(id) ? id[..ShortIdLength] : id;

    private static bool IsFullHexId(string s) => s.Length == 64 && IsHex(s);

    private static bool IsHex(string s) => s.Length > 0 && !s.AsSpan().ContainsAnyExcept(HexDigits);
}
