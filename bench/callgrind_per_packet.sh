#!/usr/bin/env bash
# Instructions per packet in the engine's burst entry point, counted by callgrind (repeatable on a
# VM without a PMU): everything inside the benchmarks' timed calls of Worker::process_burst
# (bench::timed_burst; set-up bursts are not counted), divided by the packets they were given.
#   bench/callgrind_per_packet.sh [build dir] [benchmark regex ...]
# Default: the cookie SYN path (IPv4, AES-NI — valgrind does not emulate VAES — checksums in
# software and offloaded), the cookie ACK and the forged ACK. Bursts are 32 packets.
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
    # Calls of timed_burst, summed over its call sites (callgrind names a function once, then by id).
    calls=$(awk '/^cfn=/ { id = $1; sub(/^cfn=/, "", id); sub(/ .*/, "", id)
                           if ($0 ~ /timed_burst/) want[id] = 1
                           if (id in want) { getline; if ($1 ~ /^calls=/) { sub("calls=", "", $1); n += $1 } } }
                 END { print n + 0 }' "$out/cg")
    if [ -z "$total" ] || [ "$calls" -eq 0 ]; then echo "$f: no timed_burst calls recorded" >&2; exit 1; fi
    awk -v f="$f" -v t="$total" -v c="$calls" 'BEGIN {printf "%-32s %7.1f instructions/packet (%d bursts of 32)\n", f, t / (c * 32), c}'
done
