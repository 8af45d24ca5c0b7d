using System.CommandLine;
using System.Text.Json;
using PacketMonitor.Core.Reasons;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor reasons`: the running kernel's drop reasons with an explanation each.</summary>
public static class ReasonsCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {code, name, explanation, hint}" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Debug logging" };
        var command = new Command("reasons", "List the drop reasons of the running kernel (read from its BTF) with an explanation and what to do") { json, verbose };
        command.SetAction(result =>
        {
            using var loggers = Logging.Create(stderr, result.GetValue(verbose));
            var table = DropReasonTable.Load(loggers.CreateLogger("packet-monitor"));
            var rows = table.All.Select(r => (r.Code, r.Name, Info: ReasonCatalog.Describe(r.Name))).ToList();
            if (result.GetValue(json))
            {
                using var stream = new MemoryStream();
                using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    w.WriteStartArray();
                    foreach (var (code, name, info) in rows)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("code", code);
                        w.WriteString("name", name);
                        w.WriteString("explanation", info.Explanation);
                        w.WriteString("hint", info.Hint);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
            }
            else
            {
                stdout.WriteLine($"{rows.Count} drop reasons of this kernel (source: {table.Source}):");
                foreach (var (code, name, info) in rows)
                {
                    stdout.WriteLine($"{code,6}  {name,-32} {info.Explanation}");
                    stdout.WriteLine($"{"",6}  {"",-32} What to do: {info.Hint}");
                }
            }
            stdout.Flush();
            return (int)ExitCode.Ok;
        });
        return command;
    }
}
