using System.CommandLine;
using System.Runtime.InteropServices;
using PacketMonitor.Cli;
using PacketMonitor.Cli.Commands;
using PacketMonitor.Kernel;

// packet-monitor: parse, run one command, map anticipated errors to one line and an exit code.
return await Cli.RunAsync(args, Console.Out, Console.Error);

namespace PacketMonitor.Cli
{
    public static class Cli
    {
        public static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
        {
            var root = new RootCommand("packet-monitor: see every packet the Linux kernel drops, why, where and whose")
            {
                WatchCommand.Create((settings, token) =>
                    new WatchRunner(stdout, Console.OpenStandardOutput(), stderr).RunAsync(settings, token)),
                ReasonsCommand.Create(stdout, stderr),
                CheckCommand.Create(stdout),
                ServeCommand.Create(stderr),
                ExportCommand.Create((settings, token) =>
                    new ExportRunner(Console.OpenStandardOutput, stderr, !Console.IsOutputRedirected).RunAsync(settings, token)),
                HistoryCommand.Create(stdout),
            };
            return root;
        }

        public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var root = BuildRoot(stdout, stderr);
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // "Unrecognized command or argument 'x'" says more than "Required command was not provided".
                var error = parsed.Errors.FirstOrDefault(e => parsed.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)))
                    ?? parsed.Errors[0];
                await stderr.WriteLineAsync($"packet-monitor: {error.Message}");
                await stderr.WriteLineAsync($"Try '{HelpHint(parsed)}'.");
                return (int)ExitCode.Usage;
            }

            // Ctrl-C and SIGTERM stop monitoring cleanly: detach, print the summary, exit 0.
            using var stop = new CancellationTokenSource();
            void Cancel(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
            try
            {
                return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, stop.Token);
            }
            catch (Exception e) when (Describe(e) is (string message, ExitCode code))
            {
                await stderr.WriteLineAsync($"packet-monitor: {message}");
                bool verbose = args.Contains("--verbose") || args.Contains("-v");
                if (e is BpfException { VerifierLog.Count: > 0 } bpf && verbose)
                {
                    // The verifier's verdict is at the end of its log.
                    foreach (var line in bpf.VerifierLog.TakeLast(60))
                        await stderr.WriteLineAsync($"  {line}");
                }
                return (int)code;
            }
        }

        // The command that was recognized, not whatever word came first.
        private static string HelpHint(ParseResult parsed) =>
            parsed.CommandResult.Command is RootCommand ? "packet-monitor --help" : $"packet-monitor {parsed.CommandResult.Command.Name} --help";

        /// <summary>The one-line message and exit code of an anticipated failure; null for a bug.</summary>
        private static (string, ExitCode)? Describe(Exception e) => e switch
        {
            CliException cli => (cli.Message, cli.Code),
            ArgumentException arg => (arg.Message, ExitCode.Usage),
            KernelFeatureException feature => (feature.Message, ExitCode.Environment),
            PacketMonitor.Core.History.HistoryException history => (history.Message, ExitCode.Environment),
            BpfException { Errno: 1 or 13 } bpf => (bpf.Message, ExitCode.Environment),
            BpfException bpf => (bpf.Message, ExitCode.Failure),
            DllNotFoundException => ("libbpf.so.1 was not found: install it with `apt-get install libbpf1` (or `make deps`)", ExitCode.Environment),
            EntryPointNotFoundException ep => ($"the installed libbpf is too old ({ep.Message}): packet-monitor needs libbpf 1.0 or newer", ExitCode.Environment),
            UnauthorizedAccessException denied => ($"{denied.Message} (run with sudo?)", ExitCode.Environment),
            _ => null,
        };
    }
}
