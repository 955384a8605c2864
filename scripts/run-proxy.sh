#!/usr/bin/env bash
# synwall as a transparent SYN proxy in front of a real server, on this machine alone: a Linux
# client and a Linux HTTP server in their own network namespaces, synwall between them on two veth
# pairs (DPDK net_af_packet, no NIC, no hugepages). The client's curl requests are answered by the
# real server; only handshakes that synwall completed reach it. Prints synwall's summary (engine and
# proxy counters) and the curl results; removes everything it created, also on failure or Ctrl-C.
#   scripts/run-proxy.sh [REQUESTS]     default 50   (scripts/run.sh --proxy does the same)
# The build must exist (scripts/run.sh builds it). docs/deployment.md explains each step.
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REQUESTS=${1:-50}
# Workers: one per CPU beyond the first (at least one). Both directions of a flow must reach the
# same worker: AF_PACKET's fanout hash is symmetric, and both ports get one queue per worker.
WORKERS=${SYNWALL_WORKERS:-$(( $(nproc) > 2 ? $(nproc) - 1 : 2 ))}
[ -x build/apps/synwall ] || { echo "run-proxy: build/apps/synwall missing: run scripts/run.sh --proxy" >&2; exit 2; }
command -v curl >/dev/null || { echo "run-proxy: curl missing: run scripts/setup-deps.sh" >&2; exit 2; }

. scripts/lib/proxy-topology.sh
work=$(mktemp -d)
prefix="synwall-proxy-$$"
sw_pid=""; http_pid=""
cleanup() {
  [ -n "$sw_pid" ] && kill -INT "$sw_pid" 2>/dev/null || true
  [ -n "$http_pid" ] && kill -TERM "$http_pid" 2>/dev/null || true
  for p in $sw_pid $http_pid; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  topology_down
  rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topology_up
mkdir -p "$work/www"
echo "hello from the real server behind synwall" > "$work/www/index.html"
ip netns exec $NS_SRV /usr/bin/python3 -m http.server 8080 --bind $SRV_ADDR --directory "$work/www" \
  >"$work/http.log" 2>&1 &
http_pid=$!

proxy_config "$WORKERS" 8080 > "$work/proxy.toml"
ip netns exec $NS_MID ./build/apps/synwall --no-huge -m 512 --lcores "$(worker_lcores "$WORKERS")" --file-prefix="$prefix" \
  --no-pci --log-level=lib.eal:error -- --config "$work/proxy.toml" --drivers-config "$ROOT/drivers-config" \
  --stats-period 5 --stats-json "$work/stats.json" >"$work/synwall.log" 2>&1 &
sw_pid=$!

ready() {  # seconds, description, command...: wait_until, with synwall's log when it fails
  WATCH_PID=$sw_pid wait_until "$@" || { echo "run-proxy: synwall's log:" >&2; cat "$work/synwall.log" >&2; exit 1; }
}
ready 30 "synwall to start" grep -q '^synwall:' "$work/synwall.log"
ready 30 "the HTTP server" sh -c "ip netns exec $NS_SRV ss -ltn | grep -q ':8080 '"
ready 30 "the first answer through synwall" ip netns exec $NS_CLI curl -s --max-time 2 -o /dev/null http://$SRV_ADDR:8080/
sed 's/^/synwall | /' "$work/synwall.log" | grep -v 'TELEMETRY' || true

echo "curl: $REQUESTS requests to http://$SRV_ADDR:8080/ through synwall"
ok=0
for i in $(seq "$REQUESTS"); do
  body=$(ip netns exec $NS_CLI curl -s --max-time 5 http://$SRV_ADDR:8080/ || true)
  [ "$body" = "hello from the real server behind synwall" ] && ok=$((ok + 1))
done
echo "curl: $ok of $REQUESTS answered by the server"
echo "server's kernel: $(ip netns exec $NS_SRV nstat -az TcpPassiveOpens | awk '/TcpPassiveOpens/ {print $2}') passive opens"

kill -INT "$sw_pid"
for _ in $(seq 100); do kill -0 "$sw_pid" 2>/dev/null || break; sleep 0.1; done
sw_pid=""
grep -v 'TELEMETRY' "$work/synwall.log" | sed -n '/^summary:/,$p' | sed 's/^/synwall | /'
[ "$ok" -eq "$REQUESTS" ]
