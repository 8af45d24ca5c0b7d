using System.Globalization;

namespace PacketMonitor.Core.Events;

/// <summary>Names of the L4 protocols users type and read.</summary>
public static class ProtocolNames
{
    private static readonly string[] Numbers = Enumerable.Range(0, 256)
        .Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();

    public static string Of(byte ipProtocol, bool hasL3 = true) => ipProtocol switch
    {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMPv6",
        0 when !hasL3 => "other",
        _ => Numbers[ipProtocol],
    };

    /// <summary>Parses tcp, udp, icmp, icmpv6 (any case) or a number 0..255.</summary>
    public static bool TryParse(string text, out byte ipProtocol)
    {
        switch (text.Trim().ToUpperInvariant())
        {
            case "TCP": ipProtocol = 6; return true;
            case "UDP": ipProtocol = 17; return true;
            case "ICMP": ipProtocol = 1; return true;
            case "ICMPV6" or "ICMP6" or "IPV6-ICMP": ipProtocol = 58; return true;
            case "SCTP": ipProtocol = 132; return true;
            default:
                return byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ipProtocol);
        }
    }
}
