#!/usr/bin/env bash
# packet-monitor benchmark. In one run, for 1 and 2 generator threads, runs
# the drop generator with no monitor, with full events (watch --json) and with
# counting only (watch --counts-only), and reports: generator rate and slowdown,
# events received vs drops generated, monitor CPU, in-kernel ns per event, and
# start-up time; then the time from monitor start to the first event.
#
# Usage (root): bench/run.sh
#   PACKET_MONITOR  monitor binary (default build/bin/packet-monitor)
#   BENCH_SECONDS   generator run time per case (default 10)
#   BENCH_ROUNDS    rounds over all cases, reported as medians (default 3)
#   BENCH_THREADS   generator thread counts (default "1 2")
#   BENCH_MODES     subset of "none events counts events-libbpf events-stacks events-base"
#                   (default: the first three; events-libbpf reads the ring with libbpf's
#                   ring_buffer__poll instead of mmap; events-stacks adds --stacks; events-base
#                   runs PACKET_MONITOR_BASE, an older build, for a before/after comparison)
#   PACKET_MONITOR_BASE  monitor binary of the events-base mode
#   BENCH_TRAFFIC   closed (default: NO_SOCKET drops, no socket) or rcvbuf (SOCKET_RCVBUFF
#                   drops owned by a receiver that never reads: the attribution path)
#   BENCH_SETTLE    seconds the monitor gets to drain after the generator (default 1)
#   BENCH_BPF_STATS 1 (default): kernel.bpf_stats_enabled=1 for the in-kernel
#                   cost, which itself adds a little to it; 0: slowdown without
# Prints a Markdown table; writes build/bench/results.json. Targets are
# reported, never enforced: the machine is noisy, only same-run ratios count.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PM=${PACKET_MONITOR:-$ROOT/build/bin/packet-monitor}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-1 2}
MODES=${BENCH_MODES:-none events counts}
TRAFFIC=${BENCH_TRAFFIC:-closed}
PM_BASE=${PACKET_MONITOR_BASE:-}
SETTLE=${BENCH_SETTLE:-1}
OUT=$ROOT/build/bench
DROPGEN=$OUT/dropgen
NS=pm-bench-$$
TMP=$(mktemp -d)
CLK_TCK=$(getconf CLK_TCK)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
MON_PID= GEN_PID=

log() { echo "bench: $*" >&2; }
now_us() { NOW=${EPOCHREALTIME/./}; }  # no fork: polling loops stay cheap
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }  # JSON-safe (bc prints ".5")

cleanup() {
	set +e
	[[ -n $MON_PID ]] && kill -KILL "$MON_PID" 2>/dev/null
	[[ -n $GEN_PID ]] && kill "$GEN_PID" 2>/dev/null
	wait
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that cleanup runs on ^C / kill too

[[ $(id -u) == 0 ]] || { log "must run as root"; exit 1; }
mkdir -p "$OUT"
cc -O2 -Wall -Werror -pthread -o "$DROPGEN" "$ROOT/bench/dropgen.c"

# Drops happen in a namespace of our own; the monitor (root namespace, sees
# all of them) keeps only that namespace, so other drops on the box don't count.
ip netns add "$NS"
ip -n "$NS" link set lo up
INODE=$(stat -L -c %i "/run/netns/$NS")

HAVE_PM=1
if [[ ! -x $PM ]] || ! "$PM" watch --help >"$TMP/help" 2>&1; then
	log "no working monitor at $PM (PACKET_MONITOR): running mode 'none' only"
	HAVE_PM=0 MODES=none
else
	for flag in --json --counts-only --netns --count; do
		grep -q -- "$flag" "$TMP/help" || log "warning: 'watch --help' does not mention $flag"
	done
fi

# Sum run_time_ns / run_cnt over the monitor's programs: the kfree_skb handlers
# (names cut to 15 chars by the kernel) that did not exist before it started.
bpf_stats() {
	bpftool prog show -j | jq -r --argjson old "$BASE_IDS" '
		[.[] | select((.name // "" | test("^handle_(tp_btf|raw_tp|tracepoi)"))
			and (.id | IN($old[]) | not))]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0) \(length)"'
}

# Another monitor already attached would run on every generated drop too.
others=$(BASE_IDS='[]' bpf_stats | cut -d' ' -f3)
((others == 0)) || log "warning: $others kfree_skb handler program(s) of another monitor are loaded; they add to every case"

# utime + stime of the whole process (all threads), in seconds.
cpu_seconds() {
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }  # comm may contain spaces; fields after it start at #3
	read -ra f <<<"$s"
	calc "(${f[11]} + ${f[12]}) / $CLK_TCK"
}

