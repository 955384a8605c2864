#!/usr/bin/env bash
# synwall's main job on an embedded default: no NIC, no hugepages, nothing to configure.
# Installs what is missing, builds, and runs the synwall appliance as a transparent SYN proxy
# between two shared-memory links (DPDK net_memif) to synwall-gen, which plays both sides: on the
# outside link a spoofed SYN flood plus 100 legitimate closed-loop clients, on the inside link the
# protected server (a stateless responder). Only the clients' completed handshakes reach the server;
# the flood never does. Both print live stats every second; at the end synwall's summary (engine and
# proxy counters), the clients' success ratio and latency, and what the server saw.
#   scripts/run.sh [SECONDS]        default 10; Ctrl-C stops it early (clean exit, summaries printed)
#   scripts/run.sh --proxy [N]      the proxy between a real Linux client and a real HTTP server in
#                                   network namespaces; N curl requests (default 50)
#   scripts/run.sh --capture [SECONDS]  the same demo, with synwall's outside port captured by the
#                                   stock dpdk-dumpcap into build/run-latest/capture.pcapng (2000
#                                   frames). dumpcap attaches as a DPDK secondary process, which
#                                   maps the primary's memory from its hugepage files: synwall runs
#                                   on hugepages here (reserved for the run, released after it)
#   scripts/run.sh --pcap [SECONDS] the absorber alone: a generated flood pcap replayed through net_pcap
#   scripts/run.sh --sim [...]      the engine in-process without DPDK (apps/synwall-sim)
#   scripts/run.sh --help           this text
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
case "${1:-}" in
  -h|--help)  # the header above, without its comment marks: nothing is installed or built for it
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0 ;;
  ''|--sim|--proxy|--pcap|--capture|[0-9]*) ;;
  *) echo "run.sh: unknown argument '$1' (scripts/run.sh --help: usage)" >&2; exit 2 ;;
esac
# A first run installs and builds for minutes: say what it is doing (a later run says nothing).
./scripts/setup-deps.sh | { grep -v "packages present" || true; }
if [ ! -f build/build.ninja ]; then
  echo "run.sh: configuring the build (first run)"
  meson setup build >/dev/null
fi
ninja -C build | awk '/^\[[0-9]+\/[0-9]+\]/ { gsub(/[][]/, "", $1); split($1, n, "/"); n[1] += 0; n[2] += 0
                       if (n[1] == 1) print "run.sh: building, " n[2] " steps"
                       if (n[1] % 25 == 0 || n[1] == n[2]) { printf "run.sh:   %d of %d\n", n[1], n[2]; fflush() } }' ||
  { echo "run.sh: the build failed (ninja -C build shows why)" >&2; exit 1; }

if [ "${1:-}" = "--sim" ]; then
  shift
  exec ./build/apps/synwall-sim "$@"
fi
if [ "${1:-}" = "--proxy" ]; then
  shift
  exec ./scripts/run-proxy.sh "$@"
fi
PCAP=0
if [ "${1:-}" = "--pcap" ]; then PCAP=1; shift; fi
CAPTURE=0
if [ "${1:-}" = "--capture" ]; then CAPTURE=1; shift; fi
SECONDS_TO_RUN=${1:-10}

work=$(mktemp -d)
prefix="synwall-run-$$"
# The run's JSON summaries and logs stay here for the user (the temporary directory does not).
results="$ROOT/build/run-latest"
gen_pid=""  # the generator's output pipeline
# The binaries' own PIDs, in files: a pipeline's $! is its last stage, not the binary.
with_pid() { local f=$1; shift; sh -c 'echo $$ >"$0"; exec "$@"' "$f" "$@"; }
signal_both() { for f in "$work/sw.pid" "$work/gen.pid"; do [ -s "$f" ] && kill "-$1" "$(cat "$f")" 2>/dev/null; done; true; }
hugepages_before=""   # --capture: what to give back
hugetlbfs_mounted=0
cleanup() {
  signal_both TERM
  wait 2>/dev/null || true
  rm -rf "$work" "/var/run/dpdk/$prefix" "/var/run/dpdk/$prefix-gen"
  if [ -n "$hugepages_before" ]; then
    rm -f /dev/hugepages/"$prefix"*
    [ "$hugetlbfs_mounted" = 1 ] && umount /dev/hugepages
    echo "$hugepages_before" >/proc/sys/vm/nr_hugepages
  fi
}
trap cleanup EXIT
# Ctrl-C reaches the whole foreground group: synwall and synwall-gen stop cleanly on it and print
# their summaries, so the script only notes it and waits for them; the output filters ignore it
# (below), or the summaries would go into pipes that had already died.
interrupted=0
trap 'interrupted=1' INT
# A TERM to the script alone (not from a terminal) is passed on as the Ctrl-C it stands for.
trap 'interrupted=1; signal_both INT' TERM
quiet() { grep --line-buffered -v '^TELEMETRY: No legacy'; }
# A filter that outlives Ctrl-C: prefix each line, keep a copy.
label() { (trap '' INT TERM; quiet | sed -u "s/^/$1 | /" | tee "$2"); }

