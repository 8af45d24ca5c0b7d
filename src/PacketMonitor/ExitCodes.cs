namespace PacketMonitor.Cli;

/// <summary>Process exit codes of packet-monitor.</summary>
public enum ExitCode
{
    Ok = 0,
    /// <summary>A run-time failure (kernel refused, I/O error).</summary>
    Failure = 1,
    /// <summary>Bad command line: unknown option or a value out of range.</summary>
    Usage = 2,
    /// <summary>Not enough privilege, or the kernel lacks a feature packet-monitor needs.</summary>
    Environment = 3,
}

/// <summary>An anticipated error: printed as one line, no stack trace.</summary>
public sealed class CliException(string message, ExitCode code = ExitCode.Usage) : Exception(message)
{
    public ExitCode Code { get; } = code;

    public CliException() : this("error") { }
    public CliException(string message, Exception inner) : this(message) => _ = inner;
}
