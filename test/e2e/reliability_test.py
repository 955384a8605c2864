#!/usr/bin/env python3
"""Reliability of the real synwall binary under attack and faults (no NIC, --no-huge).

Each case prints "PASS name" or "FAIL name: why", and a "FIGURES name: {...}" line with what it
measured (docs/reliability.md quotes them); the exit status is the number of failures.
  reliability_test.py BUILD_DIR DRIVERS_CONFIG_DIR
Cases:
  syn_flood_never, syn_flood_auto  10 million spoofed SYNs (from 198.18.0.0/15, inside the memif
      link only) with closed-loop legitimate clients alongside: the SYN queue never passes its bound,
      resident memory stays flat, clients keep completing; `auto` answers with cookies while the
      queue is full and statefully again once it drained.
  floods  ACKs with random cookies, near-miss ACKs to our cookies, RSTs, reflected SYN-ACKs, IP
      fragments: nothing is created, every frame is counted, and the bytes synwall sends per byte
      it receives (with rst_on_invalid_ack on: its rate-limited RSTs) stay under the rate limit.
  signals_under_load  SIGTERM and SIGINT with the worker fully loaded by a mixed flood: exit 0
      within 2 s, the summary and its JSON written, every mbuf back in its pool once the ports closed.
  link_down_up  the TAP port's link taken down under Linux clients and brought up again: synwall
      keeps running and answering telemetry, and the clients complete again.
"""
import json
import os
import signal
import subprocess
import threading
import time

import harness
from harness import (WORK, reap, report, rss_kb, start_gen, start_synwall, stop_synwall, synwall_with_gen, telemetry,
                     wait_gen_summary, write)

FLOOD_SRC, CLIENT_SRC = "198.18.0.0/15", "192.0.2.0/24"


def figures(name, **values):
    print(f"FIGURES {name}: {json.dumps(values)}", flush=True)


def memif_config(sock, listener="", engine=""):
    """harness.memif_config with requests that expire fast: one retransmit, 0.2 s then 0.4 s."""
    return harness.memif_config(sock, "synack_retries = 1\n" + listener, "synack_rto_ms = 200\n" + engine)


