// packet-monitor dashboard.
//
// One SignalR connection (/hubs/monitor) feeds everything:
//   initial_data {stats, events}   on (re)connect
//   status {running, attach_mode, started_at}
//   packet_events {events, omitted} at most ~10 per second
//   stats                           once per second (the chart uses the deltas of its exact by_reason counts)
// Messages only update state; render() applies the state to the DOM at most every
// RENDER_INTERVAL_MS. Kernel strings (reason, comm, ifname, location) only ever reach
// the DOM through textContent: this file never uses innerHTML.

import {
  eventKey, eventMatches, formatBytes, formatClock, formatCount, formatCounterRate, formatFlow, formatInterface,
  formatOwner, formatProtocol, formatRate, formatTime, hexDump, parseHex, pcapngQuery, unseenDropRate,
} from "./format.js";
import { historyQueries, historyStatus, rangeFor, ratesToChart, stepUnit } from "./history.js";

const MAX_EVENTS = 500;          // rows kept in the live table
const CHART_SECONDS = 300;       // chart window: 5 minutes of 1 s points
const MAX_CHART_SERIES = 10;     // reasons with their own colour; the rest share one series
const OTHER_SERIES = "other reasons";
const RENDER_INTERVAL_MS = 100;  // at most 10 DOM updates per second
const CHART_INTERVAL_MS = 1000;  // the chart is redrawn at most once a second
const START_RETRY_MS = 2000;
const TOP_ROWS = 10;

const COLOURS = [
  "#e6550d", "#3182bd", "#31a354", "#756bb1", "#d6616b", "#17becf", "#bcbd22", "#8c6d31", "#e377c2", "#636363",
];
const OTHER_COLOUR = "#9e9e9e";

const $ = (id) => document.getElementById(id);

// The token of a non-loopback server (?access_token=...): kept in the URL, sent to the hub and the API.
const accessToken = new URLSearchParams(window.location.search).get("access_token") ?? "";

const state = {
  connected: false,
  everFailed: false,        // a connection was lost or refused: show "Disconnected, reconnecting…" until connected
  status: null,             // last `status` message
  stats: null,              // last `stats` message
  entries: [],              // kept events, newest first: { event, key, time, row }
  byKey: new Map(),         // key -> entry
  incoming: [],             // events received since the last render
  rebuild: false,           // the table must be redrawn from `entries`
  paused: false,
  newWhilePaused: 0,
  omitted: 0,               // events the server left out of live batches for this page
  filter: { reason: "", protocol: "", text: "", hideUnspecified: false },
  reasons: new Map(),       // name -> { code, explanation, hint }
  history: null,            // null: live; else the history view { range, entries, byKey, source, error }
  dirty: { status: true, stats: false, events: true, chart: false },
};

// ---------------------------------------------------------------- DOM helpers

/** A new element whose content is plain text. */
function textElement(tag, text, className) {
  const element = document.createElement(tag);
  if (text != null) element.textContent = String(text);
  if (className) element.className = className;
  return element;
}

function setText(id, text) {
  const element = $(id);
  const value = String(text ?? "");
  if (element.textContent !== value) element.textContent = value;
}

/**
 * Replaces a table body with one row per item;
 * columns: [{ value: item => text, num?: bool, title?: item => text, detail?: item => text (a second, muted line) }].
 */
function fillTable(tableId, items, columns, emptyText = "Nothing yet.") {
  const body = $(tableId).tBodies[0];
  const fragment = document.createDocumentFragment();
  for (const item of items) {
    const row = document.createElement("tr");
    for (const column of columns) {
      const cell = textElement("td", column.value(item), column.num ? "num" : column.className);
      if (column.title) cell.title = String(column.title(item) ?? "");
      const detail = column.detail?.(item);
      if (detail) cell.append(textElement("div", detail, "hint muted"));
      row.append(cell);
    }
    fragment.append(row);
  }
  if (items.length === 0) {
    const cell = textElement("td", emptyText, "muted");
    cell.colSpan = columns.length;
    const row = document.createElement("tr");
    row.append(cell);
    fragment.append(row);
  }
  body.replaceChildren(fragment);
}

// ---------------------------------------------------------------- rendering

let renderTimer = 0;
let lastRender = 0;

function scheduleRender() {
  if (renderTimer) return;
  const wait = Math.max(0, lastRender + RENDER_INTERVAL_MS - performance.now());
  renderTimer = setTimeout(() => {
    renderTimer = 0;
    lastRender = performance.now();
    render();
  }, wait);
}

let lastChartDraw = -Infinity;
let chartTimer = 0;

