using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Kernel.Btf;
using PacketMonitor.Kernel.Symbols;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>The real program attached in the real kernel, its events collected for a test.</summary>
internal sealed class LiveCapture : IDisposable
{
    private static readonly Lazy<DropReasonTable> SharedReasons = new(() => DropReasonTable.Load(NullLogger.Instance));
    private static readonly Lazy<KallsymsTable> SharedSymbols = new(() => KallsymsTable.Load());

    private readonly Channel<IReadOnlyList<DropEvent>> _channel = Channel.CreateUnbounded<IReadOnlyList<DropEvent>>();
    private readonly List<DropEvent> _events = [];

    public LiveCapture(EventFilter filter, AttachMode attach = AttachMode.Auto, int ringSize = 1 << 22,
        RingReaderKind reader = RingReaderKind.Mapped, bool startReader = true)
    {
        Capture = DropCapture.Attach(new CaptureOptions { Attach = attach, Filter = filter, RingSizeBytes = ringSize },
            name => Reasons.TryGetCode(name, out var code) ? code : null, NullLogger.Instance);
        Reader = RingBufferReader.Create(Capture, Reasons, SharedSymbols.Value, KernelClock.Sample(), _channel.Writer, reader);
        if (startReader)
            Reader.Start();
    }

    /// <summary>Starts reading the ring (when the constructor was told not to).</summary>
    public void StartReader() => Reader.Start();

    public static DropReasonTable Reasons => SharedReasons.Value;

    public DropCapture Capture { get; }
    public RingBufferReader Reader { get; }

    public static uint Code(string reason) =>
        Reasons.TryGetCode(reason, out var code) ? code : throw new InvalidOperationException($"this kernel has no reason {reason}");

    /// <summary>Events received so far.</summary>
    public IReadOnlyList<DropEvent> Events
    {
        get
        {
            while (_channel.Reader.TryRead(out var batch))
                _events.AddRange(batch);
            return _events;
        }
    }

    /// <summary>Packets counted by the exact counters for a reason in one namespace.</summary>
    public ulong Counted(string reason, uint netns, byte? ipProtocol = null) =>
        Capture.ReadCounters().Entries
            .Where(e => e.ReasonCode == Code(reason) && e.Netns == netns && (ipProtocol is null || e.IpProtocol == ipProtocol))
            .Aggregate(0UL, (sum, e) => sum + e.Packets);

    /// <summary>Waits for the reader to deliver at least <paramref name="count"/> matching events, then a little more for strays.</summary>
    public async Task<List<DropEvent>> WaitForAsync(Func<DropEvent, bool> match, int count, TimeSpan? timeout = null)
    {
        await KernelTest.EventuallyAsync(() => Events.Count(match) >= count, timeout);
        await Task.Delay(150, TestContext.Current.CancellationToken); // the reader polls every 10 ms: let extras arrive
        return Events.Where(match).ToList();
    }

    public EventLosses Losses => Capture.ReadKernelLosses();

    public void Dispose()
    {
        Reader.Dispose();
        Capture.Dispose();
    }
}
