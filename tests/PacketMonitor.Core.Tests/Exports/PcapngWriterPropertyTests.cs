using System.Globalization;
using System.Net;
using CsCheck;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Exports;

namespace PacketMonitor.Core.Tests.Exports;

/// <summary>Events with arbitrary fields never break the writer, and Wireshark's tools read every file it makes.</summary>
public sealed class PcapngWriterPropertyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pm-pcapng-prop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Gen<string> AnyText = Gen.Char.Array[0, 40].Select(chars => new string(chars));
    private static readonly Gen<string?> MaybeText = Gen.Frequency((1, Gen.Const((string?)null)), (2, AnyText.Select(t => (string?)t)));

    /// <summary>Mostly small captures, sometimes far beyond the kernel's 1024 bytes or empty.</summary>
    private static readonly Gen<byte[]> Bytes = Gen.Frequency(
        (6, Gen.Byte.Array[0, 200]),
        (1, Gen.Byte.Array[0, 0]),
        (1, Gen.Int[60_000, 70_000].Select(n => new byte[n])));

    private static readonly Gen<DropEvent> AnyEvent =
        Gen.Select(Bytes, Gen.Int, Gen.Byte, Gen.Int[-2, 10], Gen.UShort, Gen.UInt, Gen.Long[DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks])
            .SelectMany(t => Gen.Select(AnyText, AnyText, AnyText, AnyText, Gen.UInt[0, 4], Gen.UInt[0, 2], MaybeText, MaybeText)
                .SelectMany(s => Gen.Select(MaybeText, MaybeText, Gen.UInt.Nullable(), Gen.ULong, Gen.Bool)
                    .Select(a => new DropEvent
                    {
                        Headers = t.Item1,
                        L3Offset = t.Item2 % 3 == 0 ? t.Item2 : Math.Abs(t.Item2 % 64), // mostly plausible, sometimes wild
                        Flags = (DropEventFlags)t.Item3,
                        Family = (PacketFamily)t.Item4,
                        EtherType = t.Item5,
                        Length = t.Item6,
                        SkbLength = t.Item6 ^ 0x5a5a,
                        Timestamp = new DateTimeOffset(t.Item7, TimeSpan.Zero),
                        Reason = s.Item1,
                        Location = s.Item2,
                        Comm = s.Item3,
                        Ifname = s.Item4,
                        Ifindex = s.Item5,
                        Netns = s.Item6,
                        OwnerComm = s.Item7,
                        Cgroup = s.Item8,
                        Container = a.Item1,
                        NetnsName = a.Item2,
                        OwnerPid = a.Item3,
                        CgroupId = a.Item4,
                        SourceAddress = a.Item5 ? IPAddress.Loopback : null,
                    })));

    [Fact]
    public void Write_RandomEvents_NeverThrowsAndCapinfosAndTsharkReadEveryPacket()
    {
        Tshark.Require();
        string all = Path.Combine(_dir, "all.pcapng");
        var expected = new List<DropEvent>();
        using (var allWriter = new PcapngWriter(File.Create(all)))
        {
            int sample = 0;
            AnyEvent.Array[0, 12].Sample(events =>
            {
                string file = Path.Combine(_dir, $"{sample++}.pcapng");
                using (var writer = new PcapngWriter(File.Create(file)))
                {
                    foreach (var e in events)
                        writer.Write(e);
                }
                Assert.Equal(events.Length, Tshark.PacketCount(file));
                foreach (var e in events)
                    allWriter.Write(e);
                expected.AddRange(events);
            }, iter: 60, threads: 1);
        }

        // Wireshark dissects every packet of every sample in one pass: lengths consistent, text one clean line.
        var packets = Tshark.Fields(all, "frame.number", "frame.len", "frame.cap_len", "frame.interface_name", "frame.comment");
        Assert.Equal(expected.Count, packets.Count);
        for (int i = 0; i < packets.Count; i++)
        {
            var e = expected[i];
            long frameLength = long.Parse(packets[i][1], CultureInfo.InvariantCulture);
            long captured = long.Parse(packets[i][2], CultureInfo.InvariantCulture);
            var (type, start) = PcapngWriter.Framing(e);
            int available = e.Headers.Length - start + (type == LinkType.LinuxCooked ? 16 : 0);
            Assert.Equal(Math.Min(available, PcapngWriter.MaxCapturedBytes), captured);
            Assert.True(frameLength >= captured, $"packet {i + 1}: frame.len {frameLength} < cap_len {captured}");
            Assert.False(string.IsNullOrEmpty(packets[i][3]), $"packet {i + 1} has no interface name");
            Assert.StartsWith("reason: ", packets[i][4], StringComparison.Ordinal);
            Assert.DoesNotContain(packets[i][3].Concat(packets[i][4]), char.IsControl);
        }
    }
}
