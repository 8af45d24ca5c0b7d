using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>
/// A real Prometheus (Debian's package) on a free loopback port, with a temporary config scraping one target
/// every second and a temporary storage directory, both removed on dispose.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private readonly string _directory;
    private readonly Process _process;
    private readonly HttpClient _http;

    public PrometheusServer(string target)
    {
        _directory = Directory.CreateTempSubdirectory("pm-prometheus-").FullName;
        Port = FreePort();
        string config = Path.Combine(_directory, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: packet-monitor
                static_configs:
                  - targets: ['{target}']
            """);
        var info = new ProcessStartInfo("prometheus")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_directory, "data")}",
            $"--web.listen-address=127.0.0.1:{Port}", "--storage.tsdb.retention.time=1h",
        })
            info.ArgumentList.Add(arg);
        _process = Process.Start(info) ?? throw new InvalidOperationException("prometheus did not start (apt-get install prometheus)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public int Port { get; }

    public System.Text.StringBuilder Log { get; } = new();

    public async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var ready = await _http.GetAsync(new Uri("/-/ready", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"prometheus did not get ready: {Log}");
    }

    /// <summary>An instant query's single value, or null when it has no result.</summary>
    public async Task<double?> QueryAsync(string expression)
    {
        var json = await _http.GetStringAsync(new Uri($"/api/v1/query?query={Uri.EscapeDataString(expression)}", UriKind.Relative));
        using var doc = JsonDocument.Parse(json);
        var result = doc.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0)
            return null;
        if (result.GetArrayLength() > 1)
            throw new InvalidOperationException($"{expression} has {result.GetArrayLength()} series: {json}");
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a query and returns Prometheus's answer: status "success", or the error it names.</summary>
    public async Task<string> QueryStatusAsync(string expression)
    {
        using var response = await _http.GetAsync(new Uri($"/api/v1/query?query={Uri.EscapeDataString(expression)}", UriKind.Relative));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("status").GetString() == "success"
            ? "success"
            : doc.RootElement.GetProperty("error").GetString() ?? "error";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
