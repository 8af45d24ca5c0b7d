using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.BlindSpots;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel.BlindSpots;

/// <summary>
/// Reads the drop counters the kfree_skb hook may not see: every device's counters (rtnetlink, as
/// <c>ip -s link</c>) in the monitor's own network namespace and in every named one (<c>/run/netns</c>,
/// where <c>ip netns add</c> and CNI plugins put them), and the per-CPU backlog counters of
/// <c>/proc/net/softnet_stat</c>.
/// </summary>
/// <remarks>
/// Interface counters are per namespace, and a netlink socket answers for the namespace it was created
/// in. The named namespaces are therefore read from one short-lived thread per sample that enters each
/// of them in turn (setns, needs CAP_SYS_ADMIN), opens a socket there, dumps and closes it: no socket,
/// and so no reference that would keep a deleted namespace alive, outlives the sample. Namespaces that
/// are neither the monitor's nor named (a container runtime that does not bind-mount them) are not covered.
/// </remarks>
public sealed partial class KernelBlindSpotSampler : IBlindSpotSampler
{
    /// <summary>Most named namespaces read per sample (sorted by name).</summary>
    public const int MaxNamedNamespaces = 256;

    private static readonly TimeSpan NamedNamespaceTimeout = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly string _netnsDir;
    private readonly string _softnetPath;
    private readonly HashSet<string> _reported = [];

    /// <param name="logger">Each distinct problem is logged once, as a warning.</param>
    /// <param name="netnsDir">Where named namespaces are bind-mounted.</param>
    /// <param name="softnetPath">The softnet statistics file.</param>
    public KernelBlindSpotSampler(ILogger logger, string netnsDir = "/run/netns", string softnetPath = SoftnetStat.Path)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _netnsDir = netnsDir;
        _softnetPath = softnetPath;
    }

    /// <inheritdoc />
    public string Coverage => $"the monitor's own network namespace and every named one in {_netnsDir} (ip netns add)";

    /// <inheritdoc />
    public BlindSpotSample Sample()
    {
        var problems = new List<string>();
        var interfaces = new List<InterfaceCounters>();
        var named = NamedNamespaces(problems);
        uint own = NetworkNamespaces.Current() ?? 0;
        string ownName = named.FirstOrDefault(n => n.Inode == own).Name ?? "";

        try
        {
            using var socket = LinkCounterReader.Open();
            Add(interfaces, LinkCounterReader.Dump(socket), own, ownName);
        }
        catch (Exception e) when (e is BpfException or FormatException)
        {
            problems.Add($"interface counters of the monitor's namespace: {e.Message}");
        }

        var others = named.Where(n => n.Inode != own).DistinctBy(n => n.Inode).ToList();
        if (others.Count > 0)
            ReadNamedNamespaces(others, interfaces, problems);

        var softnet = ReadSoftnet(problems);
        foreach (var problem in problems)
        {
            lock (_reported)
            {
                if (_reported.Count < 256 && _reported.Add(problem))
                    Log.Problem(_logger, problem);
            }
        }
        return new BlindSpotSample(DateTimeOffset.UtcNow, interfaces, softnet, problems);
    }

    private List<(string Name, uint Inode)> NamedNamespaces(List<string> problems)
    {
        List<(string Name, string Path, uint Inode)> named;
        try
        {
            named = NetworkNamespaces.Named(_netnsDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot list {_netnsDir}: {e.Message}");
            return [];
        }
        if (named.Count > MaxNamedNamespaces)
        {
            problems.Add($"{named.Count} named network namespaces: only the first {MaxNamedNamespaces} are read");
            named = named[..MaxNamedNamespaces];
        }
        return named.Select(n => (n.Name, n.Inode)).ToList();
    }

    /// <summary>Enters each namespace on a thread of its own (a thread's namespace must never leak into the pool).</summary>
    private void ReadNamedNamespaces(List<(string Name, uint Inode)> namespaces, List<InterfaceCounters> into, List<string> problems)
    {
        var found = new List<InterfaceCounters>();
        var failures = new List<string>();
        var thread = new Thread(() =>
        {
            foreach (var (name, inode) in namespaces)
            {
                try
                {
                    if (!NetworkNamespaces.TryEnter(Path.Combine(_netnsDir, name), out int errno))
                    {
                        failures.Add(errno == 1
                            ? $"cannot enter the named network namespaces (setns: EPERM): run as root (CAP_SYS_ADMIN) to see their interface counters"
                            : $"cannot enter network namespace {name}: {BpfException.ErrnoName(errno)}");
                        continue;
                    }
                    // The inode checked again from inside: the file may have been replaced since it was listed.
                    uint actual = NetworkNamespaces.Inode("/proc/thread-self/ns/net") ?? inode;
                    using var socket = LinkCounterReader.Open();
                    Add(found, LinkCounterReader.Dump(socket), actual, name);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    // Deleted since it was listed.
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or BpfException or FormatException)
                {
                    failures.Add($"interface counters of network namespace {name}: {e.Message}");
                }
            }
        })
        {
            IsBackground = true,
            Name = "netns counters",
        };
        thread.Start();
        if (!thread.Join(NamedNamespaceTimeout))
        {
            problems.Add($"reading the named network namespaces took more than {NamedNamespaceTimeout.TotalSeconds:F0} s: skipped this time");
            return;
        }
        into.AddRange(found);
        problems.AddRange(failures.Distinct());
    }

    private IReadOnlyList<SoftnetCounters> ReadSoftnet(List<string> problems)
    {
        try
        {
            var rows = SoftnetStat.Parse(File.ReadAllText(_softnetPath), out int malformed);
            if (malformed > 0)
                problems.Add($"{_softnetPath}: {malformed} lines in an unknown format were skipped");
            return rows;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot read {_softnetPath}: {e.Message}");
            return [];
        }
    }

    private static void Add(List<InterfaceCounters> into, List<LinkStats> links, uint netns, string netnsName)
    {
        foreach (var link in links)
        {
            if (link.Counters is DeviceCounters counters)
                into.Add(new InterfaceCounters(netns, netnsName, link.Ifindex, link.Name, counters));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Drop counters kfree_skb cannot see: {Problem}")]
        public static partial void Problem(ILogger logger, string problem);
    }
}
