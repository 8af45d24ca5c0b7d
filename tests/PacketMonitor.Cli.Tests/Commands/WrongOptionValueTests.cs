using System.CommandLine;
using System.CommandLine.Help;
using PacketMonitor.Cli;

namespace PacketMonitor.Cli.Tests.Commands;

/// <summary>
/// Every option of every command with a wrong value: exit code 2, exactly one error line (a parse
/// error adds only the "Try ... --help" hint), nothing on stdout, no stack trace. The table must
/// name every option the commands have, so a new option cannot be added without its bad values.
/// </summary>
public sealed class WrongOptionValueTests
{
    /// <summary>Command line, and what the error line must contain.</summary>
    private static readonly (string[] Args, string Error)[] Table =
    [
        // watch: output modes and other flags take no value.
        (["watch", "--json=maybe"], "'maybe'"),
        (["watch", "--summary=maybe"], "'maybe'"),
        (["watch", "--counts-only=maybe"], "'maybe'"),
        (["watch", "--include-unspecified=maybe"], "'maybe'"),
        (["watch", "--verbose=maybe"], "'maybe'"),
        (["watch", "-v=maybe"], "'maybe'"),
        (["watch", "--json", "extra"], "'extra'"),
        (["watch", "--stacks=maybe"], "'maybe'"),
        (["watch", "--stacks-for", "NO_SUCH_REASON"], "unknown drop reason 'NO_SUCH_REASON'"),
        (["watch", "--stacks-for", ","], "--stacks-for: ',' names no drop reason"),
        (["watch", "--stacks", "--stacks-for", "NO_SOCKET"], "--stacks and --stacks-for exclude each other"),
        (["watch", "--metrics-listen", "nohost"], "--metrics-listen: 'nohost' is not an address to listen on"),
        (["watch", "--metrics-listen", "0.0.0.0:9100"], "--metrics-listen 0.0.0.0:9100 is reachable from other machines"),
        (["watch", "--metrics-token", " "], "--metrics-token: ' ' is blank"),
        (["watch", "--metrics-max-interfaces", "0"], "--metrics-max-interfaces: '0' must be a number from 1 to 10000"),
        (["watch", "--metrics-max-interfaces", "x"], "--metrics-max-interfaces: 'x' must be a number from 1 to 10000"),
        (["watch", "--history=maybe"], "'maybe'"),
        (["watch", "--history", "--data-dir", ""], "--data-dir: empty folder name"),
        (["watch", "--history", "--retention", "soon"], "--retention: 'soon' is not a positive duration"),
        (["watch", "--retention", "1d"], "--retention is a history option: add --history to record"),
        (["watch", "--history", "--max-db-size", "1K"], "--max-db-size: '1K' is below the smallest size, 1M"),
        (["watch", "--history", "--max-db-size", "lots"], "--max-db-size: 'lots' is not a size"),
        (["serve", "--stacks=maybe"], "'maybe'"),
        (["serve", "--stacks-for", ""], "--stacks-for: '' names no drop reason"),
        (["serve", "--metrics-listen", ":abc"], "--metrics-listen: ':abc' is not an address to listen on"),
        (["serve", "--metrics-token", ""], "--metrics-token: '' is blank"),
        (["serve", "--metrics-max-interfaces", "-1"], "--metrics-max-interfaces: '-1' must be a number from 1 to 10000"),
        (["serve", "--data-dir", ""], "--data-dir: empty folder name"),
        (["serve", "--no-history=maybe"], "'maybe'"),
        (["serve", "--retention", "-1d"], "--retention: '-1d' is not a positive duration"),
        (["serve", "--max-db-size", "0"], "--max-db-size: '0' is below the smallest size, 1M"),
        (["watch", "--count", "0"], "--count: '0' is not a positive number"),
        (["watch", "--count", "-3"], "--count: '-3' is not a positive number"),
        (["watch", "--count", "1.5"], "--count: '1.5' is not a positive number"),
        (["watch", "-c", "ten"], "--count: 'ten' is not a positive number"),
        (["watch", "--count", "99999999999999999999"], "--count: '99999999999999999999' is not a positive number"),
        (["watch", "--count"], "Required argument missing for option: '--count'"),
        (["watch", "--duration", "0"], "--duration: '0' is not a positive duration"),
        (["watch", "--duration", "-5s"], "--duration: '-5s' is not a positive duration"),
        (["watch", "-d", "soon"], "--duration: 'soon' is not a positive duration"),
        (["watch", "--duration", "1e9h"], "--duration: '1e9h' is not a positive duration"),
        (["watch", "--duration", ""], "--duration: '' is not a positive duration"),
        (["watch", "--reason", "NO_SUCH_REASON"], "unknown drop reason 'NO_SUCH_REASON'"),
        (["watch", "--reason", ""], "--reason: '' names no drop reason"),
        (["watch", "--reason", " , "], "--reason: ' , ' names no drop reason"),
        (["watch", "--exclude-reason", "NO_SUCH_REASON"], "unknown drop reason 'NO_SUCH_REASON'"),
        (["watch", "--exclude-reason", ""], "--exclude-reason: '' names no drop reason"),
        (["watch", "--protocol", "tcpx"], "--protocol: 'tcpx' is not a protocol"),
        (["watch", "-p", "256"], "--protocol: '256' is not a protocol"),
        (["watch", "--protocol", "-1"], "--protocol: '-1' is not a protocol"),
        (["watch", "--protocol", ""], "--protocol: '' is not a protocol"),
        (["watch", "--port", "0"], "--port: '0' is not a port number (1-65535)"),
        (["watch", "--port", "65536"], "--port: '65536' is not a port number (1-65535)"),
        (["watch", "--port", "http"], "--port: 'http' is not a port number (1-65535)"),
        (["watch", "--port", "-1"], "--port: '-1' is not a port number (1-65535)"),
        (["watch", "--host", "10.0.0.300"], "--host: '10.0.0.300' is not an IP address or CIDR block"),
        (["watch", "--host", "10.0.0.0/33"], "--host: '10.0.0.0/33' is not an IP address or CIDR block"),
        (["watch", "--host", "2001:db8::/129"], "--host: '2001:db8::/129' is not an IP address or CIDR block"),
        (["watch", "--host", "example.com"], "--host: 'example.com' is not an IP address or CIDR block"),
        (["watch", "--host", ""], "--host: '' is not an IP address or CIDR block"),
        (["watch", "--interface", ""], "--interface: '' is not an interface name"),
        (["watch", "-i", "a-very-long-interface-name"], "--interface: 'a-very-long-interface-name' is not an interface name"),
        (["watch", "--interface", "eth0/1"], "--interface: 'eth0/1' is not an interface name"),
        (["watch", "--interface", "eth 0"], "--interface: 'eth 0' is not an interface name"),
        (["watch", "--interface", "eth0:1"], "--interface: 'eth0:1' is not an interface name"),
        (["watch", "--interface", ".."], "--interface: '..' is not an interface name"),
        (["watch", "--netns", "no-such-namespace-xyz"], "--netns: 'no-such-namespace-xyz' is not a namespace inode"),
        (["watch", "--netns", "0"], "--netns: '0' is not a namespace inode"),
        (["watch", "--netns", "/no/such/path"], "--netns: '/no/such/path' is not a namespace inode"),
        (["watch", "--netns", ""], "--netns: '' is not a namespace inode"),
        (["watch", "--ring-size", "3M"], "--ring-size: 3145728 bytes must be a power of two"),
        (["watch", "--ring-size", "0"], "--ring-size: 0 bytes must be a power of two"),
        (["watch", "--ring-size", "1K"], "--ring-size: 1024 bytes must be a power of two"),
        (["watch", "--ring-size", "2G"], "--ring-size: 2147483648 bytes must be a power of two"),
        (["watch", "--ring-size", "lots"], "--ring-size: 'lots' is not a size"),
        (["watch", "--ring-size", "99999999999G"], "--ring-size: '99999999999G' is not a size"),
        (["watch", "--snap-len", "1025"], "--snap-len: '1025' must be a number of bytes from 0 to 1024"),
        (["watch", "--snap-len", "-1"], "--snap-len: '-1' must be a number of bytes from 0 to 1024"),
        (["watch", "--snap-len", "x"], "--snap-len: 'x' must be a number of bytes from 0 to 1024"),
        (["watch", "--attach", "kprobe"], "--attach: 'kprobe' is not an attach mode"),
        (["watch", "--attach", ""], "--attach: '' is not an attach mode"),
        (["watch", "--ring-reader", "fast"], "--ring-reader: 'fast' is not a reader"),

        // serve: its own options, then the filters it shares with watch.
        (["serve", "--listen", "nohost"], "--listen: 'nohost' is not an address to listen on"),
        (["serve", "--listen", "127.0.0.1:99999"], "--listen: '127.0.0.1:99999' is not an address to listen on"),
        (["serve", "--listen", "127.0.0.1:abc"], "--listen: '127.0.0.1:abc' is not an address to listen on"),
        (["serve", "--listen", ""], "--listen: '' is not an address to listen on"),
        (["serve", "--listen", "0.0.0.0:5000"], "--listen 0.0.0.0:5000 is reachable from other machines"),
        (["serve", "--token", ""], "--token: '' is blank"),
        (["serve", "--listen", "0.0.0.0:5000", "--token", "  "], "--token: '  ' is blank"),
        (["serve", "--paused=maybe"], "'maybe'"),
        (["serve", "--count", "5"], "'--count'"),
        (["serve", "--port", "0"], "--port: '0' is not a port number (1-65535)"),
        (["serve", "--reason", "NO_SUCH_REASON"], "unknown drop reason 'NO_SUCH_REASON'"),
        (["serve", "--exclude-reason", ""], "--exclude-reason: '' names no drop reason"),
        (["serve", "--protocol", "tcpx"], "--protocol: 'tcpx' is not a protocol"),
        (["serve", "--host", "10.0.0.0/33"], "--host: '10.0.0.0/33' is not an IP address or CIDR block"),
        (["serve", "--interface", "eth 0"], "--interface: 'eth 0' is not an interface name"),
        (["serve", "--netns", "no-such-namespace-xyz"], "--netns: 'no-such-namespace-xyz' is not a namespace inode"),
        (["serve", "--include-unspecified=maybe"], "'maybe'"),
        (["serve", "--ring-size", "3M"], "--ring-size: 3145728 bytes must be a power of two"),
        (["serve", "--snap-len", "4096"], "--snap-len: '4096' must be a number of bytes from 0 to 1024"),
        (["serve", "--attach", "kprobe"], "--attach: 'kprobe' is not an attach mode"),
        (["serve", "--verbose=maybe"], "'maybe'"),

        // reasons and check.
        (["reasons", "--json=maybe"], "'maybe'"),
        (["reasons", "--verbose=maybe"], "'maybe'"),
        (["reasons", "-v=maybe"], "'maybe'"),
        (["reasons", "NO_SOCKET"], "'NO_SOCKET'"),
        (["check", "--verbose"], "'--verbose'"),
        (["check", "now"], "'now'"),
        (["nonsense"], "Unrecognized command or argument 'nonsense'"),
    ];