class RssSampler:
    """synwall's resident set (VmRSS, kB) every 50 ms, from /proc, while it runs."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            kb = rss_kb(self.pid)
            if kb is None:
                return
            self.samples.append((time.time(), kb))
            time.sleep(0.05)

    def done(self):
        self.stop.set()
        self.thread.join(2)
        return self.samples


def half_open_seen(lines):
    """The half-open gauge of every live stats line synwall printed."""
    return [int(line.split("half-open")[1].split("|")[0]) for line in lines if "half-open" in line]


def syn_flood(mode):
    """10 M spoofed SYNs at up to 2 M/s, 50 closed-loop clients alongside; then, for `auto`, a
    calm phase of clients alone once the queue drained."""
    name = f"syn_flood_{mode}_ten_million_spoofed_syns_bounded_memory_clients_complete"
    sock = f"synwall-rel-{mode}-{os.getpid()}.sock"
    max_half_open, capacity = 4096, 16384
    cfg = memif_config(sock, f'cookie_mode = "{mode}"\nmax_half_open = {max_half_open}',
                       f"half_open_capacity = {capacity}")
    prefix = f"rel-{mode}-{os.getpid()}"
    vdev = [f"net_memif0,role=client,socket={sock}"]
    sw = flood = calm = None
    try:
        sw, sw_json = start_synwall(cfg, prefix, "--stats-period", "0.2")
        rss = RssSampler(sw.pid)
        flood, flood_json = start_gen(prefix, vdev, [
            "--port", "net_memif0", "--rate", "2000000", "--flood-count", "10000000", "--duration", "60", "--flood", "syn",
            "--flood-src", FLOOD_SRC,
            "--clients", "50", "--client-src", CLIENT_SRC, "--linger", "1"], name="flood")
        t_flood = time.time()
        summary_seen = wait_gen_summary(flood, 90)
        t_flood_end = time.time()
        flood.wait(30)
        after_flood = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
        gj = json.load(open(flood_json))
        # The queue drains: requests expire after their one retransmit (0.2 s + 0.4 s).
        deadline = time.time() + 10
        drained = False
        while time.time() < deadline and not drained:
            drained = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]["web"]["half_open"] == 0
            time.sleep(0.1)
        calm_figs = {}
        if mode == "auto":
            before = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
            calm, calm_json = start_gen(prefix, vdev, ["--port", "net_memif0", "--flood", "off", "--clients", "20",
                                                       "--client-src", CLIENT_SRC, "--duration", "2", "--linger", "1"],
                                        name="calm")
            wait_gen_summary(calm, 30)
            calm.wait(30)
            after = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
            cj = json.load(open(calm_json))["clients"]
            calm_figs = {"clients_completed": cj["completed"], "clients_failed": cj["failed"],
                         "cookies_sent": after["SyncookiesSent"] - before["SyncookiesSent"],
                         "stateful_synacks": after["SynAckSent"] - before["SynAckSent"],
                         "passive_opens": after["PassiveOpens"] - before["PassiveOpens"]}
        samples = rss.done()
        rc, err, took = stop_synwall(sw)
        sj = json.load(open(sw_json))
        k, c = sj["counters"], gj["clients"]
        gauge = half_open_seen(sw.lines)
        # Memory: what it held when ready, its peak, and its growth over the flood's second half
        # (the queue full by then: anything more would grow without bound).
        ready_kb = min(kb for t, kb in samples if t <= t_flood) if any(t <= t_flood for t, _ in samples) else samples[0][1]
        half = t_flood + (t_flood_end - t_flood) / 2
        second = [kb for t, kb in samples if half <= t <= t_flood_end]
        first_half_peak = max([kb for t, kb in samples if t < half] or [ready_kb])
        growth_second_half = max(second) - first_half_peak if second else None
        figs = {"syns_sent": gj["sent"]["syn"], "flood_pps": round(gj["flood_pps"]), "seconds": gj["seconds"],
                "SynRecv": k["SynRecv"], "SynAckSent": k["SynAckSent"], "SyncookiesSent": k["SyncookiesSent"],
                "TCPReqQFullDrop": k["TCPReqQFullDrop"], "TCPReqQFullDoCookies": k["TCPReqQFullDoCookies"],
                "half_open_peak": max(gauge or [0]), "max_half_open": max_half_open,
                "rss_ready_kb": ready_kb, "rss_peak_kb": max(kb for _, kb in samples),
                "rss_growth_second_half_kb": growth_second_half, "frames_received": sj["io"]["rx"],
                "RxPackets": k["RxPackets"], "SynReopenedFlow": k["SynReopenedFlow"],
                "clients_completed": c["completed"], "clients_failed": c["failed"],
                "client_syn_retransmits": c["syn_retransmits"], "clients_success_ratio": c["success_ratio"],
                "mbufs_in_use_after_close": sj["mbufs"]["in_use_after_close"], "calm": calm_figs}
        figures(name, **figs)
        ok = (summary_seen and rc == 0 and flood.returncode == 0 and gj["sent"]["syn"] >= 10_000_000 and drained
              and 0 < max(gauge or [0]) <= max_half_open and growth_second_half is not None
              and growth_second_half <= 1024 and c["completed"] > 0 and sj["mbufs"]["in_use_after_close"] == 0
              and k["SynRecv"] >= 9_000_000
              # each frame received counts once, also a client's SYN that reopened a closed flow
              and k["RxPackets"] == sj["io"]["rx"] - sj["io"]["multi_segment_dropped"])
        if mode == "never":
            ok = ok and k["SyncookiesSent"] == 0 and k["TCPReqQFullDrop"] > 0
        else:
            ok = (ok and k["TCPReqQFullDoCookies"] > 0 and k["SyncookiesSent"] == k["TCPReqQFullDoCookies"]
                  and c["failed"] == 0 and after_flood["SyncookiesSent"] > 0
                  and calm_figs["clients_completed"] > 0 and calm_figs["clients_failed"] == 0
                  and calm_figs["cookies_sent"] == 0 and calm_figs["stateful_synacks"] >= calm_figs["passive_opens"] > 0)
        report(name, ok, f"{figs} exit {rc} {err[-300:]}")
    except Exception as e:
        report(name, False, repr(e)[:300])
    finally:
        reap(flood, calm, sw)


# Each flood alone, 3 s at 1 M frames/s; rst_on_invalid_ack on, so every invalid segment could
# be answered and only the rate limit (engine.reply_rate per second, reply_burst at once) holds
# the answers back. No legitimate client: anything created would be the flood's.
FLOODS = [
    ("ack_random_cookies", ["--flood", "ack"]),
    ("ack_near_miss_cookies", ["--flood", "syn", "--flood-replies", "nearmiss"]),
    ("rst", ["--flood", "rst"]),
    ("synack_reflection", ["--flood", "synack"]),
    ("ip_fragments", ["--flood", "frag"]),
]


def floods():
    reply_rate, reply_burst, seconds, rate = 1000, 100, 3, 1_000_000
    for kind, args in FLOODS:
        name = f"flood_{kind}_creates_nothing_and_amplifies_nothing"
        sock = f"synwall-rel-{kind}-{os.getpid()}.sock"
        cfg = memif_config(sock, 'cookie_mode = "always"\nrst_on_invalid_ack = true',
                           f"reply_rate = {reply_rate}\nreply_burst = {reply_burst}")
        try:
            rc, err, g_rc, g_err, gj, sj, _ = synwall_with_gen(
                cfg, f"rel-{kind}-{os.getpid()}", [f"net_memif0,role=client,socket={sock}"],
                ["--port", "net_memif0", "--rate", str(rate), "--duration", str(seconds), *args,
                 "--flood-src", FLOOD_SRC, "--linger", "2"], gen_timeout=60)
            k, port = sj["counters"], sj["ports"]["wire"]
            sent = sum(gj["sent"].values()) - gj["sent"]["client"]
            replies = k["OutRsts"] + k["TCPChallengeACK"]
            # Replies to invalid segments: at most the bucket's burst plus its rate over the run.
            reply_bound = reply_burst + reply_rate * (sj["seconds"] + 1)
            figs = {"frames_sent": sent, "frames_received": port["ipackets"], "bytes_in": port["ibytes"],
                    "bytes_out": port["obytes"], "frames_out": port["opackets"],
                    "bytes_out_per_byte_in": round(port["obytes"] / port["ibytes"], 6) if port["ibytes"] else None,
                    "PassiveOpens": k["PassiveOpens"], "SynRecv": k["SynRecv"], "replies": replies,
                    "ReplyRateLimited": k["ReplyRateLimited"], "reply_bound": reply_bound,
                    "SyncookiesFailed": k["SyncookiesFailed"], "DropSynAckToListener": k["DropSynAckToListener"],
                    "PassFragment": k["PassFragment"], "RstsToListener": k["RstsToListener"],
                    "nearmiss_acks": gj["sent"]["nearmiss_ack"], "mbufs_in_use_after_close": sj["mbufs"]["in_use_after_close"]}
            figures(name, **figs)
            # Every frame the port took was counted by the engine, and nothing was established.
            ok = (rc == 0 and g_rc == 0 and port["ipackets"] > 0.9 * sent and k["RxPackets"] == port["ipackets"]
                  and k["PassiveOpens"] == 0 and sj["mbufs"]["in_use_after_close"] == 0)
            if kind == "ack_near_miss_cookies":
                # The SYNs are answered (a SYN-ACK each, about as long as the SYN); their near-miss
                # ACKs all fail and are not answered beyond the rate limit.
                ok = ok and gj["sent"]["nearmiss_ack"] > 100_000 and k["SyncookiesFailed"] >= gj["sent"]["nearmiss_ack"] * 0.99
                ok = ok and replies <= reply_bound and port["obytes"] <= 1.5 * port["ibytes"]
            else:
                ok = ok and k["SynRecv"] == 0 and replies <= reply_bound and port["obytes"] <= 60 * reply_bound
                if kind == "ack_random_cookies":
                    ok = ok and k["SyncookiesFailed"] == port["ipackets"] and k["ReplyRateLimited"] > 0
                if kind == "rst":
                    ok = ok and replies == 0 and port["opackets"] == 0 and k["RstsToListener"] == port["ipackets"]
                if kind == "synack_reflection":
                    ok = ok and k["DropSynAckToListener"] + k["ReplyRateLimited"] > 0
                if kind == "ip_fragments":
                    ok = ok and k["PassFragment"] == port["ipackets"] and port["opackets"] == 0
            report(name, ok, f"{figs} exits {rc}/{g_rc} {err[-200:]} {g_err[-200:]}")
        except Exception as e:
            report(name, False, repr(e)[:300])


def signals_under_load():
    """A mixed flood replayed from a pcap as fast as the worker takes it (a single process: a live
    memif peer is not needed for full load, see docs/reliability.md on memif teardown)."""
    pcap = os.path.join(WORK, "mix.pcap")
    subprocess.run([harness.PCAPGEN, "--out", pcap, "--count", "8192", "--mix", "syn=6,ack=2,rst=1,synack=1,frag=1"],
                   check=True, capture_output=True)
    for sig, label in ((signal.SIGTERM, "sigterm"), (signal.SIGINT, "sigint")):
        name = f"{label}_at_full_load_exits_cleanly_with_every_mbuf_back"
        cfg = write(f"sig-{label}.toml", harness.config(device=f"net_pcap0,rx_pcap={pcap},tx_pcap=/dev/null,infinite_rx=1"))
        prefix = f"rel-{label}-{os.getpid()}"
        sw = None
        try:
            sw, sw_json = start_synwall(cfg, prefix, "--stats-period", "0.2")
            # Full load: a stats line with the worker busy nearly all the time.
            deadline, loaded = time.time() + 15, None
            while time.time() < deadline and loaded is None:
                for line in sw.lines[-3:]:
                    if line.startswith("rx ") and float(line.split("busy")[1].split("%")[0]) >= 90:
                        loaded = line
                time.sleep(0.05)
            rc, err, took = stop_synwall(sw, sig)
            out = "".join(sw.lines)
            sj = json.load(open(sw_json))
            figs = {"rx_mpps_at_the_signal": float(loaded.split()[1]) if loaded else None, "exit": rc,
                    "seconds_to_exit": round(took, 3), "rx": sj["io"]["rx"],
                    "mbufs_in_use_after_close": sj["mbufs"]["in_use_after_close"], "mbufs_in_pools": sj["mbufs"]["pools"]}
            figures(name, **figs)
            ok = (loaded is not None and rc == 0 and took < 2 and "summary:" in out and sj["io"]["rx"] > 100_000
                  and sj["mbufs"]["in_use_after_close"] == 0 and "not back in the pools" in out)
            report(name, ok, f"{figs} {err[-300:]}")
        except Exception as e:
            report(name, False, repr(e)[:300])
        finally:
            reap(sw)


CONNECT = r"""
import socket, sys
addr, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ok = 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, 80))
        ok += 1
    except OSError:
        pass
    finally:
        s.close()
