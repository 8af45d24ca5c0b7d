using PacketMonitor.Kernel.Abi;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>The C# offsets of the map keys, values and configs match the compiled object's BTF.</summary>
public sealed class MapLayoutTests
{
    [Fact]
    public void MapLayouts_EveryCheckedField_MatchesObjectBtf()
    {
        foreach (var (structName, field, offset) in MapLayouts.Checked)
        {
            var member = AbiStructs.Of(structName).Member(field);
            Assert.True(member is not null, $"struct {structName} has no member {field}");
            Assert.Equal((structName, field, offset), (structName, field, member.Value.ByteOffset));
        }
    }

    [Theory]
    [InlineData("counter_key", MapLayouts.CounterKeySize)]
    [InlineData("counter_value", MapLayouts.CounterValueSize)]
    [InlineData("filter_config", MapLayouts.FilterConfigSize)]
    [InlineData("load_config", MapLayouts.LoadConfigSize)]
    public void MapLayouts_StructSizes_MatchObjectBtf(string structName, int size) =>
        Assert.Equal(size, AbiStructs.Of(structName).Size);
}
