using System.Net;
using System.Threading.Channels;
using PacketMonitor.Cli;
using PacketMonitor.Cli.Commands;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Exports;
using PacketMonitor.Core.Tests.Exports;

namespace PacketMonitor.Cli.Tests.Commands;

/// <summary>`export` options, and the export loop over any source of event batches.</summary>
public sealed class ExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pm-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ExportSettings Parse(params string[] args)
    {
        var root = Cli.BuildRoot(TextWriter.Null, TextWriter.Null);
        var result = root.Parse(["export", .. args]);
        Assert.Empty(result.Errors);
        return ExportCommand.Settings(result);
    }

    [Fact]
    public void Settings_FileCountDurationAndFilters_AreTranslated()
    {
        var s = Parse("--pcapng", "drops.pcapng", "--count", "10", "--duration", "10s", "--reason", "no_socket", "--protocol", "udp",
            "--port", "53", "--host", "10.0.0.0/8", "--interface", "eth0", "--netns", "4026531840", "--snap-len", "1024");

        Assert.Equal("drops.pcapng", s.Output);
        Assert.False(s.ToStdout);
        Assert.Equal(10, s.Watch.Count);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Watch.Duration);
        Assert.True(s.Watch.Capture.Filter.EmitEvents);
        Assert.Equal(["NO_SOCKET"], s.Watch.Capture.Filter.Reasons);
        Assert.Equal((byte)17, s.Watch.Capture.Filter.Protocol);
        Assert.Equal((ushort)53, s.Watch.Capture.Filter.Port);
        Assert.Equal("10.0.0.0/8", s.Watch.Capture.Filter.Host.ToString());
        Assert.Equal("eth0", s.Watch.Capture.Filter.Interface);
        Assert.Equal(4026531840u, s.Watch.Capture.Filter.Netns);
        Assert.Equal(1024, s.Watch.Capture.SnapLength);
    }

    [Fact]
    public void Settings_NoCountNoDuration_RunsUntilStopped()
    {
        var s = Parse("--pcapng", "-");

        Assert.True(s.ToStdout);
        Assert.Null(s.Watch.Count);
        Assert.Null(s.Watch.Duration);
    }

    [Theory]
    [InlineData(new[] { "--pcapng", " " }, "packet-monitor: --pcapng: give a file name, or - for standard output")]
    [InlineData(new[] { "--pcapng", "x", "--count", "0" }, "packet-monitor: --count: '0' is not a positive number")]
    [InlineData(new[] { "--pcapng", "x", "--duration", "soon" }, "packet-monitor: --duration: 'soon' is not a positive duration (examples: 30s, 5m, 1h, 7d, 500ms)")]
    [InlineData(new[] { "--count", "5" }, "packet-monitor: Option '--pcapng' is required.")]
    [InlineData(new[] { "--pcapng", "x", "--json" }, "packet-monitor: Unrecognized command or argument '--json'.")]
    public async Task Run_BadOptions_OneLineAndUsageExitCode(string[] args, string expectedFirstLine)
    {
        var stderr = new StringWriter();

        int code = await Cli.RunAsync(["export", .. args], TextWriter.Null, stderr);

        Assert.Equal((int)ExitCode.Usage, code);
        Assert.Equal(expectedFirstLine, stderr.ToString().Split('\n')[0]);
        Assert.DoesNotContain("   at ", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ExplainsWhenTheExportStops()
    {
        var stdout = new StringWriter();
        Cli.BuildRoot(stdout, TextWriter.Null).Parse(["export", "--help"]).Invoke(new System.CommandLine.InvocationConfiguration { Output = stdout });

        string help = stdout.ToString();
        Assert.Contains("--pcapng", help, StringComparison.Ordinal);
        Assert.Contains("runs until Ctrl-C", help, StringComparison.Ordinal);
        Assert.Contains("--count", help, StringComparison.Ordinal);
        Assert.Contains("--duration", help, StringComparison.Ordinal);
    }

    private static DropEvent Event(int i) => new()
    {
        Timestamp = new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero).AddMilliseconds(i),
        Reason = "NO_SOCKET",
        ReasonCode = 3,
        Location = "__udp4_lib_rcv+0x9b1",
        Family = PacketFamily.Ipv4,
        EtherType = 0x0800,
        IpProtocol = 17,
        SourceAddress = IPAddress.Parse("10.0.0.1"),
        DestinationAddress = IPAddress.Parse("10.0.0.2"),
        SourcePort = (ushort)(1000 + i),
        DestinationPort = 53,
        Length = 28,
        Flags = DropEventFlags.HasL3 | DropEventFlags.HasL4,
        Headers = PacketBytes.Ipv4("10.0.0.1", "10.0.0.2", 17, 28, PacketBytes.Udp((ushort)(1000 + i), 53, 8, [])),
        Ifname = "eth0",
        Comm = "swapper/0",
    };

    [Fact]
    public async Task WriteAsync_CountInsideABatch_StopsExactlyThere()
    {
        Tshark.Require();
        string file = Path.Combine(_dir, "count.pcapng");
        IReadOnlyList<DropEvent>[] batches = [[Event(0), Event(1)], [Event(2), Event(3), Event(4)], [Event(5)]];

        long written;
        await using (var writer = new PcapngWriter(File.Create(file)))
            written = await ExportRunner.WriteAsync(batches.ToAsyncEnumerable(), writer, count: 4, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(4, written);
        Assert.Equal(["1000", "1001", "1002", "1003"], Tshark.Fields(file, "udp.srcport").Select(p => p[0]));
    }

    [Fact]
    public async Task WriteAsync_EveryBatch_IsInTheFileBeforeTheNextArrives()
    {
        Tshark.Require();
        string file = Path.Combine(_dir, "stream.pcapng");
        var channel = Channel.CreateUnbounded<IReadOnlyList<DropEvent>>();
        var progress = Channel.CreateUnbounded<long>();
        await using var writer = new PcapngWriter(new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read));
        var export = ExportRunner.WriteAsync(channel.Reader.ReadAllAsync(TestContext.Current.CancellationToken), writer, count: null,
            n => progress.Writer.TryWrite(n), TestContext.Current.CancellationToken);

        for (int batch = 1; batch <= 3; batch++)
        {
            channel.Writer.TryWrite(Enumerable.Range(0, batch).Select(Event).ToList());
            long sofar = await progress.Reader.ReadAsync(TestContext.Current.CancellationToken);
            Assert.Equal(batch * (batch + 1) / 2, sofar);
            Assert.Equal(sofar, Tshark.PacketCount(file)); // a reader of the growing file sees every packet already
        }
        channel.Writer.Complete();

        Assert.Equal(6, await export);
    }
}