function render() {
  const dirty = state.dirty;
  state.dirty = { status: false, stats: false, events: false, chart: false };
  if (dirty.status) renderStatus();
  if (dirty.stats) renderStats();
  if (dirty.chart) {
    const wait = lastChartDraw + CHART_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      lastChartDraw = performance.now();
      renderChart();
    } else if (!chartTimer) {
      chartTimer = setTimeout(() => {
        chartTimer = 0;
        state.dirty.chart = true;
        scheduleRender();
      }, wait);
    }
  }
  if (state.incoming.length > 0) ingestIncoming();
  if (state.rebuild) rebuildEventTable();
  if (dirty.events || state.dirty.events) {
    state.dirty.events = false;
    renderEventInfo();
  }
}

function currentStatus() {
  if (state.status) return state.status;
  if (state.stats) return { running: state.stats.running, attach_mode: state.stats.attach_mode, started_at: state.stats.started_at };
  return null;
}

function renderStatus() {
  const status = currentStatus();
  const badge = $("status-badge");
  let badgeState = "unknown";
  let badgeText = state.connected ? "Unknown" : "Connecting…";
  if (status) {
    badgeState = status.running ? "running" : "stopped";
    badgeText = status.running ? "Running" : "Stopped";
  }
  if (badge.dataset.state !== badgeState) badge.dataset.state = badgeState;
  setText("status-badge", badgeText);
  setText("attach-mode", status?.running && status.attach_mode ? status.attach_mode : "");
  setText("started-at", status?.running && status.started_at ? `since ${formatTime(status.started_at).slice(0, 8)}` : "");
  $("connection-state").hidden = state.connected || !state.everFailed;
  $("start-button").disabled = !state.connected || !status || status.running === true;
  $("stop-button").disabled = !state.connected || !status || status.running === false;
}

/** Events lost on the way: kernel ring full, userspace queue full, live clients too slow. (`filtered` is on purpose, not a loss.) */
function sumLost(lost) {
  return (Number(lost?.ring_buffer_full) || 0) + (Number(lost?.queue_full) || 0) + (Number(lost?.slow_clients) || 0) + (Number(lost?.history) || 0);
}

function renderStats() {
  const stats = state.stats;
  if (!stats) return;
  const recording = historyStatus(stats.history);
  const badge = $("history-badge");
  if (badge.dataset.state !== recording.state) badge.dataset.state = recording.state;
  setText("history-badge", recording.text);
  badge.title = recording.title;
  setText("card-total", formatCount(stats.total_drops));
  setText("card-bytes", stats.total_bytes != null ? formatBytes(stats.total_bytes) : "");
  setText("card-tcp", formatCount(stats.tcp_drops));
  setText("card-udp", formatCount(stats.udp_drops));
  setText("card-other", formatCount(stats.other_drops));
  setText("card-rate", formatRate(stats.drops_per_second?.last_1s));
  setText("card-rate-minute", stats.drops_per_second?.last_1m != null ? `last minute: ${formatRate(stats.drops_per_second.last_1m)}/s` : "");
  const lost = stats.events_lost ?? {};
  setText("card-lost", formatCount(sumLost(lost)));
  setText("card-lost-detail",
    `ring ${formatCount(lost.ring_buffer_full)} · queue ${formatCount(lost.queue_full)} · ` +
    `slow clients ${formatCount(lost.slow_clients)}` + (lost.history ? ` · history ${formatCount(lost.history)}` : "") + (lost.filtered ? ` (+${formatCount(lost.filtered)} filtered on purpose)` : ""));

  const top = (items) => [...(items ?? [])].sort((a, b) => (b.count ?? 0) - (a.count ?? 0)).slice(0, TOP_ROWS);

  const hintOf = (r) => r.hint || state.reasons.get(r.name)?.hint || "";
  const explanationOf = (r) => r.explanation || state.reasons.get(r.name)?.explanation || "";
  fillTable("reasons-table", top(stats.by_reason), [
    { value: (r) => r.name, className: "nowrap", title: (r) => [explanationOf(r), hintOf(r)].filter(Boolean).join(" ") },
    { value: (r) => r.code, num: true },
    { value: (r) => formatCount(r.count), num: true },
    { value: explanationOf, title: hintOf, detail: (r) => (hintOf(r) ? `What to do: ${hintOf(r)}` : "") },
  ], "No drops yet.");
  renderBlindSpots(stats.blind_spots);
  fillTable("flows-table", top(stats.top_flows), [
    { value: (f) => f.source },
    { value: (f) => f.destination },
    { value: (f) => f.protocol },
    { value: (f) => formatCount(f.count), num: true },
  ], "No flows yet.");
  fillTable("interfaces-table", top(stats.by_interface), [
    { value: (i) => i.name || (i.ifindex ? `if ${i.ifindex}` : "(none)") },
    { value: (i) => i.ifindex, num: true },
    { value: (i) => i.netns, num: true },
    { value: (i) => formatCount(i.count), num: true },
  ], "No interfaces yet.");
  fillTable("workloads-table", top(stats.top_workloads), [
    { value: (w) => w.workload, title: (w) => (w.owner_pid != null ? `pid ${w.owner_pid}` : "") },
    { value: (w) => w.cgroup ?? "", className: "mono" },
    { value: (w) => formatCount(w.count), num: true },
  ], "No drops with a socket owner yet.");
  fillTable("locations-table", top(stats.top_locations), [
    { value: (l) => l.location, className: "mono" },
    { value: (l) => l.reason, className: "nowrap" },
    { value: (l) => formatCount(l.count), num: true },
  ], "No locations yet.");

  for (const reason of stats.by_reason ?? []) {
    addFilterOption("filter-reason", reason.name);
    if (reason.explanation && !state.reasons.get(reason.name)?.explanation) {
      state.reasons.set(reason.name, { ...state.reasons.get(reason.name), code: reason.code, explanation: reason.explanation });
    }
  }
  for (const protocol of stats.by_protocol ?? []) addFilterOption("filter-protocol", protocol.protocol);
}

