using System.Text.Json;
using PacketMonitor.Cli;
using PacketMonitor.Cli.Commands;
using PacketMonitor.Core.History;

namespace PacketMonitor.Cli.Tests.Commands;

/// <summary>The history options of serve and watch, and `packet-monitor history` over a real database.</summary>
public sealed class HistoryCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pm-cli-history-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static HistoryOptions? Options(params string[] args)
    {
        var result = Cli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(args);
        Assert.Empty(result.Errors);
        return args[0] == "serve" ? HistorySettings.Parse(result, onByDefault: true) : WatchCommand.Settings(result).History;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Serve_NoOptions_RecordsIntoVarLibForSevenDaysUpToOneGiB()
    {
        var options = Options("serve")!;
        Assert.Equal("/var/lib/packet-monitor/history.db", options.DatabasePath);
        Assert.Equal(TimeSpan.FromDays(7), options.Retention);
        Assert.Equal(1L << 30, options.MaxDatabaseBytes);
    }

    [Fact]
    public void Serve_HistoryOptions_AreTranslated()
    {
        var options = Options("serve", "--data-dir", _folder, "--retention", "12h", "--max-db-size", "500M")!;
        Assert.Equal(Path.Combine(_folder, "history.db"), options.DatabasePath);
        Assert.Equal(TimeSpan.FromHours(12), options.Retention);
        Assert.Equal(500L << 20, options.MaxDatabaseBytes);
        Assert.Null(Options("serve", "--no-history"));
    }

    [Fact]
    public void Watch_HistoryOnlyWhenAsked_AndScopedToItsNamespace()
    {
        Assert.Null(Options("watch"));
        var options = Options("watch", "--history", "--retention", "30m", "--netns", "4026531840")!;
        Assert.Equal(TimeSpan.FromMinutes(30), options.Retention);
        Assert.Equal(4026531840u, options.Netns);
    }

    [Theory]
    [InlineData("--retention: 'soon' is not a positive duration", "serve", "--retention", "soon")]
    [InlineData("--retention: '30s' is shorter than a minute", "serve", "--retention", "30s")]
    [InlineData("--max-db-size: 'big' is not a size", "serve", "--max-db-size", "big")]
    [InlineData("--max-db-size: '100K' is below the smallest size, 1M", "serve", "--max-db-size", "100K")]
    [InlineData("--retention has no use with --no-history", "serve", "--no-history", "--retention", "1d")]
    [InlineData("--data-dir is a history option: add --history", "watch", "--data-dir", "/tmp")]
    [InlineData("--max-db-size is a history option: add --history", "watch", "--max-db-size", "1G")]
    public void BadHistoryOption_IsOneClearLine(string expected, params string[] args)
    {
        var result = Cli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(args);
        var error = Assert.Throws<CliException>(() => args[0] == "serve" ? HistorySettings.Parse(result, onByDefault: true) : WatchCommand.Settings(result).History);
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCode.Usage, error.Code);
    }

    [Fact]
    public async Task History_RecordedDatabase_TextTableAndJsonByReason()
    {
        var now = DateTimeOffset.UtcNow;
        long second = now.ToUnixTimeSeconds() - 120;
        using (var db = HistoryDatabase.Open(Path.Combine(_folder, "history.db")))
        {
            db.Write([], [
                new CountRow(second, "NO_SOCKET", 3, 17, 1, 7, 12, 288),
                new CountRow(second, "NETFILTER_DROP", 14, 6, 1, 7, 3, 180),
                new CountRow(second - 7200, "NO_SOCKET", 3, 17, 1, 7, 1000, 1), // outside --since 1h
            ], (_, _) => "lo");
        }

        var (code, text, _) = await RunAsync("history", "--data-dir", _folder, "--since", "1h");
        Assert.Equal(0, code);
        var lines = text.Split('\n');
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["NO_SOCKET", "12", "288", "0"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["NETFILTER_DROP", "3", "180", "0"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["total", "15", "468", "0"]);

        var (jsonCode, json, _) = await RunAsync("history", "--data-dir", _folder, "--json",
            "--from", (second - 7200).ToString(System.Globalization.CultureInfo.InvariantCulture), "--to", now.ToString("O"));
        Assert.Equal(0, jsonCode);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(1015, root.GetProperty("total_packets").GetInt64());
        Assert.Equal([("NO_SOCKET", 1012L), ("NETFILTER_DROP", 3L)],
            root.GetProperty("reasons").EnumerateArray().Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("packets").GetInt64())));
    }

    [Fact]
    public async Task History_NoDatabase_OneLineExit3()
    {
        var (code, stdout, stderr) = await RunAsync("history", "--data-dir", _folder);

        Assert.Equal(3, code);
        Assert.Empty(stdout);
        Assert.Equal($"packet-monitor: no history database at {_folder}/history.db: history is recorded by `packet-monitor serve` (or `watch --history`); pass --data-dir if it is elsewhere",
            stderr.TrimEnd());
    }

    [Fact]
    public async Task History_CorruptDatabase_OneLineExit3()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "history.db"), new string('?', 5000), TestContext.Current.CancellationToken);

        var (code, _, stderr) = await RunAsync("history", "--data-dir", _folder);

        Assert.Equal(3, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains("corrupt or not a SQLite database", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--since counts back from now", "--since", "1h", "--from", "1769860800")]
    [InlineData("--from: 'noon' is not an ISO 8601 time or Unix seconds", "--from", "noon")]
    [InlineData("--to: '2026-31-01' is not an ISO 8601 time", "--to", "2026-31-01")]
    [InlineData("--from: 2026-01-31T13:00:00Z is not before --to 2026-01-31T12:00:00Z", "--from", "2026-01-31T13:00:00Z", "--to", "2026-01-31T12:00:00Z")]
    [InlineData("--since: 'ever' is not a positive duration", "--since", "ever")]
    public async Task History_BadRange_OneLineExit2(string expected, params string[] args)
    {
        var (code, _, stderr) = await RunAsync(["history", "--data-dir", _folder, .. args]);

        Assert.Equal(2, code);
        Assert.StartsWith("packet-monitor: " + expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }
}
