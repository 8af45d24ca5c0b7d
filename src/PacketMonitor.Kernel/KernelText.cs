using System.Globalization;
using System.Text;

namespace PacketMonitor.Kernel;

/// <summary>Text that came from the kernel or from files anyone may name (comm, ifname, cgroup directories): made safe to print.</summary>
internal static class KernelText
{
    /// <summary>
    /// Invalid UTF-8 becomes U+FFFD (Encoding.UTF8 never throws); control characters, including
    /// C1 such as U+009B (CSI), and invisible format characters (bidi overrides such as U+202E,
    /// zero-width spaces) become '?' so a name can neither drive nor disguise the output.
    /// </summary>
    public static string Sanitize(ReadOnlySpan<byte> utf8) => Sanitize(Encoding.UTF8.GetString(utf8));

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
