using System.Text.Json;
using PacketMonitor.Core.Events;
using Xunit;

namespace PacketMonitor.Core.Tests.Events;

public sealed class EventJsonWriterTests
{
    private static readonly string[] Fields =
    [
        "timestamp", "reason", "reason_code", "location", "family", "protocol", "ip_protocol", "src_addr", "dst_addr",
        "src_port", "dst_port", "icmp_type", "icmp_code", "length", "skb_len", "ifindex", "ifname", "netns", "cpu",
        "pid", "tid", "comm", "context_pid", "context_comm", "owner_pid", "owner_comm", "socket_cookie", "cgroup_id",
        "cgroup", "container", "netns_name",
    ];

    private static JsonElement Parse(DropEvent e)
    {
        using var doc = JsonDocument.Parse(EventJsonWriter.ToJsonLine(e));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void ToJsonLine_Ipv4Tcp_IsExactlyThisLine()
    {
        // The default encoder escapes '+' (and <, >, &, non-ASCII): valid JSON that is also inert in a terminal or a page.
        Assert.Equal(
            """{"timestamp":"2026-11-27T17:40:01.123456Z","reason":"NO_SOCKET","reason_code":3,"location":"__udp4_lib_rcv+0x9b1","family":"ipv4","protocol":"TCP","ip_protocol":6,"src_addr":"192.168.1.10","dst_addr":"8.8.8.8","src_port":54321,"dst_port":443,"icmp_type":null,"icmp_code":null,"length":1500,"skb_len":1514,"ifindex":1,"ifname":"lo","netns":4026531840,"cpu":0,"pid":1234,"tid":1234,"comm":"curl","context_pid":1234,"context_comm":"curl","owner_pid":null,"owner_comm":null,"socket_cookie":null,"cgroup_id":null,"cgroup":null,"container":null,"netns_name":null}""",
            EventJsonWriter.ToJsonLine(EventSamples.Ipv4Tcp()));
    }

    [Theory]
    [InlineData("ipv4")]
    [InlineData("ipv6")]
    [InlineData("icmp")]
    [InlineData("arp")]
    public void ToJsonLine_AnyEvent_HasEveryFieldInOrder(string sample)
    {
        var e = sample switch
        {
            "ipv4" => EventSamples.Ipv4Tcp(),
            "ipv6" => EventSamples.Ipv6Udp(),
            "icmp" => EventSamples.Icmp(),
            _ => EventSamples.Arp(),
        };

        string line = EventJsonWriter.ToJsonLine(e);

        Assert.DoesNotContain('\n', line);
        Assert.Equal(Fields, Parse(e).EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void ToJsonLine_Ipv6Udp_HasV6Addresses()
    {
        var json = Parse(EventSamples.Ipv6Udp());

        Assert.Equal("ipv6", json.GetProperty("family").GetString());
        Assert.Equal("UDP", json.GetProperty("protocol").GetString());
        Assert.Equal("2001:db8::1", json.GetProperty("src_addr").GetString());
        Assert.Equal("2001:db8::2", json.GetProperty("dst_addr").GetString());
        Assert.Equal(5353, json.GetProperty("src_port").GetInt32());
    }

    [Fact]
    public void ToJsonLine_Icmp_HasTypeAndCodeButNoPorts()
    {
        var json = Parse(EventSamples.Icmp());

        Assert.Equal("ICMP", json.GetProperty("protocol").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("src_port").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("dst_port").ValueKind);
        Assert.Equal(3, json.GetProperty("icmp_type").GetInt32());
        Assert.Equal(3, json.GetProperty("icmp_code").GetInt32());
    }

    [Fact]
    public void ToJsonLine_NoIpHeader_IsOtherWithNullAddresses()
    {
        var json = Parse(EventSamples.Arp());

        Assert.Equal("other", json.GetProperty("family").GetString());
        Assert.Equal("other", json.GetProperty("protocol").GetString());
        Assert.Equal(0, json.GetProperty("ip_protocol").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("src_addr").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("dst_addr").ValueKind);
        Assert.Equal(42, json.GetProperty("length").GetInt32());
    }

    [Fact]
    public void ToJsonLine_UnnamedProtocol_IsTheNumberAsText()
    {
        var json = Parse(EventSamples.Ipv4Tcp() with { IpProtocol = 132 });

        Assert.Equal("132", json.GetProperty("protocol").GetString());
        Assert.Equal(132, json.GetProperty("ip_protocol").GetInt32());
    }

    [Fact]
    public void ToJsonLine_HtmlAndQuotesInKernelStrings_RoundTripAsLiteralText()
    {
        const string comm = "<b>\"x\"&'y'\\";
        var e = EventSamples.Ipv4Tcp() with { Comm = comm, Ifname = "</script>", Reason = "A\u001bB" };

        string line = EventJsonWriter.ToJsonLine(e);
        var json = Parse(e);

        Assert.Contains("\\u001b", line, StringComparison.OrdinalIgnoreCase); // control characters stay escaped
        Assert.Equal(comm, json.GetProperty("comm").GetString());
        Assert.Equal("</script>", json.GetProperty("ifname").GetString());
        Assert.Equal("A\u001bB", json.GetProperty("reason").GetString());
    }

    [Fact]
    public void ToJsonLine_LoneSurrogates_AreReplacedNotThrown()
    {
        string longText = new string('x', 5000) + "\uD800";
        var json = Parse(EventSamples.Ipv4Tcp() with { Comm = "a\uD800b", Location = "\uDC00", Reason = longText });

        Assert.Equal("a\uFFFDb", json.GetProperty("comm").GetString());
        Assert.Equal("\uFFFD", json.GetProperty("location").GetString());
        Assert.Equal(new string('x', 5000) + "\uFFFD", json.GetProperty("reason").GetString());
    }

    [Fact]
    public void ToJsonLine_Location_RoundTripsThePlusSign()
    {
        Assert.Equal("__udp4_lib_rcv+0x9b1", Parse(EventSamples.Ipv4Tcp()).GetProperty("location").GetString());
    }

    [Fact]
    public void Write_SeveralEventsWithReset_ProducesJsonLines()
    {
        using var stream = new MemoryStream();
        using var writer = new Utf8JsonWriter(stream, EventJsonWriter.LineOptions);
        foreach (var e in new[] { EventSamples.Ipv4Tcp(), EventSamples.Arp() })
        {
            EventJsonWriter.Write(writer, e);
            writer.Flush();
            stream.WriteByte((byte)'\n');
            writer.Reset();
        }

        string[] lines = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal([EventJsonWriter.ToJsonLine(EventSamples.Ipv4Tcp()), EventJsonWriter.ToJsonLine(EventSamples.Arp())], lines);
    }

    [Fact]
    public void ToJsonLine_TimestampBeforeTheSecondHasAllSixDigits()
    {
        var json = Parse(EventSamples.Ipv4Tcp() with { Timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)) });

        Assert.Equal("2026-01-02T01:04:05.000000Z", json.GetProperty("timestamp").GetString());
    }

    [Fact]
    public void ToJsonLine_Attribution_OwnerBesideTheCpuContext()
    {
        var json = Parse(EventSamples.Owned());

        Assert.Equal(0, json.GetProperty("pid").GetInt32());
        Assert.Equal("swapper/1", json.GetProperty("comm").GetString());
        Assert.Equal(0, json.GetProperty("context_pid").GetInt32());
        Assert.Equal("swapper/1", json.GetProperty("context_comm").GetString());
        Assert.Equal(4242, json.GetProperty("owner_pid").GetInt32());
        Assert.Equal("nginx", json.GetProperty("owner_comm").GetString());
        Assert.Equal(8193UL, json.GetProperty("socket_cookie").GetUInt64());
        Assert.Equal(5183UL, json.GetProperty("cgroup_id").GetUInt64());
        Assert.Equal("/system.slice/docker-3f4e5a6b7c8d9e0f.scope", json.GetProperty("cgroup").GetString());
        Assert.Equal("docker:3f4e5a6b7c8d", json.GetProperty("container").GetString());
        Assert.Equal("blue", json.GetProperty("netns_name").GetString());
        Assert.False(json.TryGetProperty("stack", out _));
    }

    [Fact]
    public void ToJsonLine_Stack_IsAListOfFramesAfterTheOtherFields()
    {
        var e = EventSamples.Owned() with { Stack = ["sk_skb_reason_drop+0x90", "__udp4_lib_rcv+0x4bc"] };

        var json = Parse(e);

        Assert.Equal([.. Fields, "stack"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["sk_skb_reason_drop+0x90", "__udp4_lib_rcv+0x4bc"], json.GetProperty("stack").EnumerateArray().Select(f => f.GetString()));
        Assert.EndsWith("""
            "netns_name":"blue","stack":["sk_skb_reason_drop+0x90","__udp4_lib_rcv+0x4bc"]}
            """, EventJsonWriter.ToJsonLine(e), StringComparison.Ordinal);
    }

    [Fact]
    public void ToJsonLine_SocketWithoutResolvedNames_HasIdsAndNullNames()
    {
        var json = Parse(EventSamples.Owned() with { OwnerPid = null, OwnerComm = null, Cgroup = null, Container = null });

        Assert.Equal(JsonValueKind.Null, json.GetProperty("owner_pid").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("cgroup").ValueKind);
        Assert.Equal(5183UL, json.GetProperty("cgroup_id").GetUInt64());
        Assert.Equal(8193UL, json.GetProperty("socket_cookie").GetUInt64());
    }

    [Fact]
    public void ToJsonLine_LargestCookieAndCgroupId_AreExactNumbers()
    {
        var line = EventJsonWriter.ToJsonLine(EventSamples.Owned() with { SocketCookie = ulong.MaxValue, CgroupId = ulong.MaxValue - 1 });

        Assert.Contains("\"socket_cookie\":18446744073709551615,\"cgroup_id\":18446744073709551614,", line, StringComparison.Ordinal);
    }
}
