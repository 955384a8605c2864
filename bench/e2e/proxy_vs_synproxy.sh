#!/usr/bin/env bash
# synwall's proxy vs nftables synproxy as a middle box, on one veth topology, with one generator
# process playing every client and every server:
#   netns $NS_GEN: g-out  <-veth->  mid-out [netns $NS_MID]  <-- the peer -->  mid-in [netns $NS_MID]
#                  g-in   <-veth->  mid-in
# synwall-gen (lcore 0, CPU 0) runs closed-loop clients (SYN, ACK, RST; 10.99.0.0/16) on g-out and,
# with --respond, a stateless server for 203.0.113.10:80 on g-in. The peers:
#   nft      $NS_MID routes between the two (10.97.0.0/24 toward the clients, 10.96.0.0/24 toward
#            the server, static neighbours, no ARP) and nftables synproxy guards port 80 in the
#            forward hook: it answers SYNs with its own cookies and opens the server leg on a valid
#            ACK. Its receive processing is steered to CPU 1 (RPS on mid-out and mid-in), so CPU 1's busy
#            time (user + system + irq + softirq, /proc/stat) is the peer's whole cost.
#   synwall  the `proxy` application on net_af_packet on mid-out and mid-in (no address, no routing:
#            bump in the wire), one worker on lcore 1 (CPU 1, always busy); the kernel's veth and
#            AF_PACKET receive work is steered to CPU 0, uncounted.
# Two runs per peer and round, each on a fresh topology (nothing left in conntrack):
#   clients  CLIENTS clients x 64 source ports (a 4-tuple is not reused within a run: conntrack
#            keeps a reset connection 10 s): proxied connections/s = server legs opened (SYNs the
#            server answered), CPU 1 busy, proxied connections per CPU-second
#   flood    32 clients beside a spoofed SYN flood at the generator's full speed from
#            198.18.0.0/15 (routed back into $NS_GEN, whose kernel has no address there and stays
#            silent): client success and connect latency (SYN -> SYN-ACK), server legs per client
#            handshake
# Output: one line per run ("round R PEER clients|flood key=value ..."), then the medians.
#   bench/e2e/proxy_vs_synproxy.sh [SECONDS] [ROUNDS] [CLIENTS]    defaults 3, 3, 4000
# Needs nft (Debian's nftables) and a kernel with nft_synproxy; the nft peer is reported as failed
# otherwise. Everything it creates is removed, also on failure.
. "$(dirname "$0")/../../scripts/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${1:-3}
ROUNDS=${2:-3}
CLIENTS=${3:-4000}
FLOOD_PPS=${4:-50000}
[ -x build/apps/synwall ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build >/dev/null; }
NS_GEN=swq-gen NS_MID=swq-mid
. scripts/lib/proxy-topology.sh  # proxy_config, wait_until (its own namespaces are not used here)
SRV_ADDR=203.0.113.10            # synwall-gen's default target
work=$(mktemp -d)
sw_pid=""

down() {
  if [ -n "$sw_pid" ]; then
    kill -INT "$sw_pid" 2>/dev/null || true
    wait "$sw_pid" 2>/dev/null || true
    sw_pid=""
  fi
  ip netns del $NS_GEN 2>/dev/null || true
  ip netns del $NS_MID 2>/dev/null || true
}
cleanup() {
  down
  if [ -n "${KEEP_WORK:-}" ]; then rm -rf /tmp/pvs-last; cp -r "$work" /tmp/pvs-last; fi
  rm -rf "$work" /var/run/dpdk/pvs-*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mac() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }
