# The proxy's test topology, shared by scripts/run-proxy.sh and bench/e2e/proxy_data.sh (sourced):
#   netns $NS_CLI: cli0 10.88.0.1/24  <-veth->  mid-out [netns $NS_MID]  <-- synwall or testpmd -->
#   mid-in [netns $NS_MID]  <-veth->  srv0 10.88.0.2/24: netns $NS_SRV
# The middle ends carry no address (the kernel there stays silent); tx checksumming is off on the
# client's and the server's veths (through AF_PACKET, partial checksums would arrive unfinished).
NS_CLI=${NS_CLI:-swd-cli} NS_SRV=${NS_SRV:-swd-srv} NS_MID=${NS_MID:-swd-mid}
CLI_ADDR=10.88.0.1 SRV_ADDR=10.88.0.2

topology_down() {
  for ns in $NS_CLI $NS_SRV $NS_MID; do ip netns del "$ns" 2>/dev/null || true; done
}

topology_up() {
  topology_down
  for ns in $NS_CLI $NS_SRV $NS_MID; do ip netns add "$ns"; done
  ip link add cli0 netns $NS_CLI type veth peer name mid-out netns $NS_MID
  ip link add srv0 netns $NS_SRV type veth peer name mid-in netns $NS_MID
  ip -n $NS_CLI addr add $CLI_ADDR/24 dev cli0
  ip -n $NS_SRV addr add $SRV_ADDR/24 dev srv0
  local l
  for l in "$NS_CLI cli0" "$NS_SRV srv0" "$NS_MID mid-out" "$NS_MID mid-in" "$NS_CLI lo" "$NS_SRV lo"; do
    set -- $l
    ip -n "$1" link set "$2" up
  done
  ip netns exec $NS_CLI ethtool -K cli0 tx off >/dev/null
  ip netns exec $NS_SRV ethtool -K srv0 tx off >/dev/null
}

# The synwall configuration of the proxy in this topology (WORKERS queues per port; the ports'
# extra device arguments in $PROXY_DEVARGS, e.g. ",qdisc_bypass=1,framecnt=4096").
proxy_config() {  # workers, protected ports (space-separated)
  local workers=$1 port
  cat <<TOML
[[port]]
name = "outside"
device = "net_af_packet0,iface=mid-out,qpairs=$workers${PROXY_DEVARGS:-}"
profile = "net_af_packet"

[[port]]
name = "inside"
device = "net_af_packet1,iface=mid-in,qpairs=$workers${PROXY_DEVARGS:-}"
profile = "net_af_packet"
TOML
  for port in $2; do
    cat <<TOML

[[listener]]
name = "tcp$port"
address = "$SRV_ADDR"
port = $port
cookie_mode = "auto"
TOML
  done
  cat <<TOML

[application]
kind = "proxy"
server_port = "inside"
TOML
}

# lcore 0 for stats (mostly asleep), workers on lcores 1..N spread over the CPUs.
worker_lcores() {
  local n=$1 s="0@0" w
  for w in $(seq "$n"); do s="$s,$w@$(( w % $(nproc) ))"; done
  echo "$s"
}

# Polls a command until it succeeds; fails after `seconds`, or at once when the process
# $WATCH_PID (if set: the synwall or testpmd being waited for) has exited.
wait_until() {  # seconds, description, command...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $what" >&2; return 1; }
    [ -z "${WATCH_PID:-}" ] || kill -0 "$WATCH_PID" 2>/dev/null || { echo "exited while waiting for $what" >&2; return 1; }
    sleep 0.1
  done
}
