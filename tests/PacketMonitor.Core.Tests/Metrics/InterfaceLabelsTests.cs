using PacketMonitor.Core.Metrics;

namespace PacketMonitor.Core.Tests.Metrics;

public sealed class InterfaceLabelsTests
{
    private static string? Name(uint ifindex, uint netns) => $"if{ifindex}-{netns}";

    [Fact]
    public void LabelOf_BeyondTheLimit_FoldsIntoOther()
    {
        var labels = new InterfaceLabels(3, Name);

        var seen = Enumerable.Range(1, 6).Select(i => labels.LabelOf((uint)i, 100)).ToList();

        Assert.Equal(["if1-100", "if2-100", "if3-100", "other", "other", "other"], seen);
        Assert.Equal(3, labels.Admitted.Count);
    }

    [Fact]
    public void LabelOf_FoldedInterface_NeverMovesBack_EvenAfterForgetting()
    {
        var labels = new InterfaceLabels(2, Name);
        labels.LabelOf(1, 100);
        labels.LabelOf(2, 100);
        Assert.Equal("other", labels.LabelOf(3, 100));

        labels.ForgetInterfaces(); // a new capture
        // The order of first sight is now different: the admitted names keep their place, the third stays folded.
        Assert.Equal("other", labels.LabelOf(3, 100));
        Assert.Equal("if2-100", labels.LabelOf(2, 100));
        Assert.Equal("if1-100", labels.LabelOf(1, 100));
    }

    [Fact]
    public void LabelOf_SameNameInTwoNamespaces_SharesOneLabelAndOneSlot()
    {
        var labels = new InterfaceLabels(2, (ifindex, _) => ifindex == 1 ? "lo" : "eth0");

        Assert.Equal("lo", labels.LabelOf(1, 100));
        Assert.Equal("lo", labels.LabelOf(1, 200));
        Assert.Equal("eth0", labels.LabelOf(2, 200));
        Assert.Equal(2, labels.Admitted.Count);
    }

    [Fact]
    public void LabelOf_RenamedInterface_KeepsItsFirstLabel()
    {
        string name = "veth-old";
        var labels = new InterfaceLabels(10, (_, _) => name);

        Assert.Equal("veth-old", labels.LabelOf(5, 100));
        name = "veth-new";
        Assert.Equal("veth-old", labels.LabelOf(5, 100));
    }

    [Theory]
    [InlineData(null, "ifindex7")]
    [InlineData("", "ifindex7")]
    [InlineData("bad\nname", "ifindex7")]
    [InlineData("bad name", "ifindex7")]
    [InlineData("a-name-far-too-long", "ifindex7")]
    [InlineData("other", "ifindex7")]
    [InlineData("eth0", "eth0")]
    public void LabelOf_UnknownOrUntrustedName_FallsBackToTheIndex(string? resolved, string expected) =>
        Assert.Equal(expected, new InterfaceLabels(10, (_, _) => resolved).LabelOf(7, 100));

    [Fact]
    public void LabelOf_NoInterface_IsNone() =>
        Assert.Equal("none", new InterfaceLabels(10, Name).LabelOf(0, 100));

    [Fact]
    public void Constructor_ZeroLimit_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new InterfaceLabels(0, Name));
}