rps() { ip netns exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"; }

# The two namespaces and veths; the generator's receive work on CPU 0.
up() {
  down
  ip netns add $NS_GEN
  ip netns add $NS_MID
  ip link add g-out netns $NS_GEN type veth peer name mid-out netns $NS_MID
  ip link add g-in netns $NS_GEN type veth peer name mid-in netns $NS_MID
  local i
  for i in lo g-out g-in; do ip -n $NS_GEN link set $i up; done
  for i in lo mid-out mid-in; do ip -n $NS_MID link set $i up; done
  for i in g-out g-in; do
    ip netns exec $NS_GEN sysctl -qw net.ipv6.conf.$i.disable_ipv6=1
    rps $NS_GEN $i 1
  done
  # Full checksums on what the middle sends (veth leaves them partial; AF_PACKET sees them raw).
  for i in mid-out mid-in; do
    ip netns exec $NS_MID sysctl -qw net.ipv6.conf.$i.disable_ipv6=1
    ip netns exec $NS_MID ethtool -K $i tx off >/dev/null
  done
}

SYNPROXY_RULES='table ip bench_synproxy {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 80 tcp flags syn notrack
  }
  chain forward_synproxy {
    type filter hook forward priority filter; policy accept;
    tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}'

peer_nft() {  # sets DST: the MAC the generator's clients send to
  ip -n $NS_MID addr add 10.97.0.1/24 dev mid-out
  ip -n $NS_MID addr add 10.96.0.1/24 dev mid-in
  ip -n $NS_MID neigh add 10.97.0.2 lladdr "$(mac $NS_GEN g-out)" dev mid-out
  ip -n $NS_MID neigh add 10.96.0.2 lladdr "$(mac $NS_GEN g-in)" dev mid-in
  ip -n $NS_MID route add 10.99.0.0/16 via 10.97.0.2
  ip -n $NS_MID route add 198.18.0.0/15 via 10.97.0.2
  ip -n $NS_MID route add 203.0.113.0/24 via 10.96.0.2
  ip netns exec $NS_MID sysctl -qw net.ipv4.ip_forward=1
  local k
  for k in all default mid-out mid-in; do ip netns exec $NS_MID sysctl -qw net.ipv4.conf.$k.rp_filter=0; done
  rps $NS_MID mid-out 2
  rps $NS_MID mid-in 2
  # The ruleset first: it loads conntrack, whose sysctl only exists then.
  echo "$SYNPROXY_RULES" | ip netns exec $NS_MID nft -f - >&2 || return 1
  ip netns exec $NS_MID sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || return 1
  DST=$(mac $NS_MID mid-out)
}

peer_synwall() {  # starts synwall (sw_pid); sets DST: the server's MAC (bump in the wire)
  rps $NS_MID mid-out 1
  rps $NS_MID mid-in 1
  PROXY_DEVARGS=",qdisc_bypass=1,framecnt=4096" proxy_config 1 80 >"$work/proxy.toml"
  ip netns exec $NS_MID ./build/apps/synwall --no-huge -m 1024 -l 1 --file-prefix=pvs-sw --no-pci \
    --log-level=lib.eal:error -- --config "$work/proxy.toml" --drivers-config "$ROOT/drivers-config" \
    --stats-json "$work/sw-$run.json" >"$work/sw.log" 2>&1 &
  sw_pid=$!
  WATCH_PID=$sw_pid wait_until 30 "synwall to start" grep -q '^synwall:' "$work/sw.log" ||
    { cat "$work/sw.log" >&2; return 1; }
  DST=$(mac $NS_GEN g-in)
}

