using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;

namespace PacketMonitor.Web;

/// <summary>
/// Turns the query string of <c>GET /api/events</c> into an <see cref="EventQuery"/>. Unknown parameters
/// are ignored; a bad value gives one line naming the parameter and what is wrong with it.
/// </summary>
internal static class EventQueryParser
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 10_000;
    public const int MaxReasonLength = 64;
    public const int MaxInterfaceLength = 15; // IFNAMSIZ - 1
    public const int MaxCgroupLength = 4096; // PATH_MAX
    public const int MaxNameLength = 255;    // NAME_MAX

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] Parameters =
        ["limit", "reason", "protocol", "host", "port", "interface", "since", "from", "until", "owner_pid", "cgroup", "container", "netns_name"];

    public static bool TryParse(IQueryCollection query, out EventQuery result, out string error)
    {
        ArgumentNullException.ThrowIfNull(query);
        result = new EventQuery { Limit = DefaultLimit };
        if (SingleValues(query, Parameters, "leave the parameter out to match everything", out error) is not { } given)
            return false;
        foreach (var (name, text) in given)
        {
            string? problem = name switch
            {
                "limit" => Limit(text, ref result),
                "reason" => Reason(text, ref result),
                "protocol" => Protocol(text, ref result),
                "host" => Host(text, ref result),
                "port" => Port(text, ref result),
                "interface" => Interface(text, ref result),
                "owner_pid" => OwnerPid(text, ref result),
                "cgroup" => Cgroup(text, ref result),
                "container" => Container(text, ref result),
                "netns_name" => NetnsName(text, ref result),
                "since" => Since(text, ref result),
                "from" => From(text, ref result),
                _ => Until(text, ref result),
            };
            if (problem is not null)
                return Fail($"{name}: '{Shown(text)}' {problem}", out error);
        }
        if (query.ContainsKey("since") && query.ContainsKey("from"))
            return Fail("from: give from or since, not both (they mean the same)", out error);
        if (result.Since is { } start && result.Until is { } end && start >= end)
            return Fail($"until: must be after from ({start:O} is not before {end:O})", out error);
        error = "";
        return true;
    }

    /// <summary>
    /// The parameters of <paramref name="names"/> that the query gives, in that order, each with its one value; null and
    /// an error for one given twice or empty (<paramref name="emptyHint"/> says what leaving it out means).
    /// </summary>
    internal static List<(string Name, string Text)>? SingleValues(IQueryCollection query, string[] names, string emptyHint, out string error)
    {
        var given = new List<(string, string)>();
        foreach (var name in names)
        {
            if (!query.TryGetValue(name, out var values))
                continue;
            string text = values[0] ?? "";
            error = values.Count > 1 ? $"{name}: given {values.Count} times, give it once"
                : text.Length == 0 ? $"{name}: empty value ({emptyHint})"
                : "";
            if (error.Length > 0)
                return null;
            given.Add((name, text));
        }
        error = "";
        return given;
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }

    private static string? Limit(string text, ref EventQuery q)
    {
        if (!int.TryParse(text, NumberStyles.None, Inv, out int limit) || limit < 1 || limit > MaxLimit)
            return $"is not a number from 1 to {MaxLimit}";
        q = q with { Limit = limit };
        return null;
    }

    internal static string? Reason(string text, ref EventQuery q)
    {
        const string Prefix = "SKB_DROP_REASON_";
        if (text.Length > MaxReasonLength || !text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            return $"is not a reason name (letters, digits, '_' and ':', at most {MaxReasonLength}; examples: NO_SOCKET, NETFILTER_DROP)";
        string name = text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && text.Length > Prefix.Length ? text[Prefix.Length..] : text;
        q = q with { Reason = name };
        return null;
    }

    internal static string? Protocol(string text, ref EventQuery q)
    {
        if (!ProtocolNames.TryParse(text, out byte protocol))
            return "is not a protocol (tcp, udp, icmp, icmpv6 or a number 0-255)";
        q = q with { Protocol = protocol };
        return null;
    }

    private static string? Port(string text, ref EventQuery q)
    {
        if (!ushort.TryParse(text, NumberStyles.None, Inv, out ushort port) || port == 0)
            return "is not a port number (1-65535)";
        q = q with { Port = port };
        return null;
    }

    internal static string? Interface(string text, ref EventQuery q)
    {
        // The kernel's dev_valid_name(): at most 15 bytes, no '/', ':' or white space, not "." or "..".
        if (text.Length > MaxInterfaceLength || text is "." or ".."
            || text.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            return $"is not an interface name (1-{MaxInterfaceLength} characters, no '/', ':' or spaces)";
        q = q with { Interface = text };
        return null;
    }

    private static string? OwnerPid(string text, ref EventQuery q)
    {
        if (!uint.TryParse(text, NumberStyles.None, Inv, out uint pid) || pid == 0 || pid > 4_194_304) // PID_MAX_LIMIT
            return "is not a process id (1-4194304)";
        q = q with { OwnerPid = pid };
        return null;
    }

    private static string? Cgroup(string text, ref EventQuery q)
    {
        if (text[0] != '/' || text.Length > MaxCgroupLength || text.Any(char.IsControl))
            return $"is not a cgroup path (starts with '/', at most {MaxCgroupLength} characters; example: /system.slice)";
        q = q with { Cgroup = text };
        return null;
    }

    private static string? Container(string text, ref EventQuery q)
    {
        if (text.Length > MaxNameLength || text.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '/'))
            return $"is not a container or unit name (at most {MaxNameLength} characters, no '/' or spaces; examples: docker:3f4e5a6b7c8d, 3f4e5a6b7c8d, nginx.service)";
        q = q with { Container = text };
        return null;
    }

    private static string? NetnsName(string text, ref EventQuery q)
    {
        // `ip netns add` names are file names in /run/netns; the others are pid:N.
        if (text.Length > MaxNameLength || text is "." or ".." || text.Any(c => char.IsControl(c) || c == '/'))
            return $"is not a namespace name (a name from `ip netns list` or pid:N, at most {MaxNameLength} characters)";
        q = q with { NetnsName = text };
        return null;
    }

    private static string? Since(string text, ref EventQuery q)
    {
        if (!TimeText.TryParseIso(text, out var since))
            return "is not an ISO 8601 time (examples: 2026-01-31T12:00:00Z, 2026-01-31T13:00:00.5+01:00)";
        q = q with { Since = since };
        return null;
    }

    private static string? From(string text, ref EventQuery q)
    {
        if (!TimeText.TryParse(text, out var from))
            return $"is not an ISO 8601 time or Unix seconds ({TimeText.Examples})";
        q = q with { Since = from };
        return null;
    }

    private static string? Until(string text, ref EventQuery q)
    {
        if (!TimeText.TryParse(text, out var until))
            return $"is not an ISO 8601 time or Unix seconds ({TimeText.Examples})";
        q = q with { Until = until };
        return null;
    }

    private static string? Host(string text, ref EventQuery q)
    {
        if (HostNetworks.Parse(text) is not { } network)
            return "is not an IP address or CIDR block (examples: 10.0.0.1, 192.168.0.0/16, 2001:db8::/32)";
        q = q with { Host = network };
        return null;
    }

    // The value echoed in the one-line error: shortened, control characters (a newline) shown as '?'.
    internal static string Shown(string text)
    {
        var shown = text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
        return shown.Any(char.IsControl) ? new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]) : shown;
    }
}
