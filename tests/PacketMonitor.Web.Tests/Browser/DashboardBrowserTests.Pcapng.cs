using PacketMonitor.Core.Tests.Exports;
using PacketMonitor.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace PacketMonitor.Web.Tests.Browser;

/// <summary>The event table's "Download pcapng" button in the real page.</summary>
public sealed partial class DashboardBrowserTests
{
    [Fact]
    public async Task DownloadPcapng_WithReasonFilterAndToken_SavesTheMatchingEventsForWireshark()
    {
        Tshark.Require();
        await using var host = await StartHostAsync(o => o.Token = "pcapng-secret");
        await using var page = await OpenAsync(host, "/?access_token=pcapng-secret");
        await Expect(page.Badge).ToHaveTextAsync("Running");
        var now = DateTimeOffset.UtcNow;
        host.Source.Push(
        [
            Samples.Event(comm: "tcp-a", time: now),
            Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, protocol: 17, comm: "udp-a", time: now.AddMilliseconds(1)),
            Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, protocol: 17, comm: "udp-b", time: now.AddMilliseconds(2)),
        ]);
        await Expect(page.Rows).ToHaveCountAsync(3, Within2s);
        await page.Page.GetByTestId("filter-reason").SelectOptionAsync("PKT_TOO_SMALL");
        await Expect(page.Rows).ToHaveCountAsync(2);

        var download = await page.Page.RunAndWaitForDownloadAsync(() => page.Page.GetByTestId("pcapng-button").ClickAsync());
        string file = Path.Combine(Path.GetTempPath(), $"pm-download-{Guid.NewGuid():n}.pcapng");
        try
        {
            await download.SaveAsAsync(file);

            Assert.Matches(@"^packet-monitor-\d{8}T\d{6}Z\.pcapng$", download.SuggestedFilename);
            Assert.Equal(
                [
                    "reason: PKT_TOO_SMALL (8); location: tcp_v4_rcv+0x1a2; cpu context: udp-a (pid 4242, cpu 1)",
                    "reason: PKT_TOO_SMALL (8); location: tcp_v4_rcv+0x1a2; cpu context: udp-b (pid 4242, cpu 1)",
                ],
                Tshark.Fields(file, "frame.comment").Select(p => p[0]));
            await Expect(page.Page.GetByTestId("action-message")).ToBeHiddenAsync();
            Assert.Empty(page.Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
