#!/usr/bin/env bash
# The I/O floor: synwall answering a replayed SYN flood vs dpdk-testpmd --forward-mode=5tswap (the
# I/O floor for an in-place reply) on the same pcap, the same vdev, one forwarding lcore each. The
# source replays prebuilt frames (net_pcap infinite_rx), so the floor is DPDK's, not a generator's.
#   bench/e2e/io_floor.sh [SECONDS] [ROUNDS] [MODES]
#     SECONDS  measured seconds per run (default 8), after 2 s of warm-up
#     ROUNDS   interleaved rounds (default 3)
#     MODES    nohuge, huge or nohuge,huge (default): --no-huge, and/or 2 MB hugepages reserved
#              (and hugetlbfs mounted) for the run and released at exit
# SYNWALL_B=/path/to/another/synwall adds that binary to every round (interleaved: an A/B of two
# builds on the same replay), with its median and its ratio to this tree's synwall.
# Prints Mpps per round and the medians and ratio of each mode. Each run is measured from the
# peer's own per-second statistics once they start (readiness: its first line), never from a
# fixed sleep; a peer that does not start or dies is reported as failed, and its mode's ratio as
# not measured.
. "$(dirname "$0")/../../scripts/lib/usage.sh" "$0" "$@"
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${1:-8}
ROUNDS=${2:-3}
MODES=${3:-nohuge,huge}
WARMUP=2
[ -x build/apps/synwall ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build >/dev/null; }
work=$(mktemp -d)
huge_before=$(cat /proc/sys/vm/nr_hugepages)
mounted_huge=0
cleanup() {
  rm -rf "$work" /var/run/dpdk/iofloor-*
  if [ "$mounted_huge" = 1 ]; then
    rm -f /dev/hugepages/iofloor-*
    umount /dev/hugepages 2>/dev/null || true
  fi
  echo "$huge_before" > /proc/sys/vm/nr_hugepages
}
trap cleanup EXIT
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

# Reserves 2 MB hugepages and mounts hugetlbfs; false (with a reason) when the machine refuses.
reserve_huge() {
  echo 1024 > /proc/sys/vm/nr_hugepages 2>/dev/null || { echo "cannot reserve hugepages"; return 1; }
  local got
  got=$(cat /proc/sys/vm/nr_hugepages)
  [ "$got" -ge 512 ] || { echo "only $got hugepages could be reserved"; return 1; }
  if ! mount | grep -q ' /dev/hugepages type hugetlbfs'; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages || { echo "cannot mount hugetlbfs"; return 1; }
    mounted_huge=1
  fi
}

# measure LOG AWK_PROGRAM CMD...: runs CMD until it has printed WARMUP + SECS per-second samples
# (AWK_PROGRAM prints one number per sample line), stops it with SIGINT and prints the median of
# the measured samples, or "failed: <why>".
measure() {
  local log=$1 prog=$2
  shift 2
  "$@" </dev/null >"$log" 2>&1 &
  local pid=$! need=$((WARMUP + SECS)) n=0
  local deadline=$((SECONDS + 60 + need))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    n=$(awk "$prog" "$log" | wc -l)
    [ "$n" -ge "$need" ] && break
    sleep 0.2  # polling the peer's own output
  done
  local alive=0
  kill -0 "$pid" 2>/dev/null && alive=1
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  n=$(awk "$prog" "$log" | wc -l)
  if [ "$n" -lt "$need" ]; then
    if [ "$alive" = 1 ]; then echo "failed: only $n of $need samples in $((60 + need)) s"
    else echo "failed: exited after $n of $need samples ($(tail -1 "$log" | cut -c1-120))"; fi
    return
  fi
  awk "$prog" "$log" | tail -n +$((WARMUP + 1)) | head -n "$SECS" | sort -g |
    awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'
}

testpmd_mpps() {  # EAL memory arguments...
  measure "$work/tp.log" '/Tx-pps/ {print $2 / 1e6}' \
    dpdk-testpmd "$@" -l 0,1 --file-prefix=iofloor-tp --no-pci --log-level=lib.eal:error --vdev="$dev" -- \
    --forward-mode=5tswap --auto-start --stats-period=1 --total-num-mbufs=16384
}
synwall_mpps() {  # binary, EAL memory arguments...
  local bin=$1
  shift
  measure "$work/sw.log" '/^rx / {print $6}' \
    "$bin" "$@" -l 0,1 --file-prefix=iofloor-sw --no-pci --log-level=lib.eal:error -- \
    --config "$work/synwall.toml" --duration $((WARMUP + SECS + 60)) --drivers-config "$ROOT/drivers-config"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
status=0
for mode in ${MODES//,/ }; do
  case "$mode" in
    nohuge) eal=(--no-huge -m 1024) ;;
    huge)
      if ! reserve_huge >"$work/why"; then echo "hugepages: not measured ($(cat "$work/why"))"; status=1; continue; fi
      eal=(-m 512 --huge-unlink) ;;
    *) echo "io_floor: unknown mode $mode (nohuge, huge)" >&2; exit 2 ;;
  esac
  tp=(); sw=(); sb=()
  for r in $(seq "$ROUNDS"); do
    t=$(testpmd_mpps "${eal[@]}"); s=$(synwall_mpps ./build/apps/synwall "${eal[@]}")
    unit() { [[ $1 == failed* ]] && echo "$1" || echo "$1 Mpps"; }
    line="$mode round $r: testpmd 5tswap $(unit "$t"), synwall SYN-ACKs $(unit "$s")"
    if [ -n "${SYNWALL_B:-}" ]; then
      b=$(synwall_mpps "$SYNWALL_B" "${eal[@]}")
      line+=", SYNWALL_B $(unit "$b")"
      [[ $b == failed* ]] || sb+=("$b")
    fi
    echo "$line"
    [[ $t == failed* ]] || tp+=("$t")
    [[ $s == failed* ]] || sw+=("$s")
  done
  if [ -n "${SYNWALL_B:-}" ] && [ ${#sb[@]} -gt 0 ] && [ ${#sw[@]} -gt 0 ]; then
    mb=$(median "${sb[@]}"); ms0=$(median "${sw[@]}")
    echo "$mode median: SYNWALL_B $mb Mpps, this synwall $ms0 Mpps, this/B $(awk -v a="$ms0" -v b="$mb" 'BEGIN {printf "%.2f", a/b}')"
  fi
  if [ ${#tp[@]} -eq 0 ] || [ ${#sw[@]} -eq 0 ]; then
    echo "$mode median: not measured (every $([ ${#tp[@]} -eq 0 ] && echo testpmd || echo synwall) run failed)"
    status=1
    continue
  fi
  mt=$(median "${tp[@]}"); ms=$(median "${sw[@]}")
  echo "$mode median: testpmd $mt Mpps, synwall $ms Mpps, ratio $(awk -v s="$ms" -v t="$mt" \
    'BEGIN {if (t > 0) printf "%.2f", s/t; else printf "n/a"}') (target >= 0.9)"
done
exit $status