// ---------------------------------------------------------------- drops kfree_skb cannot see

const BLIND_DEVICE_ROWS = 10;
const BLIND_NOTE_LABELS = [
  ["rx_dropped", "rx dropped"], ["tx_dropped", "tx dropped"], ["rx_missed", "rx missed"], ["rx_fifo", "rx fifo"],
  ["softnet_dropped", "backlog full"], ["time_squeeze", "time squeeze"], ["flow_limit", "flow limit"],
];
let shownNotes = "";

/** The "Drops kfree_skb cannot see" panel and card from `blind_spots` (device and softnet counters). */
function renderBlindSpots(blind) {
  const notes = blind?.notes ?? {};
  if (!blind) {
    setText("card-unseen", "–");
    setText("card-unseen-note", "not sampled by this server");
    setText("blind-more", "This server samples no device or softnet counters.");
  } else {
    const all = blind.all_interfaces ?? {};
    const deviceTotal = ["rx_dropped", "tx_dropped", "rx_missed"].reduce((sum, name) => sum + (Number(all[name]?.total) || 0), 0);
    setText("card-unseen", formatRate(unseenDropRate(blind)));
    setText("card-unseen-note", `since start: devices ${formatCount(deviceTotal)} · backlog ${formatCount(blind.softnet?.dropped?.total)}`);
    const devices = blind.interfaces ?? [];
    const shown = Math.min(devices.length, BLIND_DEVICE_ROWS);
    setText("blind-more", `Covers ${blind.coverage || "this network namespace"}: ${formatCount(blind.interface_count)} devices in ` +
      `${formatCount(blind.namespaces)} namespaces, the ${shown} with the most drops listed.`);
  }
  for (const th of $("blind-devices-table").querySelectorAll("th[data-note]")) th.title = notes[th.dataset.note] ?? "";

  const counter = (name) => ({ value: (d) => formatCounterRate(d[name]), num: true, title: () => notes[name] ?? "" });
  fillTable("blind-devices-table", (blind?.interfaces ?? []).slice(0, BLIND_DEVICE_ROWS), [
    { value: (d) => d.name || `if ${d.ifindex}`, title: (d) => `ifindex ${d.ifindex}` },
    { value: (d) => d.netns_name || d.netns, title: (d) => `netns ${d.netns}` },
    counter("rx_dropped"), counter("tx_dropped"), counter("rx_missed"), counter("rx_fifo"),
  ], blind ? "No devices read." : "Not sampled by this server.");

  const softnet = blind?.softnet;
  const softnetRows = !softnet ? [] : [
    ["backlog full (dropped)", "softnet_dropped", softnet.dropped],
    ["time squeeze (not a drop)", "time_squeeze", softnet.time_squeeze],
    ...(softnet.flow_limit ? [["flow limit", "flow_limit", softnet.flow_limit]] : []),
  ];
  fillTable("blind-softnet-table", softnetRows, [
    { value: (r) => r[0], title: (r) => notes[r[1]] ?? "" },
    { value: (r) => formatRate(r[2]?.per_second), num: true },
    { value: (r) => formatCount(r[2]?.total), num: true },
  ], blind ? "/proc/net/softnet_stat was not read." : "Not sampled by this server.");

  const noteText = JSON.stringify(notes);
  if (noteText !== shownNotes) {
    shownNotes = noteText;
    const fragment = document.createDocumentFragment();
    for (const [name, label] of BLIND_NOTE_LABELS) {
      if (!notes[name]) continue;
      const item = document.createElement("div");
      item.dataset.note = name;
      item.append(textElement("dt", label), textElement("dd", notes[name]));
      fragment.append(item);
    }
    $("blind-notes").replaceChildren(fragment);
  }

  const problems = blind?.problems ?? [];
  $("blind-problems").hidden = problems.length === 0;
  setText("blind-problems", problems.length ? `Not read: ${problems.join("; ")}` : "");
}

