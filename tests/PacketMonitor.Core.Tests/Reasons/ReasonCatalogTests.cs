using System.Diagnostics;
using System.Text.RegularExpressions;
using CsCheck;
using PacketMonitor.Core.Reasons;
using Xunit;

namespace PacketMonitor.Core.Tests.Reasons;

public sealed partial class ReasonCatalogTests
{
    private const string TracefsMount = "/sys/kernel/tracing";
    private const string FormatFile = TracefsMount + "/events/skb/kfree_skb/format";
    private const string DebugfsFormatFile = "/sys/kernel/debug/tracing/events/skb/kfree_skb/format";

    [Theory]
    [InlineData("NO_SOCKET", "ss -")]
    [InlineData("NETFILTER_DROP", "nft list ruleset")]
    [InlineData("SOCKET_RCVBUFF", "rmem")]
    [InlineData("CPU_BACKLOG", "netdev_max_backlog")]
    [InlineData("TCP_LISTEN_OVERFLOW", "somaxconn")]
    [InlineData("QDISC_DROP", "tc -s qdisc")]
    public void Describe_CommonReason_HintNamesTheRemedy(string name, string keyword)
    {
        var info = ReasonCatalog.Describe(name);

        Assert.False(info.IsGeneric);
        Assert.Equal(name, info.Name);
        Assert.Contains(keyword, info.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NoSocket_ExplainsThatNothingListens()
    {
        Assert.Contains("listens", ReasonCatalog.Describe("NO_SOCKET").Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NetfilterDrop_BlamesAFirewallRule()
    {
        Assert.Contains("firewall rule", ReasonCatalog.Describe("NETFILTER_DROP").Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NotSpecified_PointsToTheLocation()
    {
        var info = ReasonCatalog.Describe("NOT_SPECIFIED");

        Assert.False(info.IsGeneric);
        Assert.Contains("location", info.Hint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no_socket")]
    [InlineData("No_Socket")]
    [InlineData("SKB_DROP_REASON_NO_SOCKET")]
    [InlineData("skb_drop_reason_no_socket")]
    [InlineData("  NO_SOCKET ")]
    public void Describe_CaseOrPrefixVariant_FindsTheSameEntry(string name)
    {
        var info = ReasonCatalog.Describe(name);

        Assert.Same(ReasonCatalog.Describe("NO_SOCKET"), info);
        Assert.True(ReasonCatalog.IsKnown(name));
    }

    [Theory]
    [InlineData("SKB_CONSUMED", "CONSUMED")]
    [InlineData("SKB_NOT_DROPPED_YET", "NOT_DROPPED_YET")]
    [InlineData("SKB_CSUM", "SKB_CSUM")]
    [InlineData("SKB_DROP_REASON_SKB_GSO_SEG", "SKB_GSO_SEG")]
    public void Describe_SkbPrefixedName_KeepsRealSkbReasons(string name, string expected)
    {
        Assert.Equal(expected, ReasonCatalog.Describe(name).Name);
    }

    [Theory]
    [InlineData("TCP_MD5NOTFOUND")]
    [InlineData("IP_NOPROTO")]
    [InlineData("OTHERHOST")]
    [InlineData("UNICAST_IN_L2_MULTICAST")]
    [InlineData("TCP_FILTER")]
    [InlineData("PTYPE_ABSENT")]
    [InlineData("BLACKHOLE")]
    public void Describe_NameOfAnotherKernelVersion_IsSpecific(string name)
    {
        Assert.False(ReasonCatalog.Describe(name).IsGeneric);
    }

    [Fact]
    public void Describe_UnknownName_IsGenericAndContainsTheName()
    {
        var info = ReasonCatalog.Describe("skb_drop_reason_FROBNICATE_FAILED");

        Assert.True(info.IsGeneric);
        Assert.False(ReasonCatalog.IsKnown("FROBNICATE_FAILED"));
        Assert.Equal("FROBNICATE_FAILED", info.Name);
        Assert.Contains("FROBNICATE_FAILED", info.Explanation, StringComparison.Ordinal);
        Assert.Contains("SKB_DROP_REASON_FROBNICATE_FAILED", info.Hint, StringComparison.Ordinal);
        AssertOneSentence(info.Explanation);
        AssertOneSentence(info.Hint);
    }

    [Theory]
    [InlineData("OVS_DROP_EXPLICIT", "ovs-ofctl dump-flows")]
    [InlineData("OVS_DROP_METER", "meter-stats")]
    [InlineData("OVS_DROP_CONNTRACK", "dump-conntrack")]
    [InlineData("OVS_DROP_LAST_ACTION", "dpctl/dump-flows")]
    public void Describe_OpenVswitchReason_IsSpecific(string name, string command)
    {
        var info = ReasonCatalog.Describe(name);

        Assert.False(info.IsGeneric);
        Assert.Contains("Open", info.Explanation, StringComparison.Ordinal);
        Assert.Contains(command, info.Hint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OVS_DROP_SOMETHING_NEW", "Open vSwitch", "ovs-appctl")]
    [InlineData("SUBSYS_OPENVSWITCH:0x00ff", "Open vSwitch", "ovs-appctl")]
    [InlineData("RX_DROP_U_MIC_FAIL", "mac80211", "iw dev")]
    [InlineData("RX_DROP_M_BAD_BCN_KEYIDX", "mac80211", "iw dev")]
    [InlineData("SUBSYS_MAC80211_UNUSABLE:0x0001", "mac80211", "iw dev")]
    public void Describe_SubsystemReason_IsGenericPerSubsystem(string name, string subsystem, string command)
    {
        var info = ReasonCatalog.Describe(name);

        Assert.True(info.IsGeneric);
        Assert.False(ReasonCatalog.IsKnown(name));
        Assert.Contains(subsystem, info.Explanation, StringComparison.Ordinal);
        Assert.Contains(name, info.Explanation, StringComparison.Ordinal);
        Assert.Contains(command, info.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => ReasonCatalog.Describe(null!));
        Assert.Throws<ArgumentNullException>(() => ReasonCatalog.IsKnown(null!));
    }

    [Fact]
    public void KnownNames_EveryEntry_IsOneSentenceEach()
    {
        Assert.True(ReasonCatalog.KnownNames.Count >= 128, $"only {ReasonCatalog.KnownNames.Count} names");
        foreach (string name in ReasonCatalog.KnownNames)
        {
            var info = ReasonCatalog.Describe(name);
            Assert.False(info.IsGeneric, name);
            Assert.True(ReasonCatalog.IsKnown(name), name);
            Assert.Equal(name, info.Name);
            Assert.Matches("^[A-Z][A-Z0-9_]*$", name);
            AssertOneSentence(info.Explanation, name);
            AssertOneSentence(info.Hint, name);
        }
    }

    [Fact]
    public void KnownNames_NoDuplicates()
    {
        Assert.Equal(ReasonCatalog.KnownNames.Count, ReasonCatalog.KnownNames.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void KnownNames_EveryExplanation_IsItsOwn()
    {
        // Each reason gets its own wording, not a copy of another's.
        var explanations = ReasonCatalog.KnownNames.Select(n => ReasonCatalog.Describe(n).Explanation).ToList();
        Assert.Equal(explanations.Count, explanations.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Describe_AnyString_NeverThrowsAndStaysOneLine()
    {
        // Names come from the kernel and are untrusted text.
        Gen.String.Sample(name =>
        {
            var info = ReasonCatalog.Describe(name);
            AssertOneSentence(info.Explanation, name);
            AssertOneSentence(info.Hint, name);
            Assert.DoesNotContain(info.Name, char.IsControl);
        });
    }

    [Fact]
    public void Describe_EmptyOrHugeName_IsBoundedGeneric()
    {
        Assert.True(ReasonCatalog.Describe("").IsGeneric);
        Assert.True(ReasonCatalog.Describe(new string('A', 10_000)).Explanation.Length < 300);
    }

    [Fact]
    public void Describe_EveryReasonOfTheRunningKernel_IsSpecific()
    {
        string? format = ReadKfreeSkbFormat();
        if (format is null)
        {
            const string Why = "skb:kfree_skb format is not readable (no tracefs, or not root)";
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.Ordinal), Why);
            Assert.Skip(Why);
        }

        var names = ParseReasonNames(format);

        Assert.True(names.Count >= 10, $"parsed only {names.Count} reason names from {FormatFile}");
        var missing = names.Where(n => n != "MAX" && !ReasonCatalog.IsKnown(n)).ToList();
        Assert.True(missing.Count == 0, "no specific entry for: " + string.Join(", ", missing));
    }

    [Fact]
    public void ParseReasonNames_PrintFmt_ReadsTheSymbolicList()
    {
        const string Format = """
            print fmt: "skbaddr=%p location=%pS reason: %s", REC->skbaddr, REC->location, __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 4, "SOCKET_CLOSE" }, { 128, "MAX" })
            """;

        Assert.Equal(["NOT_SPECIFIED", "NO_SOCKET", "SOCKET_CLOSE", "MAX"], ParseReasonNames(Format));
    }

    private static List<string> ParseReasonNames(string format)
    {
        int start = format.IndexOf("__print_symbolic(REC->reason", StringComparison.Ordinal);
        Assert.True(start >= 0, "no __print_symbolic(REC->reason, ...) in the format");
        return SymbolEntry().Matches(format[start..]).Select(m => m.Groups["name"].Value).ToList();
    }

    private static string? ReadKfreeSkbFormat()
    {
        if (!File.Exists(FormatFile) && !File.Exists(DebugfsFormatFile))
            TryMountTracefs();
        foreach (string path in (string[])[FormatFile, DebugfsFormatFile])
        {
            try
            {
                if (File.Exists(path))
                    return File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Try the next place; a missing format is reported by the caller.
            }
        }
        return null;
    }

    private static void TryMountTracefs()
    {
        try
        {
            using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tracefs", "nodev", TracefsMount])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            if (mount is not null && !mount.WaitForExit(10_000))
                mount.Kill();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No mount binary: the caller skips or fails.
        }
    }

    private static void AssertOneSentence(string text, string? what = null)
    {
        Assert.False(string.IsNullOrWhiteSpace(text), what);
        Assert.True(text.EndsWith('.'), $"{what}: '{text}' does not end with a period");
        Assert.DoesNotContain('\n', text);
        Assert.DoesNotContain('\r', text);
        Assert.Equal(text.Trim(), text);
    }

    [GeneratedRegex("""\{\s*(?<code>\d+)\s*,\s*"(?<name>[^"]+)"\s*\}""")]
    private static partial Regex SymbolEntry();
}
