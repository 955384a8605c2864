#!/usr/bin/env python3
"""Interleaved A/B of two builds' engine micro-benchmarks, on a machine whose speed drifts.

    bench/ab_handshake.py BEFORE_BUILD AFTER_BUILD [--rounds N] [--filter REGEX]

Runs bench_parse and bench_handshake of each build in turn (A, B, A, B, ...), one repetition per
round, so that a slow minute hurts both sides alike, and prints per benchmark the median
nanoseconds per packet of each side, their ratio, and the ratio of each side to BM_ParseSyn of
the same rounds (the per-packet targets are read as multiples of BM_ParseSyn/0/0, parsing one
IPv4 SYN). Frame restores
(BM_RestoreFramesOnly) are subtracted from the burst benchmarks. A side that fails is reported
as failed; its ratios are not computed.
"""
import argparse
import json
import statistics
import subprocess
import sys

BURST = 32
HANDSHAKE = ("BM_SynToCookieSynAck/0/0/0|BM_SynToCookieSynAck/0/0/1|BM_SynToCookieSynAck/0/1/0|"
             "BM_CookieAckToEstablished/0|BM_ForgedAckRejected|BM_RestoreFramesOnly/0")
PARSE = "BM_ParseSyn/0/"


def run(binary, filt):
    out = subprocess.run([binary, f"--benchmark_filter={filt}", "--benchmark_format=json",
                          "--benchmark_min_time=0.3"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{binary} exited with {out.returncode}: {out.stderr.strip()[-300:]}")
    res = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("error_occurred"):
            raise RuntimeError(f"{binary}: {b['name']}: {b.get('error_message')}")
        res[b["name"]] = b["real_time"]  # ns per iteration
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--filter", default=HANDSHAKE)
    a = ap.parse_args()
    sides = {"before": a.before, "after": a.after}
    samples = {s: {} for s in sides}
    failed = {}
    for r in range(a.rounds):
        for side, build in sides.items():
            if side in failed:
                continue
            try:
                got = run(f"{build}/bench/bench_parse", PARSE)
                got.update(run(f"{build}/bench/bench_handshake", a.filter))
            except (RuntimeError, OSError, json.JSONDecodeError) as e:
                failed[side] = str(e)
                continue
            for name, ns in got.items():
                samples[side].setdefault(name, []).append(ns)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    for side, why in failed.items():
        print(f"{side}: FAILED: {why}")

    def per_packet(side, name):
        v = samples[side].get(name)
        if not v:
            return None
        if name.startswith("BM_ParseSyn"):
            return statistics.median(v)
        restore = samples[side].get("BM_RestoreFramesOnly/0")
        # The burst benchmarks restore their frames (the NIC's DMA) inside the timed loop, except
        # the ACK ones, which do not rewrite frames they keep: subtract restores only where done.
        sub = statistics.median(restore) if restore and name.startswith(("BM_SynTo", "BM_Restore")) else 0
        if name.startswith("BM_Restore"):
            return statistics.median(v) / BURST
        return (statistics.median(v) - sub) / BURST

    names = sorted(set(samples["before"]) | set(samples["after"]))
    print(f"{'benchmark':36} {'before ns':>10} {'after ns':>10} {'after/before':>13} "
          f"{'before/parse':>13} {'after/parse':>12}")
    for n in names:
        if n.startswith("BM_Restore"):
            continue
        b, f = per_packet("before", n), per_packet("after", n)
        pb, pa = per_packet("before", "BM_ParseSyn/0/0"), per_packet("after", "BM_ParseSyn/0/0")
        fmt = lambda x: f"{x:10.2f}" if x is not None else f"{'failed':>10}"
        ratio = lambda x, y: f"{x / y:13.2f}" if x and y else f"{'-':>13}"
        print(f"{n:36} {fmt(b)} {fmt(f)} {ratio(f, b)} {ratio(b, pb)} {ratio(f, pa):>12}")
    print("(ns per packet, medians of the rounds; burst benchmarks minus frame restores; .../parse:"
          " multiples of BM_ParseSyn/0/0, parsing one IPv4 SYN, of the same rounds)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