/** Adds an option to a filter select once, in alphabetical order, keeping the selection. */
function addFilterOption(selectId, value) {
  if (!value) return;
  const select = $(selectId);
  const options = select.options;
  let before = null;
  for (let i = 1; i < options.length; i++) {
    if (options[i].value === value) return;
    if (before === null && options[i].value.localeCompare(value) > 0) before = options[i];
  }
  const option = textElement("option", value);
  option.value = value;
  select.insertBefore(option, before);
}

// ---------------------------------------------------------------- live events

function newestFirst(a, b) {
  return b.time - a.time || (Number(b.event.id) || 0) - (Number(a.event.id) || 0);
}

function makeRow(entry) {
  const event = entry.event;
  const row = document.createElement("tr");
  row.dataset.key = entry.key;
  row.dataset.testid = "event-row";
  row.tabIndex = 0;
  const reason = textElement("td", event.reason, "nowrap");
  reason.title = `${event.reason_code ?? ""} ${state.reasons.get(event.reason)?.explanation ?? ""}`.trim();
  row.append(
    textElement("td", formatTime(event.timestamp), "mono"),
    reason,
    textElement("td", formatFlow(event), "mono"),
    textElement("td", formatProtocol(event)),
    textElement("td", event.length, "num"),
    textElement("td", formatInterface(event)),
    textElement("td", event.comm),
    ownerCell(event),
    textElement("td", event.netns_name ?? ""),
  );
  return row;
}

function ownerCell(event) {
  const cell = textElement("td", formatOwner(event));
  const details = [event.owner_pid != null ? `pid ${event.owner_pid} (${event.owner_comm ?? "?"})` : "", event.cgroup ?? ""];
  cell.title = details.filter(Boolean).join(", ");
  return cell;
}

function rowFor(entry) {
  entry.row ??= makeRow(entry);
  return entry.row;
}

let unnumbered = 0;

/** Moves received events into the kept list (newest first, capped) and the table. */
function ingestIncoming() {
  const fresh = [];
  for (const event of state.incoming) {
    // id 0: the event had left the server's window before it was sent; it cannot come twice.
    const key = event.id ? eventKey(event) : `live-${++unnumbered}`;
    if (state.byKey.has(key)) continue;
    const entry = { event, key, time: Date.parse(event.timestamp) || 0, row: null };
    state.byKey.set(key, entry);
    fresh.push(entry);
  }
  state.incoming = [];
  if (fresh.length === 0) return;

  fresh.sort(newestFirst);
  const oldestFresh = fresh[fresh.length - 1];
  const inOrder = state.entries.length === 0 || newestFirst(oldestFresh, state.entries[0]) <= 0;
  state.entries = fresh.concat(state.entries);
  if (!inOrder) {
    state.entries.sort(newestFirst);
    state.rebuild = true;
  }
  while (state.entries.length > MAX_EVENTS) {
    const old = state.entries.pop();
    state.byKey.delete(old.key);
    old.row?.remove();
  }
  for (const entry of fresh) {
    addFilterOption("filter-reason", entry.event.reason);
    addFilterOption("filter-protocol", entry.event.protocol);
  }

  if (state.paused) {
    state.newWhilePaused += fresh.length;
  } else if (state.history) {
    // The table shows history: live events are kept for when the view goes back to live.
  } else if (!state.rebuild) {
    const fragment = document.createDocumentFragment();
    for (const entry of fresh) {
      if (state.byKey.get(entry.key) === entry && eventMatches(entry.event, state.filter)) fragment.append(rowFor(entry));
    }
    $("event-rows").prepend(fragment);
  }
  state.dirty.events = true;
}

function rebuildEventTable() {
  state.rebuild = false;
  if (state.paused && !state.history) return;
  const fragment = document.createDocumentFragment();
  for (const entry of state.history?.entries ?? state.entries) {
    if (eventMatches(entry.event, state.filter)) fragment.append(rowFor(entry));
  }
  $("event-rows").replaceChildren(fragment);
  state.dirty.events = true;
}

