using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace PacketMonitor.Kernel.Native;

/// <summary>
/// Routes libbpf's own log (including the verifier's) to the .NET logger at debug level,
/// and remembers the latest lines so a load failure can show what the verifier said.
/// </summary>
internal static unsafe partial class LibbpfLog
{
    private const int RememberedLines = 400;
    private static readonly Queue<string> Recent = new();
    private static readonly Lock Gate = new();
    private static ILogger? _logger;
    private static int _installed;

    public static void Install(ILogger logger)
    {
        _logger = logger;
        if (Interlocked.Exchange(ref _installed, 1) == 0)
            Interop.libbpf_set_print(&Print);
    }

    /// <summary>Takes the lines logged since the last call.</summary>
    public static IReadOnlyList<string> TakeRecent()
    {
        lock (Gate)
        {
            var lines = Recent.ToArray();
            Recent.Clear();
            return lines;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "libbpf[{Level}]: {Line}")]
    private static partial void Logged(ILogger logger, int level, string line);

    [UnmanagedCallersOnly]
    private static int Print(int level, byte* format, nint args)
    {
        try
        {
            const int capacity = 4096;
            byte* buffer = stackalloc byte[capacity];
            int written = RuntimeInformation.ProcessArchitecture == Architecture.X64
                ? Interop.vsnprintf(buffer, capacity, format, args)
                : -1; // elsewhere va_list is not a pointer: show the raw format instead
            string text = written >= 0
                ? Encoding.UTF8.GetString(buffer, Math.Min(written, capacity - 1))
                : Marshal.PtrToStringUTF8((nint)format) ?? "";
            foreach (var line in text.TrimEnd('\n').Split('\n'))
            {
                lock (Gate)
                {
                    if (Recent.Count == RememberedLines)
                        Recent.Dequeue();
                    Recent.Enqueue(line);
                }
                if (_logger is { } logger && logger.IsEnabled(LogLevel.Debug))
                    Logged(logger, level, line);
            }
        }
        catch (Exception)
        {
            // Never let an exception cross into native code.
        }
        return 0;
    }
}
