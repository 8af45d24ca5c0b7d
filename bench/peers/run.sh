#!/usr/bin/env bash
# Peers side by side: the drop workload of bench/run.sh (UDP to a closed port in a
# namespace of our own, fixed duration, interleaved rounds) measured in one run
# against packet-monitor and the tools people use instead: a BCC tracepoint script,
# bpftrace (counting by reason, and printf per drop) and perf stat. For each:
# generator slowdown, drops delivered vs generated, the tool's CPU, in-kernel cost,
# and the time from start until it is attached. Tools that cannot run on this
# kernel (dropwatch, tcpdrop-bpfcc) are tried and reported with their error.
#
# Usage (root): bench/peers/run.sh      (make bench-peers installs the tools first)
#   PACKET_MONITOR   monitor binary (default build/bin/packet-monitor)
#   BENCH_SECONDS    generator run time per case (default 10)
#   BENCH_ROUNDS     rounds over all cases, reported as medians (default 3)
#   BENCH_THREADS    generator thread counts (default "1 2")
#   BENCH_SETTLE     seconds a tool gets to drain after the generator (default 1)
#   BENCH_BPF_STATS  1 (default): kernel.bpf_stats_enabled=1 for the in-kernel cost
#   PEERS_TOOLS      subset of: pm-events pm-counts bcc bcc-big bpftrace-count bpftrace-printf
#                    bpftrace-printf-big perf-stat (default: all)
#   PEERS_BUFFER_MB  event buffer of the *-big cases, all CPUs together (default 16, packet-
#                    monitor's default ring, given to BCC and bpftrace as per-CPU pages); the
#                    plain bcc and bpftrace-printf cases keep the tools' own defaults
#   PEERS_PYTHON     the Python that has Debian's python3-bpfcc (default /usr/bin/python3)
#   BCC_KERNEL_SOURCE kernel headers for BCC; default /lib/modules/$(uname -r)/build, else
#                    Debian's linux-headers packages, fetched with apt-get download
# Prints a Markdown table; writes build/bench/peers/results.json. `run.sh --table` prints the
# table of the last run again.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PM=${PACKET_MONITOR:-$ROOT/build/bin/packet-monitor}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-1 2}
SETTLE=${BENCH_SETTLE:-1}
TOOLS=${PEERS_TOOLS:-pm-events pm-counts bcc bcc-big bpftrace-count bpftrace-printf bpftrace-printf-big perf-stat}
BUFFER_MB=${PEERS_BUFFER_MB:-16}
PYTHON=${PEERS_PYTHON:-/usr/bin/python3}
OUT=$ROOT/build/bench/peers
DROPGEN=$ROOT/build/bench/dropgen
FORMAT=/sys/kernel/tracing/events/skb/kfree_skb/format
NS=pm-peers-$$
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
TOOL_PID='' GEN_PID=''

