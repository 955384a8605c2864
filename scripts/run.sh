#!/usr/bin/env bash
# synwall's main job on an embedded default: no NIC, no hugepages, nothing to configure.
# Installs what is missing, builds, generates a spoofed SYN flood (synwall-pcapgen) and runs the
# synwall appliance on it through DPDK's net_pcap virtual device (replayed endlessly), printing
# live stats every second and a summary at the end.
#   scripts/run.sh [SECONDS]        default 10; Ctrl-C stops it early (clean exit, summary printed)
#   scripts/run.sh --sim [...]      the engine in-process without DPDK (apps/synwall-sim)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
./scripts/setup-deps.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

if [ "${1:-}" = "--sim" ]; then
  shift
  exec ./build/apps/synwall-sim "$@"
fi
SECONDS_TO_RUN=${1:-10}

work=$(mktemp -d)
prefix="synwall-run-$$"
cleanup() { rm -rf "$work" "/var/run/dpdk/$prefix"; }
trap cleanup EXIT

./build/apps/synwall-pcapgen --out "$work/flood.pcap" --count 4096 --src 198.18.0.0/15 --dst 203.0.113.10
cat > "$work/synwall.toml" <<TOML
# The embedded default: one port replaying a SYN flood, one listener answering it.
[[port]]
name = "wire"
device = "net_pcap0,rx_pcap=$work/flood.pcap,tx_pcap=/dev/null,infinite_rx=1"
profile = "net_pcap"

[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
cookie_mode = "auto"     # SYN queue first, cookies once it is full
max_half_open = 1024

[application]
kind = "absorb"
TOML

lcores="0"
[ "$(nproc)" -ge 2 ] && lcores="0,1"
echo "synwall on net_pcap (no NIC, no hugepages), lcores $lcores, ${SECONDS_TO_RUN}s:"
./build/apps/synwall --no-huge -m 512 -l "$lcores" --file-prefix="$prefix" --no-pci \
  --log-level=lib.eal:error -- --config "$work/synwall.toml" --duration "$SECONDS_TO_RUN" \
  --drivers-config "$ROOT/drivers-config" 2> >(grep -v '^TELEMETRY: No legacy' >&2)
