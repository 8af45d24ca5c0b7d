namespace PacketMonitor.Core.Events;

/// <summary>
/// "2026-11-27T17:40:01.123456Z": UTC with microseconds, written digit by digit. The general
/// DateTime formatter parses its pattern on every call, which showed up in profiles at 200k events/s.
/// </summary>
public static class Iso8601
{
    public const int Length = 27;

    /// <summary>Writes the 27 characters (ASCII) into <paramref name="destination"/>; false if it is too short.</summary>
    public static bool TryFormatUtf8(DateTimeOffset time, Span<byte> destination)
    {
        if (destination.Length < Length)
            return false;
        var t = time.UtcDateTime;
        Digits(destination[..4], t.Year);
        destination[4] = (byte)'-';
        Digits(destination.Slice(5, 2), t.Month);
        destination[7] = (byte)'-';
        Digits(destination.Slice(8, 2), t.Day);
        destination[10] = (byte)'T';
        Digits(destination.Slice(11, 2), t.Hour);
        destination[13] = (byte)':';
        Digits(destination.Slice(14, 2), t.Minute);
        destination[16] = (byte)':';
        Digits(destination.Slice(17, 2), t.Second);
        destination[19] = (byte)'.';
        Digits(destination.Slice(20, 6), (int)(t.Ticks % TimeSpan.TicksPerSecond / 10));
        destination[26] = (byte)'Z';
        return true;
    }

    /// <summary>The same text as chars.</summary>
    public static bool TryFormat(DateTimeOffset time, Span<char> destination)
    {
        Span<byte> ascii = stackalloc byte[Length];
        if (destination.Length < Length || !TryFormatUtf8(time, ascii))
            return false;
        for (int i = 0; i < Length; i++)
            destination[i] = (char)ascii[i];
        return true;
    }

    private static void Digits(Span<byte> destination, int value)
    {
        for (int i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }
}
