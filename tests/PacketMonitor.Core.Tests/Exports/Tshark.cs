using System.Diagnostics;

namespace PacketMonitor.Core.Tests.Exports;

/// <summary>
/// Debian's Wireshark command-line tools (package tshark; `make deps` installs it) reading capture files:
/// the ground truth for what Wireshark shows. Without them the test is skipped on a developer
/// machine and fails under CI=true.
/// </summary>
internal static class Tshark
{
    /// <summary>
    /// The fields of every packet, one array per packet; throws when tshark rejects the file. Tab-separated:
    /// exported text never holds a control character.
    /// </summary>
    public static List<string[]> Fields(string file, params string[] fields)
    {
        string[] args = ["-r", file, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"];
        foreach (var field in fields)
            args = [.. args, "-e", field];
        var (code, stdout, stderr) = Run("tshark", args);
        if (code != 0)
            throw new InvalidOperationException($"tshark rejected {file} ({code}): {Errors(stderr)}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).ToList();
    }

    /// <summary>capinfos' packet count of each file; throws when it cannot read one completely.</summary>
    public static long PacketCount(string file)
    {
        var (code, stdout, stderr) = Run("capinfos", "-c", "-M", "-T", "-r", file);
        if (code != 0 || stderr.Contains("appears to", StringComparison.Ordinal))
            throw new InvalidOperationException($"capinfos rejected {file} ({code}): {Errors(stderr)}");
        // -T -r: "file<TAB>count", no header line.
        var line = stdout.Trim().Split('\n')[^1];
        return long.Parse(line.Split('\t')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static void Require()
    {
        if (File.Exists("/usr/bin/tshark") && File.Exists("/usr/bin/capinfos"))
            return;
        const string Why = "needs tshark and capinfos (apt-get install tshark, or make deps)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"CI=true but {Why}");
        Assert.Skip(Why);
    }

    // tshark warns when run as root; that line is noise, not an error.
    private static string Errors(string stderr) =>
        string.Join(" ", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("Running as user", StringComparison.Ordinal)));

    private static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish in 60 s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
