#!/usr/bin/env bash
# synwall's main job on an embedded default: no NIC, no hugepages, nothing to configure.
# Installs what is missing, builds, and runs the handshake engine against a spoofed SYN flood
# with legitimate clients mixed in, printing live stats and a summary.
#   scripts/run.sh [synwall-sim options]      e.g.  scripts/run.sh --seconds 10 --mode always
# The DPDK appliance (virtual devices, telemetry, testpmd) replaces the in-process traffic once
# the dataplane issue lands; until then the engine runs in-process (apps/synwall-sim).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh >/dev/null
if [ ! -f build/build.ninja ]; then meson setup build >/dev/null; fi
ninja -C build apps/synwall-sim >/dev/null
echo "note: the DPDK dataplane (apps/synwall on virtual devices) is not available yet; running the engine in-process."
exec ./build/apps/synwall-sim "$@"
