using CsCheck;
using PacketMonitor.Core.BlindSpots;
using Xunit;

namespace PacketMonitor.Core.Tests.BlindSpots;

public sealed class SoftnetStatTests
{
    // Linux 6.18 (this machine, 2 CPUs): 15 columns, the CPU number in column 12.
    private const string Linux618 = """
        17585306 00000000 0000000d 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
        19615570 00000002 00000016 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000003 00000000 00000001 00000000 00000000

        """;

    // Linux 5.10-6.x: 13 columns; CPU 1 offline, so line 2 is CPU 2.
    private const string Linux510Offline = """
        0003a2f1 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
        00041b09 0000001f 00000004 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000005 00000000 00000002
        """;

    // Linux 4.x: 11 columns (flow_limit_count last, no CPU column).
    private const string Linux4 = "0000f1a0 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000009\n"
        + "0000f1a1 00000001 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000000a\n";

    // Linux 2.6/3.0: 10 columns, no flow limit.
    private const string Linux26 = "000001ff 00000010 00000020 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";

    [Fact]
    public void Parse_Linux618_ReadsEveryCpu()
    {
        var rows = SoftnetStat.Parse(Linux618, out int malformed);

        Assert.Equal(0, malformed);
        Assert.Equal(
            [new SoftnetCounters(0, 0x17585306, 0, 0xd, 0), new SoftnetCounters(1, 0x19615570, 2, 0x16, 3)],
            rows);
    }

    [Fact]
    public void Parse_CpuColumn_IsUsedInsteadOfTheLineNumber()
    {
        var rows = SoftnetStat.Parse(Linux510Offline, out _);

        Assert.Equal([0, 2], rows.Select(r => r.Cpu));
        Assert.Equal(0x1fu, rows[1].Dropped);
        Assert.Equal(5u, rows[1].FlowLimit);
    }

    [Fact]
    public void Parse_OlderLayouts_ReadWhatTheyHave()
    {
        var four = SoftnetStat.Parse(Linux4, out _);
        Assert.Equal([new SoftnetCounters(0, 0xf1a0, 0, 2, 9), new SoftnetCounters(1, 0xf1a1, 1, 3, 0xa)], four);

        var old = Assert.Single(SoftnetStat.Parse(Linux26, out _));
        Assert.Equal(new SoftnetCounters(0, 0x1ff, 0x10, 0x20, null), old);
    }

    [Theory]
    [InlineData("zzzzzzzz 00000000 00000000")]            // not hex
    [InlineData("00000001 00000002")]                      // too few columns
    [InlineData("100000000 00000000 00000000")]            // wider than 32 bits
    [InlineData("-0000001 00000000 00000000")]             // sign
    [InlineData("00000001\t00000002\t00000003")]           // not the kernel's separator
    [InlineData("0x000001 00000000 00000000")]             // prefix
    public void Parse_MalformedLine_IsSkippedAndCounted(string bad)
    {
        var rows = SoftnetStat.Parse(Linux618 + bad + "\n", out int malformed);

        Assert.Equal(1, malformed);
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public void Parse_DuplicateCpu_KeepsTheFirst()
    {
        string twice = Linux618 + "00000001 00000001 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000\n";

        var rows = SoftnetStat.Parse(twice, out int malformed);

        Assert.Equal(1, malformed);
        Assert.Equal(2u, rows.Single(r => r.Cpu == 1).Dropped);
    }

    [Fact]
    public void Parse_EmptyOrGarbage_GivesNoRowsAndNeverThrows()
    {
        Assert.Empty(SoftnetStat.Parse("", out int none));
        Assert.Equal(0, none);
        Gen.String.Sample(text => _ = SoftnetStat.Parse(text, out _), iter: 5000);
        Gen.Char["0123456789abcdefABCDEF \n"].Array[0, 400].Select(c => new string(c))
            .Sample(text => Assert.All(SoftnetStat.Parse(text, out _), r => Assert.InRange(r.Cpu, 0, 8191)), iter: 5000);
    }
}
