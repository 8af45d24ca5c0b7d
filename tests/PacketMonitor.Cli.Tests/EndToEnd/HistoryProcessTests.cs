using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>History across a crash: real `serve` processes, real drops in a namespace, SIGKILL, restart, `history --json`.</summary>
public sealed class HistoryProcessTests : IDisposable
{
    private const int SigKill = 9;
    private readonly string _dataDir = Directory.CreateTempSubdirectory("pm-e2e-history-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Sends UDP datagrams to a closed port in the namespace: one NO_SOCKET drop each.</summary>
    private static void Drop(NetworkNamespace ns, int count)
    {
        using var sender = ns.UdpSocket(IPAddress.Loopback);
        for (int i = 0; i < count; i++)
            sender.SendTo(new byte[20], new IPEndPoint(IPAddress.Loopback, 9));
    }

    private async Task<(long Packets, long Events)> HistoryAsync()
    {
        using var history = new MonitorProcess("history", "--data-dir", _dataDir, "--json", "--since", "1h");
        int code = await history.WaitExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"history exited {code}: {history.Stderr}");
        using var json = JsonDocument.Parse(history.Stdout);
        var reason = json.RootElement.GetProperty("reasons").EnumerateArray()
            .FirstOrDefault(r => r.GetProperty("reason").GetString() == "NO_SOCKET");
        return reason.ValueKind == JsonValueKind.Undefined ? (0, 0) : (reason.GetProperty("packets").GetInt64(), reason.GetProperty("events").GetInt64());
    }

    private async Task<MonitorProcess> ServeAsync(NetworkNamespace ns)
    {
        var serve = new MonitorProcess("serve", "--listen", $"127.0.0.1:{FreePort()}", "--netns", ns.Name, "--data-dir", _dataDir);
        await serve.WaitAttachedAsync();
        Assert.Contains($"recording history into {_dataDir}/history.db", serve.Stderr, StringComparison.Ordinal);
        return serve;
    }

    private async Task WaitForHistoryAsync(long packets, MonitorProcess serve)
    {
        (long Packets, long Events) seen = default;
        for (int attempt = 0; attempt < 30; attempt++)
        {
            seen = await HistoryAsync(); // read while serve writes: a second process on the same database
            if (seen.Packets >= packets && seen.Events >= packets)
                break;
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        Assert.True(seen == (packets, packets), $"history shows {seen}, {packets} drops sent; serve: {serve.Stderr}");
    }

    [Fact]
    public async Task Serve_KilledAndRestarted_HistoryKeepsEveryCommittedDrop()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();

        using (var first = await ServeAsync(ns))
        {
            Drop(ns, 25);
            await WaitForHistoryAsync(25, first);
            first.Signal(SigKill); // no shutdown: only what was committed survives
            Assert.Equal(137, await first.WaitExitAsync(TimeSpan.FromSeconds(30)));
        }
        Assert.True(File.Exists(Path.Combine(_dataDir, "history.db-wal")), "a killed writer leaves its write-ahead log");
        Assert.Equal((25L, 25L), await HistoryAsync());

        using var second = await ServeAsync(ns);
        Drop(ns, 17);
        await WaitForHistoryAsync(42, second);
        second.Signal(2); // SIGINT: a clean stop flushes and closes the database
        Assert.Equal(0, await second.WaitExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("error", second.Stderr, StringComparison.Ordinal);
        Assert.Equal((42L, 42L), await HistoryAsync());
    }

    [Fact]
    public async Task ExportFromHistory_AfterServeStopped_WritesTheRecordedDropsOldestFirst()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using (var serve = await ServeAsync(ns))
        {
            Drop(ns, 6);
            await WaitForHistoryAsync(6, serve);
            serve.Signal(2);
            Assert.Equal(0, await serve.WaitExitAsync(TimeSpan.FromSeconds(30)));
        }
        string file = Path.Combine(_dataDir, "recorded.pcapng");

        using (var all = new MonitorProcess("export", "--pcapng", file, "--since", "1h", "--data-dir", _dataDir, "--port", "9"))
        {
            Assert.Equal(0, await all.WaitExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"wrote 6 packets from {_dataDir}/history.db", all.Stderr, StringComparison.Ordinal);
        }
        var packets = PacketMonitor.Core.Tests.Exports.Tshark.Fields(file, "ip.dst", "udp.dstport", "frame.time_epoch", "frame.comment");
        Assert.Equal(6, packets.Count);
        Assert.All(packets, p => Assert.Equal(["127.0.0.1", "9"], p[..2]));
        Assert.All(packets, p => Assert.StartsWith("reason: NO_SOCKET", p[3], StringComparison.Ordinal));
        var times = packets.Select(p => decimal.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);

        using (var two = new MonitorProcess("export", "--pcapng", file, "--since", "1h", "--data-dir", _dataDir, "--count", "2"))
            Assert.Equal(0, await two.WaitExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(2, PacketMonitor.Core.Tests.Exports.Tshark.Fields(file, "udp.dstport").Count);

        using var live = new MonitorProcess("export", "--pcapng", file, "--since", "1h", "--duration", "5s");
        Assert.Equal(2, await live.WaitExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--duration is for a live capture", live.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--summary")]
    public async Task Watch_WithHistory_RecordsEventsAndCounts(string mode)
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        using (var watch = new MonitorProcess("watch", mode, "--netns", ns.Name, "--duration", "4s", "--history", "--data-dir", _dataDir))
        {
            await watch.WaitAttachedAsync();
            Assert.Contains("recording history into", watch.Stderr, StringComparison.Ordinal);
            Drop(ns, 9);
            Assert.Equal(0, await watch.WaitExitAsync(TimeSpan.FromSeconds(60)));
        }

        // --summary turns events off in the kernel: counts only.
        Assert.Equal((9L, mode == "--json" ? 9L : 0L), await HistoryAsync());
    }
}
