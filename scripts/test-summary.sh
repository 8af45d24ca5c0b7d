#!/usr/bin/env bash
# Prints "tests: N passed, N failed, N skipped" summed over the TRX files of a dotnet test run.
# Exit status 1 when no result file was found (a run that executed nothing must not look green).
set -euo pipefail
dir=${1:-build/test-results}
shopt -s nullglob globstar
files=("$dir"/**/*.trx)
if [ ${#files[@]} -eq 0 ]; then
  echo "tests: 0 passed, 0 failed, 0 skipped (no test results in $dir)"
  exit 1
fi
# Each TRX has one <Counters total= executed= passed= failed= ... notExecuted= .../> element;
# node's test runner (TAP, *.tap) ends with "# pass N", "# fail N", "# skipped N".
taps=("$dir"/*.tap)
{ cat "${files[@]}" | grep -o '<Counters [^>]*>'; cat "${taps[@]}" /dev/null | grep -E '^# (pass|fail|cancelled|skipped|todo) [0-9]+$'; } | awk '
  function attr(name,   m) { if (match($0, name "=\"[0-9]+\"")) { m = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0 } return 0 }
  /^<Counters/ { passed += attr("passed"); failed += attr("failed") + attr("error") + attr("timeout") + attr("aborted"); skipped += attr("total") - attr("executed") }
  /^# pass / { passed += $3 }
  /^# (fail|cancelled) / { failed += $3 }
  /^# (skipped|todo) / { skipped += $3 }
  END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }'