function renderEventInfo() {
  const shown = $("event-rows").childElementCount;
  if (state.history) {
    const view = state.history;
    $("events-empty").hidden = shown > 0;
    setText("events-empty", view.error ? `History unavailable: ${view.error}` : view.loading ? "Loading history…" : "No event recorded in this range.");
    setText("events-info", view.error ? "" : `${formatCount(shown)} shown of ${formatCount(view.entries.length)} events between ` +
      `${new Date(view.range.from * 1000).toLocaleString()} and ${new Date(view.range.to * 1000).toLocaleString()} (newest first, from ${view.source ?? "…"})`);
    $("event-table").dataset.rows = String(shown);
    return;
  }
  const empty = $("events-empty");
  empty.hidden = shown > 0;
  setText("events-empty", state.entries.length === 0 ? "No drops yet." : "No kept event matches the filters.");
  const parts = [`${formatCount(shown)} shown of ${formatCount(state.entries.length)} kept (newest ${MAX_EVENTS})`];
  if (state.paused) parts.push(`paused: ${formatCount(state.newWhilePaused)} new since`);
  if (state.omitted > 0) parts.push(`${formatCount(state.omitted)} left out of the live feed by the server's rate limit`);
  setText("events-info", parts.join(" · "));
  $("event-table").dataset.rows = String(shown);
}

function setPaused(paused) {
  state.paused = paused;
  state.newWhilePaused = 0;
  const button = $("pause-button");
  button.textContent = paused ? "Resume" : "Pause";
  button.setAttribute("aria-pressed", String(paused));
  if (!paused) state.rebuild = true;
  state.dirty.events = true;
  scheduleRender();
}

function clearEvents() {
  state.entries = [];
  state.byKey.clear();
  state.incoming = [];
  state.newWhilePaused = 0;
  state.omitted = 0;
  $("event-rows").replaceChildren();
  state.dirty.events = true;
  scheduleRender();
}

function readFilter() {
  state.filter = {
    reason: $("filter-reason").value,
    protocol: $("filter-protocol").value,
    text: $("filter-text").value.trim(),
    hideUnspecified: $("filter-hide-unspecified").checked,
  };
  state.rebuild = true;
  scheduleRender();
}

// ---------------------------------------------------------------- detail view

const DETAIL_FIELDS = [
  "id", "timestamp", "reason", "reason_code", "location", "family", "protocol", "ip_protocol",
  "src_addr", "src_port", "dst_addr", "dst_port", "icmp_type", "icmp_code", "length", "skb_len",
  "ifindex", "ifname", "netns", "netns_name", "cpu", "pid", "tid", "comm", "context_pid", "context_comm",
  "owner_pid", "owner_comm", "container", "cgroup", "cgroup_id", "socket_cookie", "l3_offset", "headers_hex",
];
// Shown in their own place, not in the field list.
const DETAIL_SEPARATE = new Set(["stack"]);

function openDetail(entry) {
  if (!entry) return;
  const event = entry.event;
  const reason = state.reasons.get(event.reason);
  setText("detail-title", `Drop event ${event.id ?? ""}: ${event.reason ?? ""}`);
  setText("detail-explanation", [reason?.explanation, reason?.hint].filter(Boolean).join(" "));

  const fragment = document.createDocumentFragment();
  const names = [...DETAIL_FIELDS, ...Object.keys(event).filter((name) => !DETAIL_FIELDS.includes(name) && !DETAIL_SEPARATE.has(name))];
  for (const name of names) {
    if (!(name in event)) continue;
    const value = event[name];
    const item = document.createElement("div");
    item.dataset.field = name;
    const text = value == null || value === "" ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
    item.append(textElement("dt", name), textElement("dd", text, name === "headers_hex" ? "mono wrap" : "mono"));
    fragment.append(item);
  }
  $("detail-fields").replaceChildren(fragment);

  const stack = Array.isArray(event.stack) ? event.stack.map(String) : [];
  $("detail-stack-section").hidden = stack.length === 0;
  setText("detail-stack", stack.join("\n"));

  const bytes = parseHex(event.headers_hex);
  const notes = [`${bytes.length} bytes of headers captured`];
  if (event.l3_offset != null && bytes.length > 0) notes.push(`the network header starts at offset 0x${Number(event.l3_offset).toString(16).padStart(4, "0")}`);
  if (event.comm) notes.push(`comm is the task on the CPU at the drop (CPU context), not necessarily the packet's owner` +
    (event.owner_pid != null ? ` (the owner is ${event.owner_comm ?? "?"}, pid ${event.owner_pid})` : ""));
  setText("detail-hex-note", notes.join("; ") + ".");
  setText("detail-hex", bytes.length ? hexDump(event.headers_hex) : "(no headers captured)");

  const dialog = $("event-detail");
  if (!dialog.open) dialog.showModal();
}

// ---------------------------------------------------------------- chart

