#!/usr/bin/env bash
# Storm soak: the drop generator at full rate against `packet-monitor serve` with history
# on, two live browser pages and a real Prometheus scraping /metrics every 5 s.
# Asserts (exit 1 when one fails) and reports:
#   - the server stayed alive every second of the run;
#   - RSS bounded: peak under SOAK_MAX_RSS_MB, slope over the second half under SOAK_MAX_SLOPE_MB_MIN
#     (the slope only for runs of 2 minutes or more: shorter ones are still warming up);
#   - exact counters equal the generator's sent count;
#   - events accounted per stage: received + ring_full + queue_full == sent;
#   - history (per-second counts) equals the exact counters for the soak's drops;
#   - Prometheus' last scrape equals the exact counters;
#   - both pages still updated during the storm and still respond after it.
#
# Usage (root): bench/soak/run.sh        (make soak)
#   PACKET_MONITOR  monitor binary (default build/bin/packet-monitor)
#   SOAK_SECONDS    storm duration (default 600)
#   SOAK_THREADS    generator threads (default 2)
#   SOAK_PAGES      browser pages (default 2)
#   SOAK_MAX_RSS_MB, SOAK_MAX_SLOPE_MB_MIN  limits (default 500, 2)
# Prints a Markdown table; writes build/bench/soak.json.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PM=${PACKET_MONITOR:-$ROOT/build/bin/packet-monitor}
SECS=${SOAK_SECONDS:-600}
THREADS=${SOAK_THREADS:-2}
PAGES=${SOAK_PAGES:-2}
MAX_RSS=${SOAK_MAX_RSS_MB:-500}
MAX_SLOPE=${SOAK_MAX_SLOPE_MB_MIN:-2}
OUT=$ROOT/build/bench
DROPGEN=$OUT/dropgen
DASH=$ROOT/bench/dashboard
NS=pm-soak-$$
TMP=$(mktemp -d)
SRV_PID='' MEASURE_PID='' WATCH_PID='' PROM_PID=''

log() { echo "soak: $*" >&2; }
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cleanup() {
	set +e
	for pid in $WATCH_PID $MEASURE_PID $PROM_PID $SRV_PID; do kill -TERM "$pid" 2>/dev/null; done
	wait
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) == 0 ]] || { log "must run as root"; exit 1; }
[[ -f $(dirname "$PM")/wwwroot/index.html ]] || { log "no dashboard page next to $PM: run 'make user'"; exit 1; }
command -v prometheus >/dev/null || { log "needs Debian's prometheus package (make deps)"; exit 1; }
[[ -d $DASH/node_modules/playwright-core ]] || npm --prefix "$DASH" ci --no-audit --no-fund >&2
mkdir -p "$OUT"
cc -O2 -Wall -Werror -pthread -o "$DROPGEN" "$ROOT/bench/dropgen.c"

ip netns add "$NS"
ip -n "$NS" link set lo up
INODE=$(stat -L -c %i "/run/netns/$NS")
PORT=$(free_port)
PROM_PORT=$(free_port)
URL=http://127.0.0.1:$PORT
DATA=$TMP/data

env --default-signal=INT "$PM" serve --listen "127.0.0.1:$PORT" --netns "$INODE" --data-dir "$DATA" \
	>"$TMP/server.out" 2>"$TMP/server.err" &
SRV_PID=$!
wait_for "$TMP/server.err" attached "$SRV_PID" "server"
until curl -sf "$URL/healthz" >/dev/null; do sleep 0.1; done

# Once a second: alive (1/0) and VmRSS in kB, until told to stop.
(while true; do
	if rss=$(grep -oP '^VmRSS:\s*\K\d+' "/proc/$SRV_PID/status" 2>/dev/null); then echo "1 $rss"; else echo "0 0"; fi
	sleep 1
done) >"$TMP/watch" &
WATCH_PID=$!

cat >"$TMP/prometheus.yml" <<EOF
global: { scrape_interval: 5s, scrape_timeout: 4s }
scrape_configs:
  - job_name: packet-monitor
    static_configs: [ { targets: ["127.0.0.1:$PORT"] } ]
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prom.log" 2>&1 &
PROM_PID=$!

node "$DASH/measure.mjs" "$URL/" "$PAGES" >"$TMP/pages.json" 2>"$TMP/measure.err" &
MEASURE_PID=$!
wait_for "$TMP/measure.err" ready "$MEASURE_PID" "measure.mjs"

log "namespace $NS (inode $INODE), $URL, $PAGES page(s), Prometheus on $PROM_PORT, generator: $THREADS thread(s) for $SECS s"
START=$(date +%s)
kill -USR2 "$MEASURE_PID"
gen=$(ip netns exec "$NS" "$DROPGEN" --threads "$THREADS" --duration "$SECS")
kill -USR2 "$MEASURE_PID"
sleep 3 # counters are polled once a second, history flushes in batches
curl -sf "$URL/api/stats" >"$TMP/stats.json"
curl -sf "$URL/api/events?limit=1" >"$TMP/events.json"
sleep 6 # one more scrape after the last counter poll
curl -sfG "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	--data-urlencode 'query=sum(packet_monitor_drops_total{reason="NO_SOCKET",protocol="udp",interface="lo"})' >"$TMP/prom.json"
hwm=$(grep -oP '^VmHWM:\s*\K\d+' "/proc/$SRV_PID/status")
kill -USR1 "$MEASURE_PID"
wait "$MEASURE_PID" || { log "measure.mjs failed:"; cat "$TMP/measure.err" >&2; exit 1; }
MEASURE_PID=
kill -TERM "$SRV_PID"
wait "$SRV_PID" || log "server exit status $?"
SRV_PID=
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
"$PM" history --data-dir "$DATA" --from "$((START - 5))" --json >"$TMP/history.json"

