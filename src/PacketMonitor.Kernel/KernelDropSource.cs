using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PacketMonitor.Core.Capture;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel;

/// <summary>The real <see cref="IDropSource"/>: the kernel program and the ring-buffer reader.</summary>
public sealed class KernelDropSource(
    CaptureOptions options, DropReasonTable reasons, ISymbolResolver symbols, ILogger logger,
    RingReaderKind readerKind = RingReaderKind.Mapped) : IDropSource
{
    public IReasonNames Reasons => reasons;

    public IActiveCapture Start(ChannelWriter<IReadOnlyList<DropEvent>> events)
    {
        var capture = DropCapture.Attach(options, name => reasons.TryGetCode(name, out var code) ? code : null, logger);
        try
        {
            var reader = RingBufferReader.Create(capture, reasons, symbols, KernelClock.Sample(), events, readerKind);
            reader.Start();
            return new Active(capture, reader, symbols);
        }
        catch
        {
            capture.Dispose();
            throw;
        }
    }

    private sealed class Active(DropCapture capture, RingBufferReader reader, ISymbolResolver symbols) : IActiveCapture
    {
        public string AttachMode { get; } = AttachModes.Name(capture.AttachMode);

        public CounterSnapshot ReadCounters() => capture.ReadCounters();

        public IReadOnlyList<LocationCount> Locations(CounterSnapshot counters) =>
            counters.Entries
                .GroupBy(e => (e.ReasonCode, e.Location))
                .Select(g => new LocationCount(g.Key.ReasonCode, g.Key.Location, symbols.Resolve(g.Key.Location),
                    g.Aggregate(0UL, (sum, e) => sum + e.Packets)))
                .ToList();

        public EventLosses ReadLosses() => capture.ReadKernelLosses() with { QueueFull = (ulong)reader.QueueFull };

        public void Dispose()
        {
            reader.Dispose(); // drains the ring, completes the channel
            capture.Dispose(); // detaches
        }
    }
}