# start_monitor ERRFILE OUTFILE ARGS...: starts the monitor ($MON_BIN, default
# $PM), waits for the "attached" line on stderr, sets MON_PID and STARTUP_S.
start_monitor() {
	local err=$1 out=$2 t0 bin=${MON_BIN:-$PM}
	shift 2
	BASE_IDS=$(bpftool prog show -j | jq -c '[.[].id]')
	: >"$err"
	now_us; t0=$NOW
	# Background jobs of a script inherit SIGINT ignored; give it back.
	env --default-signal=INT "$bin" watch "$@" --netns "$INODE" >"$out" 2>"$err" &
	MON_PID=$!
	until grep -qi attached "$err"; do
		if ! kill -0 "$MON_PID" 2>/dev/null; then
			log "monitor exited before attaching:"; cat "$err" >&2; exit 1
		fi
		now_us
		((NOW - t0 < 60000000)) || { log "monitor not attached after 60 s"; cat "$err" >&2; exit 1; }
		sleep 0.005
	done
	now_us
	STARTUP_S=$(calc "($NOW - $t0) / 1e6")
}

# stop_monitor: SIGINT, then wait up to 10 s for the exit summary.
stop_monitor() {
	kill -INT "$MON_PID"
	for ((i = 0; i < 1000; i++)); do
		kill -0 "$MON_PID" 2>/dev/null || break
		sleep 0.01
	done
	if kill -0 "$MON_PID" 2>/dev/null; then
		log "monitor ignored SIGINT for 10 s; killing it"
		kill -KILL "$MON_PID"
	fi
	MON_RC=0
	wait "$MON_PID" || MON_RC=$?
	MON_PID=
}

# First integer after a regex in the monitor's stderr, or null.
summary_num() { grep -oiP -- "$1\\D*?\\K\\d+" "$2" | tail -n 1 | grep . || echo null; }

run_case() {
	local round=$1 threads=$2 mode=$3 err=$TMP/$1-$2-$3.err gen cpu0 cpu1 t0 window
	local startup=null cpu=null total_cpu=null bpf="null null 0" rc=null
	case $mode in
	events) start_monitor "$err" /dev/null --json ;;
	events-libbpf) start_monitor "$err" /dev/null --json --ring-reader libbpf ;;
	counts) start_monitor "$err" /dev/null --counts-only ;;
	events-stacks) start_monitor "$err" /dev/null --json --stacks ;;
	events-base) MON_BIN=$PM_BASE start_monitor "$err" /dev/null --json ;;
	esac
	if [[ $mode != none ]]; then
		startup=$STARTUP_S
		cpu0=$(cpu_seconds "$MON_PID")
	fi
	now_us; t0=$NOW
	gen=$(ip netns exec "$NS" "$DROPGEN" --threads "$threads" --duration "$SECS" $GEN_TRAFFIC)
	if [[ $mode != none ]]; then
		sleep "$SETTLE"  # let the monitor drain what is still queued
		now_us; window=$(calc "($NOW - $t0) / 1e6")
		cpu1=$(cpu_seconds "$MON_PID")
		cpu=$(calc "$cpu1 - $cpu0")
		total_cpu=$cpu1
		bpf=$(bpf_stats)  # while the programs are still loaded
		stop_monitor
		rc=$MON_RC
	fi
	read -r bpf_ns bpf_cnt bpf_progs <<<"$bpf"
	local received=null written=null ring=null queue=null drops=null attach_ms=null parsed=null
	if [[ $mode != none ]]; then
		# The "attached ... in N ms" line: the monitor's own load+attach time.
		attach_ms=$(grep -i attached "$err" | grep -oP '\bin\s+\K\d+(?=\s*ms)' | head -n 1 | grep . || echo null)
		received=$(summary_num 'events:.*?received' "$err")
		written=$(summary_num 'events:.*?written' "$err")
		ring=$(summary_num 'ring_full' "$err")
		queue=$(summary_num 'queue_full' "$err")
		drops=$(summary_num 'drops:\s*total' "$err")
		parsed=true
		if [[ $drops == null || ($mode == events* && $received == null) ]]; then
			parsed=false
			log "round $round, $threads thread(s), $mode: exit summary not recognized; its stderr ends with:"
			tail -n 15 "$err" | sed 's/^/    /' >&2
		fi
	fi
	jq -c -n --argjson round "$round" --argjson gen "$gen" --arg mode "$mode" \
		--argjson startup "$startup" --argjson cpu "$cpu" --argjson window "${window:-null}" \
		--argjson total_cpu "$total_cpu" --argjson received "$received" --argjson written "$written" \
		--argjson attach_ms "$attach_ms" \
		--argjson ring "$ring" --argjson queue "$queue" --argjson drops "$drops" \
		--argjson bpf_ns "$bpf_ns" --argjson bpf_cnt "$bpf_cnt" --argjson bpf_progs "$bpf_progs" \
		--argjson rc "$rc" --argjson parsed "$parsed" '
		{round: $round, threads: $gen.threads, mode: $mode, sent: $gen.sent, seconds: $gen.seconds,
		 rate: $gen.rate, send_errors: $gen.errors, gen_cpu_s: $gen.cpu_seconds, startup_s: $startup, attach_ms: $attach_ms,
		 monitor_cpu_s: $cpu, cpu_window_s: $window, monitor_total_cpu_s: $total_cpu,
		 events_received: $received, events_written: $written, lost_ring_full: $ring, lost_queue_full: $queue,
		 drops_total: $drops, bpf_run_time_ns: $bpf_ns, bpf_run_cnt: $bpf_cnt,
		 bpf_programs: $bpf_progs, monitor_exit: $rc, summary_parsed: $parsed}' >>"$TMP/runs.jsonl"
	log "round $round, $threads thread(s), $mode: $(jq -r '"\(.rate / 1e6 * 1000 | round / 1000) M drops/s"' <<<"$gen")"
}

