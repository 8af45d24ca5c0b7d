using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Capture;
using PacketMonitor.Kernel;

namespace PacketMonitor.Cli.Commands;

/// <summary>`packet-monitor check`: diagnoses the machine, each problem with its fix.</summary>
public static class CheckCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("check", "Diagnose the environment: kernel, BTF, privileges, tracefs, libbpf, attach modes");
        command.SetAction(_ =>
        {
            var results = Run();
            foreach (var r in results)
            {
                stdout.WriteLine($"[{(r.Ok ? " ok " : "FAIL")}] {r.Name}: {r.Detail}");
                if (!r.Ok && r.Fix is not null)
                    stdout.WriteLine($"       fix: {r.Fix}");
            }
            bool usable = results.Where(r => r.Essential).All(r => r.Ok);
            stdout.WriteLine(usable ? "packet-monitor can run here." : "packet-monitor cannot run here until the problems above are fixed.");
            stdout.Flush();
            return (int)(usable ? ExitCode.Ok : ExitCode.Environment);
        });
        return command;
    }

    public sealed record CheckResult(string Name, bool Ok, string Detail, string? Fix = null, bool Essential = true);

    public static IReadOnlyList<CheckResult> Run()
    {
        var results = new List<CheckResult>();
        string kernel = Read("/proc/sys/kernel/osrelease") ?? "unknown";
        results.Add(new("kernel", true, kernel.Trim(), Essential: false));

        bool btf = File.Exists("/sys/kernel/btf/vmlinux");
        results.Add(new("BTF", btf, btf ? "/sys/kernel/btf/vmlinux present" : "/sys/kernel/btf/vmlinux missing",
            "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's kernels since 5.10 are): tp_btf and CO-RE need it"));

        var caps = Privileges.EffectiveCapabilities();
        string capText = caps is ulong c
            ? string.Join(" ", new[] { ("CAP_BPF", Privileges.CapBpf), ("CAP_PERFMON", Privileges.CapPerfmon), ("CAP_NET_ADMIN", Privileges.CapNetAdmin), ("CAP_SYS_ADMIN", Privileges.CapSysAdmin) }
                .Select(p => $"{p.Item1}={(Privileges.Has(c, p.Item2) ? "yes" : "no")}"))
            : "unknown (/proc/self/status unreadable)";
        bool privileged = caps is ulong cc && Privileges.CanTrace(cc);
        results.Add(new("privileges", privileged, capText, "run as root: sudo packet-monitor ..."));

        bool tracefs = Directory.Exists("/sys/kernel/tracing/events/skb/kfree_skb") || Directory.Exists("/sys/kernel/debug/tracing/events/skb/kfree_skb");
        results.Add(new("tracefs", tracefs, tracefs ? "skb:kfree_skb tracepoint visible" : "tracefs not mounted (only the classic tracepoint mode needs it)",
            "mount -t tracefs nodev /sys/kernel/tracing", Essential: false));

        string? libbpf = null;
        try
        {
            libbpf = LibbpfInfo.Version();
        }
        catch (DllNotFoundException) { }
        results.Add(new("libbpf", libbpf is not null, libbpf is null ? "libbpf.so.1 not found" : $"libbpf {libbpf}", "apt-get install libbpf1 (or make deps)"));

        if (libbpf is null || !privileged)
        {
            results.Add(new("attach", false, "skipped: needs libbpf and privileges", "fix the problems above first"));
            return results;
        }

        var working = new List<string>();
        foreach (var mode in new[] { AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint })
        {
            string name = AttachModes.Name(mode);
            try
            {
                var options = new CaptureOptions { Attach = mode, RingSizeBytes = 1 << 16, Filter = new EventFilter { EmitEvents = false } };
                using var capture = DropCapture.Attach(options, _ => null, NullLogger.Instance);
                working.Add(name);
                results.Add(new($"attach {name}", true, "loads and attaches", Essential: false));
            }
            catch (Exception e) when (e is BpfException or KernelFeatureException)
            {
                string? fix = mode == AttachMode.Tracepoint && !tracefs ? "mount -t tracefs nodev /sys/kernel/tracing" : null;
                results.Add(new($"attach {name}", false, e.Message, fix, Essential: false));
            }
        }
        results.Add(new("attach", working.Count > 0,
            working.Count > 0 ? $"auto mode will use {working[0]}" : "no attach mode works",
            "run `packet-monitor watch --verbose` to see libbpf's and the verifier's log"));
        return results;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
