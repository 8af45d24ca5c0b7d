using System.Diagnostics;
using System.Text;

namespace PacketMonitor.Cli.Tests.EndToEnd;

/// <summary>The real `packet-monitor` executable run as a child process, its output captured.</summary>
internal sealed class MonitorProcess : IDisposable
{
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MonitorProcess(params string[] args) : this([], args) { }

    /// <summary>Runs packet-monitor under <paramref name="prefix"/>, e.g. setpriv with a reduced capability set.</summary>
    public MonitorProcess(IReadOnlyList<string> prefix, params string[] args)
    {
        var dll = typeof(PacketMonitor.Cli.Cli).Assembly.Location;
        var info = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var word in prefix.Skip(1))
            info.ArgumentList.Add(word);
        if (prefix.Count > 0)
            info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        Process = Process.Start(info) ?? throw new InvalidOperationException("cannot start packet-monitor");
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (_stderr)
                _stderr.AppendLine(e.Data);
            if (e.Data.Contains("attached to skb:kfree_skb", StringComparison.Ordinal))
                _attached.TrySetResult();
        };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public async Task WaitAttachedAsync()
    {
        var done = await Task.WhenAny(_attached.Task, Process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        if (done != _attached.Task)
            throw new InvalidOperationException($"packet-monitor did not attach. stderr: {Stderr}");
    }

    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cts.Token);
        Process.WaitForExit(); // flush the async readers
        return Process.ExitCode;
    }

    public void Signal(int signal) => _ = kill(Process.Id, signal);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public void Dispose()
    {
        if (!Process.HasExited)
            Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}
