#!/usr/bin/env bash
# synwall's longer fuzzing run, one command: builds the libFuzzer targets (build-fuzz: clang,
# ASan + UBSan) and runs each for a while, one process at a time: fuzz_burst (the burst entry
# point, fast path against general path) on test/fuzz/corpus, then fuzz_app (a worker with its
# inline application, absorb or proxy) on test/fuzz/corpus-app. The inputs found that add coverage
# are merged into those corpus directories (libFuzzer -merge=1: review them and commit them);
# inputs that fail an oracle are written to test/fuzz/crashes/. Exit status is non-zero when a
# target failed.
#   scripts/fuzz.sh [SECONDS]        default 600, per target
#   scripts/fuzz.sh SECONDS TARGET   only TARGET: burst or app
#   JOBS=N                           build parallelism (default: nproc)
#   scripts/fuzz.sh --help           this text
# Replay one failing input: build-fuzz/test/fuzz/fuzz_app test/fuzz/crashes/crash-<sha1>
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
ONLY=${2:-}
JOBS=${JOBS:-$(nproc)}
case "$SECONDS_EACH" in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not '$SECONDS_EACH' (scripts/fuzz.sh --help: usage)" >&2; exit 2 ;;
esac
case "$ONLY" in
  ''|burst|app) ;;
  *) echo "fuzz.sh: unknown target '$ONLY': burst or app (scripts/fuzz.sh --help: usage)" >&2; exit 2 ;;
esac

if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized -Db_lto=false -Dtests=disabled \
    -Dbenchmarks=disabled >/dev/null
fi
ninja -C build-fuzz -j "$JOBS" >/dev/null || { echo "fuzz.sh: the build failed (ninja -C build-fuzz shows why)" >&2; exit 1; }
mkdir -p test/fuzz/crashes

status=0
for target in burst app; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$target" ] && continue
  corpus=test/fuzz/corpus
  [ "$target" = app ] && corpus=test/fuzz/corpus-app
  # A scratch corpus: libFuzzer writes every new input there, the merge keeps the useful ones.
  work=$(mktemp -d)
  cp "$corpus"/* "$work"/ 2>/dev/null || true
  echo "fuzz.sh: fuzz_$target for ${SECONDS_EACH}s on $corpus"
  if build-fuzz/test/fuzz/fuzz_$target "$work" -max_total_time="$SECONDS_EACH" -max_len=4096 \
       -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1 2>"$work.log"; then
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec)' "$work.log" || true
    before=$(ls "$corpus" | wc -l)
    build-fuzz/test/fuzz/fuzz_$target -merge=1 -max_len=4096 "$corpus" "$work" >>"$work.log" 2>&1
    echo "fuzz.sh: fuzz_$target: $(( $(ls "$corpus" | wc -l) - before )) inputs merged into $corpus"
    rm -f "$work.log"
  else
    status=1
    grep -E "fuzz_$target: |ERROR|SUMMARY|Test unit written" "$work.log" || tail -20 "$work.log"
    echo "fuzz.sh: fuzz_$target failed (its log: $work.log)" >&2
  fi
  rm -rf "$work"
done
exit $status
