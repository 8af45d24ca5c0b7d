using System.Globalization;

namespace PacketMonitor.Core.Events;

/// <summary>A point in time as users type it (API parameters, CLI options): ISO 8601 (<c>2026-01-31T12:00:00Z</c>) or Unix seconds (<c>1769860800</c>, <c>1769860800.25</c>).</summary>
public static class TimeText
{
    public const string Examples = "examples: 2026-01-31T12:00:00Z, 2026-01-31T13:00:00.5+01:00, 1769860800";

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd",
    ];

    /// <summary>Largest Unix time accepted (year 9999).</summary>
    private const decimal MaxUnixSeconds = 253_402_300_799m;

    public static bool TryParseIso(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    public static bool TryParse(string text, out DateTimeOffset time)
    {
        if (TryParseIso(text, out time))
            return true;
        if (text.Length <= 24 && decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            && seconds <= MaxUnixSeconds)
        {
            time = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
            return true;
        }
        time = default;
        return false;
    }
}
