namespace PacketMonitor.Web;

/// <summary>How <c>packet-monitor serve</c> exposes the dashboard, API and live feed.</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// Address to listen on: <c>host:port</c>, <c>[v6]:port</c> or <c>:port</c> (all interfaces).
    /// Host is an IP address or <c>localhost</c>; port 0 picks a free port. Default <c>127.0.0.1:5000</c>.
    /// </summary>
    public string Listen { get; set; } = "127.0.0.1:5000";

    /// <summary>
    /// Access token. Required when <see cref="Listen"/> is not a loopback address; when set, the API,
    /// the hub and the page need it (<c>Authorization: Bearer TOKEN</c>, or <c>?access_token=TOKEN</c>
    /// for the hub and the page). Default none.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// A read-only token for <c>GET /metrics</c> only (<c>Authorization: Bearer TOKEN</c>), for a Prometheus that
    /// should not hold the dashboard token. When set, <c>/metrics</c> needs it (or the dashboard token). Default none.
    /// </summary>
    public string? MetricsToken { get; set; }

    /// <summary>The metrics served at <c>/metrics</c>. Default: metrics of their own over the session, with default settings.</summary>
    public DropMetrics? Metrics { get; set; }

    /// <summary>Folder with the dashboard's static files. Default: <c>wwwroot</c> beside this assembly.</summary>
    public string? WebRoot { get; set; }

    /// <summary>
    /// Every drop reason the running kernel defines (code, name without the SKB_DROP_REASON_ prefix),
    /// for <c>GET /api/reasons</c>. Default none: then only the reasons counted so far are listed.
    /// </summary>
    public Func<IReadOnlyList<(uint Code, string Name)>>? ReasonList { get; set; }

    /// <summary>Live feed: time between two <c>packet_events</c> messages (at most 10 a second by default).</summary>
    internal TimeSpan LiveInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Live feed: most events in one <c>packet_events</c> message (the newest are kept).</summary>
    internal int LiveMaxEvents { get; set; } = 200;
}
