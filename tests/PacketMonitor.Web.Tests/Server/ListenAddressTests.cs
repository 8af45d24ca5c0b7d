using System.Net;

namespace PacketMonitor.Web.Tests.Server;

public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:5000", "127.0.0.1", 5000, true)]
    [InlineData("127.1.2.3:80", "127.1.2.3", 80, true)]
    [InlineData("[::1]:5000", "::1", 5000, true)]
    [InlineData("0.0.0.0:8080", "0.0.0.0", 8080, false)]
    [InlineData("[::]:8080", "::", 8080, false)]
    [InlineData("192.0.2.7:0", "192.0.2.7", 0, false)]
    [InlineData(" 127.0.0.1:5000 ", "127.0.0.1", 5000, true)]
    public void Parse_AddressAndPort_GivesBoth(string text, string address, int port, bool loopback)
    {
        var listen = ListenAddress.Parse(text);

        Assert.Equal(IPAddress.Parse(address), listen.Address);
        Assert.Equal(port, listen.Port);
        Assert.Equal(loopback, listen.IsLoopback);
        Assert.False(listen.IsAny);
    }

    [Fact]
    public void Parse_PortOnly_MeansAllInterfaces()
    {
        var listen = ListenAddress.Parse(":5000");

        Assert.True(listen.IsAny);
        Assert.False(listen.IsLoopback);
        Assert.Equal(5000, listen.Port);
        Assert.Equal(":5000", listen.ToString());
    }

    [Fact]
    public void Parse_Localhost_IsLoopback()
    {
        var listen = ListenAddress.Parse("LocalHost:5001");

        Assert.True(listen.IsLocalhostName);
        Assert.True(listen.IsLoopback);
        Assert.Equal("localhost:5001", listen.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("5000")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("::1:5000")]
    [InlineData("[::1]5000")]
    [InlineData("[10.0.0.1]:5000")]
    [InlineData("host.example:5000")]
    [InlineData("300.0.0.1:5000")]
    public void Parse_Malformed_ThrowsArgumentExceptionWithExamples(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => ListenAddress.Parse(text));

        Assert.Contains("examples: 127.0.0.1:5000", error.Message, StringComparison.Ordinal);
    }
}
