using CsCheck;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace PacketMonitor.Web.Tests.Api;

/// <summary>
/// Every API parameter with arbitrary text (any Unicode, control characters, huge numbers, repeats):
/// the parsers never throw, and a refusal is one line that names the parameter.
/// </summary>
public sealed class QueryParameterPropertyTests
{
    private static readonly string[] EventParameters =
        ["limit", "reason", "protocol", "host", "port", "interface", "since", "from", "until", "owner_pid", "cgroup", "container", "netns_name"];

    private static readonly string[] RateParameters = ["from", "to", "step", "reason", "protocol", "interface"];

    private static Gen<T> Pick<T>(params T[] items) => Gen.Int[0, items.Length - 1].Select(i => items[i]);

    // Plausible pieces mixed with noise, so that both acceptance and refusal paths are exercised.
    private static readonly Gen<string> Value = Gen.OneOf(
        Gen.String,
        Gen.Char.Array[0, 40].Select(c => new string(c)),
        Pick("", " ", "0", "-1", "1", "65535", "65536", "10000", "10001", "99999999999999999999", "1e3", "0x10",
            "tcp", "UDP", "icmpv6", "256", "NO_SOCKET", "skb_drop_reason_no_socket", "10.0.0.0/8", "::1", "2001:db8::/129",
            "lo", "eth0:1", "2026-01-31T12:00:00Z", "1767225600", "2026-13-45", "1h", "5m", "0s", "/system.slice", "docker:abc",
            "\n", "\u202e", "%00", "a\0b"),
        Gen.Select(Gen.Int, Gen.Int).Select((a, b) => $"{a}{b}"));

    private static Gen<QueryCollection> Query(string[] names) =>
        Gen.Select(Pick(names).Array[0, 5], Value.Array[1, 2].Array[5])
            .Select((keys, values) => new QueryCollection(keys.Distinct().Select((k, i) => (k, values[i]))
                .ToDictionary(p => p.k, p => new StringValues(p.Item2))));

    [Fact]
    public void EventsQuery_AnyValues_ParsesOrRefusesInOneLineNamingTheParameter() =>
        Query(EventParameters).Sample(query =>
        {
            if (EventQueryParser.TryParse(query, out var parsed, out var error))
            {
                Assert.InRange(parsed.Limit, 1, EventQueryParser.MaxLimit);
                return;
            }
            AssertOneLineNaming(error, query.Keys);
        }, iter: 3000);

    [Fact]
    public void RatesQuery_AnyValues_ParsesOrRefusesInOneLineNamingTheParameter() =>
        Query(RateParameters).Sample(query =>
        {
            if (RatesQueryParser.TryParse(query, DateTimeOffset.UtcNow, out _, out var error))
                return;
            AssertOneLineNaming(error, query.Keys);
        }, iter: 3000);

    private static void AssertOneLineNaming(string error, ICollection<string> keys)
    {
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain('\r', error);
        Assert.Contains(keys.Concat(["from", "to", "until", "since"]), key => error.Contains(key, StringComparison.Ordinal));
    }
}
