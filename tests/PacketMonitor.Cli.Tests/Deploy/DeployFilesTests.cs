using System.Text.Json;
using System.Text.RegularExpressions;
using PacketMonitor.Cli.Commands;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web;
using YamlDotNet.RepresentationModel;

namespace PacketMonitor.Cli.Tests.Deploy;

/// <summary>
/// deploy/: the systemd unit, Dockerfile, Kubernetes manifest, Prometheus configs and Grafana dashboard, parsed
/// and checked for what matters (no cluster or image registry here): the command lines they run are accepted by the
/// real CLI, the Kubernetes pod has the host namespaces, capabilities and mounts the program uses, Prometheus accepts
/// its configs, and Grafana queries only metrics the exporter writes.
/// </summary>
public sealed class DeployFilesTests
{
    private const int MetricsPort = 9810;

    private sealed class Reasons : IReasonNames
    {
        public string NameOf(uint code) => code == 3 ? "NO_SOCKET" : "NOT_SPECIFIED";
    }

    /// <summary>Every metric the real exporter writes, from a reading with drops and losses.</summary>
    private static async Task<IReadOnlySet<string>> ExportedMetricNamesAsync()
    {
        var metrics = new DropMetrics(new Reasons(), new DropMetricsOptions { InterfaceName = (_, _) => "eth0" });
        metrics.SetStatus(true, "tp_btf");
        metrics.Record(new CounterReading(1, new CounterSnapshot(DateTimeOffset.UtcNow, [new CounterEntry(3, 17, 2, 1, 5, 200)]), new LossStats(1, 2, 3, 4)));
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken);
        string text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        return text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The CLI accepts these arguments: parsed without errors and through the same validation as a run.</summary>
    private static void AssertCliAccepts(string[] args, string where)
    {
        var parsed = PacketMonitor.Cli.Cli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(args);
        Assert.True(parsed.Errors.Count == 0, $"{where}: packet-monitor {string.Join(' ', args)}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
        var settings = WatchCommand.Settings(parsed);
        if (settings.Metrics.Listen is string listen)
            Assert.Null(Record.Exception(() => MetricsServer.Create(new DropMetrics(new Reasons()), listen, "token-from-the-secret")));
    }

    [Fact]
    public async Task Grafana_QueriesOnlyMetricsTheExporterWrites_AndUsesEveryOne()
    {
        var exported = await ExportedMetricNamesAsync();
        var used = GrafanaDashboard.MetricNames();

        Assert.Equal(exported.Order(StringComparer.Ordinal), used);
    }

    [Fact]
    public void Grafana_HasThePanelsOfTheFleetView_OnTheDatasourceVariable()
    {
        using var dashboard = GrafanaDashboard.Load();
        var panels = GrafanaDashboard.Panels(dashboard);
        string Expr(string title) => Assert.Single(panels, p => p.GetProperty("title").GetString() == title)
            .GetProperty("targets")[0].GetProperty("expr").GetString()!;

        Assert.StartsWith("sum by (reason) (rate(packet_monitor_drops_total", Expr("Drops/s by reason"), StringComparison.Ordinal);
        Assert.StartsWith("sum by (instance) (rate(packet_monitor_drops_total", Expr("Drops/s by node"), StringComparison.Ordinal);
        Assert.Contains("sum by (instance, interface) (rate(packet_monitor_drops_total", Expr("Drops/s by interface"), StringComparison.Ordinal);
        Assert.StartsWith("sum by (stage) (rate(packet_monitor_events_lost_total", Expr("Events lost/s by stage"), StringComparison.Ordinal);
        Assert.Contains("packet_monitor_monitoring", Expr("Nodes monitoring"), StringComparison.Ordinal);
        Assert.Contains("packet_monitor_monitoring", Expr("Monitoring by node"), StringComparison.Ordinal);

        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
                Assert.Equal("${datasource}", target.GetProperty("datasource").GetProperty("uid").GetString());
        }
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Equal(["datasource", "instance", "reason"], variables);
        // Every rate uses Grafana's interval, every selection the node variable.
        Assert.All(GrafanaDashboard.Expressions().Where(e => e.Contains("rate(", StringComparison.Ordinal)),
            e => Assert.Contains("[$__rate_interval]", e, StringComparison.Ordinal));
        Assert.All(GrafanaDashboard.Expressions(), e => Assert.Contains("instance=~\"$instance\"", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prometheus_StaticConfig_PassesPromtoolCheckConfig()
    {
        var (exit, output) = await CheckConfigAsync(File.ReadAllText(Repo.File("deploy/prometheus/prometheus.yml")));

        Assert.True(exit == 0, output);
        var job = Assert.Single(Yaml.Documents(Repo.File("deploy/prometheus/prometheus.yml"))[0].At("scrape_configs").Items());
        Assert.Equal("Bearer", job.At("authorization", "type").Text());
        Assert.All(job.At("static_configs").Items().Single().At("targets").Items(), t => Assert.EndsWith($":{MetricsPort}", t.Text(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prometheus_KubernetesConfig_KeepsTheDaemonSetPodsOnTheirMetricsPort()
    {
        var config = Yaml.Documents(Repo.File("deploy/prometheus/kubernetes.yml"))[0];
        var job = Assert.Single(config.At("scrape_configs").Items());
        var sd = Assert.Single(job.At("kubernetes_sd_configs").Items());
        Assert.Equal("pod", sd.At("role").Text());
        Assert.Equal(["packet-monitor"], sd.At("namespaces", "names").Items().Select(n => n.Text()));
        Assert.Equal("Bearer", job.At("authorization", "type").Text());

        var rules = job.At("relabel_configs").Items().ToList();
        var manifest = Yaml.Documents(Repo.File("deploy/kubernetes/packet-monitor.yaml"));
        var pod = manifest.Single(d => d.At("kind").Text() == "DaemonSet").At("spec", "template");
        // The keep rules match the DaemonSet's pods.
        var keepByName = rules.Single(r => r.Find("action")?.Text() == "keep" && r.At("source_labels").Items().Single().Text() == "__meta_kubernetes_pod_label_app_kubernetes_io_name");
        Assert.Matches($"^(?:{keepByName.At("regex").Text()})$", pod.At("metadata", "labels", "app.kubernetes.io/name").Text());
        var keepAnnotated = rules.Single(r => r.Find("action")?.Text() == "keep" && r.At("source_labels").Items().Single().Text() == "__meta_kubernetes_pod_annotation_prometheus_io_scrape");
        Assert.Matches($"^(?:{keepAnnotated.At("regex").Text()})$", pod.At("metadata", "annotations", "prometheus.io/scrape").Text());
        // The address rule turns the pod's address and the port annotation into host:9810.
        var address = rules.Single(r => r.Find("target_label")?.Text() == "__address__");
        string port = pod.At("metadata", "annotations", "prometheus.io/port").Text();
        foreach (var podAddress in new[] { "10.1.2.3", "10.1.2.3:8080" })
        {
            var match = Regex.Match($"{podAddress};{port}", $"^(?:{address.At("regex").Text()})$");
            Assert.True(match.Success, podAddress);
            Assert.Equal($"10.1.2.3:{MetricsPort}", address.At("replacement").Text().Replace("$1", match.Groups[1].Value, StringComparison.Ordinal).Replace("$2", match.Groups[2].Value, StringComparison.Ordinal));
        }

        // Debian's Prometheus is built without Kubernetes discovery: check the rest of the job with a static target in its place.
        string text = File.ReadAllText(Repo.File("deploy/prometheus/kubernetes.yml"));
        string withoutDiscovery = Regex.Replace(text, @"    kubernetes_sd_configs:\n(?:      .*\n)+", "    static_configs:\n      - targets: ['127.0.0.1:9810']\n");
        Assert.NotEqual(text, withoutDiscovery);
        var (exit, output) = await CheckConfigAsync(withoutDiscovery);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void DaemonSet_RunsInTheHostNamespacesWithTheCapabilitiesAndMountsItNeeds()
    {
        var manifest = Yaml.Documents(Repo.File("deploy/kubernetes/packet-monitor.yaml"));
        var spec = manifest.Single(d => d.At("kind").Text() == "DaemonSet").At("spec", "template", "spec");
        Assert.Equal("true", spec.At("hostNetwork").Text());
        Assert.Equal("true", spec.At("hostPID").Text());
        var container = Assert.Single(spec.At("containers").Items());

        var security = container.At("securityContext");
        bool privileged = security.Find("privileged")?.Text() == "true";
        var added = security.Find("capabilities")?.Find("add")?.Items().Select(c => c.Text()).ToHashSet() ?? [];
        Assert.True(privileged || added.IsSupersetOf(["BPF", "PERFMON", "NET_ADMIN", "SYS_ADMIN"]),
            $"needs privileged or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN; has {string.Join(",", added)}");
        Assert.Equal("Unconfined", security.At("seccompProfile", "type").Text()); // bpf() is refused by the runtime default

        var volumes = spec.At("volumes").Items().ToDictionary(v => v.At("name").Text());
        var mounts = container.At("volumeMounts").Items().ToDictionary(m => m.At("mountPath").Text());
        foreach (var (path, readOnly) in new[] { ("/sys/kernel/btf", true), ("/sys/kernel/tracing", true), ("/var/lib/packet-monitor", false) })
        {
            Assert.True(mounts.TryGetValue(path, out var mount), $"no mount at {path}");
            Assert.Equal(readOnly, mount.Find("readOnly")?.Text() == "true");
            var volume = volumes[mount.At("name").Text()];
            Assert.Equal(path, volume.At("hostPath", "path").Text());
        }
        // Nothing else from the host is writable.
        Assert.All(mounts.Where(m => m.Value.Find("readOnly")?.Text() != "true" && volumes[m.Value.At("name").Text()].Find("hostPath") is not null),
            m => Assert.Equal("/var/lib/packet-monitor", m.Key));

        // Its command line is one the CLI accepts, with the metrics on the port Prometheus is told about.
        var args = container.At("args").Items().Select(a => a.Text()).ToArray();
        AssertCliAccepts(args, "DaemonSet");
        Assert.Equal($":{MetricsPort}", args[Array.IndexOf(args, "--metrics-listen") + 1]);
        Assert.StartsWith("127.0.0.1:", args[Array.IndexOf(args, "--listen") + 1], StringComparison.Ordinal); // the dashboard stays on the node's loopback
        var env = container.At("env").Items().Single(e => e.At("name").Text() == "PACKET_MONITOR_METRICS_TOKEN");
        Assert.Equal("packet-monitor-metrics", env.At("valueFrom", "secretKeyRef", "name").Text());
        var containerPort = container.At("ports").Items().Single(p => p.At("name").Text() == "metrics");
        Assert.Equal($"{MetricsPort}", containerPort.At("containerPort").Text());
        var annotations = manifest.Single(d => d.At("kind").Text() == "DaemonSet").At("spec", "template", "metadata", "annotations");
        Assert.Equal($"{MetricsPort}", annotations.At("prometheus.io/port").Text());
        Assert.Equal("/metrics", annotations.At("prometheus.io/path").Text());

        var service = manifest.Single(d => d.At("kind").Text() == "Service");
        Assert.Equal("metrics", service.At("spec", "ports").Items().Single().At("targetPort").Text());
        Assert.Equal(
            manifest.Single(d => d.At("kind").Text() == "DaemonSet").At("spec", "selector", "matchLabels", "app.kubernetes.io/name").Text(),
            service.At("spec", "selector", "app.kubernetes.io/name").Text());
    }

    [Fact]
    public void SystemdUnit_RunsServeWithArgumentsTheCliAccepts()
    {
        var lines = File.ReadAllLines(Repo.File("deploy/packet-monitor.service"));
        string exec = lines.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        var words = exec.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("/usr/local/bin/packet-monitor", words[0]);
        // The example options the unit's comment suggests for /etc/default/packet-monitor.
        var example = lines.Single(l => l.Contains("PACKET_MONITOR_ARGS=", StringComparison.Ordinal));
        var exampleArgs = example[(example.IndexOf('=', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var args = words.Skip(1).SelectMany(w => w == "$PACKET_MONITOR_ARGS" ? exampleArgs : [w]).ToArray();
        AssertCliAccepts(args, "systemd unit");
        AssertCliAccepts(words.Skip(1).Where(w => w != "$PACKET_MONITOR_ARGS").ToArray(), "systemd unit without options");
        Assert.Contains("EnvironmentFile=-/etc/default/packet-monitor", lines);
    }

    [Fact]
    public async Task MakeInstall_InstallsTheSystemdUnit()
    {
        var (exit, output) = await Tools.RunAsync("make", ["-C", Repo.Root, "-n", "--always-make", "install", "PREFIX=/tmp/pm-prefix", "UNIT_DIR=/tmp/pm-units"]);

        Assert.True(exit == 0, output);
        Assert.Contains("install -D -m 644 deploy/packet-monitor.service /tmp/pm-units/packet-monitor.service", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_BuildsWithTheSdk_RunsOnTheAspNetRuntimeWithLibbpf()
    {
        var lines = File.ReadAllLines(Repo.File("deploy/Dockerfile"));
        var from = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, from.Count);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0\S* AS build$", from[0]);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0\S*$", from[1]);
        string text = string.Join('\n', lines);
        string buildStage = text[..text.IndexOf(from[1], StringComparison.Ordinal)];
        string runStage = text[text.IndexOf(from[1], StringComparison.Ordinal)..];
        foreach (var package in new[] { "clang", "llvm", "libbpf-dev", "libelf-dev", "make", "npm" })
            Assert.Matches($@"\s{Regex.Escape(package)}\s", buildStage);
        Assert.Contains("make all", buildStage, StringComparison.Ordinal);
        Assert.Matches(@"\slibbpf1\s", runStage);
        Assert.Contains("COPY --from=build /src/build/bin/ /opt/packet-monitor/", runStage, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/opt/packet-monitor/packet-monitor.dll\"]", runStage, StringComparison.Ordinal);
        // The Makefile publishes packet-monitor.dll into build/bin, which the COPY takes.
        Assert.Contains("BIN_DIR    := $(BUILD)/bin", File.ReadAllText(Repo.File("Makefile")), StringComparison.Ordinal);
        Assert.Equal("packet-monitor.dll", Path.GetFileName(typeof(PacketMonitor.Cli.Cli).Assembly.Location));

        var cmd = JsonSerializer.Deserialize<string[]>(lines.Single(l => l.StartsWith("CMD ", StringComparison.Ordinal))["CMD ".Length..])!;
        AssertCliAccepts(cmd, "Dockerfile CMD");
        Assert.Contains($"EXPOSE {MetricsPort}", lines);
    }

    /// <summary>promtool check config on a copy whose token file exists (promtool checks that it does).</summary>
    private static async Task<(int Exit, string Output)> CheckConfigAsync(string config)
    {
        var dir = Directory.CreateTempSubdirectory("pm-promconfig-");
        try
        {
            string token = Path.Combine(dir.FullName, "token");
            await File.WriteAllTextAsync(token, "secret", TestContext.Current.CancellationToken);
            string file = Path.Combine(dir.FullName, "prometheus.yml");
            await File.WriteAllTextAsync(file, config.Replace("/etc/prometheus/packet-monitor-token", token, StringComparison.Ordinal), TestContext.Current.CancellationToken);
            return await Tools.RunAsync("promtool", ["check", "config", file]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
