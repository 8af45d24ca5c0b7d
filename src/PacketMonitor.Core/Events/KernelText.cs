using System.Globalization;
using System.Text;

namespace PacketMonitor.Core.Events;

/// <summary>Turns untrusted kernel strings (comm, interface names) into text that is safe to print.</summary>
public static class KernelText
{
    /// <summary>
    /// Decodes UTF-8 (invalid bytes become U+FFFD; Encoding.UTF8 never throws) and replaces control characters,
    /// including C1 such as U+009B (CSI), and invisible format characters (bidi overrides such as U+202E,
    /// zero-width spaces) with '?', so a name can neither drive nor disguise the output.
    /// </summary>
    public static string Sanitize(ReadOnlySpan<byte> bytes)
    {
        string text = Encoding.UTF8.GetString(bytes);
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
