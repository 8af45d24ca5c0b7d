using System.Runtime.InteropServices;

namespace PacketMonitor.Kernel.Native;

/// <summary>
/// A BPF ring buffer read straight from its memory mapping, without libbpf's callback:
/// the consumer-position page (read-write), then the producer-position page followed by the
/// data area, which the kernel maps twice in a row so a record never wraps.
/// Same protocol as libbpf's ringbuf_process_ring: acquire-load the positions and each
/// record's length word, skip BUSY (not yet committed) and DISCARD records, release-store
/// the new consumer position.
/// </summary>
internal sealed unsafe class MappedRing : IDisposable
{
    private const uint BusyBit = 1u << 31;
    private const uint DiscardBit = 1u << 30;
    private const int RecordHeaderSize = 8;

    private readonly int _fd;
    private readonly nuint _pageSize;
    private readonly nuint _dataSize;
    private readonly ulong _mask;
    private byte* _consumer;
    private byte* _producer;

    public MappedRing(int mapFd, int dataSize)
    {
        _fd = mapFd;
        _pageSize = (nuint)Environment.SystemPageSize;
        _dataSize = (nuint)dataSize;
        _mask = (ulong)dataSize - 1;
        _consumer = (byte*)Interop.mmap(null, _pageSize, Interop.ProtRead | Interop.ProtWrite, Interop.MapShared, mapFd, 0);
        if (_consumer == (byte*)-1)
            throw new BpfException("mmap ring buffer consumer page", Marshal.GetLastPInvokeError());
        _producer = (byte*)Interop.mmap(null, _pageSize + 2 * _dataSize, Interop.ProtRead, Interop.MapShared, mapFd, (long)_pageSize);
        if (_producer == (byte*)-1)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = Interop.munmap(_consumer, _pageSize);
            throw new BpfException("mmap ring buffer data", errno);
        }
    }

    /// <summary>Hands every committed record to <paramref name="handle"/>; returns how many.</summary>
    public int Drain<TState>(TState state, RecordHandler<TState> handle)
    {
        int count = 0;
        ulong consumerPos = Volatile.Read(ref *(ulong*)_consumer);
        byte* data = _producer + _pageSize;
        while (true)
        {
            ulong producerPos = Volatile.Read(ref *(ulong*)_producer);
            if (consumerPos >= producerPos)
                return count;
            while (consumerPos < producerPos)
            {
                byte* header = data + (consumerPos & _mask);
                uint length = Volatile.Read(ref *(uint*)header);
                if ((length & BusyBit) != 0)
                    return count; // reserved but not yet submitted: try again on the next drain
                uint size = length & ~(BusyBit | DiscardBit);
                consumerPos += (size + RecordHeaderSize + 7) & ~7UL;
                if ((length & DiscardBit) == 0 && size <= _dataSize)
                {
                    handle(state, new ReadOnlySpan<byte>(header + RecordHeaderSize, (int)size));
                    count++;
                }
                Volatile.Write(ref *(ulong*)_consumer, consumerPos);
            }
        }
    }

    /// <summary>Waits until the kernel signals data (a wakeup) or the timeout passes.</summary>
    public void Wait(int timeoutMs)
    {
        var pfd = new Interop.PollFd { Fd = _fd, Events = Interop.PollIn };
        _ = Interop.poll(&pfd, 1, timeoutMs);
    }

    public void Dispose()
    {
        if (_producer != null)
            _ = Interop.munmap(_producer, _pageSize + 2 * _dataSize);
        if (_consumer != null)
            _ = Interop.munmap(_consumer, _pageSize);
        _producer = null;
        _consumer = null;
    }
}

internal delegate void RecordHandler<in TState>(TState state, ReadOnlySpan<byte> record);
