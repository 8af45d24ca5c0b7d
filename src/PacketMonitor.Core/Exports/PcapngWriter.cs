using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Unicode;
using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Exports;

/// <summary>
/// Writes drop events as a pcapng capture that Wireshark and tshark open: a Section Header Block, an
/// Interface Description Block for every (interface, link type) when it first appears, and one Enhanced
/// Packet Block per event whose comment says why, where and in which context the packet was dropped.
/// </summary>
/// <remarks>
/// <para>Format: the pcapng draft (IETF opsawg, "PCAP Next Generation Dump File Format"), little-endian,
/// nanosecond timestamps (<c>if_tsresol</c> 9). Link types: Ethernet (1) when the event's bytes start at the
/// MAC header, raw IPv4 (228) / IPv6 (229) when they start at the network header, and for the rare
/// non-IP packet without a MAC header a Linux cooked header (113) that carries its ethertype, as
/// <c>tcpdump -i any</c> writes.</para>
/// <para>Streaming: blocks are formatted into one reused buffer that goes out whenever it passes
/// <see cref="FlushThresholdBytes"/> and on <see cref="Flush"/>; memory stays bounded whatever the number of
/// events (plus one small entry per interface seen).</para>
/// <para>Total over its input: every field of a <see cref="DropEvent"/> is untrusted. Offsets are clamped,
/// captured bytes are capped at <see cref="MaxCapturedBytes"/>, the original length is never below the
/// captured one, strings are sanitised (<see cref="DisplayText"/>), encoded as valid UTF-8 and cut to fit
/// their option. Only the output stream can fail.</para>
/// <para>Not thread-safe: one writer per output.</para>
/// </remarks>
public sealed class PcapngWriter : IDisposable, IAsyncDisposable
{
    /// <summary>Captured bytes kept per packet; the kernel copies at most 1024.</summary>
    public const int MaxCapturedBytes = 65_535;

    /// <summary>Buffered bytes that trigger a write to the stream.</summary>
    public const int FlushThresholdBytes = 64 * 1024;

    /// <summary>Longest comment, in UTF-8 bytes (an option holds at most 65535).</summary>
    public const int MaxCommentBytes = 4096;

    /// <summary>Longest text option other than the comment (interface name, description, application).</summary>
    public const int MaxNameBytes = 256;

    /// <summary>Characters kept of each field inside the comment, so one long value cannot push out the others.</summary>
    private const int MaxFieldChars = 256;

    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint InterfaceDescriptionType = 0x00000001;
    private const uint EnhancedPacketType = 0x00000006;
    private const uint ByteOrderMagic = 0x1A2B3C4D;

    private const ushort OptEndOfOptions = 0;
    private const ushort OptComment = 1;
    private const ushort ShbUserApplication = 4;
    private const ushort IfName = 2;
    private const ushort IfDescription = 3;
    private const ushort IfTimestampResolution = 9;
    private const byte NanosecondResolution = 9; // 10^-9 s