log() { echo "peers: $*" >&2; }
now_us() { NOW=${EPOCHREALTIME/./}; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# The Markdown table, from results.json alone (`run.sh --table` prints it again).
print_table() {
	jq -r '
	def f($x; $d): if $x == null then "-" else ($x * pow(10; $d) | round / pow(10; $d) | tostring) end;
	def pct($x): if $x == null then "-" else f($x * 100; 1) + " %" end;
	def commas: if length <= 3 then . else (.[:-3] | commas) + "," + .[-3:] end;
	def big($x): if $x == null then "-" else ($x | tostring | commas) end;
	. as $r
	| "| tool | gen. threads | drops/s | generator slowdown | slowdown per gen. CPU s | start-up until attached | tool CPU (of one core) | tool CPU per drop | in-kernel per drop | drops delivered / generated | lost (of produced) |",
	"|---|---|---|---|---|---|---|---|---|---|---|",
	(.summary[] | "| \($r.labels[.tool] // .tool) | \(.threads) | \(f(.rate_median / 1e3; 0)) k | \(pct(.slowdown_median)) | \(pct(.cpu_slowdown_median)) | \(if .startup_s_median == null then "-" else f(.startup_s_median; 2) + " s" end) | \(pct(.tool_cpu_util_median)) | \(if .tool_cpu_ns_per_drop_median == null then "-" else f(.tool_cpu_ns_per_drop_median; 0) + " ns" end) | \(if .bpf_ns_per_run == null then "-" else f(.bpf_ns_per_run; 0) + " ns" end) | \(if .tool == "none" then "- / \(big(.sent))" elif .delivered == null then "-" elif .delivered > .sent then "\(big(.delivered)) / \(big(.sent)) (+\(big(.delivered - .sent)) from elsewhere)" else "\(big(.delivered)) / \(big(.sent)) (\(f(100 * .delivered / .sent; 1)) %)" end) | \(if .lost == null then "-" else "\(big(.lost)) (\(pct(.lost / (.delivered + .lost))))" end) |"),
	(.unavailable[] | "| \($r.labels[.tool] // .tool) | - | cannot run here: `\(.error)`\(if .kernel_config != "" then " (kernel: `\(.kernel_config)`)" else "" end) | | | | | | | | |"),
	"",
	"Kernel \(.kernel), \(.cpus) CPUs; medians of \(.summary[0].rounds) interleaved round(s) of \(.seconds) s per case; delivered and lost are totals.",
	"Generator alone: \([.summary[] | select(.tool == "none") | "\(f(.rate_min / 1e3; 0))-\(f(.rate_max / 1e3; 0)) k/s with \(.threads) thread(s)"] | join(", ")) over the rounds; where that range is wide, the wall-clock slowdown is noise and the slowdown per generator CPU second is the comparison that holds.",
	"Generated = packets the generator sent = UDP NoPorts in its namespace (\(if all(.summary[]; .sent == .noports) then "equal in every case" else "NOT equal: see results.json" end)). Delivered = NO_SOCKET drops the tool reported: packet-monitor only in its --netns namespace, the peers in every namespace (more than generated = NO_SOCKET drops elsewhere on the machine). Lost = what the tool itself reports lost, of what the kernel produced for it (delivered + lost).",
	"Drops elsewhere on the machine: \(.before.background.all_per_s)/s before (\(.before.background.no_socket_per_s)/s NO_SOCKET), \(.after.background.all_per_s)/s after; load average \(.before.loadavg) before, \(.after.loadavg) after; other kfree_skb programs loaded: \(.before.other_programs) before, \(.after.other_programs) after.",
	"Event buffers: packet-monitor ring 16 MB; BCC 8 and bpftrace 64 pages per CPU (their defaults), \(.perf_buffer_pages_per_cpu) pages per CPU in the cases sized like the packet-monitor ring. BCC compiled against headers: \(.bcc_headers | sub(".*/"; ""))."
	' "$OUT/results.json"
}
if [[ ${1:-} == --table ]]; then
	print_table
	exit
fi

TMP=$(mktemp -d)
# bpftrace's printf output is counted afterwards: keep it in memory, not on disk.
LINES_DIR=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)

cleanup() {
	set +e
	[[ -n $TOOL_PID ]] && kill -KILL "$TOOL_PID" 2>/dev/null
	[[ -n $GEN_PID ]] && kill "$GEN_PID" 2>/dev/null
	wait
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP" "$LINES_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) == 0 ]] || { log "must run as root"; exit 1; }
mkdir -p "$OUT"
cc -O2 -Wall -Werror -pthread -o "$DROPGEN" "$ROOT/bench/dropgen.c"
[[ -d /sys/kernel/tracing/events/skb ]] || mount -t tracefs nodev /sys/kernel/tracing
[[ -r $FORMAT ]] || { log "no $FORMAT: the skb:kfree_skb tracepoint is missing"; exit 1; }

