using System.Globalization;
using System.Net;

namespace PacketMonitor.Web;

/// <summary>
/// Where Kestrel listens: <c>host:port</c>, <c>[v6]:port</c> or <c>:port</c> (all interfaces).
/// The host is an IP address or <c>localhost</c>; port 0 lets the kernel pick a free port.
/// </summary>
internal sealed record ListenAddress(IPAddress? Address, bool IsLocalhostName, int Port)
{
    private const string Examples = "examples: 127.0.0.1:5000, [::1]:5000, 0.0.0.0:8080, :8080";

    /// <summary>All interfaces (<c>:port</c>).</summary>
    public bool IsAny => Address is null && !IsLocalhostName;

    /// <summary>Only reachable from this machine.</summary>
    public bool IsLoopback => IsLocalhostName || (Address is not null && IPAddress.IsLoopback(Address));

    /// <param name="option">The option named in an error message.</param>
    public static ListenAddress Parse(string text, string option = "--listen")
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        string host, port;
        if (t.StartsWith('['))
        {
            int close = t.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
                throw Invalid(option, text, "an IPv6 address needs a port after the brackets");
            host = t[1..close];
            port = t[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                throw Invalid(option, text, $"'{host}' is not an IPv6 address");
        }
        else
        {
            int colon = t.LastIndexOf(':');
            if (colon < 0)
                throw Invalid(option, text, "the port is missing");
            host = t[..colon];
            port = t[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
                throw Invalid(option, text, "put an IPv6 address in brackets, as in [::1]:5000");
        }
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > 65535)
            throw Invalid(option, text, $"'{port}' is not a port number (0-65535)");
        if (host.Length == 0)
            return new ListenAddress(null, false, number);
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return new ListenAddress(null, true, number);
        if (!IPAddress.TryParse(host, out var address))
            throw Invalid(option, text, $"'{host}' is not an IP address or localhost");
        return new ListenAddress(address, false, number);
    }

    /// <summary>Tells Kestrel to listen here.</summary>
    public void ApplyTo(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (IsLocalhostName && Port != 0)
            kestrel.ListenLocalhost(Port);
        else if (IsLocalhostName)
            kestrel.Listen(IPAddress.Loopback, 0); // Kestrel cannot pick one free port for both loopbacks
        else if (IsAny)
            kestrel.ListenAnyIP(Port);
        else
            kestrel.Listen(Address!, Port);
    }

    public override string ToString() =>
        IsLocalhostName ? $"localhost:{Port}"
        : Address is null ? $":{Port}"
        : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]:{Port}"
        : $"{Address}:{Port}";

    private static ArgumentException Invalid(string option, string text, string why) =>
        new($"{option}: '{text}' is not an address to listen on: {why} ({Examples})");
}
