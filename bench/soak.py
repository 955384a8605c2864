#!/usr/bin/env python3
"""Soak run: synwall for a long time (10 minutes by default) under a paced mixed flood with
closed-loop legitimate clients sending an HTTP request, over net_memif to synwall-gen, --no-huge.

  bench/soak.py BUILD_DIR DRIVERS_CONFIG_DIR [--minutes M] [--json FILE]

It samples synwall's resident memory every 5 s and its counters (stock dpdk-telemetry.py) every
10 s, then reports:
  - memory: resident set after the first minute (or the first half of a shorter run: warm, tables
    and pools touched), its first and last value and its range; flat means a range within 1 MiB;
  - counter drift: per-minute rates of SYNs, cookies, handshakes and clients' handshakes, which a
    leak or a slow table would bend; and every sample's half-open gauge against its bound;
  - the clients: attempts, completed, failed (0 expected), latency;
  - the mbufs not back in the pools once synwall closed its ports (0 expected).
Exit 0 when memory is flat, no client failed and no mbuf leaked; 1 otherwise.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("build")
parser.add_argument("drivers")
parser.add_argument("--minutes", type=float, default=10)
parser.add_argument("--json", default=os.path.join(HERE, "results", "soak.json"))
args = parser.parse_args()
sys.argv = [sys.argv[0], args.build, args.drivers]
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
import harness  # noqa: E402  (reads BUILD and DRIVERS from argv)
from harness import memif_config, reap, rss_kb, start_gen, start_synwall, stop_synwall, telemetry, wait_gen_summary  # noqa: E402

MAX_HALF_OPEN = 4096
FLOOD_PPS = 300_000


def main():
    seconds = int(args.minutes * 60)
    sock = f"synwall-soak-{os.getpid()}.sock"
    cfg = memif_config(sock, f'cookie_mode = "auto"\nmax_half_open = {MAX_HALF_OPEN}\nsynack_retries = 2',
                       "synack_rto_ms = 250")
    prefix = f"soak-{os.getpid()}"
    sw = gen = None
    try:
        sw, sw_json = start_synwall(cfg, prefix, "--stats-period", "10")
        gen, gen_json = start_gen(prefix, [f"net_memif0,role=client,socket={sock}"], [
            "--port", "net_memif0", "--rate", str(FLOOD_PPS), "--flood", "syn=8,ack=1,rst=1", "--flood-src",
            "198.18.0.0/15", "--clients", "100", "--client-src", "192.0.2.0/24", "--client-data", "http",
            "--duration", str(seconds), "--stats-period", "60", "--linger", "3"])
        t0 = time.time()
        memory, counters = [], []
        next_counters = t0
        while time.time() - t0 < seconds and gen.poll() is None and sw.poll() is None:
            now = time.time()
            memory.append((round(now - t0, 1), rss_kb(sw.pid)))
            if now >= next_counters:
                s = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
                half = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]["web"]["half_open"]
                counters.append({"t": round(now - t0, 1), "half_open": half, **{k: s[k] for k in (
                    "RxPackets", "SynRecv", "SyncookiesSent", "SynAckSent", "PassiveOpens", "SyncookiesFailed",
                    "ReqExpired")}})
                next_counters += 10
            time.sleep(5)
        finished = wait_gen_summary(gen, 60)
        rc, err, _ = stop_synwall(sw)
        gen.wait(30)
        gj, sj = json.load(open(gen_json)), json.load(open(sw_json))
    finally:
        reap(gen, sw)
        harness.cleanup()

    warm_from = min(60, seconds / 2)
    warm = [kb for t, kb in memory if t >= warm_from and kb is not None] or [kb for _, kb in memory if kb is not None]
    per_minute = []
    minutes = {}
    for c in counters:
        minutes.setdefault(int(c["t"] // 60), c)  # first sample of each minute
    marks = sorted(minutes.items())
    for (m, a), (_, b) in zip(marks, marks[1:]):
        dt = b["t"] - a["t"]
        per_minute.append({"minute": m, **{k: round((b[k] - a[k]) / dt) for k in (
            "SynRecv", "SyncookiesSent", "PassiveOpens", "SyncookiesFailed")}})
    c = gj["clients"]
    report = {
        "minutes": args.minutes, "flood_pps_asked": FLOOD_PPS, "flood_pps": gj["flood_pps"],
        "memory_kb": {"warm_first": warm[0], "warm_last": warm[-1], "warm_min": min(warm), "warm_max": max(warm),
                      "samples": len(memory)},
        "half_open_max": max(x["half_open"] for x in counters), "max_half_open": MAX_HALF_OPEN,
        "rates_per_s_by_minute": per_minute,
        "clients": {k: c[k] for k in ("attempts", "completed", "failed", "success_ratio", "handshakes_per_s")},
        "client_latency_us": c["latency_us"],
        "synwall_exit": rc, "generator_finished": finished,
        "mbufs_in_use_after_close": sj["mbufs"]["in_use_after_close"],
        "counters": {k: sj["counters"][k] for k in ("RxPackets", "SynRecv", "SyncookiesSent", "SynAckSent",
                                                     "PassiveOpens", "SyncookiesFailed", "ReqExpired")},
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    flat = report["memory_kb"]["warm_max"] - report["memory_kb"]["warm_min"] <= 1024
    ok = (flat and c["failed"] == 0 and rc == 0 and finished and report["mbufs_in_use_after_close"] == 0
          and report["half_open_max"] <= MAX_HALF_OPEN)
    print(f"soak: {'PASS' if ok else 'FAIL'}: memory {'flat' if flat else 'NOT flat'} "
          f"({report['memory_kb']['warm_min']}..{report['memory_kb']['warm_max']} kB after the first {warm_from:.0f} s), "
          f"{c['completed']} client handshakes, {c['failed']} failed, "
          f"{report['mbufs_in_use_after_close']} mbufs not back; {err.strip()[-200:] if rc else ''}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