# The tracepoint's own reason table: the number of NO_SOCKET on this kernel.
NO_SOCKET=$(grep -oP '\{\s*\K\d+(?=,\s*"NO_SOCKET"\s*\})' "$FORMAT")
KCONFIG=$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null) || true)
kconfig_says() { grep -E "^(# )?$1[= ]" <<<"$KCONFIG" | head -n 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
INODE=$(stat -L -c %i "/run/netns/$NS")
noports() { ip netns exec "$NS" awk '/^Udp:/ { if (n++) print $3 }' /proc/net/snmp; }

# Per-CPU perf-buffer pages giving the *-big cases PEERS_BUFFER_MB in all (a power of two).
# The tools' own defaults: BCC's open_perf_buffer 8 pages, bpftrace 64 pages per CPU.
BCC_DEFAULT_PAGES=8
PAGES=1
while ((PAGES * 2 * $(getconf PAGESIZE) * NCPU <= BUFFER_MB * 1024 * 1024)); do PAGES=$((PAGES * 2)); done

# Kernel headers for BCC. Only the tracepoint fields are read, so headers of another
# kernel version compile the same program; Debian's packages split them in two
# (arch + common), merged here into the single tree BCC expects.
bcc_headers() {
	[[ -n ${BCC_KERNEL_SOURCE:-} ]] && { HEADERS=$BCC_KERNEL_SOURCE; return; }
	[[ -d /lib/modules/$(uname -r)/build ]] && { HEADERS=/lib/modules/$(uname -r)/build; return; }
	local dest=$OUT/kernel-headers arch pkg common
	arch=$(dpkg --print-architecture)
	pkg=$(apt-cache depends "linux-headers-$arch" 2>/dev/null | awk '/Depends: linux-headers-/ { print $2; exit }')
	[[ -n $pkg ]] || return 1
	common=$(apt-cache depends "$pkg" | awk '/Depends: linux-headers-.*-common$/ { print $2; exit }')
	if [[ ! -d $dest/$pkg/include/generated ]]; then
		log "fetching $pkg and $common for BCC (apt-get download)"
		rm -rf "$dest" && mkdir -p "$dest/debs" "$dest/root"
		(cd "$dest/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" $common) >&2 || return 1
		for deb in "$dest"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
		mkdir -p "$dest/$pkg"
		[[ -n $common ]] && cp -a "$dest/root/usr/src/$common/." "$dest/$pkg/"
		cp -a "$dest/root/usr/src/$pkg/." "$dest/$pkg/"
		rm -rf "$dest/debs" "$dest/root"
	fi
	HEADERS=$dest/$pkg
	export BCC_KERNEL_SOURCE=$HEADERS
}
HEADERS=none
bcc_headers || log "no kernel headers for BCC: BCC will say what it misses"

# bpftrace took `args.field` in 0.20 (earlier: `args->field`).
BT_VERSION=$(bpftrace --version 2>/dev/null | grep -oP '\d+\.\d+' | head -n 1 || echo 0.0)
if awk "BEGIN { exit !($BT_VERSION >= 0.20) }"; then BT_ARGS='args.'; else BT_ARGS='args->'; fi
BT_COUNT="tracepoint:skb:kfree_skb { @[${BT_ARGS}reason] = count(); }"
BT_PRINTF="tracepoint:skb:kfree_skb { printf(\"%d 0x%04x %s\\n\", ${BT_ARGS}reason, ${BT_ARGS}protocol, ksym(${BT_ARGS}location)); }"

# Row names of the table; bench/peers/README.md spells out each command.
declare -A LABEL=(
	[none]="generator alone"
	[pm-events]="packet-monitor \`watch --json\`"
	[pm-counts]="packet-monitor \`watch --counts-only\`"
	[bcc]="BCC script, a line per drop (default buffer)"
	[bcc-big]="BCC script, a line per drop ($BUFFER_MB MB buffer)"
	[bpftrace-count]="bpftrace \`@[${BT_ARGS}reason] = count()\`"
	[bpftrace-printf]="bpftrace \`printf\` per drop (default buffer)"
	[bpftrace-printf-big]="bpftrace \`printf\` per drop ($BUFFER_MB MB buffer)"
	[perf-stat]="\`perf stat -e skb:kfree_skb\`"
	[dropwatch]="dropwatch"
	[tcpdrop-bpfcc]="tcpdrop-bpfcc"
)

# utime + stime of a process (all threads), in seconds.
cpu_seconds() {
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }
	read -ra f <<<"$s"
	calc "(${f[11]} + ${f[12]}) / $CLK_TCK"
}

