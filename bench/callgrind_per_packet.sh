#!/usr/bin/env bash
# Instructions per packet in the engine's burst entry point, counted by callgrind (repeatable on a
# VM without a PMU): everything inside the benchmarks' timed calls of Worker::process_burst
# (bench::timed_burst; set-up bursts are not counted), divided by the packets they were given.
#   bench/callgrind_per_packet.sh [build dir] [benchmark regex ...]
# Default: the cookie SYN path (IPv4, AES-NI — valgrind does not emulate VAES — checksums in
# software and offloaded), the cookie ACK and the forged ACK. Bursts are 32 packets.
. "$(dirname "$0")/../scripts/lib/usage.sh" "$0" "$@"
set -euo pipefail
build=${1:-build}
shift || true
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=('BM_SynToCookieSynAck/0/1/0' 'BM_SynToCookieSynAck/0/1/1'
                                      'BM_CookieAckToEstablished/0' 'BM_ForgedAckRejected')
command -v valgrind >/dev/null || { echo "callgrind_per_packet: valgrind is not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in "${filters[@]}"; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        --toggle-collect='synwall::bench::timed_burst*' \
        "$build/bench/bench_handshake" --benchmark_filter="^$f\$" --benchmark_min_time=0.02 >"$out/log" 2>&1 ||
        { echo "$f: the benchmark failed under valgrind" >&2; tail -5 "$out/log" >&2; exit 1; }
    total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log")
    # Bursts = calls made from inside timed_burst (its one call, process_burst). Callgrind names a
    # function once and then refers to it by id, in fn= (this function) and cfn= (a callee) lines.
    calls=$(awk '/^c?fn=/ && /timed_burst/ { id = $1; sub(/^c?fn=/, "", id); want[id] = 1 }
                 /^fn=/ { id = $1; sub(/^fn=/, "", id); in_fn = (id in want); next }
                 /^calls=/ && in_fn { v = $1; sub("calls=", "", v); n += v }
                 END { print n + 0 }' "$out/cg")
    if [ -z "$total" ] || [ "$calls" -eq 0 ]; then echo "$f: no timed_burst calls recorded" >&2; exit 1; fi
    awk -v f="$f" -v t="$total" -v c="$calls" 'BEGIN {printf "%-32s %7.1f instructions/packet (%d bursts of 32)\n", f, t / (c * 32), c}'
done
