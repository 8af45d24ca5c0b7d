using PacketMonitor.Cli;
using PacketMonitor.Cli.Commands;
using PacketMonitor.Core.Capture;

namespace PacketMonitor.Cli.Tests.Commands;

/// <summary>`watch` options: defaults, valid values, and one clear error line for every bad value.</summary>
public sealed class WatchOptionsTests
{
    private static WatchSettings Parse(params string[] args)
    {
        var root = Cli.BuildRoot(TextWriter.Null, TextWriter.Null);
        var result = root.Parse(["watch", .. args]);
        Assert.Empty(result.Errors);
        return WatchCommand.Settings(result);
    }

    [Fact]
    public void Settings_NoOptions_UsesDocumentedDefaults()
    {
        var s = Parse();
        Assert.Equal(OutputMode.Text, s.Output);
        Assert.Equal(16 * 1024 * 1024, s.Capture.RingSizeBytes);
        Assert.Equal(128, s.Capture.SnapLength);
        Assert.Equal(AttachMode.Auto, s.Capture.Attach);
        Assert.True(s.Capture.Filter.EmitEvents);
        Assert.False(s.Capture.Filter.IncludeUnspecified);
        Assert.Null(s.Count);
        Assert.Null(s.Duration);
        Assert.False(s.Capture.Filter.Stacks);
        Assert.Empty(s.Capture.Filter.StackReasons);
        Assert.False(s.Capture.Filter.AnyStacks);
    }

    [Fact]
    public void Settings_Stacks_RecordsEveryEventsStack()
    {
        var s = Parse("--stacks");

        Assert.True(s.Capture.Filter.Stacks);
        Assert.Empty(s.Capture.Filter.StackReasons);
        Assert.True(s.Capture.Filter.AnyStacks);
    }

    [Fact]
    public void Settings_StacksFor_NamesTheReasonsAndShowsNotSpecifiedWhenAskedFor()
    {
        var s = Parse("--stacks-for", "not_specified,SKB_DROP_REASON_NO_SOCKET", "--stacks-for", "NETFILTER_DROP");

        Assert.False(s.Capture.Filter.Stacks);
        Assert.Equal(["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP"], s.Capture.Filter.StackReasons);
        Assert.True(s.Capture.Filter.IncludeUnspecified); // stacks of hidden events would be no use
        Assert.False(Parse("--stacks-for", "NO_SOCKET").Capture.Filter.IncludeUnspecified);
    }

    [Fact]
    public void Settings_AllFilters_AreTranslated()
    {
        var s = Parse("--json", "--count", "10", "--duration", "1m", "--reason", "no_socket,SKB_DROP_REASON_NETFILTER_DROP",
            "--protocol", "udp", "--port", "53", "--host", "10.0.0.0/8", "--interface", "eth0", "--netns", "4026531840",
            "--ring-size", "1M", "--snap-len", "256", "--attach", "raw_tp", "--include-unspecified");
        Assert.Equal(OutputMode.Json, s.Output);
        Assert.Equal(10, s.Count);
        Assert.Equal(TimeSpan.FromMinutes(1), s.Duration);
        Assert.Equal(["NO_SOCKET", "NETFILTER_DROP"], s.Capture.Filter.Reasons);
        Assert.Equal((byte)17, s.Capture.Filter.Protocol);
        Assert.Equal((ushort)53, s.Capture.Filter.Port);
        Assert.Equal("10.0.0.0/8", s.Capture.Filter.Host.ToString());
        Assert.Equal("eth0", s.Capture.Filter.Interface);
        Assert.Equal(4026531840u, s.Capture.Filter.Netns);
        Assert.Equal(1 << 20, s.Capture.RingSizeBytes);
        Assert.Equal(256, s.Capture.SnapLength);
        Assert.Equal(AttachMode.RawTp, s.Capture.Attach);
        Assert.True(s.Capture.Filter.IncludeUnspecified);
    }