# Time from monitor start to the first JSON event, with a slow generator running.
first_event() {
	local err=$TMP/first.err out=$TMP/first.out t0 first=null attach=null exit_s=null
	ip netns exec "$NS" "$DROPGEN" --rate 1000 --duration 120 >/dev/null &
	GEN_PID=$!
	sleep 0.5
	: >"$err"; : >"$out"
	now_us; t0=$NOW
	env --default-signal=INT "$PM" watch --json --count 1 --netns "$INODE" >"$out" 2>"$err" &
	MON_PID=$!
	local alive=1
	while ((alive)); do
		kill -0 "$MON_PID" 2>/dev/null || alive=0  # look once more after exit
		now_us
		if [[ $attach == null ]] && grep -qi attached "$err"; then
			attach=$(calc "($NOW - $t0) / 1e6")
		fi
		if [[ $first == null ]] && grep -q '^{' "$out"; then
			first=$(calc "($NOW - $t0) / 1e6")
		fi
		((NOW - t0 < 30000000)) || { log "first event: no exit after 30 s"; kill -KILL "$MON_PID"; break; }
		((alive)) && sleep 0.005
	done
	wait "$MON_PID" || true
	MON_PID=
	now_us; exit_s=$(calc "($NOW - $t0) / 1e6")
	head -n 1 "$out" | jq -e . >/dev/null 2>&1 || log "first event: first stdout line is not JSON"
	kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null || true
	GEN_PID=
	jq -c -n --argjson a "$attach" --argjson f "$first" --argjson e "$exit_s" \
		'{attached_s: $a, first_event_s: $f, exit_s: $e}' >"$TMP/first.json"
}

case $TRAFFIC in
closed) GEN_TRAFFIC= ;;
rcvbuf) GEN_TRAFFIC=--rcvbuf ;;
*) log "BENCH_TRAFFIC must be closed or rcvbuf"; exit 1 ;;
esac
if [[ " $MODES " == *" events-base "* && ! -x $PM_BASE ]]; then
	log "mode events-base needs PACKET_MONITOR_BASE (an older build's binary)"; exit 1
fi

sysctl -qw kernel.bpf_stats_enabled="${BENCH_BPF_STATS:-1}"
log "namespace $NS (inode $INODE), $ROUNDS round(s) of $SECS s per case, threads: $THREADS, modes: $MODES, traffic: $TRAFFIC"
# Rounds interleave the modes so that load from elsewhere hits them alike.
for ((r = 1; r <= ROUNDS; r++)); do
	for t in $THREADS; do
		for m in $MODES; do
			run_case "$r" "$t" "$m"
		done
	done
done
echo null >"$TMP/first.json"
((HAVE_PM)) && first_event