    private const int EthernetHeaderLength = 14;
    private const int CookedHeaderLength = 16;
    private const ushort CookedPacketToUs = 0;       // LINUX_SLL_HOST: the direction is not known; the first value
    private const ushort ArphrdNone = 0xFFFE;        // ARPHRD_NONE: a device without a link-layer header

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushThresholdBytes + 2048);
    private readonly Dictionary<InterfaceKey, uint> _interfaces = [];
    private readonly StringBuilder _comment = new(256);
    private readonly byte[] _text = new byte[MaxCommentBytes];
    private bool _disposed;

    /// <summary>Starts a capture on <paramref name="output"/> (the section header is buffered, not yet written).</summary>
    /// <param name="application">Named in the section header (<c>shb_userappl</c>); default <see cref="DefaultApplication"/>.</param>
    public PcapngWriter(Stream output, string? application = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanWrite)
            throw new ArgumentException("the pcapng output stream is not writable", nameof(output));
        _output = output;
        _leaveOpen = leaveOpen;
        AppendSectionHeader(application ?? DefaultApplication);
    }

    /// <summary>"packet-monitor VERSION": the program Wireshark's capture properties name.</summary>
    public static string DefaultApplication { get; } = "packet-monitor " + (typeof(PcapngWriter).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "");

    /// <summary>Enhanced Packet Blocks written (or buffered) so far.</summary>
    public long PacketCount { get; private set; }

    /// <summary>Interface Description Blocks written (or buffered) so far.</summary>
    public int InterfaceCount => _interfaces.Count;

    /// <summary>Bytes buffered and not yet written to the stream.</summary>
    public int BufferedBytes => _buffer.WrittenCount;

    /// <summary>Adds one event; writes to the stream (synchronously) when the buffer is full.</summary>
    public void Write(DropEvent dropEvent)
    {
        Append(dropEvent);
        if (_buffer.WrittenCount >= FlushThresholdBytes)
            WriteBuffer();
    }

    /// <summary>Adds one event; writes to the stream (asynchronously) when the buffer is full.</summary>
    public async ValueTask WriteAsync(DropEvent dropEvent, CancellationToken cancellationToken = default)
    {
        Append(dropEvent);
        if (_buffer.WrittenCount >= FlushThresholdBytes)
            await WriteBufferAsync(cancellationToken);
    }

    /// <summary>Writes everything buffered and flushes the stream: what was added so far is a complete capture.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteBuffer();
        _output.Flush();
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await WriteBufferAsync(cancellationToken);
        await _output.FlushAsync(cancellationToken);
    }

    /// <summary>Flushes, then closes the stream unless it was left open.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        try
        {
            Flush();
        }
        finally
        {
            _disposed = true;
            if (!_leaveOpen)
                _output.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        try
        {
            await FlushAsync();
        }
        finally
        {
            _disposed = true;
            if (!_leaveOpen)
                await _output.DisposeAsync();
        }
    }

    private void WriteBuffer()
    {
        if (_buffer.WrittenCount == 0)
            return;
        _output.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
    }

    private async ValueTask WriteBufferAsync(CancellationToken cancellationToken)
    {
        if (_buffer.WrittenCount == 0)
            return;
        await _output.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
    }

    /// <summary>The link type an event is written with, and where its packet bytes start.</summary>
    internal static (LinkType Type, int Start) Framing(DropEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        int l3 = Math.Clamp(e.L3Offset, 0, e.Headers.Length);
        if ((e.Flags & DropEventFlags.HasL2) != 0)
            return (LinkType.Ethernet, 0);
        return e.Family switch
        {
            PacketFamily.Ipv4 => (LinkType.Ipv4, l3),
            PacketFamily.Ipv6 => (LinkType.Ipv6, l3),
            _ => (LinkType.LinuxCooked, l3),
        };
    }

    private void Append(DropEvent e)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(e);
        var (type, start) = Framing(e);
        uint interfaceId = InterfaceFor(e, type);

        ReadOnlySpan<byte> packet = e.Headers.Span[start..];
        int prefix = type == LinkType.LinuxCooked ? CookedHeaderLength : 0;
        int captured = Math.Min(prefix + packet.Length, MaxCapturedBytes);
        packet = packet[..(captured - prefix)];

        // The length on the wire: the network header's length (the IP total length when the kernel parsed
        // one) plus whatever precedes it in the frame. Never below what was captured.
        long before = type switch
        {
            LinkType.Ethernet => Math.Max(e.L3Offset, EthernetHeaderLength),
            LinkType.LinuxCooked => CookedHeaderLength,
            _ => 0,
        };
        uint original = (uint)Math.Clamp(Math.Max(before + e.Length, captured), 0, uint.MaxValue);

        int commentLength = Utf8Of(Comment(e), _text);
        int dataPadded = Pad4(captured);
        int total = 28 + dataPadded + 4 + Pad4(commentLength) + 4 + 4;
        var block = _buffer.GetSpan(total)[..total];
        block.Clear(); // padding and reserved bytes are zero
        WriteU32(block, 0, EnhancedPacketType);
        WriteU32(block, 4, (uint)total);
        WriteU32(block, 8, interfaceId);
        ulong ns = UnixNanoseconds(e.Timestamp);
        WriteU32(block, 12, (uint)(ns >> 32));
        WriteU32(block, 16, (uint)ns);
        WriteU32(block, 20, (uint)captured);
        WriteU32(block, 24, original);
        int at = 28;
        if (type == LinkType.LinuxCooked)
            WriteCookedHeader(block.Slice(at, CookedHeaderLength), e.EtherType);
        packet.CopyTo(block[(at + prefix)..]);
        at += dataPadded;
        at = WriteOption(block, at, OptComment, _text.AsSpan(0, commentLength));
        WriteU32(block, at, OptEndOfOptions); // code 0, length 0
        WriteU32(block, total - 4, (uint)total);
        _buffer.Advance(total);
        PacketCount++;
    }

    private uint InterfaceFor(DropEvent e, LinkType type)
    {
        var key = new InterfaceKey(e.Netns, e.Ifindex, e.Ifname ?? "", type);
        if (_interfaces.TryGetValue(key, out uint id))
            return id;
        id = (uint)_interfaces.Count;
        _interfaces.Add(key, id);

        string name = string.IsNullOrEmpty(e.Ifname) ? $"ifindex {e.Ifindex}" : DisplayText.Sanitize(e.Ifname);
        var description = new StringBuilder(64).Append(CultureInfo.InvariantCulture, $"ifindex {e.Ifindex}, netns {e.Netns}");
        if (!string.IsNullOrEmpty(e.NetnsName))
            description.Append(" (").Append(Field(e.NetnsName)).Append(')');
        if (type == LinkType.LinuxCooked)
            description.Append("; no link-layer header was captured: packet-monitor added a Linux cooked header with the ethertype");

        Span<byte> nameBytes = stackalloc byte[MaxNameBytes];
        int nameLength = Utf8Of(name, nameBytes);
        Span<byte> descriptionBytes = _text; // free: the packet's comment is encoded after this block
        int descriptionLength = Utf8Of(description.ToString(), descriptionBytes);

        int total = 16 + (4 + Pad4(nameLength)) + (4 + Pad4(descriptionLength)) + (4 + 4) + 4 + 4;
        var block = _buffer.GetSpan(total)[..total];
        block.Clear();
        WriteU32(block, 0, InterfaceDescriptionType);
        WriteU32(block, 4, (uint)total);
        BinaryPrimitives.WriteUInt16LittleEndian(block[8..], (ushort)type);
        // block[10..12]: reserved, zero
        WriteU32(block, 12, MaxCapturedBytes); // snap length
        int at = 16;
        at = WriteOption(block, at, IfName, nameBytes[..nameLength]);
        at = WriteOption(block, at, IfDescription, descriptionBytes[..descriptionLength]);
        at = WriteOption(block, at, IfTimestampResolution, [NanosecondResolution]);
        WriteU32(block, at, OptEndOfOptions);
        WriteU32(block, total - 4, (uint)total);
        _buffer.Advance(total);
        return id;
    }

    private void AppendSectionHeader(string application)
    {
        Span<byte> app = stackalloc byte[MaxNameBytes];
        int appLength = Utf8Of(DisplayText.Sanitize(application), app);
        int total = 24 + (4 + Pad4(appLength)) + 4 + 4;
        var block = _buffer.GetSpan(total)[..total];
        block.Clear();
        WriteU32(block, 0, SectionHeaderType);
        WriteU32(block, 4, (uint)total);
        WriteU32(block, 8, ByteOrderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(block[12..], 1); // major version
        BinaryPrimitives.WriteUInt16LittleEndian(block[14..], 0); // minor version
        BinaryPrimitives.WriteInt64LittleEndian(block[16..], -1); // section length: not known while streaming
        int at = WriteOption(block, 24, ShbUserApplication, app[..appLength]);
        WriteU32(block, at, OptEndOfOptions);
        WriteU32(block, total - 4, (uint)total);
        _buffer.Advance(total);
    }

    /// <summary>
    /// The packet comment: reason, kernel location, CPU context, and the owner, cgroup, container and
    /// namespace name when they are known, e.g.
    /// <c>reason: NO_SOCKET (3); location: __udp4_lib_rcv+0x9b1; cpu context: swapper/1 (pid 0, cpu 1)</c>.
    /// </summary>
    private string Comment(DropEvent e)
    {
        var c = _comment.Clear();
        var inv = CultureInfo.InvariantCulture;
        c.Append("reason: ").Append(Field(e.Reason)).Append(inv, $" ({e.ReasonCode})");
        c.Append("; location: ").Append(Field(e.Location));
        c.Append("; cpu context: ").Append(string.IsNullOrEmpty(e.Comm) ? "-" : Field(e.Comm))
            .Append(inv, $" (pid {e.Pid}, cpu {e.Cpu})");
        bool hasOwnerComm = !string.IsNullOrEmpty(e.OwnerComm);
        if (hasOwnerComm || e.OwnerPid is not null)
        {
            c.Append("; owner: ");
            if (hasOwnerComm)
                c.Append(Field(e.OwnerComm!));
            if (e.OwnerPid is uint ownerPid && hasOwnerComm)
                c.Append(inv, $" (pid {ownerPid})");
            else if (e.OwnerPid is uint pidOnly)
                c.Append(inv, $"pid {pidOnly}");
        }
        if (!string.IsNullOrEmpty(e.Cgroup))
            c.Append("; cgroup: ").Append(Field(e.Cgroup));
        else if (e.CgroupId != 0)
            c.Append(inv, $"; cgroup: id {e.CgroupId}");
        if (!string.IsNullOrEmpty(e.Container))
            c.Append("; container: ").Append(Field(e.Container));
        if (!string.IsNullOrEmpty(e.NetnsName))
            c.Append("; netns: ").Append(Field(e.NetnsName));
        return c.ToString();
    }

    private static string Field(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return "-";
        return DisplayText.Sanitize(text.Length <= MaxFieldChars ? text : text[..MaxFieldChars]);
    }

    /// <summary>Valid UTF-8 of <paramref name="text"/> (lone surrogates become U+FFFD), cut at a character boundary to fit.</summary>
    private static int Utf8Of(string text, Span<byte> destination)
    {
        Utf8.FromUtf16(text, destination, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
        return written;
    }

    private static int WriteOption(Span<byte> block, int at, ushort code, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(block[at..], code);
        BinaryPrimitives.WriteUInt16LittleEndian(block[(at + 2)..], (ushort)value.Length);
        value.CopyTo(block[(at + 4)..]);
        return at + 4 + Pad4(value.Length);
    }

    private static void WriteCookedHeader(Span<byte> header, ushort etherType)
    {
        header.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(header, CookedPacketToUs);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], ArphrdNone);
        // [4..6] address length 0, [6..14] address: zero
        BinaryPrimitives.WriteUInt16BigEndian(header[14..], etherType);
    }

    /// <summary>Nanoseconds since 1970 (100 ns steps: the resolution of the event's time), clamped to 0..2^64-1.</summary>
    private static ulong UnixNanoseconds(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        if (ticks <= 0)
            return 0;
        return (ulong)ticks > ulong.MaxValue / 100 ? ulong.MaxValue : (ulong)ticks * 100;
    }

    private static int Pad4(int length) => (length + 3) & ~3;

    private static void WriteU32(Span<byte> block, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(block[at..], value);

    private readonly record struct InterfaceKey(uint Netns, uint Ifindex, string Ifname, LinkType Type);
}

/// <summary>pcapng/pcap link types (LINKTYPE_*, tcpdump.org/linktypes.html) used by <see cref="PcapngWriter"/>.</summary>
public enum LinkType : ushort
{
    Ethernet = 1,
    LinuxCooked = 113,
    Ipv4 = 228,
    Ipv6 = 229,
}
