#!/usr/bin/env bash
# Proxied connections per second through one synwall worker: synwall (`proxy` application, one
# worker inline on lcore 0) between two net_memif links to one synwall-gen process on lcore 1,
# which plays both sides: closed-loop clients on the outside link (SYN, ACK, then FIN: a client
# that waits for its connection to reach the server) and, with --respond, a stateless server on
# the inside link that answers the proxy's SYNs and the FINs. A proxied connection is one the
# server saw: its SYN answered (the generator's "server.syns"), i.e. the server leg was opened
# for a client that completed its handshake with synwall.
#   bench/e2e/proxy_rate.sh [SECONDS] [ROUNDS] [CLIENTS]    defaults 5, 3, 4000
# Prints per round: proxied connections/s, client handshakes/s, p50/p99 connect latency, the
# worker's busy share (time in loop iterations that received packets: what is left is spare
# capacity, the generator being the limit) and proxied connections per busy worker-second; then
# the medians. --no-huge; both processes stop cleanly (memif stop order: synwall first).
. "$(dirname "$0")/../../scripts/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${1:-5}
ROUNDS=${2:-3}
CLIENTS=${3:-4000}
[ -x build/apps/synwall ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build >/dev/null; }
work=$(mktemp -d)
sw_pid=""
cleanup() {
  [ -n "$sw_pid" ] && kill -INT "$sw_pid" 2>/dev/null && wait "$sw_pid" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] && rm -rf /tmp/proxyrate-last && cp -r "$work" /tmp/proxyrate-last; rm -rf "$work" /var/run/dpdk/proxyrate-*
}
trap cleanup EXIT
. scripts/lib/memif-proxy.sh
# A closed flow lingers 1 s: at ~10^6 connections/s the flow index holds what one second leaves.
memif_proxy_config "$work" always "grace_ms = 1000
flow_capacity = 262144" >"$work/proxy.toml"

round() {
  ./build/apps/synwall --no-huge -m 1024 -l 0 --file-prefix=proxyrate-sw --no-pci --log-level=lib.eal:error -- \
    --config "$work/proxy.toml" --drivers-config "$ROOT/drivers-config" --stats-json "$work/sw.json" >"$work/sw.log" 2>&1 &
  sw_pid=$!
  local deadline=$((SECONDS + 30))
  until grep -q '^synwall:' "$work/sw.log"; do
    kill -0 "$sw_pid" 2>/dev/null || { echo "synwall failed to start:"; cat "$work/sw.log"; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "synwall did not start in 30 s"; return 1; }
    sleep 0.1
  done
  # A client that finds synwall's memif socket not listening yet exits at once: start it again.
  local gen_pid="" try
  for try in 1 2 3 4 5; do
    rm -f "$work/gen.json"
    ./build/apps/synwall-gen --no-huge -m 1024 -l 1 --file-prefix=proxyrate-gen --no-pci --log-level=lib.eal:error \
      --vdev="net_memif0,role=client,socket=$work/out.sock" --vdev="net_memif1,role=client,socket=$work/in.sock" -- \
      --port net_memif0 --respond net_memif1 --flood off --clients "$CLIENTS" --client-ports 32 --client-close fin \
      --duration "$SECS" --linger 2 --json "$work/gen.json" >"$work/gen.log" 2>&1 &
    gen_pid=$!
    until grep -q '^synwall-gen:' "$work/gen.log" 2>/dev/null; do kill -0 "$gen_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$gen_pid" 2>/dev/null && break
    wait "$gen_pid" || true
    sleep 0.5
  done
  # synwall stops first, while the generator lingers (memif peers must not quit while the other polls).
  until grep -q '^summary:' "$work/gen.log" 2>/dev/null; do
    kill -0 "$gen_pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -INT "$sw_pid"; wait "$sw_pid" || true; sw_pid=""
  wait "$gen_pid" || true
  [ -s "$work/gen.json" ] || { echo "synwall-gen failed:"; tail -5 "$work/gen.log"; return 1; }
  /usr/bin/python3 - "$work/gen.json" "$work/sw.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
c = g["clients"]; p = s.get("proxy", {})
busy = s["io"]["busy_s"]  # the worker's time in iterations that received packets
per_busy = g["server"]["syns"] / busy if busy > 0 else 0
print(f'{g["server"]["syns_per_s"]:.0f} {c["handshakes_per_s"]:.0f} {c["latency_us"]["p50"]:.1f} {c["latency_us"]["p99"]:.1f} '
      f'{p.get("ServerSynRetrans", 0)} {p.get("UnexpectedSegments", 0)} {busy / s["seconds"]:.3f} {per_busy:.0f}')
PY
}

rates=(); per_busy=()
for r in $(seq "$ROUNDS"); do
  if ! line=$(round); then echo "round $r: FAILED"; echo "$line"; continue; fi
  read -r proxied hs p50 p99 retrans unexpected busy pb <<<"$line"
  rates+=("$proxied"); per_busy+=("$pb")
  echo "round $r: proxied $proxied conn/s, client handshakes $hs /s, connect p50 $p50 us p99 $p99 us, worker busy $busy, $pb proxied per busy second (server SYN retransmits $retrans, unexpected segments $unexpected)"
done
[ ${#rates[@]} -gt 0 ] || { echo "no round succeeded"; exit 1; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: $(median "${rates[@]}") proxied connections/s on one worker (target >= 1000000); $(median "${per_busy[@]}") per busy worker-second"