# BPF programs the process holds (prog_id in its fds' fdinfo): "run_time_ns run_cnt".
bpf_stats_of() {
	local ids
	ids=$(grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u | paste -sd, -)
	[[ -n $ids ]] || { echo "null null"; return; }
	bpftool prog show -j | jq -r --argjson ids "[$ids]" '
		[.[] | select(.id | IN($ids[]))] | "\(map(.run_time_ns // 0) | add) \(map(.run_cnt // 0) | add)"'
}

# Is the tool ready, i.e. attached so that the next drop reaches it?
is_ready() {
	case $1 in
	pm-*) grep -qi attached "$ERR" ;;
	bcc*) grep -q '^attached' "$ERR" ;;
	bpftrace-*) bpftool perf show -j 2>/dev/null | jq -e --argjson p "$TOOL_PID" \
		'any(.[]; .pid == $p and .tracepoint == "kfree_skb")' >/dev/null ;;
	# Its first interval line: counting runs (open perf events may not be enabled yet).
	perf-stat) grep -q 'skb:kfree_skb' "$ERR" ;;
	esac
}

# start_tool TOOL: starts it, waits until it is attached; sets TOOL_PID, STARTUP_S
# (or START_ERROR and returns 1 when it exits or is not attached within 60 s).
start_tool() {
	local tool=$1 t0
	OUTF=$TMP/out ERR=$TMP/err START_ERROR=''
	[[ $tool == bpftrace-printf* ]] && OUTF=$LINES_DIR/lines
	: >"$OUTF"; : >"$ERR"
	now_us; t0=$NOW
	# Background jobs of a script inherit SIGINT ignored; give it back, all stop on SIGINT.
	case $tool in
	pm-events) env --default-signal=INT "$PM" watch --json --netns "$INODE" >/dev/null 2>"$ERR" & ;;
	pm-counts) env --default-signal=INT "$PM" watch --counts-only --netns "$INODE" >/dev/null 2>"$ERR" & ;;
	bcc) env --default-signal=INT "$PYTHON" "$HERE/bcc_drops.py" --pages "$BCC_DEFAULT_PAGES" >/dev/null 2>"$ERR" & ;;
	bcc-big) env --default-signal=INT "$PYTHON" "$HERE/bcc_drops.py" --pages "$PAGES" >/dev/null 2>"$ERR" & ;;
	bpftrace-count) env --default-signal=INT bpftrace -e "$BT_COUNT" >"$OUTF" 2>"$ERR" & ;;
	bpftrace-printf) env --default-signal=INT bpftrace -e "$BT_PRINTF" >"$OUTF" 2>"$ERR" & ;;
	bpftrace-printf-big) env --default-signal=INT BPFTRACE_PERF_RB_PAGES="$PAGES" bpftrace -e "$BT_PRINTF" >"$OUTF" 2>"$ERR" & ;;
	# Interval output (every 10 ms) is its only sign that counting has started.
	perf-stat) env --default-signal=INT perf stat -I 10 -x, -a -e skb:kfree_skb --filter "reason == $NO_SOCKET" >/dev/null 2>"$ERR" & ;;
	esac
	TOOL_PID=$!
	until is_ready "$tool"; do
		now_us
		if ! kill -0 "$TOOL_PID" 2>/dev/null || ((NOW - t0 > 60000000)); then
			START_ERROR=$(grep -v -e '^\s*$' -e RLIMIT_MEMLOCK "$ERR" | tail -n 1)
			[[ -n $START_ERROR ]] || START_ERROR="not attached after $(((NOW - t0) / 1000000)) s"
			kill -KILL "$TOOL_PID" 2>/dev/null; wait "$TOOL_PID" 2>/dev/null || true
			TOOL_PID=''
			return 1
		fi
		sleep 0.005
	done
	now_us
	STARTUP_S=$(calc "($NOW - $t0) / 1e6")
}

