using System.Globalization;

namespace PacketMonitor.Kernel;

/// <summary>The capabilities loading and attaching a tracing program needs, read from /proc/self/status.</summary>
public static class Privileges
{
    public const int CapNetAdmin = 12;
    public const int CapSysAdmin = 21;
    public const int CapPerfmon = 38;
    public const int CapBpf = 39;

    /// <summary>Effective capability bits of this process, or null when /proc is unreadable.</summary>
    public static ulong? EffectiveCapabilities(string statusPath = "/proc/self/status")
    {
        try
        {
            foreach (var line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps))
                    return caps;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    public static bool Has(ulong caps, int capability) => (caps & (1UL << capability)) != 0;

    /// <summary>True when the capabilities allow loading a tracing program and reading kernel memory.</summary>
    public static bool CanTrace(ulong caps) => Has(caps, CapSysAdmin) || (Has(caps, CapBpf) && Has(caps, CapPerfmon));

    public static void ThrowIfMissing()
    {
        if (EffectiveCapabilities() is ulong caps && !CanTrace(caps))
            throw new KernelFeatureException(
                "packet-monitor needs root (or CAP_BPF and CAP_PERFMON) to load its kernel program: run it with sudo");
    }
}
