using System.CommandLine;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor serve`: the web dashboard (not part of this build yet).</summary>
public static class ServeCommand
{
    public static Command Create(TextWriter stderr)
    {
        var command = new Command("serve", "Web dashboard on http://127.0.0.1:5000 (not built yet: use `watch`)");
        command.SetAction(_ =>
        {
            stderr.WriteLine("packet-monitor: the web dashboard is not built yet; use `packet-monitor watch` (or `watch --summary`)");
            return (int)ExitCode.Failure;
        });
        return command;
    }
}
