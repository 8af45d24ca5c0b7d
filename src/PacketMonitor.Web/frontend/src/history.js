// Pure helpers of the dashboard's history view (time ranges, the rates chart, the recorder's state).
// No DOM here: node --test covers them (test/history.test.mjs).

import { formatBytes, formatClock, formatCount } from "./format.js";

/** The choices of the range picker, in seconds back from now (custom has its own from/to). */
export const RANGES = { "5m": 300, "1h": 3600, "24h": 86400 };

/**
 * The [from, to) of a picker choice, in Unix seconds: "live" gives null; "5m", "1h", "24h" end now;
 * "custom" takes the two datetime-local values (local time). Throws an Error with a one-line message
 * for a custom range that is incomplete or backwards.
 */
export function rangeFor(choice, nowMs, customFrom = "", customTo = "") {
  if (choice === "live") return null;
  const now = Math.floor(nowMs / 1000);
  if (choice in RANGES) return { from: now - RANGES[choice], to: now + 1 };
  if (choice !== "custom") throw new Error(`unknown range "${choice}"`);
  const from = Date.parse(customFrom);
  const to = Date.parse(customTo);
  if (Number.isNaN(from) || Number.isNaN(to)) throw new Error("pick both a start and an end time");
  if (from >= to) throw new Error("the start must be before the end");
  return { from: Math.floor(from / 1000), to: Math.ceil(to / 1000) };
}

/** Query strings of /api/history/rates and /api/events for a range (the server picks the step). */
export function historyQueries(range, eventLimit = 500) {
  const span = `from=${range.from}`;
  return {
    rates: `api/history/rates?${span}&to=${range.to}`,
    events: `api/events?${span}&until=${range.to}&limit=${eventLimit}`,
  };
}

/**
 * A /api/history/rates body as chart data: one label per bucket, one dataset per reason (the biggest
 * `maxSeries` by total, the rest summed into `otherName`), values in drops per bucket.
 */
export function ratesToChart(body, maxSeries = 10, otherName = "other reasons") {
  const timestamps = Array.isArray(body?.timestamps) ? body.timestamps : [];
  const step = Number(body?.step) || 1;
  const labels = timestamps.map((t) => bucketLabel(t, step, timestamps.length > 0 ? timestamps[timestamps.length - 1] - timestamps[0] : 0));
  const series = (Array.isArray(body?.series) ? body.series : [])
    .map((s) => ({ name: String(s.reason), data: timestamps.map((_, k) => Number(s.packets?.[k]) || 0) }))
    .map((s) => ({ ...s, total: s.data.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  const kept = series.slice(0, maxSeries);
  const rest = series.slice(maxSeries);
  if (rest.length > 0) {
    kept.push({ name: otherName, data: timestamps.map((_, k) => rest.reduce((sum, s) => sum + s.data[k], 0)), total: 0 });
  }
  return { labels, step, datasets: kept.map((s) => ({ label: s.name, data: s.data })) };
}

/** Local time of a bucket: "12:34:05" (steps under a minute), "12:34", or "03-01 12:34" when the range spans a day or more. */
export function bucketLabel(unixSeconds, step, span) {
  const date = new Date(unixSeconds * 1000);
  const clock = formatClock(date.toISOString());
  if (span < 86400) return step < 60 ? clock : clock.slice(0, 5);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock.slice(0, 5)}`;
}

/** "drops per 5 min", "drops per s": the chart's y axis in history mode. */
export function stepUnit(step) {
  if (step % 86400 === 0) return `drops per ${step / 86400 === 1 ? "" : `${step / 86400} `}day`;
  if (step % 3600 === 0) return `drops per ${step / 3600 === 1 ? "" : `${step / 3600} `}h`;
  if (step % 60 === 0) return `drops per ${step / 60 === 1 ? "" : `${step / 60} `}min`;
  return `drops per ${step === 1 ? "" : `${step} `}s`;
}

/** The history badge: { state: ok|failed|disabled|unknown, text, title } from /api/stats' `history`. */
export function historyStatus(history) {
  if (!history || typeof history !== "object") return { state: "unknown", text: "History ?", title: "" };
  const written = `${formatCount(history.rows_written)} rows written, ${formatCount(history.rows_lost)} lost`;
  if (history.state === "ok") {
    return { state: "ok", text: `History ${formatBytes(history.database_bytes)}`, title: `Recording into ${history.path ?? "?"}: ${written}` };
  }
  if (history.state === "failed") {
    return { state: "failed", text: "History failed", title: `${history.message ?? "the history database cannot be used"} (${written}); live monitoring goes on` };
  }
  return { state: "disabled", text: "History off", title: "serve was started with --no-history: only the live view is available" };
}