if [ "$PCAP" = 1 ]; then
  ./build/apps/synwall-pcapgen --out "$work/flood.pcap" --count 4096 --src 198.18.0.0/15 --dst 203.0.113.10
  cat > "$work/synwall.toml" <<TOML
# The absorber: one port, one listener answering the flood, connections closed at once.
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
else
  . scripts/lib/memif-proxy.sh
  memif_proxy_config "$work" auto >"$work/synwall.toml"  # SYN queue first, cookies once it is full
fi

if [ "$PCAP" = 1 ]; then
  lcores="0"
  [ "$(nproc)" -ge 2 ] && lcores="0,1"
  echo "synwall on net_pcap (no NIC, no hugepages), lcores $lcores, ${SECONDS_TO_RUN}s:"
  ./build/apps/synwall --no-huge -m 512 -l "$lcores" --file-prefix="$prefix" --no-pci \
    --log-level=lib.eal:error -- --config "$work/synwall.toml" --duration "$SECONDS_TO_RUN" \
    --drivers-config "$ROOT/drivers-config" 2> >(grep -v '^TELEMETRY: No legacy' >&2)
  exit 0
fi

# synwall on lcore 0, synwall-gen on lcore 1 (both on lcore 0 on a one-core machine).
gen_core=1
[ "$(nproc)" -ge 2 ] || gen_core=0
echo "synwall-gen (clients + flood) <- net_memif -> synwall (proxy) <- net_memif -> synwall-gen (the server); no NIC, no hugepages, ${SECONDS_TO_RUN}s:"
echo "  flood: spoofed SYNs from 198.18.0.0/15 at full speed; 100 legitimate closed-loop clients from 10.99.0.0/16"
memory=(--no-huge -m 512)
if [ "$CAPTURE" = 1 ]; then
  # 300 pages of 2 MiB for synwall's 512 MiB, reserved for this run only (cleanup gives them back).
  hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
  echo $((hugepages_before + 300)) >/proc/sys/vm/nr_hugepages
  if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt $((hugepages_before + 256)) ]; then
    echo "run.sh: --capture: could not reserve hugepages (memory too fragmented?)" >&2
    exit 1
  fi
  mkdir -p /dev/hugepages
  if ! mountpoint -q /dev/hugepages; then mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages; hugetlbfs_mounted=1; fi
  memory=(-m 512)
  echo "  capture: synwall on hugepages, its outside port captured by dpdk-dumpcap"
fi
with_pid "$work/sw.pid" ./build/apps/synwall "${memory[@]}" -l 0 --file-prefix="$prefix" --no-pci --log-level=lib.eal:error -- \
  --config "$work/synwall.toml" --drivers-config "$ROOT/drivers-config" --stats-json "$work/synwall.json" 2>&1 |
  label "synwall    " "$work/synwall.log" &
# The memif socket is abstract (no file): synwall's start-up line says the port is up.
for _ in $(seq 200); do grep -q "port(s)" "$work/synwall.log" 2>/dev/null && break; sleep 0.1 || true; done
if [ "$CAPTURE" = 1 ]; then
  # Debian's dpdk-dumpcap registers fewer mempool drivers than synwall (linked with all of
  # libdpdk): preloading the one it lacks gives both processes the same mempool-ops table.
  (trap '' INT; LD_PRELOAD=$(ls /usr/lib/x86_64-linux-gnu/librte_mempool_dpaa.so.* 2>/dev/null | head -1) \
    dpdk-dumpcap --file-prefix="$prefix" -i 0 -c 2000 -q -w "$work/capture.pcapng" >"$work/dumpcap.log" 2>&1 ||
    echo "run.sh: dpdk-dumpcap failed: $(tail -1 "$work/dumpcap.log")" >&2) &