# Per-run derived numbers, then one summary per (threads, mode): medians over
# rounds; slowdown pairs each run with the "none" run of the same round.
jq -s --slurpfile first "$TMP/first.json" --argjson settle "$SETTLE" '
	def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
	def median: map(select(. != null)) | sort
		| if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
		  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def total($k): map(.[$k]) | if any(. == null) then null else add end;
	. as $raw
	| ($raw | map(. + {drops_per_cpu_s: div(.sent; .gen_cpu_s)})) as $raw
	| ($raw | map(. as $r | . + ($raw
		| map(select(.round == $r.round and .threads == $r.threads and .mode == "none"))
		| if length == 0 or $r.mode == "none" then {slowdown: null, cpu_slowdown: null}
		  else {slowdown: (1 - $r.rate / .[0].rate),
			cpu_slowdown: (1 - $r.drops_per_cpu_s / .[0].drops_per_cpu_s)} end) + {
		monitor_cpu_ns_per_drop: div(if .monitor_cpu_s == null then null else .monitor_cpu_s * 1e9 end; .sent),
		monitor_cpu_util: div(.monitor_cpu_s; .cpu_window_s),
		events_missing: (if (.mode | startswith("events")) and .events_received != null then .sent - .events_received else null end),
		bpf_ns_per_run: div(.bpf_run_time_ns; .bpf_run_cnt) })) as $runs
	| { first_event: $first[0], settle_s: $settle,
	    summary: ($runs | group_by([.threads, .mode]) | map({
		threads: .[0].threads, mode: .[0].mode, rounds: length,
		rate_median: map(.rate) | median, rates: map(.rate),
		slowdown_median: map(.slowdown) | median,
		drops_per_cpu_s_median: map(.drops_per_cpu_s) | median,
		cpu_slowdown_median: map(.cpu_slowdown) | median,
		startup_s_median: map(.startup_s) | median,
		attach_ms_median: map(.attach_ms) | median,
		monitor_cpu_ns_per_drop_median: map(.monitor_cpu_ns_per_drop) | median,
		monitor_cpu_util_median: map(.monitor_cpu_util) | median,
		sent: total("sent"), events_received: total("events_received"),
		events_missing: total("events_missing"),
		lost_ring_full: total("lost_ring_full"), lost_queue_full: total("lost_queue_full"),
		drops_total: total("drops_total"),
		bpf_ns_per_run: div(total("bpf_run_time_ns"); total("bpf_run_cnt")) })
		| sort_by(.threads, ({none: 0, "events-base": 1, events: 2, "events-stacks": 3, counts: 4}[.mode] // 5))),
	    runs: $runs }' "$TMP/runs.jsonl" >"$OUT/results.json"

jq -r '
	def f($x; $d): if $x == null then "-" else ($x * pow(10; $d) | round / pow(10; $d) | tostring) end;
	def pct($x): if $x == null then "-" else f($x * 100; 1) + " %" end;
	"| threads | mode | rate (M drops/s) | slowdown | drops per gen. CPU s (M) | slowdown per CPU s | start-up (s) | monitor CPU util | CPU ns/drop | events / drops generated | lost ring/queue | drops counted | BPF ns/run |",
	"|---|---|---|---|---|---|---|---|---|---|---|---|---|",
	(.summary[] | "| \(.threads) | \(.mode) | \(f(.rate_median / 1e6; 3)) | \(pct(.slowdown_median)) | \(f(.drops_per_cpu_s_median / 1e6; 3)) | \(pct(.cpu_slowdown_median)) | \(f(.startup_s_median; 3))\(if .attach_ms_median == null then "" else " (attach \(f(.attach_ms_median; 0)) ms)" end) | \(pct(.monitor_cpu_util_median)) | \(f(.monitor_cpu_ns_per_drop_median; 0)) | \(if (.mode | startswith("events")) then "\(f(.events_received; 0)) / \(.sent)" else "-" end) | \(f(.lost_ring_full; 0))/\(f(.lost_queue_full; 0)) | \(if .drops_total == null then "-" else "\(.drops_total) / \(.sent)" end) | \(f(.bpf_ns_per_run; 0)) |"),
	"",
	"Medians over \(.summary[0].rounds) interleaved round(s). slowdown = 1 - rate / rate(none, same round);",
	"slowdown per CPU s = the same with drops per generator CPU second (the in-path cost alone,",
	"steadier when other jobs share the CPUs; the wall slowdown also includes the monitor taking CPU",
	"from the generator). Events, losses and drops are totals over the rounds.",
	(if .first_event == null then "First event: not measured (no monitor)."
	 else "First event: attached after \(f(.first_event.attached_s; 3)) s, first JSON event after \(f(.first_event.first_event_s; 3)) s, exited after \(f(.first_event.exit_s; 3)) s (--count 1, 1000 drops/s)." end),
	"",
	"Targets (reported, not enforced):",
	(.summary[] | select(.mode | startswith("events")) |
		"- \(.threads) thread(s), events: slowdown \(pct(.slowdown_median)) (per CPU s \(pct(.cpu_slowdown_median))) (<= 10 %), BPF \(f(.bpf_ns_per_run; 0)) ns/event (<= 400), events missing \(f(.events_missing; 0)), lost ring/queue \(f(.lost_ring_full; 0))/\(f(.lost_queue_full; 0))" + (if .threads == 2 then " (target 0)" else "" end)),
	(.summary[] | select(.mode == "counts") |
		"- \(.threads) thread(s), counts only: slowdown \(pct(.slowdown_median)) (per CPU s \(pct(.cpu_slowdown_median))) (<= 5 %)"),
	(if .first_event != null then "- first event after \(f(.first_event.first_event_s; 3)) s (< 1 s)" else empty end)
	' "$OUT/results.json"
log "results: $OUT/results.json"
