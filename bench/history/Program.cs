// History benchmark (make bench-history): synthetic data, no kernel needed.
//   1. the recorder's writer: N events offered as fast as possible, time until all are committed -> rows/s, DB bytes per million events;
//   2. 24 hours of per-second counts (S series every second) written, then GET /api/history/rates over the 24 hours
//      through the real dashboard server (Kestrel on loopback), R times per query shape -> median and p95 in ms.
// Options: --events N (default 1000000), --series S (default 20), --runs R (default 20), --out FILE (JSON results).

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web;

var inv = CultureInfo.InvariantCulture;
int events = Option("--events", 1_000_000);
int seriesCount = Option("--series", 20);
int runs = Option("--runs", 20);
string? outFile = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
var folder = Directory.CreateTempSubdirectory("pm-bench-history-");
var results = new Dictionary<string, object>();
try
{
    // ---- 1. writer throughput and growth
    var writerOptions = new HistoryOptions
    {
        DatabasePath = Path.Combine(folder.FullName, "events.db"),
        QueueCapacityEvents = events + 1,
        MaxDatabaseBytes = 64L << 30,
    };
    var batches = Enumerable.Range(0, events / 1000).Select(b => Enumerable.Range(0, 1000).Select(i => SampleEvent(b * 1000 + i)).ToList()).ToList();
    var recorder = HistoryRecorder.Start(writerOptions, new Names(), TimeProvider.System, NullLogger.Instance);
    long bytesBefore = FileBytes(writerOptions.DatabasePath);
    var clock = Stopwatch.StartNew();
    foreach (var batch in batches)
        recorder.Offer(batch);
    recorder.Dispose(); // drains the queue, commits, closes (checkpoints the WAL into the file)
    clock.Stop();
    var status = recorder.Status;
    long bytes = FileBytes(writerOptions.DatabasePath) - bytesBefore;
    double rowsPerSecond = status.EventsWritten / clock.Elapsed.TotalSeconds;
    double mbPerMillion = bytes / 1e6 / (status.EventsWritten / 1e6);
    results["writer"] = new { events = status.EventsWritten, lost = status.EventsLost, seconds = clock.Elapsed.TotalSeconds, rows_per_second = Math.Round(rowsPerSecond), db_bytes = bytes, mb_per_million_events = Math.Round(mbPerMillion, 1) };
    Console.WriteLine(string.Create(inv, $"writer: {status.EventsWritten:N0} events in {clock.Elapsed.TotalSeconds:F1} s = {rowsPerSecond:N0} rows/s (lost {status.EventsLost}); database {bytes / 1e6:F1} MB = {mbPerMillion:F1} MB per million events"));

    // ---- 2. 24 h of per-second counts, and the rates API over them
    string countsPath = Path.Combine(folder.FullName, "history.db");
    long end = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), start = end - 86400;
    string[] reasons = ["NO_SOCKET", "NETFILTER_DROP", "SOCKET_RCVBUFF", "TCP_INVALID_SEQUENCE", "PKT_TOO_SMALL"];
    clock.Restart();
    long countRows = 0;
    using (var db = HistoryDatabase.Open(countsPath))
    {
        var random = new Random(42);
        for (long hour = start; hour < end; hour += 3600)
        {
            var rows = new List<CountRow>(3600 * seriesCount);
            for (long s = hour; s < Math.Min(hour + 3600, end); s++)
            {
                for (int k = 0; k < seriesCount; k++)
                    rows.Add(new CountRow(s, reasons[k % reasons.Length], (uint)(k % reasons.Length + 2), (byte)(k % 2 == 0 ? 17 : 6), (uint)(k / 2 + 1), 4026531840, (ulong)random.Next(1, 5000), (ulong)random.Next(64, 320_000)));
            }
            db.Write([], rows, (ifindex, _) => $"eth{ifindex}");
            countRows += rows.Count;
        }
    }
    Console.WriteLine(string.Create(inv, $"counts: {countRows:N0} per-second rows ({seriesCount} series x 86,400 s) written in {clock.Elapsed.TotalSeconds:F1} s; database {FileBytes(countsPath) / 1e6:F1} MB"));
    results["counts"] = new { rows = countRows, series = seriesCount, seconds = clock.Elapsed.TotalSeconds, db_bytes = FileBytes(countsPath) };

    var source = new IdleSource();
    await using var session = new MonitorSession(source, TimeProvider.System, NullLogger<MonitorSession>.Instance);
    using var history = HistoryRecorder.Start(session, new HistoryOptions { DatabasePath = countsPath, MaintenanceInterval = TimeSpan.FromHours(1) }, TimeProvider.System, NullLogger.Instance);
    var app = DashboardServer.Build(session, new DashboardOptions { Listen = "127.0.0.1:0" }, history: history);
    await app.StartAsync();
    using var http = new HttpClient { BaseAddress = DashboardServer.Addresses(app)[0] };
    var queries = new (string Name, string Query)[]
    {
        ("24h, default step (300 s)", $"from={start}&to={end}"),
        ("24h, step 60 s", $"from={start}&to={end}&step=60"),
        ("24h, step 10 s (per-second rows)", $"from={start}&to={end}&step=10"),
        ("24h, reason=NO_SOCKET, protocol=udp", $"from={start}&to={end}&reason=NO_SOCKET&protocol=udp"),
        ("1h, step 1 s", $"from={end - 3600}&to={end}&step=1"),
    };
    var timings = new List<object>();
    foreach (var (name, query) in queries)
    {
        var samples = new List<double>();
        long total = 0;
        for (int i = 0; i < runs + 2; i++)
        {
            var t = Stopwatch.StartNew();
            using var response = await http.GetAsync(new Uri("/api/history/rates?" + query, UriKind.Relative));
            string body = await response.Content.ReadAsStringAsync();
            t.Stop();
            if (response.StatusCode != HttpStatusCode.OK)
                throw new InvalidOperationException($"{query}: {(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            total = json.RootElement.GetProperty("total_packets").GetInt64();
            if (i >= 2)
                samples.Add(t.Elapsed.TotalMilliseconds); // the first two warm up the server
        }
        samples.Sort();
        double median = samples[samples.Count / 2], p95 = samples[(int)Math.Ceiling(samples.Count * 0.95) - 1];
        timings.Add(new { query = name, median_ms = Math.Round(median, 1), p95_ms = Math.Round(p95, 1), total_packets = total });
        Console.WriteLine(string.Create(inv, $"GET /api/history/rates {name}: median {median:F1} ms, p95 {p95:F1} ms ({total:N0} drops)"));
    }
    results["rates"] = timings;
    await app.StopAsync();
    if (outFile is not null)
        await File.WriteAllTextAsync(outFile, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
}
finally
{
    folder.Delete(recursive: true);
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], inv) : fallback;
}

