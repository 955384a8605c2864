#!/usr/bin/env bash
# Spliced data through the proxy vs a plain L2 wire on the same ports: iperf3 (one TCP stream,
# client -> server and server -> client) between a Linux client and a Linux server in network
# namespaces, through (a) dpdk-testpmd --forward-mode=io between the two middle veths (the I/O
# floor of net_af_packet here) and (b) synwall's proxy on the same veths, one worker each,
# interleaved rounds. Prints Gbit/s and segments/s per round and the median ratio
# (target: synwall >= 0.8 x testpmd). Everything it creates is removed, also on failure.
#   bench/e2e/proxy_data.sh [SECONDS] [ROUNDS]     defaults 5 and 3
. "$(dirname "$0")/../../scripts/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${1:-5}
ROUNDS=${2:-3}
[ -x build/apps/synwall ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build >/dev/null; }
NS_CLI=swb-cli NS_SRV=swb-srv NS_MID=swb-mid
. scripts/lib/proxy-topology.sh
work=$(mktemp -d)
mid_pid=""; srv_pid=""
stop_mid() {
  [ -n "$mid_pid" ] || return 0
  kill -INT "$mid_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$mid_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$mid_pid" 2>/dev/null || true
  wait "$mid_pid" 2>/dev/null || true
  mid_pid=""
}
cleanup() {
  stop_mid
  if [ -n "$srv_pid" ]; then kill -TERM "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  topology_down
  rm -rf "$work" /var/run/dpdk/proxydata-*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topology_up
ip netns exec $NS_SRV iperf3 -s -B "$SRV_ADDR" >"$work/iperf3-server.log" 2>&1 &
srv_pid=$!
proxy_config 1 5201 >"$work/proxy.toml"

start_middle() {  # testpmd | synwall
  if [ "$1" = testpmd ]; then
    ip netns exec $NS_MID dpdk-testpmd --no-huge -m 512 -l 0,1 --file-prefix=proxydata-tp --no-pci \
      --log-level=lib.eal:error --vdev=net_af_packet0,iface=mid-out --vdev=net_af_packet1,iface=mid-in -- \
      --forward-mode=io --auto-start --stats-period=1 --total-num-mbufs=16384 >"$work/mid.log" 2>&1 &
  else
    ip netns exec $NS_MID ./build/apps/synwall --no-huge -m 512 -l 0,1 --file-prefix=proxydata-sw --no-pci \
      --log-level=lib.eal:error -- --config "$work/proxy.toml" --drivers-config "$ROOT/drivers-config" \
      --stats-json "$work/sw.json" >"$work/mid.log" 2>&1 &
  fi
  mid_pid=$!
  # Ready when a short transfer gets through (ARP and the path included).
  WATCH_PID=$mid_pid wait_until 30 "$1 forwarding" ip netns exec $NS_CLI iperf3 -c "$SRV_ADDR" -n 64K --connect-timeout 1000
}

run_iperf() {  # direction flag ("" or -R); prints "gbit segments_per_s", or FAILED
  ip netns exec $NS_CLI iperf3 -c "$SRV_ADDR" -t "$SECS" $1 -J >"$work/iperf.json" 2>/dev/null || { echo "FAILED FAILED"; return; }
  /usr/bin/python3 - "$work/iperf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e = j["end"]["sum_received"]
mss = j["start"].get("tcp_mss_default", 1448) or 1448
print(f'{e["bits_per_second"] / 1e9:.3f} {e["bytes"] / mss / e["seconds"]:.0f}')
PY
}

declare -A res
for r in $(seq "$ROUNDS"); do
  for mid in testpmd synwall; do
    start_middle "$mid"
    up=$(run_iperf ""); down=$(run_iperf "-R")
    stop_mid
    res[$mid,up,$r]=${up%% *}; res[$mid,down,$r]=${down%% *}
    echo "round $r: $mid: client->server ${up% *} Gbit/s (${up#* } segments/s), server->client ${down% *} Gbit/s (${down#* } segments/s)"
  done
done
# Medians over the rounds that did not fail; a peer with none is reported as failed, not as 0.
median() { printf '%s\n' "$@" | grep -v FAILED | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "FAILED"}'; }
status=0
for dir in up down; do
  t=(); s=()
  for r in $(seq "$ROUNDS"); do t+=("${res[testpmd,$dir,$r]}"); s+=("${res[synwall,$dir,$r]}"); done
  mt=$(median "${t[@]}"); ms=$(median "${s[@]}")
  label=$([ $dir = up ] && echo client-\>server || echo server-\>client)
  if [ "$mt" = FAILED ] || [ "$ms" = FAILED ]; then
    echo "median $label: testpmd io $mt, synwall proxy $ms: no ratio (a peer failed every round)"
    status=1
  else
    echo "median $label: testpmd io $mt Gbit/s, synwall proxy $ms Gbit/s, ratio $(awk -v s="$ms" -v t="$mt" 'BEGIN {printf "%.2f", s / t}') (target >= 0.8)"
  fi
done
exit $status
