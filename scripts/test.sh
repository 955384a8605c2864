#!/usr/bin/env bash
# synwall's test command: installs what is missing, builds, runs every suite (unit, stress, DPDK
# integration, the end-to-end and conformance suites, the unit tests again under ASan+UBSan, a
# bounded libFuzzer run) and ends with "N passed, N failed".
# Exit status is non-zero on any failure.
#   FUZZ_SECONDS=60  how long each fuzz target runs (default 60)
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT

passed=0
failed=0
failures=()

log() { printf '\n== %s\n' "$*"; }

# Runs one GoogleTest binary and adds its test cases to the totals.
run_gtest() {
  local label=$1 bin=$2
  shift 2
  local file=${label//[^A-Za-z0-9_.-]/_}
  local xml="$RESULTS/$file.xml" out="$RESULTS/$file.log"
  local start=$SECONDS
  "$bin" --gtest_output="xml:$xml" --gtest_brief=1 "$@" >"$out" 2>&1
  local rc=$?
  local counts
  counts=$(python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 0 0"); sys.exit()
p = f = s = 0
for tc in root.iter("testcase"):
    if tc.find("failure") is not None or tc.find("error") is not None: f += 1
    elif tc.find("skipped") is not None or tc.get("result") == "skipped": s += 1
    else: p += 1
print(p, f, s)
PY
)
  read -r p f s <<<"$counts"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or exited badly
  passed=$((passed + p))
  failed=$((failed + f))
  printf '%-34s %5d passed %3d failed %3d skipped  (%ds)\n' "$label" "$p" "$f" "$s" $((SECONDS - start))
  if [ "$f" -ne 0 ]; then
    failures+=("$label")
    tail -40 "$out"
  fi
}

# Counts one non-GoogleTest check (a fuzz run, a script) as a single test case.
run_check() {
  local label=$1
  shift
  local out="$RESULTS/${label//[^A-Za-z0-9_.-]/_}.log"
  local start=$SECONDS
  if "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    printf '%-34s %5d passed %3d failed  (%ds)\n' "$label" 1 0 $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$label")
    printf '%-34s %5d passed %3d failed  (%ds)\n' "$label" 0 1 $((SECONDS - start))
    tail -40 "$out"
  fi
}

# Runs a script that prints one "PASS name" / "FAIL name: why" line per test case.
run_cases() {
  local label=$1
  shift
  local out="$RESULTS/${label//[^A-Za-z0-9_.-]/_}.log"
  local start=$SECONDS
  "$@" >"$out" 2>&1
  local rc=$? p f
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  printf '%-34s %5d passed %3d failed  (%ds)\n' "$label" "$p" "$f" $((SECONDS - start))
  if [ "$f" -ne 0 ]; then
    failures+=("$label")
    grep '^FAIL ' "$out" | head -20
    tail -20 "$out"
  fi
}

configure() {  # dir, extra meson args...
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$RESULTS/setup-$(basename "$dir").log" 2>&1 || {
      cat "$RESULTS/setup-$(basename "$dir").log"
      return 1
    }
  fi
}

build_failed() {
  failed=$((failed + 1))
  failures+=("$1")
  echo "BUILD FAILED: $1"
}

log "dependencies"
"$ROOT/scripts/setup-deps.sh" || { echo "setup-deps failed"; echo "0 passed, 1 failed"; exit 1; }


