// Dashboard under load, the browser side (started by run.sh).
//
//   node measure.mjs URL [PAGES]
//
// Opens PAGES (default 2) dashboard pages, each in its own browser context (its own
// SignalR connection), in headless Chromium. In each page: frames counted with
// requestAnimationFrame, live updates with MutationObservers (rows added to the event
// table, changes of the "Total drops" card), long tasks with a PerformanceObserver.
// Node samples every page once a second; the round trip of that sample is the page's
// response time. Prints "ready" on stderr once every page shows Running.
// SIGUSR2: the load starts / ends (samples in between count as "load"). SIGUSR1: finish: check that
// every page still responds (status badge readable; a click and typing in the search
// filter empties the event table), print one JSON object on stdout, exit.
import { chromium } from "playwright-core";

const url = process.argv[2];
const pageCount = Number(process.argv[3] ?? 2);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run"];

// Runs in each page before its own scripts.
function probe() {
  const b = (window.__bench = { frames: 0, rows: 0, cards: 0, longTasks: 0, longTaskMs: 0, maxLongTaskMs: 0 });
  const tick = () => { b.frames++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      b.longTasks++; b.longTaskMs += e.duration; b.maxLongTaskMs = Math.max(b.maxLongTaskMs, e.duration);
    }
  }).observe({ type: "longtask", buffered: true });
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver((ms) => { for (const m of ms) b.rows += m.addedNodes.length; })
      .observe(document.getElementById("event-rows"), { childList: true });
    new MutationObserver(() => { b.cards++; })
      .observe(document.getElementById("card-total"), { childList: true, characterData: true, subtree: true });
  });
}

let load = false;
let finishing = false;
process.on("SIGUSR2", () => { load = !load; });
const done = new Promise((resolve) => process.on("SIGUSR1", resolve));

const log = (msg) => process.stderr.write(`measure: ${msg}\n`);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
const pages = [];
for (let i = 0; i < pageCount; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => log(`page ${i + 1}: ${e.message}`));
  await page.addInitScript(probe);
  await page.goto(url);
  await page.locator("#status-badge[data-state=running]").waitFor({ timeout: 30000 });
  pages.push({ page, samples: [], last: null });
}
log("ready");

async function sample(p) {
  const t0 = performance.now();
  const now = await p.page.evaluate(() => ({ ...window.__bench, t: performance.now() }));
  const responseMs = performance.now() - t0;
  if (p.last) {
    const s = (now.t - p.last.t) / 1000;
    p.samples.push({
      load, response_ms: responseMs,
      fps: (now.frames - p.last.frames) / s,
      rows_per_s: (now.rows - p.last.rows) / s,
      card_updates_per_s: (now.cards - p.last.cards) / s,
      long_tasks: now.longTasks - p.last.longTasks,
      long_task_ms_per_s: (now.longTaskMs - p.last.longTaskMs) / s,
    });
  }
  p.last = now;
}

const sampler = (async () => {
  while (!finishing) {
    const next = performance.now() + 1000;
    await Promise.all(pages.map(sample));
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
})();

await done;
finishing = true;
await sampler;

// Still responsive? The badge reads, and the search filter (click, type) empties the table.
async function check(p) {
  const t0 = performance.now();
  const badge = await p.page.locator("#status-badge").textContent({ timeout: 10000 });
  const input = p.page.locator("#filter-text");
  await input.click({ timeout: 10000 });
  await input.fill("no-such-event-zzz", { timeout: 10000 });
  let filterWorks = true;
  try {
    await p.page.locator("#event-table[data-rows='0']").waitFor({ timeout: 10000 });
  } catch { filterWorks = false; }
  return { badge, filter_works: filterWorks, check_ms: performance.now() - t0 };
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);
const result = [];
for (const [i, p] of pages.entries()) {
  const checked = await check(p).catch((e) => ({ badge: null, filter_works: false, error: String(e) }));
  const s = p.samples.filter((x) => x.load);
  const bench = await p.page.evaluate(() => window.__bench);
  result.push({
    page: i + 1, samples: s.length,
    fps_mean: round(mean(s.map((x) => x.fps))), fps_min: round(Math.min(...s.map((x) => x.fps))),
    rows_per_s_mean: round(mean(s.map((x) => x.rows_per_s))),
    card_updates_per_s_mean: round(mean(s.map((x) => x.card_updates_per_s))),
    response_ms_mean: round(mean(s.map((x) => x.response_ms))),
    response_ms_max: round(Math.max(...s.map((x) => x.response_ms))),
    long_tasks: s.reduce((a, x) => a + x.long_tasks, 0),
    long_task_ms_per_s_mean: round(mean(s.map((x) => x.long_task_ms_per_s))),
    long_task_ms_max: round(bench.maxLongTaskMs), // over the whole run, page load included
    ...checked, check_ms: round(checked.check_ms),
    per_second: s.map(({ fps, rows_per_s, card_updates_per_s, response_ms }) =>
      ({ fps: round(fps), rows: round(rows_per_s), cards: round(card_updates_per_s), response_ms: round(response_ms) })),
  });
}
await browser.close();
process.stdout.write(JSON.stringify(result) + "\n");