static long FileBytes(string path) =>
    (File.Exists(path) ? new FileInfo(path).Length : 0) + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);

// A UDP drop as the kernel program reports it: addresses, ports, 128 bytes of headers (Ethernet + IPv4 + UDP + payload).
static DropEvent SampleEvent(int n) => new()
{
    Timestamp = DateTimeOffset.UtcNow,
    MonotonicNs = 1_000_000_000UL + (ulong)n * 1000,
    Reason = "NO_SOCKET",
    ReasonCode = 3,
    LocationAddress = 0xffffffff81a2b3c4UL,
    Location = "__udp4_lib_rcv+0x4bc",
    Family = PacketFamily.Ipv4,
    EtherType = 0x0800,
    IpProtocol = 17,
    SourceAddress = new IPAddress([10, 0, (byte)(n >> 8), (byte)n]),
    DestinationAddress = IPAddress.Loopback,
    SourcePort = (ushort)(1024 + n % 60000),
    DestinationPort = 9,
    Length = 100,
    SkbLength = 114,
    Ifindex = 1,
    Ifname = "lo",
    Netns = 4026531840,
    Cpu = (uint)(n % 2),
    Pid = 4242,
    Tid = 4242,
    Comm = "dropgen",
    Flags = DropEventFlags.HasL2 | DropEventFlags.HasL3 | DropEventFlags.HasL4 | DropEventFlags.HasDevice,
    Headers = Enumerable.Range(0, 128).Select(i => (byte)(i ^ n)).ToArray(),
    L3Offset = 14,
};

internal sealed class Names : IReasonNames
{
    public string NameOf(uint code) => code == 3 ? "NO_SOCKET" : $"REASON_{code}";
}

/// <summary>A source that never starts: the server only needs a session to serve the history API.</summary>
internal sealed class IdleSource : IDropSource
{
    public IReasonNames Reasons { get; } = new Names();

    public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events) => throw new NotSupportedException("no capture in the benchmark");
}