print(ok)
"""


def link_down_up():
    """synwall on a TAP port whose kernel side lives in a namespace with Linux clients: the link is
    taken down (the clients' connects fail, synwall's sends to it fail), then up again."""
    name = "link_down_up_synwall_keeps_running_and_clients_complete_again"
    ns, iface, prefix = f"swrel{os.getpid()}", "swreltap0", f"rel-link-{os.getpid()}"
    cfg = write("link.toml", f"""
[[port]]
name = "tap"
device = "net_tap0,iface={iface}"
profile = "net_tap"

[[listener]]
name = "v4"
address = "10.78.0.1"
port = 80
cookie_mode = "auto"

[application]
close = "fin"  # a RST right after the handshake can beat connect() returning: the client would count a failure
""")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    sw = None
    ipns = ["ip", "-n", ns]

    def clients(n, timeout=2):
        r = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", CONNECT, "10.78.0.1", str(n), str(timeout)],
                           capture_output=True, text=True, timeout=120)
        return int(r.stdout.strip() or -1)

    def link(state):
        subprocess.run(ipns + ["link", "set", iface, state], check=True)
        if state == "up":  # a link going down flushes its neighbours; synwall answers TCP only
            subprocess.run(ipns + ["neigh", "replace", "10.78.0.1", "lladdr", "02:00:00:77:00:01", "dev", iface],
                           check=True)
    try:
        sw, sw_json = start_synwall(cfg, prefix, "--stats-period", "0.5", netns=ns)
        subprocess.run(ipns + ["link", "set", "lo", "up"], check=True)
        subprocess.run(ipns + ["addr", "add", "10.78.0.2/24", "dev", iface], check=True)
        link("up")
        before = clients(10)
        link("down")
        while_down = clients(3, timeout=0.5)
        alive_down = sw.poll() is None
        stats_down = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
        time.sleep(0.5)  # a link down for a while, not a blip
        link("up")
        after = clients(10)
        stats_up = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
        rc, err, _ = stop_synwall(sw)
        sj = json.load(open(sw_json))
        figs = {"connects_before": before, "connects_while_down": while_down, "connects_after": after,
                "PassiveOpens_down": stats_down["PassiveOpens"], "PassiveOpens_end": stats_up["PassiveOpens"],
                "port": sj["ports"]["tap"], "mbufs_in_use_after_close": sj["mbufs"]["in_use_after_close"]}
        figures(name, **figs)
        ok = (before == 10 and while_down == 0 and alive_down and after == 10 and rc == 0
              and stats_up["PassiveOpens"] == stats_down["PassiveOpens"] + 10 and sj["mbufs"]["in_use_after_close"] == 0)
        report(name, ok, f"{figs} exit {rc} {err[-300:]}")
    except Exception as e:
        report(name, False, repr(e)[:300])
    finally:
        reap(sw)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


harness.run_cases({"syn_flood_never": lambda: syn_flood("never"), "syn_flood_auto": lambda: syn_flood("auto"),
                   "floods": floods, "signals_under_load": signals_under_load, "link_down_up": link_down_up})