let chart = null;
const chartLabels = [];
const liveData = { labels: chartLabels, datasets: [] }; // the live chart, updated even while history is shown
let historyData = null;                                   // the chart data of the history view, or null

function createChart() {
  if (!window.Chart) {
    console.warn("chart library not loaded: the drops chart is disabled");
    return;
  }
  chart = new window.Chart($("drops-chart"), {
    type: "bar",
    data: liveData,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      normalized: true,
      interaction: { mode: "index", intersect: false },
      datasets: { bar: { barPercentage: 1, categoryPercentage: 1, borderWidth: 0 } },
      scales: {
        x: { stacked: true, ticks: { autoSkip: true, maxTicksLimit: 10, maxRotation: 0 }, grid: { display: false } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "drops/s" } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { filter: (item) => item.parsed.y > 0 },
      },
    },
  });
}

function seriesFor(name) {
  const datasets = liveData.datasets;
  let dataset = datasets.find((d) => d.label === name);
  if (dataset) return dataset;
  const named = datasets.filter((d) => d.label !== OTHER_SERIES).length;
  if (named >= MAX_CHART_SERIES) {
    dataset = datasets.find((d) => d.label === OTHER_SERIES);
    if (dataset) return dataset;
    name = OTHER_SERIES;
  }
  const used = new Set(datasets.map((d) => d.backgroundColor));
  const colour = name === OTHER_SERIES ? OTHER_COLOUR : COLOURS.find((c) => !used.has(c)) ?? OTHER_COLOUR;
  dataset = { label: name, data: new Array(chartLabels.length).fill(0), backgroundColor: colour, stack: "drops" };
  datasets.push(dataset);
  return dataset;
}

let lastBucket = null;      // the newest point's second (epoch seconds)
let lastStatsTime = null;
let baseline = null;        // { startedAt, counts: Map(reason name -> exact count) } of the last stats seen

function countsByReason(stats) {
  const counts = new Map();
  for (const reason of stats.by_reason ?? []) counts.set(reason.name, (counts.get(reason.name) ?? 0) + (Number(reason.count) || 0));
  return counts;
}

/** The chart's reference point: the exact per-reason totals of a stats object (initial_data on each (re)connect). */
function setChartBaseline(stats) {
  baseline = stats ? { startedAt: stats.started_at ?? null, counts: countsByReason(stats) } : null;
}

/**
 * Drops per reason since the previous stats message, from the exact cumulative counters in
 * `by_reason`. Unlike the message's own `last_second_by_reason` (the delta of one counter poll),
 * this stays exact when the server skips a stats message for a busy client or two polls fall
 * between two sends. A new start (started_at changed) or a counter going back counts from zero.
 */
function dropsSinceBaseline(stats) {
  const counts = countsByReason(stats);
  const restarted = !baseline || (stats.started_at ?? null) !== baseline.startedAt;
  const drops = [];
  if (baseline) {
    for (const [name, count] of counts) {
      const before = restarted ? 0 : baseline.counts.get(name) ?? 0;
      const delta = count >= before ? count - before : count;
      if (delta > 0) drops.push([name, delta]);
    }
  }
  baseline = { startedAt: stats.started_at ?? null, counts };
  return drops;
}

/** Adds a `stats` message to the chart: its drops since the previous one go into the point of its second. */
function addChartPoint(stats) {
  if (!stats?.time || stats.time === lastStatsTime) return;
  lastStatsTime = stats.time;
  const drops = dropsSinceBaseline(stats);
  if (!chart) return;
  const bucket = Math.floor((Date.parse(stats.time) || Date.now()) / 1000);
  const datasets = () => liveData.datasets;
  if (lastBucket === null || bucket > lastBucket) {
    // New second(s): seconds without a message (monitoring stopped, reconnecting) are zero.
    const missing = lastBucket === null ? 0 : Math.min(bucket - lastBucket - 1, CHART_SECONDS);
    for (let second = bucket - missing; second <= bucket; second++) {
      chartLabels.push(formatClock(new Date(second * 1000).toISOString()));
      for (const dataset of datasets()) dataset.data.push(0);
    }
    lastBucket = bucket;
  }
  for (const [name, count] of drops) {
    const dataset = seriesFor(name);
    dataset.data[dataset.data.length - 1] += count;
  }

  if (chartLabels.length > CHART_SECONDS) {
    chartLabels.splice(0, chartLabels.length - CHART_SECONDS);
    for (const dataset of datasets()) dataset.data.splice(0, dataset.data.length - CHART_SECONDS);
    // A reason that left the window frees its colour.
    liveData.datasets = datasets().filter((d) => d.data.some((v) => v > 0));
  }
  state.dirty.chart = true;
}

