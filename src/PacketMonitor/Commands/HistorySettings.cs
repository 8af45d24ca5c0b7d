using System.CommandLine;
using System.Globalization;
using PacketMonitor.Core.History;

namespace PacketMonitor.Cli.Commands;

/// <summary>The history options of `serve` (on by default) and `watch` (with --history), and their validation.</summary>
public static class HistorySettings
{
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = $"Folder of the history database (default {HistoryOptions.DefaultDataDirectory})", HelpName = "DIR" };
    public static readonly Option<bool> NoHistory = new("--no-history") { Description = "Do not record history (live view only)" };
    public static readonly Option<bool> History = new("--history") { Description = $"Also record into the history database ({HistoryOptions.DefaultDataDirectory}/{HistoryOptions.FileName})" };
    public static readonly Option<string?> Retention = new("--retention") { Description = "Delete history older than this (default 7d; e.g. 12h, 30d)", HelpName = "AGE" };
    public static readonly Option<string?> MaxDbSize = new("--max-db-size") { Description = "Keep the history database under this size, oldest events first (default 1G; e.g. 500M)", HelpName = "SIZE" };

    /// <summary>Shortest --retention: a minute (the per-minute counts need one).</summary>
    public static readonly TimeSpan MinRetention = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The history options, or null when history is off (`--no-history`, or `watch` without `--history`).
    /// </summary>
    /// <exception cref="CliException">A bad value, or a history option where history is off.</exception>
    public static HistoryOptions? Parse(ParseResult result, bool onByDefault)
    {
        ArgumentNullException.ThrowIfNull(result);
        bool enabled = onByDefault ? !result.GetValue(NoHistory) : result.GetValue(History);
        string? dataDir = result.GetValue(DataDir), retention = result.GetValue(Retention), maxSize = result.GetValue(MaxDbSize);
        if (!enabled)
        {
            string? stray = dataDir is not null ? "--data-dir" : retention is not null ? "--retention" : maxSize is not null ? "--max-db-size" : null;
            if (stray is not null)
                throw new CliException(onByDefault ? $"{stray} has no use with --no-history: drop one of them" : $"{stray} is a history option: add --history to record");
            return null;
        }
        var options = new HistoryOptions();
        if (dataDir is not null)
        {
            if (dataDir.Trim().Length == 0)
                throw new CliException("--data-dir: empty folder name");
            options = options with { DatabasePath = Path.Combine(Path.GetFullPath(dataDir), HistoryOptions.FileName) };
        }
        if (retention is not null)
        {
            var age = ValueParsers.Duration("--retention", retention);
            if (age < MinRetention)
                throw new CliException($"--retention: '{retention}' is shorter than a minute (examples: 12h, 7d, 30d)");
            options = options with { Retention = age };
        }
        if (maxSize is not null)
        {
            long bytes = ValueParsers.Size("--max-db-size", maxSize);
            if (bytes < HistoryOptions.MinMaxDatabaseBytes)
                throw new CliException($"--max-db-size: '{maxSize}' is below the smallest size, 1M (examples: 500M, 1G)");
            options = options with { MaxDatabaseBytes = bytes };
        }
        return options;
    }

    /// <summary>"7d", "12h", "90m", "45s": the largest whole unit.</summary>
    public static string Age(TimeSpan age) =>
        age.TotalDays >= 1 && age.TotalDays % 1 == 0 ? $"{age.TotalDays.ToString(CultureInfo.InvariantCulture)}d"
        : age.TotalHours >= 1 && age.TotalHours % 1 == 0 ? $"{age.TotalHours.ToString(CultureInfo.InvariantCulture)}h"
        : age.TotalMinutes >= 1 && age.TotalMinutes % 1 == 0 ? $"{age.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : $"{age.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";

    /// <summary>"1 GiB", "500 MiB", "1536 KiB".</summary>
    public static string Size(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB"
        : bytes % (1L << 10) == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes} bytes";

    /// <summary>
    /// Interface names of this process's own namespace from /sys/class/net, for counters whose drops carried no event
    /// (--summary, --counts-only, filtered events); other namespaces' names come from events only.
    /// </summary>
    public static Func<uint, uint, string?> HostInterfaceNames(string sysClassNet = "/sys/class/net")
    {
        uint? own = PacketMonitor.Kernel.NetworkNamespaces.Current();
        var names = new Dictionary<uint, string>();
        var refreshed = DateTime.MinValue;
        return (ifindex, netns) =>
        {
            if (own is null || netns != own)
                return null;
            lock (names)
            {
                if (!names.ContainsKey(ifindex) && DateTime.UtcNow - refreshed > TimeSpan.FromSeconds(10))
                {
                    refreshed = DateTime.UtcNow;
                    names.Clear();
                    try
                    {
                        foreach (var dir in Directory.EnumerateDirectories(sysClassNet))
                        {
                            if (uint.TryParse(File.ReadAllText(Path.Combine(dir, "ifindex")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                                names[index] = Path.GetFileName(dir);
                        }
                    }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                }
                return names.GetValueOrDefault(ifindex);
            }
        };
    }
}
