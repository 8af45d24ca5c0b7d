#!/usr/bin/env bash
# Dashboard under load: `packet-monitor serve` with two headless Chromium pages open
# while the drop generator runs at full rate. Reports the server's RSS (peak, last),
# the exact counters against the generator's count, each page's frame rate, live
# update rate and response time, and the events lost per stage. Reported, not asserted.
#
# Usage (root): bench/dashboard/run.sh
#   PACKET_MONITOR  monitor binary (default build/bin/packet-monitor)
#   BENCH_SECONDS   generator run time (default 60)
#   BENCH_THREADS   generator threads (default 2)
#   BENCH_PAGES     browser pages (default 2)
#   BENCH_SETTLE    seconds after the generator before reading the counters (default 2)
#   CHROMIUM        browser (default /usr/bin/chromium)
# Prints a Markdown table; writes build/bench/dashboard.json.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PM=${PACKET_MONITOR:-$ROOT/build/bin/packet-monitor}
SECS=${BENCH_SECONDS:-60}
THREADS=${BENCH_THREADS:-2}
PAGES=${BENCH_PAGES:-2}
SETTLE=${BENCH_SETTLE:-2}
OUT=$ROOT/build/bench
DROPGEN=$OUT/dropgen
NS=pm-dash-$$
TMP=$(mktemp -d)
SRV_PID='' MEASURE_PID='' RSS_PID=''

