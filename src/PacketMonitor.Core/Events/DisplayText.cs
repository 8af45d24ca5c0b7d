using System.Globalization;
using System.Text;

namespace PacketMonitor.Core.Events;

/// <summary>Untrusted text (kernel names, paths) made safe to print, log or embed in a file.</summary>
public static class DisplayText
{
    /// <summary>
    /// Decodes UTF-8 and replaces control characters, including C1 such as U+009B (CSI), and invisible format characters
    /// (bidi overrides such as U+202E, zero-width spaces) with '?', so a name can neither drive a terminal,
    /// break a line-based format, nor disguise itself. Printable ASCII comes back as the same instance.
    /// </summary>
    public static string Sanitize(ReadOnlySpan<byte> utf8) => Sanitize(Encoding.UTF8.GetString(utf8)); // invalid UTF-8 → U+FFFD, never throws

    /// <inheritdoc cref="Sanitize(ReadOnlySpan{byte})"/>
    public static string Sanitize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAnyExceptInRange(' ', '~'))
            return text; // printable ASCII: the usual case
        return string.Create(text.Length, text, static (dest, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                char c = src[i];
                dest[i] = char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format ? '?' : c;
            }
        });
    }
}