fi
# The generator's exit status is the run's: kept in a file, since it runs at the head of a pipeline.
{
  with_pid "$work/gen.pid" ./build/apps/synwall-gen --no-huge -m 512 -l "$gen_core" --file-prefix="$prefix-gen" --no-pci \
    --log-level=lib.eal:error --vdev="net_memif0,role=client,socket=$work/out.sock" \
    --vdev="net_memif1,role=client,socket=$work/in.sock" -- --port net_memif0 --respond net_memif1 \
    --clients 100 --client-close fin --duration "$SECONDS_TO_RUN" --linger 2 --json "$work/gen.json"
  echo $? >"$work/gen.rc"
} 2>&1 | label "synwall-gen" "$work/gen.log" &
gen_pid=$!
# When the generator has stopped sending (its summary is out, it lingers), stop synwall; the
# generator closes its side after that (memif peers must stop polling before either leaves).
# (On Ctrl-C both got SIGINT already and are stopping on their own.)
while kill -0 "$gen_pid" 2>/dev/null; do
  if grep -q "summary:" "$work/gen.log" 2>/dev/null; then break; fi
  sleep 0.2 || true  # a Ctrl-C ends the sleep, not the script
done
[ -s "$work/sw.pid" ] && kill -TERM "$(cat "$work/sw.pid")" 2>/dev/null || true
# A signal interrupts `wait`: wait again until every child has gone.
while [ -n "$(jobs -pr)" ]; do wait || true; done
rm -f "$work/sw.pid" "$work/gen.pid"  # gone: their PIDs may be reused
gen_pid=""
mkdir -p "$results"
rm -f "$results"/*
cp "$work"/synwall.json "$work"/gen.json "$work"/synwall.log "$work"/gen.log "$work"/capture.pcapng "$results"/ 2>/dev/null || true
# What the server saw: the SYNs synwall opened for clients that completed their handshake, and
# nothing of the flood.
/usr/bin/python3 - "$work/gen.json" "$work/synwall.json" <<'PY' || true
import json, sys
try:
    g = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
except Exception as e:
    sys.exit(f"no summary to compare ({e})")
p, c = s.get("proxy", {}), g["clients"]
flood = g["sent"].get("syn", 0)
answered = g["received"]["flood_synacks"]
print(f"verdict     | clients: {c['completed']} handshakes, {c['failed']} failed, success {100 * c['success_ratio']:.2f} %, "
      f"p99 {c['latency_us']['p99']:.0f} us | flood: {flood} spoofed SYNs, {answered} SYN-ACKs from synwall")
server_syns, opened = g["server"]["syns"], p.get("ServerSynSent", 0)
print(f"verdict     | server: {server_syns} SYNs, synwall opened {opened} server legs for completed handshakes: " +
      ("no flood SYN reached it" if server_syns <= opened else "MORE SYNS THAN SYNWALL SENT: something else reached it"))
PY
gen_rc=$(cat "$work/gen.rc" 2>/dev/null || echo 1)
# The INT trap does not always run: bash skips it when the foreground command it was waiting for
# caught the signal itself and exited normally. The generator's own run time says it too: a run
# that ended well before its duration was cut short.
if [ "$interrupted" = 0 ] && /usr/bin/python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["seconds"] < 0.9 * float(sys.argv[2]) else 1)' "$work/gen.json" "$SECONDS_TO_RUN" 2>/dev/null; then
  interrupted=1
fi
echo "results     | $results: synwall.json, gen.json and both logs$([ -s "$results/capture.pcapng" ] && echo ", capture.pcapng")" \
  "$([ "$interrupted" = 1 ] && echo "(stopped early by Ctrl-C)")"
[ "$gen_rc" = 0 ] || echo "run.sh: synwall-gen exited with status $gen_rc" >&2
exit "$gen_rc"