log() { echo "dashboard-bench: $*" >&2; }
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cleanup() {
	set +e
	for pid in $RSS_PID $MEASURE_PID $SRV_PID; do kill -TERM "$pid" 2>/dev/null; done
	wait
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU seconds (whole seconds, as ps gives them) of a process and all its descendants.
tree_cpu() {
	ps -e -o pid=,ppid=,times= | awk -v root="$1" '{ parent[$1] = $2; cpu[$1] = $3 }
		END { for (p in parent) { q = p; while (q > 1 && q != root) q = parent[q]; if (q == root) s += cpu[p] }; print s + 0 }'
}

[[ $(id -u) == 0 ]] || { log "must run as root"; exit 1; }
[[ -f $(dirname "$PM")/wwwroot/index.html ]] || { log "no dashboard page next to $PM: run 'make user'"; exit 1; }
[[ -d $HERE/node_modules/playwright-core ]] || npm --prefix "$HERE" ci --no-audit --no-fund >&2
mkdir -p "$OUT"
cc -O2 -Wall -Werror -pthread -o "$DROPGEN" "$ROOT/bench/dropgen.c"

ip netns add "$NS"
ip -n "$NS" link set lo up
INODE=$(stat -L -c %i "/run/netns/$NS")
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# Background jobs of a script inherit SIGINT ignored; give it back (SIGTERM stops it too).
env --default-signal=INT "$PM" serve --listen "127.0.0.1:$PORT" --netns "$INODE" --no-history >"$TMP/server.out" 2>"$TMP/server.err" &
SRV_PID=$!
wait_for "$TMP/server.err" attached "$SRV_PID" "server"
until curl -sf "$URL/healthz" >/dev/null; do sleep 0.1; done

# VmRSS in kB once a second, until the server exits.
(while rss=$(grep -oP '^VmRSS:\s*\K\d+' "/proc/$SRV_PID/status" 2>/dev/null); do echo "$rss"; sleep 1; done) >"$TMP/rss" &
RSS_PID=$!

node "$HERE/measure.mjs" "$URL/" "$PAGES" >"$TMP/pages.json" 2>"$TMP/measure.err" &
MEASURE_PID=$!
wait_for "$TMP/measure.err" ready "$MEASURE_PID" "measure.mjs"

log "namespace $NS (inode $INODE), $URL, $PAGES page(s), generator: $THREADS thread(s) for $SECS s"
srv_cpu0=$(tree_cpu "$SRV_PID") web_cpu0=$(tree_cpu "$MEASURE_PID")
kill -USR2 "$MEASURE_PID"
gen=$(ip netns exec "$NS" "$DROPGEN" --threads "$THREADS" --duration "$SECS")
kill -USR2 "$MEASURE_PID"
srv_cpu=$(($(tree_cpu "$SRV_PID") - srv_cpu0)) web_cpu=$(($(tree_cpu "$MEASURE_PID") - web_cpu0))
sleep "$SETTLE"  # counters are polled once a second
curl -sf "$URL/api/stats" >"$TMP/stats.json"
curl -sf "$URL/api/events?limit=1" >"$TMP/events.json"
hwm=$(grep -oP '^VmHWM:\s*\K\d+' "/proc/$SRV_PID/status")
kill -USR1 "$MEASURE_PID"
wait "$MEASURE_PID" || { log "measure.mjs failed:"; cat "$TMP/measure.err" >&2; exit 1; }
MEASURE_PID=
grep -v -e ready "$TMP/measure.err" >&2 || true
kill -TERM "$SRV_PID"
wait "$SRV_PID" || log "server exit status $?"
SRV_PID=
kill "$RSS_PID" 2>/dev/null; wait "$RSS_PID" 2>/dev/null || true
RSS_PID=

jq -n --argjson gen "$gen" --argjson srv_cpu "$srv_cpu" --argjson web_cpu "$web_cpu" --argjson inode "$INODE" --argjson hwm "$hwm" \
	--slurpfile stats "$TMP/stats.json" --slurpfile events "$TMP/events.json" \
	--slurpfile pages "$TMP/pages.json" --rawfile rss "$TMP/rss" '
	($rss | split("\n") | map(select(. != "") | tonumber)) as $rss
	| $stats[0] as $s
	| {generator: $gen, netns_inode: $inode,
	   rss_mb: {peak_sampled: ($rss | max / 1024), last: ($rss | last / 1024), vm_hwm: ($hwm / 1024), samples: ($rss | length)},
	   cpu_s_during_load: {server: $srv_cpu, browser: $web_cpu, generator: $gen.cpu_seconds},
	   counted: ([$s.by_interface[] | select(.netns == $inode) | .count] | add // 0),
	   total_drops: $s.total_drops, sent: $gen.sent,
	   events_received: ($events[0].events[0].id // 0),
	   events_lost: $s.events_lost,
	   pages: $pages[0]}
	| . + {counted_minus_sent: (.counted - .sent), events_missing: (.sent - .events_received)}' >"$OUT/dashboard.json"

jq -r '
	def r($x): if $x == null then "-" else ($x * 10 | round / 10 | tostring) end;
	"| what | value |", "|---|---|",
	"| generator | \(.generator.threads) thread(s), \(.generator.seconds) s, \(.sent) sent, \(r(.generator.rate / 1e3)) k drops/s |",
	"| CPU seconds during the run: server / browser (node + Chromium) / generator | \(.cpu_s_during_load.server) / \(.cpu_s_during_load.browser) / \(r(.cpu_s_during_load.generator)) (of \(r(.generator.seconds * 2)) on 2 cores) |",
	"| server RSS peak / last (MB) | \(r(.rss_mb.peak_sampled)) / \(r(.rss_mb.last)) (VmHWM \(r(.rss_mb.vm_hwm)); target < 250) |",
	"| exact counter (netns \(.netns_inode)) vs sent | \(.counted) / \(.sent) (difference \(.counted_minus_sent); total_drops \(.total_drops)) |",
	"| events received by the server vs sent | \(.events_received) / \(.sent) (missing \(.events_missing)) |",
	"| events lost: ring full / queue full / slow clients / filtered | \(.events_lost.ring_buffer_full) / \(.events_lost.queue_full) / \(.events_lost.slow_clients) / \(.events_lost.filtered) |",
	(.pages[] | "| page \(.page): fps mean / min | \(r(.fps_mean)) / \(r(.fps_min)) over \(.samples) s |",
		"| page \(.page): rows added/s, total-card updates/s | \(r(.rows_per_s_mean)), \(r(.card_updates_per_s_mean)) |",
		"| page \(.page): sample round trip mean / max (ms), long tasks (ms/s) | \(r(.response_ms_mean)) / \(r(.response_ms_max)), \(.long_tasks) (\(r(.long_task_ms_per_s_mean))) |",
		"| page \(.page): after the load | badge \"\(.badge)\", search filter \(if .filter_works then "works" else "FAILED" end) (\(r(.check_ms)) ms) |")
	' "$OUT/dashboard.json"
log "results: $OUT/dashboard.json"