# stop_tool: SIGINT, up to 10 s for its exit summary, then SIGKILL.
stop_tool() {
	local i
	kill -INT "$TOOL_PID"
	for ((i = 0; i < 1000; i++)); do
		kill -0 "$TOOL_PID" 2>/dev/null || break
		sleep 0.01
	done
	kill -0 "$TOOL_PID" 2>/dev/null && { log "$1 ignored SIGINT for 10 s; killing it"; kill -KILL "$TOOL_PID"; }
	TOOL_RC=0
	wait "$TOOL_PID" || TOOL_RC=$?
	TOOL_PID=''
}

# What the tool says it got: "delivered lost" (NO_SOCKET drops; null when it cannot say).
delivered_lost() {
	local n
	num() { grep -oiP -- "$1\\D*?\\K\\d+" "$2" | tail -n 1 | grep . || echo null; }
	case $1 in
	pm-events) echo "$(num 'events:.*?received' "$ERR") $(($(num 'ring_full' "$ERR" | sed 's/null/0/') + $(num 'queue_full' "$ERR" | sed 's/null/0/')))" ;;
	pm-counts) echo "$(num 'drops:\s*total' "$ERR") null" ;;
	bcc*) tail -n 1 "$ERR" | jq -r '"\(.by_reason.NO_SOCKET // 0) \(.lost)"' 2>/dev/null || echo "null null" ;;
	bpftrace-count) n=$(grep -oP "^@\\[$NO_SOCKET\\]:\\s*\\K\\d+" "$OUTF" || echo 0); echo "$n null" ;;
	bpftrace-printf*)
		n=$(grep -c "^$NO_SOCKET " "$OUTF" || true)
		echo "$n $(grep -oP '^Lost \K\d+' "$OUTF" | awk '{ s += $1 } END { print s + 0 }')" ;;
	perf-stat) echo "$(awk -F, '/skb:kfree_skb/ { s += $2 } END { print s + 0 }' "$ERR") null" ;;
	esac
}

declare -A FAILED=()
# Records a tool that cannot run here: its own last error line, and what the kernel lacks.
record_unavailable() {
	local tool=$1 error=$2 why=''
	case $tool in
	dropwatch) why=$(kconfig_says CONFIG_NET_DROP_MONITOR) ;;
	tcpdrop-bpfcc) why=$(kconfig_says CONFIG_KPROBES) ;;
	esac
	jq -c -n --arg tool "$tool" --arg error "$error" --arg why "$why" \
		'{tool: $tool, error: $error, kernel_config: $why}' >>"$TMP/unavailable.jsonl"
	log "$tool cannot run here: $error${why:+ ($why)}"
}

# Tried once: they fail at start on this kernel, or run (then they are only noted).
try_unavailable() {
	local out rc
	if command -v dropwatch >/dev/null; then
		out=$(printf 'start\n' | timeout 10 dropwatch -l kas 2>&1) && rc=0 || rc=$?
		if grep -qi -e 'unable' -e 'error' -e "can't" <<<"$out"; then
			record_unavailable dropwatch "$(grep -i -m 1 -e 'unable' -e 'error' -e "can't" <<<"$out")"
		else
			log "dropwatch started here (exit $rc); it is not part of the measured set"
		fi
	else
		record_unavailable dropwatch "not installed (apt-get install dropwatch)"
	fi
	if command -v tcpdrop-bpfcc >/dev/null; then
		out=$(timeout 30 tcpdrop-bpfcc 2>&1 </dev/null) && rc=0 || rc=$?
		if ((rc != 124)); then
			record_unavailable tcpdrop-bpfcc "$(grep -v '^\s*$' <<<"$out" | tail -n 1) (exit $rc)"
		else
			log "tcpdrop-bpfcc ran for 30 s here; it is not part of the measured set"
		fi
	else
		record_unavailable tcpdrop-bpfcc "not installed (apt-get install bpfcc-tools)"
	fi
}