function renderChart() {
  if (!chart) return;
  const shown = historyData ?? liveData;
  if (chart.data !== shown) chart.data = shown;
  chart.options.scales.y.title.text = historyData ? stepUnit(historyData.step) : "drops/s";
  chart.update("none");
  // Summaries for tests and scripts: number of points, drops in the window, series names.
  const box = $("chart-box");
  let total = 0;
  for (const dataset of chart.data.datasets) for (const value of dataset.data) total += value;
  box.dataset.points = String(chartLabels.length);
  box.dataset.windowTotal = String(total);
  box.dataset.series = chart.data.datasets.map((d) => d.label).join(",");
}

// ---------------------------------------------------------------- history view

let historyRequest = 0;

/** Switches chart and table between live and a time range read from the history database. */
async function applyRange() {
  const choice = $("range-select").value;
  $("range-custom").hidden = choice !== "custom";
  showRangeMessage("");
  let range;
  try {
    range = rangeFor(choice, Date.now(), $("range-from").value, $("range-to").value);
  } catch (error) {
    if (choice === "custom") showRangeMessage(error.message);
    return;
  }
  const request = ++historyRequest;
  if (!range) {
    state.history = null;
    historyData = null;
    setText("chart-title", "Drops per second by reason");
    setText("chart-window", "(last 5 minutes)");
    setText("events-title", "Live events");
    state.rebuild = true;
    state.dirty.chart = true;
    scheduleRender();
    return;
  }
  state.history = { range, entries: [], byKey: new Map(), source: null, error: null, loading: true };
  setText("events-title", "Events (history)");
  state.rebuild = true;
  scheduleRender();
  const queries = historyQueries(range);
  try {
    const [rates, events] = await Promise.all([getJson(queries.rates), getJson(queries.events)]);
    if (request !== historyRequest) return; // a newer choice won
    historyData = ratesToChart(rates, MAX_CHART_SERIES, OTHER_SERIES);
    setText("chart-title", "Drops by reason");
    setText("chart-window", `(${new Date(range.from * 1000).toLocaleString()} – ${new Date(range.to * 1000).toLocaleString()}, ${stepUnit(historyData.step)})`);
    const entries = (events.events ?? []).map((event) => ({ event, key: `h-${eventKey(event)}`, time: Date.parse(event.timestamp) || 0, row: null }));
    state.history = { range, entries, byKey: new Map(entries.map((e) => [e.key, e])), source: events.source ?? "history", error: null, loading: false };
  } catch (error) {
    if (request !== historyRequest) return;
    historyData = { labels: [], step: 1, datasets: [] };
    state.history = { ...state.history, error: error.message, loading: false };
    showRangeMessage(error.message);
  }
  state.rebuild = true;
  state.dirty.chart = true;
  scheduleRender();
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json", ...authHeaders() } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.detail ?? body?.title ?? `HTTP ${response.status}`);
  return body;
}

function showRangeMessage(text) {
  const element = $("range-message");
  element.textContent = text ?? "";
  element.hidden = !text;
}

// ---------------------------------------------------------------- server

function authHeaders() {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

let reasonsLoaded = false;

/** The kernel's reasons with explanation and remediation hint (GET /api/reasons), once per page. */
async function loadReasons() {
  try {
    const response = await fetch("api/reasons", { headers: { Accept: "application/json", ...authHeaders() } });
    if (!response.ok) return;
    const body = await response.json();
    const list = Array.isArray(body) ? body : body.reasons ?? [];
    for (const reason of list) {
      state.reasons.set(reason.name, { code: reason.code, explanation: reason.explanation, hint: reason.hint ?? reason.remediation });
    }
    reasonsLoaded = list.length > 0; // without the kernel's table the server lists only reasons counted so far: ask again on reconnect
    state.dirty.stats = true;
    scheduleRender();
  } catch (error) {
    console.warn("could not load the reason catalogue", error);
  }
}

function applyStatus(status) {
  if (!status || typeof status !== "object" || !("running" in status)) return;
  state.status = { running: status.running, attach_mode: status.attach_mode, started_at: status.started_at };
  state.dirty.status = true;
  scheduleRender();
}

function showActionMessage(text) {
  const element = $("action-message");
  element.textContent = text ?? "";
  element.hidden = !text;
}

async function setMonitoring(start) {
  showActionMessage("");
  const method = start ? "start_monitor" : "stop_monitor";
  $("start-button").disabled = true;
  $("stop-button").disabled = true;
  try {
    if (connection.state === signalR.HubConnectionState.Connected) {
      applyStatus(await connection.invoke(method));
    } else {
      const response = await fetch(`api/monitor/${start ? "start" : "stop"}`, {
        method: "POST",
        headers: { "X-Requested-With": "packet-monitor", Accept: "application/json", ...authHeaders() },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new Error(body?.detail ?? body?.title ?? `HTTP ${response.status}`);
      applyStatus(body);
    }
  } catch (error) {
    showActionMessage(`${start ? "Start" : "Stop"} failed: ${error?.message ?? error}`);
  } finally {
    state.dirty.status = true;
    scheduleRender();
  }
}

/** Saves GET /api/events.pcapng for the current filters (fetched, not linked: the API may need the Bearer token). */
async function downloadPcapng() {
  showActionMessage("");
  const query = pcapngQuery(state.filter);
  try {
    const response = await fetch(`api/events.pcapng${query ? `?${query}` : ""}`, { headers: authHeaders() });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.detail ?? `HTTP ${response.status}`);
    }
    const name = /filename=([^;]+)/.exec(response.headers.get("Content-Disposition") ?? "")?.[1]?.replaceAll('"', "") ?? "packet-monitor.pcapng";
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showActionMessage(`Download failed: ${error?.message ?? error}`);
  }
}

const signalR = window.signalR;
const connection = new signalR.HubConnectionBuilder()
  .withUrl("hubs/monitor", accessToken ? { accessTokenFactory: () => accessToken } : {})
  // Never give up: retry at once, then every 1-2 s, for as long as the page is open.
  .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (context) => (context.previousRetryCount === 0 ? 0 : context.previousRetryCount < 3 ? 1000 : START_RETRY_MS) })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

