#!/usr/bin/env bash
# Runs the Google Benchmark micro-benchmarks (bench/*.cpp) on a release build and prints medians.
#   scripts/bench-micro.sh [REPETITIONS]      (default 5; results also in bench/results/micro-*.json)
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
./scripts/setup-deps.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
mkdir -p bench/results
for b in build/bench/bench_*; do
  [ -f "$b" ] || continue
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
       --benchmark_out="bench/results/micro-$name.json" --benchmark_out_format=json 2>/dev/null |
    grep -E '_median|^-|^Benchmark' || true
done
