using CsCheck;
using PacketMonitor.Kernel.Symbols;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests.Symbols;

public sealed class KallsymsTableTests
{
    // Unsorted, with aliases, data symbols, module symbols and garbage, as /proc/kallsyms may look.
    private const string Fixture = """
        ffffffff81e44f40 T sk_skb_reason_drop
        ffffffff81000000 T _text
        ffffffff81000000 t _stext_local_alias
        ffffffff81001000 t helper
        ffffffff81e46000 D some_data
        ffffffff81e44f00 T kfree_skb_list_reason
        ffffffffc0a01000 t ovs_execute_actions	[openvswitch]
        ffffffffc0a02000 T ovs_vport_receive	[openvswitch]
        ffffffffc0b00000 W weak_mod_fn	[nf_tables]
        this is not a kallsyms line
        zzzzzzzzzzzzzzzz T bad_address
        ffffffff81002000 T
        ffffffff81003000
        ffffffff81004000 Tnot_separated
        0000000000000000 T zero_address

        ffffffff81e45000 b bss_symbol
        """;

    private static readonly KallsymsTable Table = KallsymsTable.Parse(new StringReader(Fixture));

    [Theory]
    [InlineData(0xffffffff81e44f8cUL, "sk_skb_reason_drop+0x4c")]
    [InlineData(0xffffffff81e44f40UL, "sk_skb_reason_drop+0x0")]
    [InlineData(0xffffffff81e44f3fUL, "kfree_skb_list_reason+0x3f")]
    [InlineData(0xffffffff81000010UL, "_text+0x10")] // global alias wins over the local one
    [InlineData(0xffffffff81001abcUL, "helper+0xabc")]
    [InlineData(0xffffffff81e46010UL, "sk_skb_reason_drop+0x10d0")] // data symbols are not kept
    [InlineData(0xffffffffc0a01010UL, "ovs_execute_actions+0x10 [openvswitch]")]
    [InlineData(0xffffffffc0a02fffUL, "ovs_vport_receive+0xfff [openvswitch]")]
    [InlineData(0xffffffffc0b00004UL, "weak_mod_fn+0x4 [nf_tables]")]
    [InlineData(0xffffffff80ffffffUL, "0xffffffff80ffffff")] // below the first symbol
    [InlineData(0x0UL, "0x0000000000000000")]
    [InlineData(0xffffffffc0bfffffUL, "weak_mod_fn+0xfffff [nf_tables]")]
    [InlineData(0xffffffffc0c00000UL, "0xffffffffc0c00000")] // MaxOffset (1 MiB) past the last symbol
    [InlineData(0xffffffffa0000000UL, "0xffffffffa0000000")] // a gap between kernel text and modules
    public void Resolve_FixtureAddress_ReturnsExactString(ulong address, string expected)
    {
        Assert.Equal(expected, Table.Resolve(address));
    }

    [Fact]
    public void Parse_Fixture_KeepsTextSymbolsOnly()
    {
        Assert.True(Table.HasAddresses);
        Assert.Equal(7, Table.Count); // two aliases share one address
        Assert.True(Table.TryGetAddress("helper", out var helper));
        Assert.Equal(0xffffffff81001000UL, helper);
        Assert.False(Table.TryGetAddress("some_data", out _));
        Assert.False(Table.TryGetAddress("bss_symbol", out _));
        Assert.False(Table.TryGetAddress("zero_address", out _));
        Assert.False(Table.TryGetAddress("Tnot_separated", out _));
    }

    [Fact]
    public void Parse_AddressesHiddenByKptrRestrict_ResolvesToRawHex()
    {
        var hidden = KallsymsTable.Parse(new StringReader("""
            0000000000000000 T _text
            0000000000000000 T sk_skb_reason_drop
            0000000000000000 t helper	[mod]
            """));

        Assert.False(hidden.HasAddresses);
        Assert.Equal("0xffffffff81e44f4c", hidden.Resolve(0xffffffff81e44f4cUL));
    }

    [Fact]
    public void Parse_EmptyInput_ResolvesToRawHex()
    {
        var empty = KallsymsTable.Parse(new StringReader(""));

        Assert.False(empty.HasAddresses);
        Assert.Equal("0x0000000000001234", empty.Resolve(0x1234));
    }

    [Fact]
    public void Load_MissingFile_GivesEmptyTable()
    {
        var table = KallsymsTable.Load("/nonexistent/kallsyms");

        Assert.False(table.HasAddresses);
    }

    [Fact]
    public void Parse_RandomText_NeverThrows()
    {
        Gen.String.Sample(text => KallsymsTable.Parse(new StringReader(text)).Resolve(0xffffffff81000000UL), iter: 5000);
        Gen.Char["0123456789abcdef tTwW[]\n\tx"].Array[0, 200]
            .Sample(c => KallsymsTable.Parse(new StringReader(new string(c))).Resolve(0xffffffff81000000UL), iter: 5000);
    }

    [Fact]
    public void Parse_TwoHundredThousandLines_IsFast()
    {
        var text = new System.Text.StringBuilder();
        var random = new Random(42);
        for (var i = 0; i < 200_000; i++)
            text.Append($"{0xffffffff81000000UL + (ulong)random.Next(0, 1 << 26):x16} {(i % 3 == 0 ? 't' : 'T')} symbol_{i}{(i % 10 == 0 ? "\t[mod]" : "")}\n");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var table = KallsymsTable.Parse(new StringReader(text.ToString()));

        TestContext.Current.TestOutputHelper!.WriteLine($"{table.Count} symbols in {watch.ElapsedMilliseconds} ms");
        Assert.True(table.Count > 190_000);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "quadratic parsing?");
    }

    [Fact]
    public void Resolve_LiveKallsyms_NamesDropFunctionPlusOffset()
    {
        if (!File.Exists("/proc/kallsyms"))
            KernelTest.Unavailable("/proc/kallsyms is missing");
        var table = KallsymsTable.Load();
        if (!table.HasAddresses)
            KernelTest.Unavailable("/proc/kallsyms shows zero addresses (kptr_restrict; run as root)");
        string[] candidates = ["kfree_skb_reason", "sk_skb_reason_drop"];
        var name = candidates.FirstOrDefault(n => table.TryGetAddress(n, out _));
        Assert.NotNull(name);
        table.TryGetAddress(name, out var address);

        Assert.Equal($"{name}+0x10", table.Resolve(address + 0x10));
        Assert.Equal($"{name}+0x0", table.Resolve(address));
    }
}