connection.on("initial_data", (data) => {
  if (data?.stats) {
    state.stats = data.stats;
    state.dirty.stats = true;
  }
  // Drops made while this page was away are in the totals but belong to no second of the chart.
  setChartBaseline(data?.stats);
  if (Array.isArray(data?.events)) state.incoming.push(...data.events);
  state.dirty.status = true;
  scheduleRender();
});

connection.on("status", applyStatus);

connection.on("packet_events", (batch) => {
  if (Array.isArray(batch?.events)) state.incoming.push(...batch.events);
  if (batch?.omitted > 0) state.omitted += batch.omitted;
  // Keep the backlog bounded even if rendering falls behind (hidden tab): only the newest can be kept anyway.
  if (state.incoming.length > MAX_EVENTS * 2) {
    state.incoming.sort((a, b) => (Date.parse(b.timestamp) || 0) - (Date.parse(a.timestamp) || 0));
    state.incoming.length = MAX_EVENTS;
  }
  state.dirty.events = true;
  scheduleRender();
});

connection.on("stats", (stats) => {
  state.stats = stats;
  state.dirty.stats = true;
  if (!state.status) state.dirty.status = true;
  addChartPoint(stats);
  scheduleRender();
});

function setConnected(connected) {
  state.connected = connected;
  if (!connected) state.everFailed = true;
  state.dirty.status = true;
  scheduleRender();
}

connection.onreconnecting(() => setConnected(false));
connection.onreconnected(() => setConnected(true));
connection.onclose(() => {
  setConnected(false);
  setTimeout(startConnection, START_RETRY_MS);
});

async function startConnection() {
  if (connection.state !== signalR.HubConnectionState.Disconnected) return;
  try {
    await connection.start();
    setConnected(true);
    if (!reasonsLoaded) loadReasons();
  } catch {
    setConnected(false);
    setTimeout(startConnection, START_RETRY_MS);
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("start-button").addEventListener("click", () => setMonitoring(true));
  $("stop-button").addEventListener("click", () => setMonitoring(false));
  $("pause-button").addEventListener("click", () => setPaused(!state.paused));
  $("clear-button").addEventListener("click", clearEvents);
  $("pcapng-button").addEventListener("click", downloadPcapng);
  $("filter-reason").addEventListener("change", readFilter);
  $("filter-protocol").addEventListener("change", readFilter);
  $("filter-text").addEventListener("input", readFilter);
  $("filter-hide-unspecified").addEventListener("change", readFilter);
  $("range-select").addEventListener("change", applyRange);
  $("range-apply").addEventListener("click", applyRange);

  const rows = $("event-rows");
  const open = (target) => {
    const row = target.closest("tr[data-key]");
    if (row) openDetail((state.history?.byKey ?? state.byKey).get(row.dataset.key));
  };
  rows.addEventListener("click", (event) => open(event.target));
  rows.addEventListener("keydown", (event) => {
    if (event.key === "Enter") open(event.target);
  });
  $("detail-close").addEventListener("click", () => $("event-detail").close());
  $("event-detail").addEventListener("click", (event) => {
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    if (event.target === $("event-detail")) $("event-detail").close();
  });
}

wire();
createChart();
render();
startConnection();
