#!/usr/bin/env bash
# The I/O floor: synwall answering a replayed SYN flood vs dpdk-testpmd --forward-mode=5tswap
# (the I/O floor for an in-place reply) on the same pcap, the same vdevs, one forwarding lcore each.
#   bench/e2e/io_floor.sh [SECONDS] [ROUNDS]     defaults 8 and 3; prints Mpps per round, medians, ratio
# Both read net_pcap (rx_pcap, infinite_rx) and write to tx_pcap=/dev/null; --no-huge.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${1:-8}
ROUNDS=${2:-3}
[ -x build/apps/synwall ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work" /var/run/dpdk/iofloor-*' EXIT
./build/apps/synwall-pcapgen --out "$work/flood.pcap" --count 4096 >/dev/null
dev="net_pcap0,rx_pcap=$work/flood.pcap,tx_pcap=/dev/null,infinite_rx=1"
cat > "$work/synwall.toml" <<TOML
[[port]]
device = "$dev"
profile = "net_pcap"
[[listener]]
address = "203.0.113.10"
port = 80
cookie_mode = "always"
TOML

# Median of the per-second rates, skipping the first two seconds (warm-up).
median_rate() { tail -n +3 | head -n $((SECS - 2)) | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'; }
testpmd_mpps() {
  timeout -s INT "$SECS" dpdk-testpmd --no-huge -m 1024 -l 0,1 --file-prefix=iofloor-tp --no-pci \
    --log-level=lib.eal:error --vdev="$dev" -- --forward-mode=5tswap --auto-start --stats-period=1 \
    --total-num-mbufs=16384 >"$work/tp.log" 2>&1 || true
  awk '/Tx-pps/ {print $2 / 1e6}' "$work/tp.log" | median_rate
}
synwall_mpps() {
  ./build/apps/synwall --no-huge -m 1024 -l 0,1 --file-prefix=iofloor-sw --no-pci --log-level=lib.eal:error -- \
    --config "$work/synwall.toml" --duration "$SECS" --drivers-config "$ROOT/drivers-config" >"$work/sw.log" 2>&1 || true
  awk '/^rx / {print $6}' "$work/sw.log" | median_rate
}

tp=(); sw=()
for r in $(seq "$ROUNDS"); do
  t=$(testpmd_mpps); s=$(synwall_mpps)
  tp+=("$t"); sw+=("$s")
  echo "round $r: testpmd 5tswap $t Mpps, synwall SYN-ACKs $s Mpps"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mt=$(median "${tp[@]}"); ms=$(median "${sw[@]}")
echo "median: testpmd $mt Mpps, synwall $ms Mpps, ratio $(awk -v s="$ms" -v t="$mt" 'BEGIN {printf "%.2f", s/t}') (target >= 0.9)"