run_case() {
	local round=$1 threads=$2 tool=$3 gen snmp0 snmp1 t0 window=null
	local startup=null cpu=null bpf="null null" delivered=null lost=null rc=null cpu0
	if [[ $tool != none ]]; then
		if ! start_tool "$tool"; then
			FAILED[$tool]=1
			record_unavailable "$tool" "$START_ERROR"
			return
		fi
		startup=$STARTUP_S
		cpu0=$(cpu_seconds "$TOOL_PID")
	fi
	snmp0=$(noports)
	now_us; t0=$NOW
	gen=$(ip netns exec "$NS" "$DROPGEN" --threads "$threads" --duration "$SECS")
	snmp1=$(noports)
	if [[ $tool != none ]]; then
		sleep "$SETTLE"
		now_us; window=$(calc "($NOW - $t0) / 1e6")
		cpu=$(calc "$(cpu_seconds "$TOOL_PID") - $cpu0")
		bpf=$(bpf_stats_of "$TOOL_PID")
		stop_tool "$tool"
		rc=$TOOL_RC
		read -r delivered lost <<<"$(delivered_lost "$tool")"
	fi
	read -r bpf_ns bpf_cnt <<<"$bpf"
	jq -c -n --argjson round "$round" --argjson gen "$gen" --arg tool "$tool" \
		--argjson noports "$((snmp1 - snmp0))" --argjson startup "$startup" --argjson cpu "$cpu" \
		--argjson window "$window" --argjson delivered "$delivered" --argjson lost "$lost" \
		--argjson bpf_ns "$bpf_ns" --argjson bpf_cnt "$bpf_cnt" --argjson rc "$rc" '
		{round: $round, threads: $gen.threads, tool: $tool, sent: $gen.sent, noports: $noports,
		 seconds: $gen.seconds, rate: $gen.rate, gen_cpu_s: $gen.cpu_seconds, startup_s: $startup,
		 tool_cpu_s: $cpu, cpu_window_s: $window, delivered: $delivered, lost: $lost,
		 bpf_run_time_ns: $bpf_ns, bpf_run_cnt: $bpf_cnt, tool_exit: $rc}' >>"$TMP/runs.jsonl"
	log "round $round, $threads thread(s), $tool: $(jq -r '"\(.rate / 1e3 | round) k drops/s"' <<<"$gen")${delivered:+, delivered $delivered}"
	[[ $tool == bpftrace-printf* ]] && : >"$OUTF"  # free the memory
	return 0
}

# Drops elsewhere on the machine (all namespaces): the peers count them too, by reason.
background() {
	perf stat -x, -a -e skb:kfree_skb -e skb:kfree_skb --filter "reason == $NO_SOCKET" sleep 2 2>&1 >/dev/null |
		awk -F, '/skb:kfree_skb/ { v[n++] = $1 } END { printf "{\"all_per_s\": %.1f, \"no_socket_per_s\": %.1f}", v[0] / 2, v[1] / 2 }'
}

# Other kfree_skb programs loaded (another monitor) run on every drop, in every case.
other_programs() {
	bpftool prog show -j | jq '[.[] | select(.name // "" | test("kfree_skb|^handle_(tp_btf|raw_tp|tracepoi)"))] | length'
}

sysctl -qw kernel.bpf_stats_enabled="${BENCH_BPF_STATS:-1}"
: >"$TMP/unavailable.jsonl"
try_unavailable
jq -n --argjson bg "$(background)" --argjson others "$(other_programs)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
	'{background: $bg, other_programs: $others, loadavg: $load}' >"$TMP/before.json"
