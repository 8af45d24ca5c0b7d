using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PacketMonitor.Core.Events;

/// <summary>The host filters users type (CLI --host, API ?host=): an address or a CIDR block.</summary>
public static class HostNetworks
{
    /// <summary>
    /// An address (a /32 or /128 network, brackets allowed) or a CIDR block; host bits after the prefix
    /// are cleared, as ip(8) does. Null when the text is neither.
    /// </summary>
    public static IPNetwork? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.StartsWith('[') && t.EndsWith(']'))
            t = t[1..^1];
        int slash = t.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            if (!IPAddress.TryParse(t, out var address) || !LooksLikeAddress(t))
                return null;
            return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        }
        if (!IPAddress.TryParse(t[..slash], out var baseAddress) || !LooksLikeAddress(t[..slash])
            || !int.TryParse(t[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix)
            || prefix > (baseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
            return null;
        var bytes = baseAddress.GetAddressBytes();
        for (int bit = prefix; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    // IPAddress.TryParse accepts "1" or "10.1" (inet_aton shorthands) and scope ids; nobody means those in a filter.
    private static bool LooksLikeAddress(string text) =>
        !text.Contains('%', StringComparison.Ordinal)
        && (text.Contains(':', StringComparison.Ordinal) || text.Count(c => c == '.') == 3);
}
