using PacketMonitor.Core.Attribution;
using Xunit;

namespace PacketMonitor.Core.Tests.Attribution;

public sealed class ProcLinksTests
{
    [Theory]
    [InlineData("socket:[12345]", "socket", 12345UL)]
    [InlineData("net:[4026531840]", "net", 4026531840UL)]
    [InlineData("socket:[18446744073709551615]", "socket", ulong.MaxValue)]
    public void TryParseInode_KernelLinks_GiveTheInode(string target, string kind, ulong expected)
    {
        Assert.True(ProcLinks.TryParseInode(target, kind, out var inode));
        Assert.Equal(expected, inode);
    }

    [Theory]
    [InlineData("pipe:[12345]")]
    [InlineData("/dev/null")]
    [InlineData("socket:[]")]
    [InlineData("socket:[12a]")]
    [InlineData("socket:[-1]")]
    [InlineData("socket:[ 1]")]
    [InlineData("socket:12345")]
    [InlineData("socket:[18446744073709551616]")]
    [InlineData("anon_inode:[eventfd]")]
    public void TryParseInode_OtherTargets_AreRejected(string target)
    {
        Assert.False(ProcLinks.TryParseInode(target, "socket", out _));
    }
}
