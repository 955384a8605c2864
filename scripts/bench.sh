#!/usr/bin/env bash
# synwall's side-by-side benchmarks: installs what is missing, builds, runs every
# comparison with progress lines, and writes the report into docs/benchmarking.md (generated
# section), the plots into docs/img/ and the figures into bench/results/latest.json.
#   scripts/bench.sh            full runs (a few minutes)
#   scripts/bench.sh --quick    every comparison briefly (under 3 minutes in all), a smoke check
#   scripts/bench.sh --only io_floor,clients   a subset (io_floor, testpmd_source, clients, kernel, scale, memory, proxy)
# Needs root (DPDK vdevs); no NIC and no hugepages (--no-huge throughout).
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
# Debian's python3 (with python3-matplotlib) draws the plots.
exec /usr/bin/python3 bench/e2e/bench.py build "$@"