log "namespace $NS (inode $INODE), $ROUNDS round(s) of $SECS s, threads: $THREADS, tools: $TOOLS"
log "buffers: the tools' defaults, and $BUFFER_MB MB in the *-big cases ($PAGES pages per CPU); BCC headers: $HEADERS"
CASES=(none $TOOLS)
for ((r = 1; r <= ROUNDS; r++)); do
	for t in $THREADS; do
		# Rotate the order each round so that drift on the machine hits every case alike.
		for ((i = 0; i < ${#CASES[@]}; i++)); do
			c=${CASES[$(((i + r - 1) % ${#CASES[@]}))]}
			[[ -n ${FAILED[$c]:-} ]] || run_case "$r" "$t" "$c"
		done
	done
done
jq -n --argjson bg "$(background)" --argjson others "$(other_programs)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
	'{background: $bg, other_programs: $others, loadavg: $load}' >"$TMP/after.json"

jq -s --slurpfile unavailable "$TMP/unavailable.jsonl" --slurpfile before "$TMP/before.json" \
	--slurpfile after "$TMP/after.json" --argjson secs "$SECS" --argjson settle "$SETTLE" \
	--arg headers "$HEADERS" --argjson pages "$PAGES" --arg kernel "$(uname -r)" --argjson ncpu "$NCPU" \
	--arg order "none $TOOLS" \
	--argjson labels "$(for k in "${!LABEL[@]}"; do jq -n --arg k "$k" --arg v "${LABEL[$k]}" '{($k): $v}'; done | jq -s 'add')" '
	def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
	def median: map(select(. != null)) | sort
		| if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
		  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def total($k): map(.[$k]) | if any(. == null) then null else add end;
	($order | split(" ")) as $order
	| map(. + {drops_per_cpu_s: div(.sent; .gen_cpu_s)}) as $raw
	| ($raw | map(. as $r | . + ($raw
		| map(select(.round == $r.round and .threads == $r.threads and .tool == "none"))
		| if length == 0 or $r.tool == "none" then {slowdown: null, cpu_slowdown: null}
		  else {slowdown: (1 - $r.rate / .[0].rate), cpu_slowdown: (1 - $r.drops_per_cpu_s / .[0].drops_per_cpu_s)} end) + {
		tool_cpu_ns_per_drop: div(if .tool_cpu_s == null then null else .tool_cpu_s * 1e9 end; .sent),
		tool_cpu_util: div(.tool_cpu_s; .cpu_window_s),
		bpf_ns_per_run: div(.bpf_run_time_ns; .bpf_run_cnt) })) as $runs
	| { kernel: $kernel, cpus: $ncpu, seconds: $secs, settle_s: $settle, bcc_headers: $headers,
	    perf_buffer_pages_per_cpu: $pages, before: $before[0], after: $after[0], unavailable: $unavailable,
	    labels: $labels,
	    summary: ($runs | group_by([.threads, .tool]) | map({
		threads: .[0].threads, tool: .[0].tool, rounds: length,
		rate_median: map(.rate) | median, rate_min: map(.rate) | min, rate_max: map(.rate) | max,
		slowdown_median: map(.slowdown) | median,
		cpu_slowdown_median: map(.cpu_slowdown) | median,
		startup_s_median: map(.startup_s) | median,
		tool_cpu_util_median: map(.tool_cpu_util) | median,
		tool_cpu_ns_per_drop_median: map(.tool_cpu_ns_per_drop) | median,
		bpf_ns_per_run: div(total("bpf_run_time_ns"); total("bpf_run_cnt")),
		sent: total("sent"), noports: total("noports"),
		delivered: total("delivered"), lost: total("lost") })
		| sort_by(.threads, (.tool as $t | $order | index($t)))),
	    runs: $runs }' "$TMP/runs.jsonl" >"$OUT/results.json"

print_table
log "results: $OUT/results.json"
