using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Abi;
using PacketMonitor.Kernel.Attribution;
using PacketMonitor.Kernel.Native;

namespace PacketMonitor.Kernel;

/// <summary>How the ring buffer is read.</summary>
public enum RingReaderKind
{
    /// <summary>libbpf's ring_buffer__poll with an unmanaged callback per record.</summary>
    Libbpf,
    /// <summary>The ring's memory mapping read directly from C# (no native call per record).</summary>
    Mapped,
}

/// <summary>
/// Drains the kernel's ring buffer on a dedicated thread: each record is decoded in place
/// (no copy of the raw record), and each pass over the ring is offered as one batch to a
/// bounded channel with TryWrite, so a slow consumer costs events (counted), never kernel
/// time, and the consumer wakes once per batch rather than once per event. The kernel wakes
/// this thread only when an eighth of the ring is pending; otherwise it polls every
/// <see cref="PollIntervalMs"/> milliseconds, which keeps wakeups per event near zero.
/// </summary>
public sealed unsafe class RingBufferReader : IDisposable
{
    public const int PollIntervalMs = 10;

    /// <summary>Largest batch handed on at once (a pass over a full ring is split).</summary>
    public const int MaxBatch = 4096;

    private readonly RingBufferHandle? _ring;
    private readonly MappedRing? _mapped;
    private readonly DropEventDecoder _decoder;
    private readonly EventAttribution? _attribution;
    private readonly ChannelWriter<IReadOnlyList<DropEvent>> _output;
    private List<DropEvent> _batch = new(256);
    private readonly Thread _thread;
    private GCHandle _self;
    private volatile bool _stopping;
    private long _received;
    private long _queueFull;
    private long _malformed;

    internal RingBufferReader(DropCapture capture, DropEventDecoder decoder, ChannelWriter<IReadOnlyList<DropEvent>> output,
        RingReaderKind kind, EventAttribution? attribution = null)
    {
        _decoder = decoder;
        _attribution = attribution;
        _output = output;
        _thread = new Thread(Run) { IsBackground = true, Name = "ring-buffer-reader" };
        if (kind == RingReaderKind.Mapped)
        {
            _mapped = new MappedRing(capture.EventsMapFd, capture.Options.RingSizeBytes);
            return;
        }
        _self = GCHandle.Alloc(this);
        nint ring = Interop.ring_buffer__new(capture.EventsMapFd, &OnRecord, (void*)GCHandle.ToIntPtr(_self), null);
        if (ring == 0)
        {
            _self.Free();
            throw new BpfException("create ring buffer consumer", Marshal.GetLastPInvokeError());
        }
        _ring = new RingBufferHandle(ring, capture.ObjectHandle);
    }

    /// <summary>
    /// Creates a reader decoding with the given resolvers and attributing events to the live system's
    /// processes, cgroups and namespaces (and stacks, when the capture records them); call <see cref="Start"/> to begin.
    /// </summary>
    public static RingBufferReader Create(DropCapture capture, IReasonNames reasons, ISymbolResolver symbols,
        WallClock clock, ChannelWriter<IReadOnlyList<DropEvent>> output, RingReaderKind kind = RingReaderKind.Mapped)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(clock);
        var stacks = capture.Options.Filter.AnyStacks
            ? new StackTraces(capture.StacksMapFd, capture.StackDepth, capture.StackCapacity, symbols)
            : null;
        var attribution = new EventAttribution(stacks);
        try
        {
            var decoder = new DropEventDecoder(reasons, symbols, clock.FromMonotonic, attribution);
            return new RingBufferReader(capture, decoder, output, kind, attribution);
        }
        catch
        {
            attribution.Dispose();
            throw;
        }
    }

    /// <summary>Events decoded and handed on.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Events dropped because the output channel was full (counted per event, not per batch).</summary>
    public long QueueFull => Interlocked.Read(ref _queueFull);

    /// <summary>Records that failed validation (should stay 0).</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    public void Start() => _thread.Start();

    private void Run()
    {
        while (!_stopping)
        {
            int handed = DrainOnce();
            if (handed == 0)
                Wait();
        }
        DrainOnce(); // what was submitted before stop
        _output.TryComplete();
    }

    /// <summary>One pass over the ring; publishes what it decoded as a batch. Returns records seen.</summary>
    private int DrainOnce()
    {
        int records = _mapped is not null
            ? _mapped.Drain(this, static (reader, record) => reader.Handle(record))
            : Math.Max(0, Interop.ring_buffer__consume(_ring!));
        Publish();
        return records;
    }

    private void Wait()
    {
        if (_mapped is not null)
            _mapped.Wait(PollIntervalMs);
        else
            _ = Interop.ring_buffer__poll(_ring!, PollIntervalMs); // consumes too when woken
        Publish();
    }

    private void Publish()
    {
        if (_batch.Count == 0)
            return;
        if (_output.TryWrite(_batch))
            _batch = new List<DropEvent>(Math.Min(MaxBatch, Math.Max(256, _batch.Count)));
        else
        {
            _queueFull += _batch.Count;
            _batch.Clear();
        }
    }

    /// <summary>Stops polling after draining what is in the ring; waits for the thread.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_thread.IsAlive)
            _thread.Join();
        else
            _output.TryComplete();
    }

    private void Handle(ReadOnlySpan<byte> record)
    {
        if (!_decoder.TryDecode(record, out var dropEvent))
        {
            _malformed++;
            return;
        }
        _received++;
        _batch.Add(dropEvent);
        if (_batch.Count >= MaxBatch)
            Publish();
    }

    [UnmanagedCallersOnly]
    private static int OnRecord(void* context, void* data, nuint size)
    {
        try
        {
            var reader = (RingBufferReader)GCHandle.FromIntPtr((nint)context).Target!;
            reader.Handle(new ReadOnlySpan<byte>(data, (int)Math.Min(size, int.MaxValue)));
        }
        catch (Exception)
        {
            // Never unwind into libbpf; a failed record is simply not delivered.
        }
        return 0;
    }

    public void Dispose()
    {
        Stop();
        _ring?.Dispose();
        _mapped?.Dispose();
        _attribution?.Dispose();
        if (_self.IsAllocated)
            _self.Free();
    }
}
