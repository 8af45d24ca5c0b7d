using System.Globalization;

namespace PacketMonitor.Core.Attribution;

/// <summary>
/// The targets of the kernel's "anonymous" links in /proc: <c>/proc/PID/fd/N</c> → <c>socket:[12345]</c>,
/// <c>/proc/PID/ns/net</c> → <c>net:[4026531840]</c>. The number is the inode the kernel program reports.
/// </summary>
public static class ProcLinks
{
    /// <summary>The inode in a link target of the form <c>kind:[N]</c>, e.g. (<c>socket:[42]</c>, "socket") gives 42.</summary>
    public static bool TryParseInode(ReadOnlySpan<char> target, string kind, out ulong inode)
    {
        ArgumentNullException.ThrowIfNull(kind);
        inode = 0;
        if (target.Length < kind.Length + 4 || !target.StartsWith(kind, StringComparison.Ordinal)
            || target[kind.Length] != ':' || target[kind.Length + 1] != '[' || target[^1] != ']')
            return false;
        return ulong.TryParse(target[(kind.Length + 2)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out inode);
    }
}
