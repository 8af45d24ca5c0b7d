using System.Globalization;

namespace PacketMonitor.Core.Metrics;

/// <summary>
/// The <c>interface</c> label of the drop metrics: the interface's name in its own network namespace,
/// with a bounded number of distinct names. Names beyond <see cref="MaxNames"/> become <see cref="Other"/>,
/// and stay there: the set of admitted names only grows, so a folded interface never moves back (its
/// counts would otherwise jump from one series to another). Names repeat across namespaces (every
/// namespace has an <c>lo</c>): such interfaces share one label. Not thread-safe.
/// </summary>
public sealed class InterfaceLabels
{
    /// <summary>The label of every interface beyond the limit.</summary>
    public const string Other = "other";

    /// <summary>Default for <c>--metrics-max-interfaces</c>.</summary>
    public const int DefaultMaxNames = 50;

    private readonly Func<uint, uint, string?> _resolve;
    private readonly HashSet<string> _admitted = new(StringComparer.Ordinal);
    private readonly Dictionary<(uint Ifindex, uint Netns), string> _labels = [];

    /// <param name="maxNames">Most distinct interface names (at least 1); <see cref="Other"/> comes on top.</param>
    /// <param name="resolve">The name of (ifindex, netns inode), or null when it cannot be found (namespace gone).</param>
    public InterfaceLabels(int maxNames, Func<uint, uint, string?> resolve)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNames, 1);
        ArgumentNullException.ThrowIfNull(resolve);
        MaxNames = maxNames;
        _resolve = resolve;
    }

    public int MaxNames { get; }

    /// <summary>The names admitted so far (at most <see cref="MaxNames"/>).</summary>
    public IReadOnlyCollection<string> Admitted => _admitted;

    /// <summary>
    /// The label of an interface. The first answer for a key is kept until <see cref="ForgetInterfaces"/>:
    /// an interface renamed meanwhile keeps counting under the label it started with.
    /// </summary>
    public string LabelOf(uint ifindex, uint netns)
    {
        if (_labels.TryGetValue((ifindex, netns), out var label))
            return label;
        string name = ifindex == 0 ? "none"
            : Sanitize(_resolve(ifindex, netns)) ?? "ifindex" + ifindex.ToString(CultureInfo.InvariantCulture);
        if (_admitted.Contains(name) || (_admitted.Count < MaxNames && _admitted.Add(name)))
            label = name;
        else
            label = Other;
        _labels[(ifindex, netns)] = label;
        return label;
    }

    /// <summary>
    /// Forgets which key got which label (a new capture: keys of gone namespaces need no memory), but not
    /// which names were admitted, so the folding stays as it was.
    /// </summary>
    public void ForgetInterfaces() => _labels.Clear();

    /// <summary>Kernel strings are untrusted: a name with control characters or over 15 bytes is not used.</summary>
    private static string? Sanitize(string? name) =>
        string.IsNullOrEmpty(name) || name.Length > 15 || name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || name == Other
            ? null
            : name;
}