log "release build (warnings are errors)"
if configure build -Dwerror=true && ninja -C build -j "$JOBS" >"$RESULTS/build.log" 2>&1; then
  log "unit tests"
  for t in build/test/unit_*; do [ -f "$t" ] && run_gtest "$(basename "$t")" "$t"; done
  log "stress tests"
  for t in build/test/stress_*; do [ -f "$t" ] && run_gtest "$(basename "$t")" "$t"; done
  log "DPDK integration (in-process EAL, --no-huge, net_ring ports)"
  for t in build/test/dpdk_*; do [ -f "$t" ] && run_gtest "$(basename "$t")" "$t"; done
  if [ -x build/apps/synwall ]; then
    log "end to end: the synwall binary on virtual devices (net_pcap, dpdk-telemetry.py, signals, bad input)"
    run_cases "e2e/appliance" python3 test/e2e/appliance_test.py build drivers-config
    log "end to end: the proxy between real Linux clients and servers (namespaces, curl, iperf3, nmap, tshark)"
    run_cases "e2e/proxy" python3 test/e2e/proxy_test.py build drivers-config
    log "reliability: 10 M spoofed SYNs (never, auto), ACK/RST/SYN-ACK/fragment floods, signals at full load, link down/up"
    run_cases "e2e/reliability" python3 test/e2e/reliability_test.py build drivers-config
    log "docs: pictures rendered from their sources; the commands in the docs name scripts, tools and options that exist"
    run_check "docs/architecture.svg from its .dot" scripts/docs-images.sh --check
    run_cases "docs/commands" python3 test/docs_commands_test.py build
    log "installed and embedded: meson install into a staging prefix, the installed synwall on its example config, the embedding example built out of tree against synwall.pc and its curl test"
    run_cases "e2e/install" python3 test/e2e/install_test.py build
    log "conformance: the same crafted probes against Linux listeners and synwall (namespaces, scapy, tshark)"
    run_cases "conformance" /usr/bin/python3 test/conformance/conformance_test.py build drivers-config
  fi
else
  tail -50 "$RESULTS/build.log"
  build_failed "release build"
fi

log "under AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer: the unit tests, the DPDK dataplane tests and the synwall binary's end-to-end runs"
if configure build-asan -Dwerror=true -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
     -Db_lundef=false -Db_lto=false -Dbenchmarks=disabled &&
   ninja -C build-asan -j "$JOBS" >"$RESULTS/build-asan.log" 2>&1; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  for t in build-asan/test/unit_* build-asan/test/dpdk_*; do [ -f "$t" ] && run_gtest "asan/$(basename "$t")" "$t"; done
  # The binary itself, sanitized, through the e2e cases that start, feed, reload and stop it (a
  # sanitizer report aborts it: a non-zero exit fails the case).
  if [ -x build-asan/apps/synwall ]; then
    SYNWALL_E2E_ONLY=timed_run,live_sigterm,live_sigint,bad_inputs,malformed_replay,linux_clients,reload_sighup,proxy_over_memif \
      run_cases "asan/e2e/appliance" python3 test/e2e/appliance_test.py build-asan drivers-config
    SYNWALL_E2E_ONLY=floods,signals_under_load,link_down_up \
      run_cases "asan/e2e/reliability" python3 test/e2e/reliability_test.py build-asan drivers-config
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
else
  tail -50 "$RESULTS/build-asan.log"
  build_failed "asan build"
fi

log "fuzzing the burst entry point, then a worker with its application (${FUZZ_SECONDS}s each, libFuzzer + ASan + UBSan)"
if CXX=clang++ configure build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized -Db_lto=false -Dtests=disabled \
     -Dbenchmarks=disabled && ninja -C build-fuzz -j "$JOBS" >"$RESULTS/build-fuzz.log" 2>&1; then
  corpus=$(mktemp -d)
  cp test/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
  mkdir -p test/fuzz/crashes
  run_check "fuzz/burst (${FUZZ_SECONDS}s)" build-fuzz/test/fuzz/fuzz_burst "$corpus" test/fuzz/corpus \
    -max_total_time="$FUZZ_SECONDS" -max_len=4096 -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1
  rm -rf "$corpus"
  corpus=$(mktemp -d)
  cp test/fuzz/corpus-app/* "$corpus"/ 2>/dev/null || true
  run_check "fuzz/app (${FUZZ_SECONDS}s)" build-fuzz/test/fuzz/fuzz_app "$corpus" test/fuzz/corpus-app \
    -max_total_time="$FUZZ_SECONDS" -max_len=4096 -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1
  rm -rf "$corpus"
else
  tail -50 "$RESULTS/build-fuzz.log"
  build_failed "fuzz build"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
