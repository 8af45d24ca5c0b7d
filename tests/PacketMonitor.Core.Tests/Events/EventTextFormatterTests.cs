using System.Net;
using PacketMonitor.Core.Events;
using Xunit;

namespace PacketMonitor.Core.Tests.Events;

public sealed class EventTextFormatterTests
{
    private const string ThirdLine =
        "  Reason: NO_SOCKET (3), Location: __udp4_lib_rcv+0x9b1, Interface: lo (1), Netns: 4026531840, CPU: 0\n";

    private static string Middle(DropEvent e) => EventTextFormatter.ToText(e).Split('\n')[1];

    [Fact]
    public void ToText_Ipv4Tcp_IsTheSeedLayoutPlusAReasonLine()
    {
        Assert.Equal(
            "[2026-11-27T17:40:01.123456Z] PID: 1234, COMM: curl\n" +
            "  192.168.1.10:54321 -> 8.8.8.8:443, Proto: 6, Len: 1500\n" +
            ThirdLine,
            EventTextFormatter.ToText(EventSamples.Ipv4Tcp()));
    }

    [Fact]
    public void ToText_Ipv6WithPorts_BracketsTheAddresses()
    {
        Assert.Equal("  [2001:db8::1]:5353 -> [2001:db8::2]:443, Proto: 17, Len: 88", Middle(EventSamples.Ipv6Udp()));
    }

    [Fact]
    public void ToText_Ipv6WithoutPorts_PrintsBareAddresses()
    {
        var e = EventSamples.Ipv6Udp() with { IpProtocol = 47, SourcePort = null, DestinationPort = null };

        Assert.Equal("  2001:db8::1 -> 2001:db8::2, Proto: 47, Len: 88", Middle(e));
    }

    [Fact]
    public void ToText_Ipv4WithoutPorts_PrintsBareAddresses()
    {
        var e = EventSamples.Icmp() with { IpProtocol = 47, IcmpType = null, IcmpCode = null };

        Assert.Equal("  10.0.0.1 -> 10.0.0.2, Proto: 47, Len: 84", Middle(e));
    }

    [Fact]
    public void ToText_Icmp_ShowsTypeAndCode()
    {
        Assert.Equal("  10.0.0.1 -> 10.0.0.2, Proto: 1 (ICMP type 3 code 3), Len: 84", Middle(EventSamples.Icmp()));
    }

    [Fact]
    public void ToText_Icmpv6_ShowsTypeAndCode()
    {
        var e = EventSamples.Ipv6Udp() with { IpProtocol = 58, SourcePort = null, DestinationPort = null, IcmpType = 1, IcmpCode = 4 };

        Assert.Equal("  2001:db8::1 -> 2001:db8::2, Proto: 58 (ICMPv6 type 1 code 4), Len: 88", Middle(e));
    }

    [Fact]
    public void ToText_NoIpHeader_ShowsTheEthertype()
    {
        Assert.Equal("  (no IP header) ethertype 0x0806, Len: 42", Middle(EventSamples.Arp()));
    }

    [Fact]
    public void ToText_NoInterfaceName_ShowsADash()
    {
        var e = EventSamples.Ipv4Tcp() with { Ifname = "", Ifindex = 7 };

        Assert.Contains(", Interface: - (7), ", EventTextFormatter.ToText(e), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_LongerThanTheStackBuffer_WritesEverything()
    {
        var e = EventSamples.Ipv4Tcp() with { Location = new string('x', 10_000) };
        using var writer = new StringWriter();

        EventTextFormatter.Write(writer, e);

        Assert.Contains($"Location: {e.Location}, Interface", writer.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("CPU: 0\n", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_AppendsToWhatIsAlreadyThere()
    {
        using var writer = new StringWriter();
        writer.Write("> ");

        EventTextFormatter.Write(writer, EventSamples.Ipv4Tcp());
        EventTextFormatter.Write(writer, EventSamples.Ipv4Tcp());

        string one = EventTextFormatter.ToText(EventSamples.Ipv4Tcp());
        Assert.Equal("> " + one + one, writer.ToString());
    }

    [Fact]
    public void TryFormat_DestinationTooSmall_ReturnsFalse()
    {
        string full = EventTextFormatter.ToText(EventSamples.Ipv6Udp());

        Assert.False(EventTextFormatter.TryFormat(EventSamples.Ipv6Udp(), new char[full.Length - 1], out _));
        Assert.True(EventTextFormatter.TryFormat(EventSamples.Ipv6Udp(), new char[full.Length], out int written));
        Assert.Equal(full.Length, written);
    }

    [Fact]
    public void ToText_MappedIpv4InIpv6_PrintsTheKernelForm()
    {
        var e = EventSamples.Ipv6Udp() with { SourceAddress = IPAddress.Parse("::ffff:10.0.0.1") };

        Assert.StartsWith("  [::ffff:10.0.0.1]:5353 -> ", Middle(e), StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_OwnedSocket_AddsAnOwnerLineAndKeepsTheFirstLinesAsTheyWere()
    {
        string text = EventTextFormatter.ToText(EventSamples.Owned());

        Assert.Equal(
            "[2026-11-27T17:40:01.123456Z] PID: 0, COMM: swapper/1\n" +
            "  192.168.1.10:54321 -> 8.8.8.8:443, Proto: 6, Len: 1500\n" +
            "  Reason: SOCKET_RCVBUFF (3), Location: __udp4_lib_rcv+0x9b1, Interface: lo (1), Netns: 4026531840, CPU: 0\n" +
            "  Owner: PID 4242, COMM: nginx, Cgroup: /system.slice/docker-3f4e5a6b7c8d9e0f.scope, Container: docker:3f4e5a6b7c8d, Netns: blue, Socket cookie: 8193\n",
            text);
    }

    [Fact]
    public void ToText_SocketWithUnresolvedOwner_SaysUnknownAndShowsTheCgroupId()
    {
        var e = EventSamples.Owned() with { OwnerPid = null, OwnerComm = null, Cgroup = null, Container = null, NetnsName = null, SocketCookie = 0 };

        Assert.EndsWith("\n  Owner: unknown, Cgroup: id 5183\n", EventTextFormatter.ToText(e), StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_NoSocket_HasNoOwnerLineEvenWithANamespaceName()
    {
        Assert.Equal(3, EventTextFormatter.ToText(EventSamples.Ipv4Tcp() with { NetnsName = "blue" }).Count(c => c == '\n'));
    }

    [Fact]
    public void ToText_Stack_OneIndentedLinePerFrame()
    {
        var e = EventSamples.Ipv4Tcp() with { Stack = ["sk_skb_reason_drop+0x90", "__udp4_lib_rcv+0x4bc"] };

        Assert.EndsWith(ThirdLine + "  Stack:\n    sk_skb_reason_drop+0x90\n    __udp4_lib_rcv+0x4bc\n", EventTextFormatter.ToText(e), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_DeepStack_LongerThanTheStackBuffer_WritesEveryFrame()
    {
        var frames = Enumerable.Range(0, 127).Select(i => $"function_with_a_long_name_{i}+0x{i:x}").ToArray();
        using var writer = new StringWriter();

        EventTextFormatter.Write(writer, EventSamples.Owned() with { Stack = frames });

        Assert.EndsWith("    function_with_a_long_name_126+0x7e\n", writer.ToString(), StringComparison.Ordinal);
        Assert.Equal(4 + 1 + 127, writer.ToString().Count(c => c == '\n'));
    }
}
