using PacketMonitor.Kernel.Abi;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>The C# mirror of bpf/drop_event.h must match the BTF of the compiled object byte for byte.</summary>
public sealed class AbiTests
{
    [Fact]
    public void DropEvent_CSharpLayout_MatchesObjectBtf()
    {
        var btf = AbiStructs.Of("drop_event");

        Assert.False(btf.IsUnion);
        Assert.Equal(DropEventLayout.Size, btf.Size);
        Assert.Equal(DropEventLayout.Fields.Select(f => (f.Name, f.Offset, f.Size)), AbiStructs.Layout("drop_event"));
        Assert.All(btf.Members, m => Assert.Equal(0, m.BitfieldSize));
    }

    [Theory]
    [InlineData("counter_key")]
    [InlineData("counter_value")]
    [InlineData("filter_config")]
    [InlineData("load_config")]
    public void MapStruct_ObjectBtf_HasSizedMembers(string name)
    {
        var s = AbiStructs.Of(name);
        var output = TestContext.Current.TestOutputHelper!;
        output.WriteLine($"struct {name}: size {s.Size}");
        foreach (var (member, offset, size) in AbiStructs.Layout(name))
            output.WriteLine($"  {member,-14} offset {offset,3} size {size,3}");

        Assert.NotEmpty(s.Members);
        Assert.All(s.Members, m => Assert.True(m.ByteSize > 0, $"{name}.{m.Name} has no byte size"));
        Assert.True(s.Members.Max(m => m.ByteOffset + m.ByteSize!.Value) <= s.Size);
    }
}
