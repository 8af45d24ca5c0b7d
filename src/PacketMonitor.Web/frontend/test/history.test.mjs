// Unit tests of the history view's pure helpers: node --test (npm test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketLabel, historyQueries, historyStatus, rangeFor, ratesToChart, stepUnit } from "../src/history.js";

process.env.TZ = "UTC"; // labels are local time: pin it

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0, 500);
const NOW_S = Math.floor(NOW / 1000);

test("rangeFor_Live_IsNull", () => {
  assert.equal(rangeFor("live", NOW), null);
});

test("rangeFor_Presets_EndNowAndReachBack", () => {
  assert.deepEqual(rangeFor("5m", NOW), { from: NOW_S - 300, to: NOW_S + 1 });
  assert.deepEqual(rangeFor("24h", NOW), { from: NOW_S - 86400, to: NOW_S + 1 });
});

test("rangeFor_Custom_ParsesBothEndsAndRejectsBadOnes", () => {
  assert.deepEqual(rangeFor("custom", NOW, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00.2Z"),
    { from: Date.UTC(2026, 2, 1, 10) / 1000, to: Date.UTC(2026, 2, 1, 11) / 1000 + 1 });
  assert.throws(() => rangeFor("custom", NOW, "", "2026-03-01T11:00"), /both a start and an end/);
  assert.throws(() => rangeFor("custom", NOW, "2026-03-01T11:00Z", "2026-03-01T10:00Z"), /start must be before the end/);
  assert.throws(() => rangeFor("week", NOW), /unknown range/);
});

test("historyQueries_Range_RatesAndEventsOverTheSameSpan", () => {
  assert.deepEqual(historyQueries({ from: 100, to: 200 }, 50), {
    rates: "api/history/rates?from=100&to=200",
    events: "api/events?from=100&until=200&limit=50",
  });
});

test("ratesToChart_ManyReasons_BiggestKeptRestSummedIntoOther", () => {
  const body = {
    step: 60,
    timestamps: [0, 60, 120],
    series: [
      { reason: "A", packets: [1, 0, 0] },
      { reason: "B", packets: [5, 5, 5] },
      { reason: "C", packets: [0, 2, 0] },
      { reason: "D", packets: [1, 1, 1] },
    ],
  };
  const chart = ratesToChart(body, 2);
  assert.deepEqual(chart.labels, ["00:00", "00:01", "00:02"]);
  assert.deepEqual(chart.datasets.map((d) => d.label), ["B", "D", "other reasons"]);
  assert.deepEqual(chart.datasets[2].data, [1, 2, 0]);
  const total = (c) => c.datasets.reduce((sum, d) => sum + d.data.reduce((a, b) => a + b, 0), 0);
  assert.equal(total(chart), 21); // nothing lost by folding
});

test("ratesToChart_EmptyOrMalformed_GivesNoSeries", () => {
  assert.deepEqual(ratesToChart({}).datasets, []);
  assert.deepEqual(ratesToChart(null).labels, []);
});

test("bucketLabel_Spans_SecondsMinutesOrDates", () => {
  const t = Date.UTC(2026, 2, 1, 12, 34, 5) / 1000;
  assert.equal(bucketLabel(t, 1, 300), "12:34:05");
  assert.equal(bucketLabel(t, 60, 3600), "12:34");
  assert.equal(bucketLabel(t, 300, 86400), "03-01 12:34");
});

test("stepUnit_Steps_ReadAsUnits", () => {
  assert.equal(stepUnit(1), "drops per s");
  assert.equal(stepUnit(15), "drops per 15 s");
  assert.equal(stepUnit(300), "drops per 5 min");
  assert.equal(stepUnit(3600), "drops per h");
  assert.equal(stepUnit(86400), "drops per day");
});

test("historyStatus_States_BadgeTextAndReason", () => {
  assert.equal(historyStatus({ state: "ok", database_bytes: 2048, rows_written: 5, rows_lost: 0, path: "/x.db" }).state, "ok");
  const failed = historyStatus({ state: "failed", message: "history database /x.db is read-only", rows_written: 1, rows_lost: 9 });
  assert.equal(failed.text, "History failed");
  assert.match(failed.title, /read-only .*live monitoring goes on/);
  assert.equal(historyStatus({ state: "disabled" }).text, "History off");
  assert.equal(historyStatus(undefined).state, "unknown");
});
