using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PacketMonitor.Core.Counters;
using PacketMonitor.Core.Events;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace PacketMonitor.Web.Tests.Browser;

/// <summary>
/// The real dashboard page (the npm-built web root) in Debian's chromium, driven by Playwright,
/// against a real Kestrel fed by a <see cref="FakeDropSource"/>.
/// </summary>
public sealed partial class DashboardBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    /// <summary>How long live data may take from the source to the page (the bound).</summary>
    private static readonly LocatorAssertionsToHaveCountOptions Within2s = new() { Timeout = 2_000 };

    /// <summary>The chart has drawn at least one point.</summary>
    private static readonly Regex HasPoints = new("^[1-9]");

    private const string HtmlComm = "<img src=x onerror=alert(1)>";
    private const uint Netns = 4026531840;

    [Fact]
    public async Task Page_Loads_WithoutConsoleErrors()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);

        await Expect(page.Badge).ToHaveTextAsync("Running");
        await Expect(page.Page.GetByTestId("attach-mode")).ToHaveTextAsync(FakeDropSource.Mode);
        await Expect(page.Page.GetByTestId("connection-state")).ToBeHiddenAsync();
        // Let a few stats messages, the chart and the reason catalogue come in.
        await Expect(page.ChartBox).ToHaveAttributeAsync("data-points", HasPoints);
        await page.Page.WaitForTimeoutAsync(500);

        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task StartAndStopButtons_ChangeTheStatusBadge()
    {
        await using var host = await StartHostAsync(monitoring: false);
        await using var page = await OpenAsync(host);
        var start = page.Page.GetByTestId("start-button");
        var stop = page.Page.GetByTestId("stop-button");

        await Expect(page.Badge).ToHaveTextAsync("Stopped");
        await Expect(page.Badge).ToHaveAttributeAsync("data-state", "stopped");
        await Expect(stop).ToBeDisabledAsync();

        await start.ClickAsync();
        await Expect(page.Badge).ToHaveTextAsync("Running");
        await Expect(page.Page.GetByTestId("attach-mode")).ToHaveTextAsync(FakeDropSource.Mode);
        await Expect(start).ToBeDisabledAsync();
        Assert.True(host.Session.Status.Running);

        await stop.ClickAsync();
        await Expect(page.Badge).ToHaveTextAsync("Stopped");
        await Expect(page.Badge).ToHaveAttributeAsync("data-state", "stopped");
        Assert.False(host.Session.Status.Running);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task StartThatFails_ShowsTheReasonAndStaysStopped()
    {
        await using var host = await StartHostAsync(monitoring: false);
        host.Source.StartFailure = new InvalidOperationException("attach tp_btf/kfree_skb: EPERM");
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Stopped");

        await page.Page.GetByTestId("start-button").ClickAsync();

        await Expect(page.Page.GetByTestId("action-message")).ToContainTextAsync("EPERM");
        await Expect(page.Badge).ToHaveTextAsync("Stopped");
        await Expect(page.Page.GetByTestId("start-button")).ToBeEnabledAsync();
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task PushedEvents_AppearInTableAndChart_Within2Seconds()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");
        await Expect(page.ChartBox).ToHaveAttributeAsync("data-points", HasPoints);

        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, 5).Select(i => Samples.Event(comm: $"live{i}", time: now.AddMilliseconds(i))).ToList();
        Assert.True(host.Source.Push(events));
        host.Source.SetCounters(new CounterEntry(3, 6, 2, Netns, 5, 300));

        await Expect(page.Rows).ToHaveCountAsync(5, Within2s);
        await Expect(page.Rows.First.Locator("td").Nth(6)).ToHaveTextAsync("live4"); // newest first
        await Expect(page.Rows.First).ToContainTextAsync("10.0.0.1:40000 → 10.0.0.2:80");
        await Expect(page.ChartBox).ToHaveAttributeAsync("data-window-total", "5", new() { Timeout = 2_000 });
        await Expect(page.ChartBox).ToHaveAttributeAsync("data-series", "NO_SOCKET");
        await Expect(page.Page.GetByTestId("card-total")).ToContainTextAsync("5");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Filters_NarrowTheEventTable()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");

        var now = DateTimeOffset.UtcNow;
        host.Source.Push(
        [
            Samples.Event(comm: "tcp-a", time: now),
            Samples.Event(comm: "tcp-b", time: now.AddMilliseconds(1)),
            Samples.Event(comm: "tcp-c", time: now.AddMilliseconds(2), ifname: "wlan0"),
            Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, protocol: 17, comm: "udp-a", time: now.AddMilliseconds(3)),
            Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, protocol: 17, comm: "udp-b", time: now.AddMilliseconds(4)),
        ]);
        await Expect(page.Rows).ToHaveCountAsync(5, Within2s);

        await page.Page.GetByTestId("filter-reason").SelectOptionAsync("PKT_TOO_SMALL");
        await Expect(page.Rows).ToHaveCountAsync(2);
        await Expect(page.Rows.Filter(new() { HasText = "NO_SOCKET" })).ToHaveCountAsync(0);

        await page.Page.GetByTestId("filter-reason").SelectOptionAsync("");
        await page.Page.GetByTestId("filter-protocol").SelectOptionAsync("TCP");
        await Expect(page.Rows).ToHaveCountAsync(3);

        await page.Page.GetByTestId("filter-text").FillAsync("wlan0");
        await Expect(page.Rows).ToHaveCountAsync(1);
        await Expect(page.Rows.First).ToContainTextAsync("tcp-c");

        await page.Page.GetByTestId("filter-protocol").SelectOptionAsync("");
        await page.Page.GetByTestId("filter-text").FillAsync("");
        await Expect(page.Rows).ToHaveCountAsync(5);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task PauseAndClear_HoldAndEmptyTheTable()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");
        host.Source.Push([Samples.Event(comm: "first", time: DateTimeOffset.UtcNow)]);
        await Expect(page.Rows).ToHaveCountAsync(1, Within2s);

        await page.Page.GetByTestId("pause-button").ClickAsync();
        host.Source.Push([Samples.Event(comm: "while-paused", time: DateTimeOffset.UtcNow)]);
        await Expect(page.Page.GetByTestId("events-info")).ToContainTextAsync("paused: 1 new");
        await Expect(page.Rows).ToHaveCountAsync(1);

        await page.Page.GetByTestId("pause-button").ClickAsync();
        await Expect(page.Rows).ToHaveCountAsync(2);
        await Expect(page.Rows.First).ToContainTextAsync("while-paused");

        await page.Page.GetByTestId("clear-button").ClickAsync();
        await Expect(page.Rows).ToHaveCountAsync(0);
        await Expect(page.Page.GetByTestId("events-empty")).ToBeVisibleAsync();
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task ClickOnAnEvent_OpensTheDetailViewWithAHexDump()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");
        host.Source.Push([Samples.Event(comm: "detail-me", time: DateTimeOffset.UtcNow)]);
        await Expect(page.Rows).ToHaveCountAsync(1, Within2s);

        await page.Rows.First.ClickAsync();

        var detail = page.Page.GetByTestId("event-detail");
        await Expect(detail).ToBeVisibleAsync();
        await Expect(detail.Locator("[data-field=comm] dd")).ToHaveTextAsync("detail-me");
        await Expect(detail.Locator("[data-field=reason] dd")).ToHaveTextAsync("NO_SOCKET");
        await Expect(detail.Locator("[data-field=location] dd")).ToHaveTextAsync("tcp_v4_rcv+0x1a2");
        await Expect(detail.Locator("[data-field=l3_offset] dd")).ToHaveTextAsync("14");
        // The sample's 54 header bytes are i * 7: four lines of at most 16 bytes, with offsets.
        string hex = await page.Page.GetByTestId("detail-hex").TextContentAsync() ?? "";
        string[] lines = hex.Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("0000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69  |", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("0010  70 77 7e 85 ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("0030  ", lines[3], StringComparison.Ordinal);

        await page.Page.ScreenshotAsync(new() { Path = ArtifactPath("dashboard-detail.png") });

        await page.Page.GetByTestId("detail-close").ClickAsync();
        await Expect(detail).ToBeHiddenAsync();
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task OwnedEventWithStack_ShowsOwnerNamespaceWorkloadAndStack()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");
        host.Source.Push([Samples.Event(comm: "swapper/0", time: DateTimeOffset.UtcNow) with
        {
            OwnerPid = 4242, OwnerComm = "nginx", CgroupId = 9, Cgroup = "/system.slice/docker-3f4e5a6b7c8d.scope",
            Container = "docker:3f4e5a6b7c8d", NetnsName = "blue", SocketCookie = 8193,
            Stack = ["sk_skb_reason_drop+0x90", "__udp4_lib_rcv+0x4bc", "<b>udp_rcv+0x18</b>"],
        }]);
        await Expect(page.Rows).ToHaveCountAsync(1, Within2s);

        var cells = page.Rows.First.Locator("td");
        await Expect(cells.Nth(6)).ToHaveTextAsync("swapper/0");
        await Expect(cells.Nth(7)).ToHaveTextAsync("docker:3f4e5a6b7c8d");
        await Expect(cells.Nth(8)).ToHaveTextAsync("blue");
        var workloads = page.Page.GetByTestId("workloads-table").Locator("tbody tr").First.Locator("td");
        await Expect(workloads.Nth(0)).ToHaveTextAsync("docker:3f4e5a6b7c8d");
        await Expect(workloads.Nth(1)).ToHaveTextAsync("/system.slice/docker-3f4e5a6b7c8d.scope");

        await page.Rows.First.ClickAsync();

        var detail = page.Page.GetByTestId("event-detail");
        await Expect(detail.Locator("[data-field=owner_pid] dd")).ToHaveTextAsync("4242");
        await Expect(detail.Locator("[data-field=owner_comm] dd")).ToHaveTextAsync("nginx");
        await Expect(detail.Locator("[data-field=netns_name] dd")).ToHaveTextAsync("blue");
        await Expect(detail.Locator("[data-field=stack]")).ToHaveCountAsync(0);
        await Expect(page.Page.GetByTestId("detail-stack")).ToHaveTextAsync("sk_skb_reason_drop+0x90\n__udp4_lib_rcv+0x4bc\n<b>udp_rcv+0x18</b>");
        await page.Page.ScreenshotAsync(new() { Path = ArtifactPath("dashboard-detail-owner.png") });

        // An event without a stack hides the section again.
        await page.Page.GetByTestId("detail-close").ClickAsync();
        host.Source.Push([Samples.Event(comm: "plain", time: DateTimeOffset.UtcNow.AddSeconds(1))]);
        await Expect(page.Rows).ToHaveCountAsync(2, Within2s);
        await page.Rows.First.ClickAsync();
        await Expect(page.Page.GetByTestId("detail-stack")).ToBeHiddenAsync();
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task KernelStringsWithHtml_AreShownLiterally()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        bool dialogOpened = false;
        page.Page.Dialog += (_, dialog) =>
        {
            dialogOpened = true;
            _ = dialog.DismissAsync();
        };
        await Expect(page.Badge).ToHaveTextAsync("Running");

        host.Source.Push([Samples.Event(comm: HtmlComm, ifname: "<b>eth0</b>", time: DateTimeOffset.UtcNow)]);
        await Expect(page.Rows).ToHaveCountAsync(1, Within2s);

        var cells = page.Rows.First.Locator("td");
        Assert.Equal(HtmlComm, await cells.Nth(6).TextContentAsync());
        Assert.Equal("<b>eth0</b>", await cells.Nth(5).TextContentAsync());
        await page.Rows.First.ClickAsync();
        await Expect(page.Page.Locator("[data-field=comm] dd")).ToHaveTextAsync(HtmlComm);
        await page.Page.WaitForTimeoutAsync(300); // time for a broken image's onerror to fire

        Assert.Equal(0, await page.Page.Locator("img").CountAsync());
        Assert.Equal(0, await page.Page.Locator("main b, dialog b").CountAsync());
        Assert.False(dialogOpened, "the comm name's markup ran as HTML");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task PageWithAccessToken_ConnectsAndCallsTheApiWithIt()
    {
        await using var host = await StartHostAsync(o => o.Token = "browser-secret");
        await using var page = await OpenAsync(host, "/?access_token=browser-secret");

        await Expect(page.Badge).ToHaveTextAsync("Running");
        host.Source.Push([Samples.Event(comm: "with-token", time: DateTimeOffset.UtcNow)]);
        await Expect(page.Rows).ToHaveCountAsync(1, Within2s);
        // The reason catalogue comes from GET /api/reasons (Bearer token): no 401 in the console.
        await page.Page.WaitForTimeoutAsync(300);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task ServerRestart_PageReconnectsByItself()
    {
        var first = await StartHostAsync();
        int port = first.BaseAddress.Port;
        var page = await OpenAsync(first);
        try
        {
            await Expect(page.Badge).ToHaveTextAsync("Running");

            // Stop the server as a restart would. A connected browser can hold a graceful ASP.NET Core
            // shutdown for its full 30 s timeout (dotnet/aspnetcore#58947): cut it short.
            using (var hurry = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
                await first.App.StopAsync(hurry.Token);
            await first.DisposeAsync();
            await Expect(page.Page.GetByTestId("connection-state")).ToBeVisibleAsync();
            await Expect(page.Page.GetByTestId("connection-state")).ToHaveTextAsync("Disconnected, reconnecting…");

            await using var second = await StartHostAsync(o => o.Listen = $"127.0.0.1:{port}");
            await Expect(page.Page.GetByTestId("connection-state")).ToBeHiddenAsync(new() { Timeout = 10_000 });
            await Expect(page.Badge).ToHaveTextAsync("Running");
            second.Source.Push([Samples.Event(comm: "after-restart", time: DateTimeOffset.UtcNow)]);
            await Expect(page.Rows.Filter(new() { HasText = "after-restart" })).ToHaveCountAsync(1, Within2s);
            await page.DisposeAsync(); // before the second server stops, for the same reason
        }
        finally
        {
            await page.DisposeAsync();
        }
    }

    [Fact]
    public async Task BlindSpotsPanel_ShowsDeviceAndSoftnetCountersWithNotes()
    {
        var devices = new FakeBlindSpots();
        devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns, rxMissed: 1000), FakeBlindSpots.Device("veth-pod", 7, 4026532001, "pod-a", txDropped: 5));
        await using var host = await StartHostAsync(blindSpots: devices);
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");

        devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns, rxMissed: 1042), FakeBlindSpots.Device("veth-pod", 7, 4026532001, "pod-a", txDropped: 12));
        devices.SetSoftnet(new(0, 200, 3, 9, 0), new(1, 100, 0, 0, 0));

        var rows = page.Page.GetByTestId("blind-devices-table").Locator("tbody tr");
        await Expect(rows.First.Locator("td").Nth(4)).ToHaveTextAsync(new Regex("^42( ·|$)"), new() { Timeout = 2_000 });
        await Expect(rows.First.Locator("td").First).ToHaveTextAsync("eth0"); // the most drops first
        await Expect(rows.Nth(1).Locator("td").Nth(1)).ToHaveTextAsync("pod-a");
        await Expect(rows.Nth(1).Locator("td").Nth(3)).ToHaveTextAsync(new Regex("^7( ·|$)"));
        var softnet = page.Page.GetByTestId("blind-softnet-table").Locator("tbody tr");
        await Expect(softnet.Nth(0).Locator("td").Nth(2)).ToHaveTextAsync("3");
        await Expect(softnet.Nth(1).Locator("td").Nth(2)).ToHaveTextAsync("9");
        await Expect(page.Page.GetByTestId("card-unseen")).ToContainTextAsync("devices 49 · backlog 3");
        await Expect(page.Page.GetByTestId("blind-more")).ToContainTextAsync("the test's devices");

        // What each counter means: a tooltip on its heading and cells, and a list under the tables.
        var missed = page.Page.GetByTestId("blind-devices-table").Locator("th[data-note=rx_missed]");
        Assert.Contains("receive ring", await missed.GetAttributeAsync("title") ?? "", StringComparison.Ordinal);
        Assert.Contains("netdev_max_backlog", await softnet.Nth(0).Locator("td").First.GetAttributeAsync("title") ?? "", StringComparison.Ordinal);
        await page.Page.Locator(".blind-notes summary").ClickAsync();
        await Expect(page.Page.GetByTestId("blind-notes").Locator("[data-note=time_squeeze] dd")).ToContainTextAsync("Not a drop");
        await Expect(page.Page.GetByTestId("blind-problems")).ToBeHiddenAsync();

        devices.SetProblems("cannot read /proc/net/softnet_stat: gone");
        await Expect(page.Page.GetByTestId("blind-problems")).ToContainTextAsync("softnet_stat: gone");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task BlindSpotsPanel_WithoutSampler_SaysSo()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        host.Source.SetCounters(new CounterEntry(3, 6, 2, Netns, 1, 60));

        await Expect(page.Page.GetByTestId("card-total")).ToContainTextAsync("1");
        await Expect(page.Page.GetByTestId("blind-more")).ToContainTextAsync("samples no device");
        await Expect(page.Page.GetByTestId("card-unseen")).ToContainTextAsync("not sampled");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task ReasonTable_ShowsExplanationAndWhatToDo()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        host.Source.SetCounters(new CounterEntry(3, 6, 2, Netns, 4, 240));

        var row = page.Page.GetByTestId("reasons-table").Locator("tbody tr").First;
        await Expect(row.Locator("td").First).ToHaveTextAsync("NO_SOCKET");
        await Expect(row.Locator("td").Nth(3)).ToContainTextAsync("nothing listens");
        await Expect(row.Locator("td").Nth(3).Locator(".hint")).ToContainTextAsync("What to do: Check the service");
        string title = await row.Locator("td").First.GetAttributeAsync("title") ?? "";
        Assert.Contains("nothing listens", title, StringComparison.Ordinal);
        Assert.Contains("ss -ltnup", title, StringComparison.Ordinal);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task DashboardWithTraffic_SavesAScreenshot()
    {
        var devices = new FakeBlindSpots();
        devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns), FakeBlindSpots.Device("veth-dns", 7, 4026532001, "dns"));
        await using var host = await StartHostAsync(blindSpots: devices);
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");

        // A few seconds of mixed drops: exact counters grow, events arrive, some are lost.
        ulong noSocket = 0, tooSmall = 0, netfilter = 0, unspecified = 0;
        var random = new Random(7);
        for (int second = 0; second < 8; second++)
        {
            for (int tick = 0; tick < 4; tick++)
            {
                var now = DateTimeOffset.UtcNow;
                var batch = new List<DropEvent>();
                for (int i = 0; i < 6; i++)
                {
                    var time = now.AddMicroseconds(i);
                    switch (random.Next(4))
                    {
                        case 0:
                            noSocket++;
                            batch.Add(Samples.Event(comm: "swapper/1", source: "192.0.2.10", sourcePort: (ushort)(40000 + random.Next(50)), destinationPort: 8080, time: time));
                            break;
                        case 1:
                            tooSmall++;
                            batch.Add(Samples.Event(reason: "PKT_TOO_SMALL", reasonCode: 8, protocol: 17, source: "198.51.100.7", destinationPort: 53, comm: "ksoftirqd/0", ifname: "veth-dns", ifindex: 7, time: time));
                            break;
                        case 2:
                            netfilter++;
                            batch.Add(Samples.Event(reason: "NETFILTER_DROP", reasonCode: 14, source: "2001:db8::5", destination: "2001:db8::1", destinationPort: 443, comm: "nginx", ifname: "eth1", ifindex: 3, time: time));
                            break;
                        default:
                            unspecified++;
                            batch.Add(Samples.Event(reason: "NOT_SPECIFIED", reasonCode: 2, protocol: 1, comm: "ping", time: time));
                            break;
                    }
                }
                host.Source.Push(batch);
                host.Source.SetCounters(
                    new CounterEntry(3, 6, 2, Netns, noSocket * 3, noSocket * 180, 0xffffffff81a00000),
                    new CounterEntry(8, 17, 7, Netns, tooSmall * 3, tooSmall * 90, 0xffffffff81b00000),
                    new CounterEntry(14, 6, 3, Netns, netfilter * 3, netfilter * 240, 0xffffffff81c00000),
                    new CounterEntry(2, 1, 2, Netns, unspecified * 3, unspecified * 84, 0xffffffff81d00000));
                host.Source.SetLocations(
                    new LocationCount(3, 0xffffffff81a00000, "tcp_v4_rcv+0x1a2", noSocket * 3),
                    new LocationCount(8, 0xffffffff81b00000, "__udp4_lib_rcv+0x9b1", tooSmall * 3),
                    new LocationCount(14, 0xffffffff81c00000, "nf_hook_slow+0xa8", netfilter * 3),
                    new LocationCount(2, 0xffffffff81d00000, "icmp_rcv+0x1c6", unspecified * 3));
                host.Source.SetLosses(new EventLosses { RingBufferFull = (ulong)second * 3 });
                devices.SetDevices(FakeBlindSpots.Device("eth0", 2, Netns, rxMissed: (ulong)(second * 40 + tick * 9)),
                    FakeBlindSpots.Device("veth-dns", 7, 4026532001, "dns", txDropped: (ulong)(second * 2)));
                devices.SetSoftnet(new(0, 1000, (uint)second, (uint)(second * 5 + tick), 0), new(1, 1000, 0, (uint)second, 0));
                await Task.Delay(250, TestContext.Current.CancellationToken);
            }
        }
        await Expect(page.ChartBox).ToHaveAttributeAsync("data-series", new Regex("NO_SOCKET"));
        await page.Page.WaitForTimeoutAsync(300);

        string file = ArtifactPath("dashboard.png");
        await page.Page.ScreenshotAsync(new() { Path = file, FullPage = true });

        Assert.True(new FileInfo(file).Length > 10_000, $"{file} looks empty");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task HighEventRate_TableStaysCappedAndThePageResponsive()
    {
        await using var host = await StartHostAsync();
        await using var page = await OpenAsync(host);
        await Expect(page.Badge).ToHaveTextAsync("Running");
        // Count animation frames and dashboard DOM updates in the page while events pour in.
        await page.Page.EvaluateAsync("""
            () => {
              window.__frames = 0;
              const tick = () => { window.__frames++; requestAnimationFrame(tick); };
              requestAnimationFrame(tick);
              window.__mutations = 0;
              new MutationObserver(() => window.__mutations++).observe(document.getElementById("event-rows"), { childList: true });
            }
            """);

        // 2,000 events a second for 5 s: more than the live feed's 200 per message, 10 messages a second.
        var started = DateTime.UtcNow;
        ulong pushed = 0;
        for (int tick = 0; tick < 50; tick++)
        {
            var now = DateTimeOffset.UtcNow;
            var batch = Samples.Many(200, $"burst{tick}-");
            for (int i = 0; i < batch.Count; i++)
                batch[i] = batch[i] with { Timestamp = now.AddMicroseconds(i) };
            host.Source.Push(batch);
            pushed += (ulong)batch.Count;
            host.Source.SetCounters(new CounterEntry(3, 6, 2, Netns, pushed, pushed * 60));
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        double seconds = (DateTime.UtcNow - started).TotalSeconds;
        int frames = await page.Page.EvaluateAsync<int>("() => window.__frames");
        int updates = await page.Page.EvaluateAsync<int>("() => window.__mutations");

        await Expect(page.Rows).ToHaveCountAsync(500);
        await Expect(page.Page.GetByTestId("card-total")).ToContainTextAsync("10,000");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{pushed} events in {seconds:F1} s: {frames / seconds:F0} frames/s, {updates / seconds:F1} table updates/s");
        Assert.True(frames / seconds > 5, $"the page drew {frames / seconds:F0} frames/s under load");
        Assert.True(updates / seconds <= 12, $"the table was updated {updates / seconds:F1} times/s (at most ~10 expected)");
        Assert.Empty(page.Errors);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>build/test-artifacts/NAME under the repository root (created).</summary>
    private static string ArtifactPath(string name)
    {
        string folder = Path.Combine(RepositoryRoot(), "build", "test-artifacts");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    [Fact]
    public async Task RangePicker_LastHour_ShowsRecordedDropsAndEvents_AndLiveComesBack()
    {
        var folder = Directory.CreateTempSubdirectory("pm-browser-history-");
        try
        {
            await using var host = await StartHostAsync(history: new PacketMonitor.Core.History.HistoryOptions
            {
                DatabasePath = Path.Combine(folder.FullName, "history.db"),
                FlushInterval = TimeSpan.FromMilliseconds(100),
            });
            var then = DateTimeOffset.UtcNow.AddMinutes(-10);
            Assert.True(host.Source.Push(Enumerable.Range(0, 3).Select(i => Samples.Event(comm: $"old{i}", time: then.AddSeconds(i))).ToList()));
            host.Source.SetCounters(new CounterEntry(3, 6, 2, Netns, 7, 420));
            await Wait.UntilAsync(() => host.History!.Status is { EventsWritten: 3, RowsWritten: >= 4 }, "the drops in the database");
            await using var page = await OpenAsync(host);
            await Expect(page.Page.GetByTestId("history-badge")).ToContainTextAsync("History ");
            await Expect(page.Page.GetByTestId("history-badge")).ToHaveAttributeAsync("data-state", "ok");

            await page.Page.GetByTestId("range-select").SelectOptionAsync("1h");

            await Expect(page.ChartBox).ToHaveAttributeAsync("data-window-total", "7");
            await Expect(page.ChartBox).ToHaveAttributeAsync("data-series", "NO_SOCKET");
            await Expect(page.Rows).ToHaveCountAsync(3);
            await Expect(page.Rows.First.Locator("td").Nth(6)).ToHaveTextAsync("old2");
            await Expect(page.Page.GetByTestId("events-info")).ToContainTextAsync("from history");

            await page.Page.GetByTestId("range-select").SelectOptionAsync("live");
            await Expect(page.Page.GetByTestId("events-info")).Not.ToContainTextAsync("from history");
            await Expect(page.ChartBox).ToHaveAttributeAsync("data-points", HasPoints);
            Assert.Empty(page.Errors);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static Task<DashboardHost> StartHostAsync(Action<DashboardOptions>? configure = null, bool monitoring = true,
        FakeBlindSpots? blindSpots = null, PacketMonitor.Core.History.HistoryOptions? history = null) =>
        DashboardHost.StartAsync(o =>
        {
            o.WebRoot = WebRoot();
            configure?.Invoke(o);
        }, monitoring, withWebRoot: false, blindSpots: blindSpots, history: history);

    private async Task<BrowserPage> OpenAsync(DashboardHost host, string path = "/")
    {
        var browser = chromium.Require();
        var context = await browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 1400, Height = 1000 },
            Locale = "en-US",
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(10_000);
        var page = await context.NewPageAsync();
        var result = new BrowserPage(context, page);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                result.Errors.Add($"console: {message.Text}");
        };
        page.PageError += (_, error) => result.Errors.Add($"page error: {error}");
        var response = await page.GotoAsync(host.Url(path).ToString());
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        return result;
    }

    /// <summary>The npm-built web root: copied beside the test assembly by the build, else the source tree's.</summary>
    private static string WebRoot()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (File.Exists(Path.Combine(beside, "index.html")) && File.Exists(Path.Combine(beside, "app.js")))
            return beside;
        string source = Path.Combine(RepositoryRoot(), "src", "PacketMonitor.Web", "wwwroot");
        Assert.True(File.Exists(Path.Combine(source, "index.html")),
            $"the dashboard was not built ({source}/index.html is missing): build src/PacketMonitor.Web with npm on PATH");
        return source;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PacketMonitor.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no PacketMonitor.sln above {AppContext.BaseDirectory}");
    }

    private sealed class BrowserPage(IBrowserContext context, IPage page) : IAsyncDisposable
    {
        public IPage Page { get; } = page;
        public List<string> Errors { get; } = [];
        public ILocator Badge => Page.GetByTestId("status-badge");
        public ILocator Rows => Page.Locator("#event-rows > tr");
        public ILocator ChartBox => Page.GetByTestId("drops-chart-box");

        private bool _closed;

        public async ValueTask DisposeAsync()
        {
            if (_closed)
                return;
            _closed = true;
            await context.CloseAsync();
        }
    }
}

/// <summary>
/// One headless Debian chromium for the browser tests (never a browser downloaded by Playwright).
/// Without /usr/bin/chromium the tests are skipped, except in CI (CI=true), where they fail.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
            return;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Arguments,
            Timeout = 60_000,
        });
    }

    /// <summary>The browser, or the test is skipped (failed in CI) when chromium is not installed.</summary>
    public IBrowser Require()
    {
        if (_browser is not null)
            return _browser;
        string missing = $"{ExecutablePath} is missing: install Debian's chromium (make deps, or apt-get install -y chromium)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail(missing);
        Assert.Skip(missing);
        throw new InvalidOperationException("unreachable");
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.CloseAsync();
        _playwright?.Dispose();
    }
}