    public static TheoryData<string[], string> Cases
    {
        get
        {
            var data = new TheoryData<string[], string>();
            foreach (var (args, error) in Table)
                data.Add(args, error);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Run_WrongValue_OneErrorLineAndUsageExitCode(string[] args, string expected)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        // A wrong value that were accepted would start monitoring: that must fail, not hang.
        int code = await Cli.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True((int)ExitCode.Usage == code, $"exit code {code}, stderr:\n{stderr}");
        Assert.Equal("", stdout.ToString());
        Assert.NotEmpty(lines);
        Assert.StartsWith("packet-monitor: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        // Only a parse error adds a second line: the help of the command that was recognized.
        string command = args[0] is "watch" or "serve" or "reasons" or "check" ? $"packet-monitor {args[0]} --help" : "packet-monitor --help";
        Assert.True(lines.Length == 1 || (lines.Length == 2 && lines[1] == $"Try '{command}'."), $"expected one error line, got:\n{stderr}");
    }

    public static TheoryData<string> Commands => ["watch", "serve", "reasons", "check"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Cases_NameEveryOptionOfTheCommand(string command)
    {
        var options = Cli.BuildRoot(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == command).Options
            .Where(o => o is not HelpOption and not VersionOption);
        var covered = Table.Where(row => row.Args[0] == command)
            .SelectMany(row => row.Args.Skip(1)).Select(arg => arg.Split('=')[0]).ToHashSet();

        var missing = options.Where(o => !covered.Contains(o.Name) && !o.Aliases.Any(covered.Contains)).Select(o => o.Name).ToList();

        Assert.True(missing.Count == 0, $"{command}: no wrong-value case for {string.Join(", ", missing)}");
        Assert.Contains(Table, row => row.Args[0] == command);
    }
}
