# Shell helpers shared by the benchmarks that run `serve` (sourced; the caller defines log()).

# A free TCP port on loopback.
free_port() { node -e 's = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# wait_for FILE PATTERN PID WHAT: until PATTERN is in FILE; fails if PID exits or after 60 s.
wait_for() {
	for ((i = 0; i < 600; i++)); do
		grep -q -- "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || { log "$4 exited:"; cat "$1" >&2; exit 1; }
		sleep 0.1
	done
	log "$4: no '$2' after 60 s"; cat "$1" >&2; exit 1
}