    [Theory]
    [InlineData("--summary")]
    [InlineData("--counts-only")]
    public void Settings_CounterModes_TurnEventsOffInTheKernel(string option) =>
        Assert.False(Parse(option).Capture.Filter.EmitEvents);

    [Fact]
    public void Settings_HostWithHostBits_IsMaskedLikeIp()
    {
        Assert.Equal("10.1.2.0/24", Parse("--host", "10.1.2.3/24").Capture.Filter.Host.ToString());
        Assert.Equal("2001:db8::1/128", Parse("--host", "[2001:db8::1]").Capture.Filter.Host.ToString());
    }

    [Theory]
    [InlineData("--count", "0", "--count: '0' is not a positive number")]
    [InlineData("--count", "x", "--count: 'x' is not a positive number")]
    [InlineData("--duration", "-5s", "--duration: '-5s' is not a positive duration")]
    [InlineData("--duration", "soon", "--duration: 'soon' is not a positive duration")]
    [InlineData("--port", "70000", "--port: '70000' is not a port number (1-65535)")]
    [InlineData("--port", "0", "--port: '0' is not a port number (1-65535)")]
    [InlineData("--protocol", "tcpx", "--protocol: 'tcpx' is not a protocol")]
    [InlineData("--host", "10.0.0.300", "--host: '10.0.0.300' is not an IP address or CIDR block")]
    [InlineData("--host", "10.0.0.0/33", "--host: '10.0.0.0/33' is not an IP address or CIDR block")]
    [InlineData("--ring-size", "3M", "--ring-size: 3145728 bytes must be a power of two")]
    [InlineData("--ring-size", "lots", "--ring-size: 'lots' is not a size")]
    [InlineData("--snap-len", "4096", "--snap-len: '4096' must be a number of bytes from 0 to 1024")]
    [InlineData("--attach", "kprobe", "--attach: 'kprobe' is not an attach mode (auto, tp_btf, raw_tp, tracepoint)")]
    [InlineData("--interface", "a-very-long-interface-name", "--interface: 'a-very-long-interface-name' is not an interface name")]
    [InlineData("--netns", "no-such-namespace-xyz", "--netns: 'no-such-namespace-xyz' is not a namespace inode")]
    public void Settings_BadValue_OneClearLine(string option, string value, string expectedStart)
    {
        var root = Cli.BuildRoot(TextWriter.Null, TextWriter.Null);
        var error = Assert.Throws<CliException>(() => WatchCommand.Settings(root.Parse(["watch", option, value])));
        Assert.StartsWith(expectedStart, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(ExitCode.Usage, error.Code);
    }

    [Theory]
    [InlineData("--json --summary")]
    [InlineData("--summary --count 5")]
    [InlineData("--reason NO_SOCKET --exclude-reason NETFILTER_DROP")]
    [InlineData("--stacks --stacks-for NO_SOCKET")]
    [InlineData("--stacks --summary")]
    [InlineData("--stacks-for NO_SOCKET --counts-only")]
    public void Settings_ConflictingOptions_AreRefused(string args)
    {
        var root = Cli.BuildRoot(TextWriter.Null, TextWriter.Null);
        Assert.Throws<CliException>(() => WatchCommand.Settings(root.Parse(["watch", .. args.Split(' ')])));
    }

    [Fact]
    public async Task Run_UnknownOption_PrintsOneErrorAndHelpHintWithUsageExitCode()
    {
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(["watch", "--bogus"], TextWriter.Null, stderr);
        Assert.Equal((int)ExitCode.Usage, code);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("--bogus", lines[0], StringComparison.Ordinal);
        Assert.Equal("Try 'packet-monitor watch --help'.", lines[1]);
    }

    [Fact]
    public async Task Run_BadValue_PrintsOneLineNoStackTrace()
    {
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(["watch", "--port", "99999"], TextWriter.Null, stderr);
        Assert.Equal((int)ExitCode.Usage, code);
        Assert.Equal("packet-monitor: --port: '99999' is not a port number (1-65535)", stderr.ToString().Trim());
    }
}
