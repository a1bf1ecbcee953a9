#!/usr/bin/env bash
# Runs libFuzzer targets of fuzz/ for a set time each and prints executions
# and findings per target. Called by `make fuzz`; see mk/fuzz.mk.
#
#   scripts/fuzz.sh SECONDS JOBS WORK_DIR TARGET...
#
# JOBS targets run at once. New corpus entries go to WORK_DIR/corpus/<target>
# (outside the clone), logs to WORK_DIR/logs, crash inputs to
# fuzz/artifacts/<target>/. Exits 1 if any target found something.
set -euo pipefail
seconds=$1 jobs=$2 work=$3
shift 3
cd "$(dirname "$0")/.."
mkdir -p "$work/logs"

run_one() {
  local t=$1
  mkdir -p "$work/corpus/$t" "fuzz/artifacts/$t"
  if cargo +nightly fuzz run -O --fuzz-dir fuzz "$t" "$work/corpus/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
      > "$work/logs/$t.log" 2>&1; then
    echo "fuzz: $t done"
  else
    echo "fuzz: $t FOUND SOMETHING (log: $work/logs/$t.log)"
  fi
}
export -f run_one
export work seconds

echo "fuzz: ${#@} target(s), ${seconds} s each, ${jobs} at a time"
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

status=0
printf '%-16s %14s %10s %8s %s\n' target executions exec/s corpus findings
for t in "$@"; do
  log="$work/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$work/corpus/$t" -type f | wc -l)
  found=$(find "fuzz/artifacts/$t" -type f | wc -l)
  printf '%-16s %14s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" "$found"
  if [ "$found" -gt 0 ] || ! grep -q '^Done [0-9]* runs' "$log"; then status=1; fi
done
if [ "$status" -ne 0 ]; then
  echo "fuzz: findings: inputs in fuzz/artifacts/, logs in $work/logs/"
fi
exit "$status"
