using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>`packet-monitor reasons` as users run it, against the running kernel's BTF.</summary>
public sealed class ReasonsProcessTests
{
    [Fact]
    public async Task ReasonsJson_EveryKernelReason_HasCodeNameExplanationAndHint()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            KernelTest.Unavailable("needs kernel BTF (/sys/kernel/btf/vmlinux)");
        var kernel = DropReasonTable.Load(NullLogger.Instance);
        using var process = new MonitorProcess("reasons", "--json");

        Assert.Equal(0, await process.WaitExitAsync(TimeSpan.FromSeconds(30)));

        using var json = JsonDocument.Parse(process.Stdout);
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(kernel.All.Select(r => (r.Code, r.Name)),
            entries.Select(e => (e.GetProperty("code").GetUInt32(), e.GetProperty("name").GetString()!)));
        Assert.All(entries, e =>
        {
            Assert.Equal(4, e.EnumerateObject().Count());
            Assert.EndsWith(".", e.GetProperty("explanation").GetString(), StringComparison.Ordinal);
            Assert.EndsWith(".", e.GetProperty("hint").GetString(), StringComparison.Ordinal);
        });
        var rcvbuf = entries.Single(e => e.GetProperty("name").GetString() == "SOCKET_RCVBUFF");
        Assert.Contains("net.core.rmem_max", rcvbuf.GetProperty("hint").GetString(), StringComparison.Ordinal);
        var netfilter = entries.Single(e => e.GetProperty("name").GetString() == "NETFILTER_DROP");
        Assert.Contains("nft list ruleset", netfilter.GetProperty("hint").GetString(), StringComparison.Ordinal);
        var noSocket = entries.Single(e => e.GetProperty("name").GetString() == "NO_SOCKET");
        Assert.Contains("nothing listens", noSocket.GetProperty("explanation").GetString(), StringComparison.Ordinal);
        Assert.Contains("ss -ltnup", noSocket.GetProperty("hint").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReasonsText_ShowsExplanationAndWhatToDo()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            KernelTest.Unavailable("needs kernel BTF (/sys/kernel/btf/vmlinux)");
        using var process = new MonitorProcess("reasons");

        Assert.Equal(0, await process.WaitExitAsync(TimeSpan.FromSeconds(30)));

        var lines = process.Stdout.Split('\n');
        int at = Array.FindIndex(lines, l => l.Contains(" NO_SOCKET ", StringComparison.Ordinal));
        Assert.True(at > 0, process.Stdout);
        Assert.Contains("nothing listens", lines[at], StringComparison.Ordinal);
        Assert.Contains("What to do: Check the service", lines[at + 1], StringComparison.Ordinal);
        Assert.Matches(@"^\d+ drop reasons of this kernel \(source: btf\):", lines[0]);
    }
}