jq -n --argjson gen "$gen" --argjson inode "$INODE" --argjson hwm "$hwm" --argjson maxrss "$MAX_RSS" --argjson maxslope "$MAX_SLOPE" \
	--slurpfile stats "$TMP/stats.json" --slurpfile events "$TMP/events.json" --slurpfile prom "$TMP/prom.json" \
	--slurpfile history "$TMP/history.json" --slurpfile pages "$TMP/pages.json" --rawfile watch "$TMP/watch" '
	($watch | split("\n") | map(select(. != "") | split(" ") | map(tonumber))) as $w
	| ($w | map(.[1] / 1024)) as $rss
	| ($rss | .[(length / 2 | floor):]) as $half
	# least-squares slope of the second half, MB per minute
	| (def slope($ys): ($ys | length) as $n | if $n < 2 then 0 else
		([range(0; $n)] | add / $n) as $mx | ($ys | add / $n) as $my
		| ([range(0; $n) | (. - $mx) * ($ys[.] - $my)] | add) / ([range(0; $n) | (. - $mx) * (. - $mx)] | add) * 60 end;
		slope($half)) as $slope
	| $stats[0] as $s
	| ([$s.by_interface[] | select(.netns == $inode) | .count] | add // 0) as $counted
	| ($s.by_reason // [] | map(select(.name == "NO_SOCKET")) | .[0].count // 0) as $no_socket_all
	| ($events[0].events[0].id // 0) as $received
	| ($prom[0].data.result[0].value[1] // "0" | tonumber) as $prom_lo
	| ([$history[0].reasons[]? | select(.reason == "NO_SOCKET") | .packets] | add // 0) as $hist
	| {generator: $gen, sent: $gen.sent, counted: $counted, received: $received,
	   lost: $s.events_lost, samples: ($w | length), dead_seconds: ($w | map(select(.[0] == 0)) | length),
	   rss_mb: {peak: ($rss | max), last: ($rss | last), vm_hwm: ($hwm / 1024), slope_second_half_mb_per_min: $slope},
	   prometheus_no_socket_lo: $prom_lo, stats_no_socket: $no_socket_all, history_no_socket: $hist,
	   history_state: $s.history, pages: $pages[0]}
	| .checks = {
	   alive: (.dead_seconds == 0),
	   rss_bounded: (.rss_mb.peak < $maxrss and (.samples < 120 or .rss_mb.slope_second_half_mb_per_min < $maxslope)),
	   counters_exact: (.counted == .sent),
	   events_accounted: (.received + .lost.ring_buffer_full + .lost.queue_full == .sent),
	   history_matches_counters: (.history_no_socket == .counted),
	   prometheus_matches_counters: (.prometheus_no_socket_lo >= .sent),
	   dashboard_updating: ([.pages[] | (.rows_per_s_mean // 0) > 0 and .filter_works] | all)}' >"$OUT/soak.json"

jq -r '
	def r($x): if $x == null then "-" else ($x * 10 | round / 10 | tostring) end;
	def ok($b): if $b then "ok" else "**FAILED**" end;
	"| check | measured | result |", "|---|---|---|",
	"| generator | \(.generator.threads) thread(s), \(.generator.seconds) s, \(.sent) sent, \(r(.generator.rate / 1e3)) k drops/s | |",
	"| server alive every second | \(.samples) samples, \(.dead_seconds) missing | \(ok(.checks.alive)) |",
	"| RSS peak / last / slope (2nd half) | \(r(.rss_mb.peak)) MB / \(r(.rss_mb.last)) MB / \(r(.rss_mb.slope_second_half_mb_per_min)) MB/min | \(ok(.checks.rss_bounded)) |",
	"| exact counter vs sent | \(.counted) / \(.sent) | \(ok(.checks.counters_exact)) |",
	"| events: received + ring full + queue full = sent | \(.received) + \(.lost.ring_buffer_full) + \(.lost.queue_full) = \(.received + .lost.ring_buffer_full + .lost.queue_full) / \(.sent) (slow clients skipped \(.lost.slow_clients)) | \(ok(.checks.events_accounted)) |",
	"| history NO_SOCKET (soak namespace) vs exact counter | \(.history_no_socket) / \(.counted) | \(ok(.checks.history_matches_counters)) |",
	"| history events written / lost (own stage, writer slower than the storm) | \(.history_state.events_written) / \(.lost.history) (database \(r(.history_state.database_bytes / 1048576)) MB) | |",
	"| Prometheus NO_SOCKET/udp/lo (last scrape) | \(.prometheus_no_socket_lo) | \(ok(.checks.prometheus_matches_counters)) |",
	(.pages[] | "| page \(.page): rows/s, fps, responds after | \(r(.rows_per_s_mean)), \(r(.fps_mean)), filter \(if .filter_works then "works" else "FAILED" end) | |"),
	"| dashboard still updating | | \(ok(.checks.dashboard_updating)) |"
	' "$OUT/soak.json"
log "results: $OUT/soak.json"
jq -e '.checks | all' "$OUT/soak.json" >/dev/null || { log "a check failed"; exit 1; }
