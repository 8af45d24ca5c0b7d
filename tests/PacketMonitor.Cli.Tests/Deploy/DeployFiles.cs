using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace PacketMonitor.Cli.Tests.Deploy;

/// <summary>The repository's deploy/ folder, found upwards from the test binaries.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    public static string File(string relative) => Path.Combine(Root, relative);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Makefile")) && Directory.Exists(Path.Combine(dir.FullName, "deploy")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
    }
}

/// <summary>deploy/grafana/packet-monitor-fleet.json: its panels, queries and the metric names they use.</summary>
internal static partial class GrafanaDashboard
{
    public static string Path => Repo.File("deploy/grafana/packet-monitor-fleet.json");

    public static JsonDocument Load() => JsonDocument.Parse(File.ReadAllText(Path));

    public static IReadOnlyList<JsonElement> Panels(JsonDocument dashboard) =>
        dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("panels", out var nested) ? [p, .. nested.EnumerateArray()] : new[] { p })
            .ToList();

    public static IReadOnlyList<string> Expressions()
    {
        using var dashboard = Load();
        return Panels(dashboard)
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
    }

    public static IReadOnlyList<string> MetricNames()
    {
        using var dashboard = Load();
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.GetProperty("type").GetString() == "query")
            .Select(v => v.GetProperty("definition").GetString()!);
        return Expressions().Concat(variables)
            .SelectMany(e => MetricName().Matches(e).Select(m => m.Value))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    [GeneratedRegex(@"\bpacket_monitor_[a-z_]+\b")]
    private static partial Regex MetricName();
}

/// <summary>YAML files read with YamlDotNet's representation model.</summary>
internal static class Yaml
{
    public static IReadOnlyList<YamlMappingNode> Documents(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    public static YamlNode At(this YamlNode node, params string[] path)
    {
        foreach (var key in path)
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return node;
    }

    public static YamlNode? Find(this YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static string Text(this YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    public static IEnumerable<YamlNode> Items(this YamlNode node) => ((YamlSequenceNode)node).Children;
}

/// <summary>Runs a tool with some standard input.</summary>
internal static class Tools
{
    public static async Task<(int Exit, string Output)> RunAsync(string file, string[] args, string? input = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
