using System.Net;

namespace PacketMonitor.Core.Capture;

/// <summary>How the program attaches to skb:kfree_skb. Auto tries them in this order.</summary>
public enum AttachMode
{
    Auto,
    TpBtf,
    RawTp,
    Tracepoint,
}

public static class AttachModes
{
    /// <summary>The names users type and read: tp_btf, raw_tp, tracepoint.</summary>
    public static string Name(AttachMode mode) => mode switch
    {
        AttachMode.TpBtf => "tp_btf",
        AttachMode.RawTp => "raw_tp",
        AttachMode.Tracepoint => "tracepoint",
        _ => "auto",
    };

    public static bool TryParse(string text, out AttachMode mode)
    {
        mode = text.Trim().ToLowerInvariant() switch
        {
            "auto" => AttachMode.Auto,
            "tp_btf" or "tp-btf" => AttachMode.TpBtf,
            "raw_tp" or "raw-tp" => AttachMode.RawTp,
            "tracepoint" or "tp" => AttachMode.Tracepoint,
            _ => (AttachMode)(-1),
        };
        return Enum.IsDefined(mode);
    }
}

/// <summary>Sizing and attach settings fixed when the kernel program is loaded.</summary>
public sealed record CaptureOptions
{
    public const int DefaultRingSizeBytes = 16 * 1024 * 1024;
    public const int DefaultSnapLength = 128;
    public const int MaxSnapLength = 1024;

    /// <summary>Ring buffer size in bytes: a power of two, at least one page.</summary>
    public int RingSizeBytes { get; init; } = DefaultRingSizeBytes;

    /// <summary>Bytes of packet headers copied per event (0..1024).</summary>
    public int SnapLength { get; init; } = DefaultSnapLength;

    public AttachMode Attach { get; init; } = AttachMode.Auto;

    /// <summary>Filters and event emission; can be changed while attached.</summary>
    public EventFilter Filter { get; init; } = new();
}

/// <summary>
/// Which drops become events. Applied in the kernel; the exact counters see every drop regardless.
/// </summary>
public sealed record EventFilter
{
    /// <summary>False: counters only, no events at all (the cheap mode).</summary>
    public bool EmitEvents { get; init; } = true;

    /// <summary>Only these reasons (names without prefix); empty means all.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    public IReadOnlyList<string> ExcludeReasons { get; init; } = [];

    /// <summary>NOT_SPECIFIED (plain kfree_skb) is often noise: hidden unless asked for.</summary>
    public bool IncludeUnspecified { get; init; }

    public byte? Protocol { get; init; }
    public ushort? Port { get; init; }
    public IPNetwork? Host { get; init; }
    public string? Interface { get; init; }
    public uint? Netns { get; init; }

    /// <summary>Record the kernel stack of every event (<c>--stacks</c>). Off by default: it costs time per event.</summary>
    public bool Stacks { get; init; }

    /// <summary>Record the kernel stack only of events with these reasons (<c>--stacks-for</c>); empty: see <see cref="Stacks"/>.</summary>
    public IReadOnlyList<string> StackReasons { get; init; } = [];

    /// <summary>Whether any event may get a stack (the kernel's stack map is sized only then).</summary>
    public bool AnyStacks => Stacks || StackReasons.Count > 0;
}