cpu1_busy() { awk '/^cpu1 / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# The server legs nftables synproxy opened so far: its cookie_valid counter (a validated ACK
# makes it send the server its SYN), summed over the CPUs' hex rows.
synproxy_legs() {
  local n=0 _e _s _i valid _rest
  while read -r _e _s _i valid _rest; do
    [ "$_e" = entries ] || n=$(( n + 0x$valid ))
  done < <(ip netns exec $NS_MID cat /proc/net/stat/synproxy)
  echo $n
}

# One generator run against the peer in place: $work/gen.json, and "busy-seconds wall-seconds"
# of CPU 1 (the nft peer's cost) in $work/cpu1.
measure() {  # dst MAC, clients, extra generator arguments...
  local dst=$1 clients=$2
  shift 2
  rm -f "$work/gen.json"
  local b0 t0 b1 t1
  b0=$(cpu1_busy); t0=$(date +%s.%N)
  ip netns exec $NS_GEN ./build/apps/synwall-gen --no-huge -m 1024 -l 0 --file-prefix=pvs-gen --no-pci \
    --log-level=lib.eal:error --vdev=net_af_packet0,iface=g-out,qdisc_bypass=1,framecnt=4096 \
    --vdev=net_af_packet1,iface=g-in,qdisc_bypass=1,framecnt=4096 -- --port net_af_packet0 --respond net_af_packet1 \
    --dst-mac "$dst" --clients "$clients" --client-ports 64 --client-close rst --duration "$SECS" \
    --json "$work/gen.json" "$@" >"$work/gen.log" 2>&1 || { tail -3 "$work/gen.log" >&2; return 1; }
  b1=$(cpu1_busy); t1=$(date +%s.%N)
  echo "$(( b1 - b0 )) $(getconf CLK_TCK) $t0 $t1" >"$work/cpu1"
}

# "key=value ..." of a run: what the generator saw, the legs the proxy says it opened, and its CPU
# time (nft: CPU 1's busy time; synwall: its worker's busy time, its own accounting).
summarise() {  # peer, legs opened (nft; synwall: from its stats JSON), synwall's stats JSON
  /usr/bin/python3 - "$work/gen.json" "$work/cpu1" "$@" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
jiffies, hz, t0, t1 = open(sys.argv[2]).read().split()
peer = sys.argv[3]
if peer == "nft":
    legs_sent, cpu = int(sys.argv[4]), int(jiffies) / int(hz)
else:
    s = json.load(open(sys.argv[5]))
    legs_sent, cpu = s["proxy"]["ServerSynSent"], s["io"]["busy_s"]
secs = g["seconds"]
c = g["clients"]
reached = g["server"]["syns"]
print(f"legs_per_s={legs_sent / secs:.0f} reached_server_per_s={reached / secs:.0f} handshakes_per_s={c['handshakes_per_s']:.0f} "
      f"cpu_busy={cpu / secs:.3f} per_cpu_s={legs_sent / cpu if cpu > 0 else 0:.0f} success={c['success_ratio']:.5f} "
      f"p50_us={c['latency_us']['p50']:.1f} p99_us={c['latency_us']['p99']:.1f} "
      f"reached_per_handshake={reached / c['completed'] if c['completed'] else 0:.4f} flood_mpps={g['flood_pps'] / 1e6:.4f}")
PY
}

run_peer() {  # round, peer, run (clients|flood)
  local r=$1 peer=$2 run=$3 line="" legs0=0 legs=0 ok=1
  up
  # Not in a subshell: peer_synwall's process must stay known to down().
  if ! peer_$peer; then echo "round $r $peer $run FAILED: the peer could not be set up"; down; return; fi
  [ $peer = nft ] && legs0=$(synproxy_legs)
  if [ "$run" = clients ]; then
    measure "$DST" "$CLIENTS" --flood off || ok=0
  else
    measure "$DST" 32 --flood syn --rate "$FLOOD_PPS" || ok=0
  fi
  [ $peer = nft ] && legs=$(( $(synproxy_legs) - legs0 ))
  down  # synwall writes its stats JSON as it stops
  [ $ok = 1 ] && line=$(summarise $peer $legs "$work/sw-$run.json") || line=""
  if [ -n "$line" ]; then echo "round $r $peer $run $line"; else echo "round $r $peer $run FAILED: the generator failed"; fi
}

for r in $(seq "$ROUNDS"); do
  for peer in ${PEERS:-nft synwall}; do
    run_peer "$r" $peer clients | tee -a "$work/rounds"
    run_peer "$r" $peer flood | tee -a "$work/rounds"
  done
done
/usr/bin/python3 - "$work/rounds" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 5 or "FAILED" in line:
        continue
    rows.setdefault((f[2], f[3]), []).append(dict(kv.split("=") for kv in f[4:]))
def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
for (peer, run), rs in sorted(rows.items()):
    keys = ("legs_per_s", "cpu_busy", "per_cpu_s", "reached_server_per_s", "handshakes_per_s") if run == "clients" else \
           ("success", "p50_us", "p99_us", "reached_per_handshake", "flood_mpps", "handshakes_per_s")
    print(f"median {peer} {run} " + " ".join(f"{k}={med([float(x[k]) for x in rs]):g}" for k in keys) + f" rounds={len(rs)}")
PY
