using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel.Attribution;

/// <summary>
/// Kernel stacks recorded by <c>bpf_get_stackid()</c>: read from the <c>stacks</c> map once per id and
/// symbolized with kallsyms. Ids stay valid: the program never reuses a bucket (no BPF_F_REUSE_STACKID)
/// and nobody deletes them, so the cache, bounded by the map's size, never goes stale.
/// </summary>
internal sealed unsafe class StackTraces(int mapFd, int depth, int capacity, ISymbolResolver symbols)
{
    // Frames of the tracing machinery that calls the program: not part of the drop's path.
    private static readonly string[] TracingPrefixes =
        ["bpf_prog_", "bpf_trace_run", "__bpf_trace_", "__traceiter_", "perf_trace_", "trace_event_raw_event_",
         "perf_tp_event", "trace_call_bpf", "bpf_get_stack"];

    /// <summary>The tracing machinery takes at most this many frames above the drop.</summary>
    private const int TracingDepth = 8;

    private readonly Dictionary<int, string[]> _cache = [];
    private readonly ulong[] _frames = new ulong[Math.Max(1, depth)];

    /// <summary>The stack with this id as <c>function+0xoff</c> strings, innermost first; null when the map has no such id.</summary>
    public IReadOnlyList<string>? Get(int id)
    {
        if (id < 0 || id >= capacity)
            return null;
        if (_cache.TryGetValue(id, out var cached))
            return cached;
        Array.Clear(_frames);
        fixed (ulong* frames = _frames)
        {
            if (Interop.bpf_map_lookup_elem(mapFd, &id, frames) != 0)
                return null;
        }
        var stack = Symbolize(_frames, symbols);
        _cache[id] = stack;
        return stack;
    }

    /// <summary>
    /// Addresses (zero-padded after the last frame) to symbols, without the leading tracing frames
    /// (the program, bpf_trace_run, the tracepoint's iterator).
    /// </summary>
    internal static string[] Symbolize(ReadOnlySpan<ulong> addresses, ISymbolResolver symbols)
    {
        var names = new List<string>(addresses.Length);
        foreach (ulong address in addresses)
        {
            if (address == 0)
                break;
            names.Add(symbols.Resolve(address));
        }
        // Through the last tracing frame near the top: the program's own frame may show as a bare
        // address (loaded after kallsyms was read) or as a neighbouring symbol, so it cannot be named.
        int skip = 0;
        for (int i = 0; i < Math.Min(names.Count - 1, TracingDepth); i++)
        {
            if (IsTracingFrame(names[i]))
                skip = i + 1;
        }
        return [.. names.Skip(skip)];
    }

    private static bool IsTracingFrame(string symbol)
    {
        foreach (var prefix in TracingPrefixes)
        {
            if (symbol.StartsWith(prefix, StringComparison.Ordinal))
                return true;
        }
        return false;
    }
}
