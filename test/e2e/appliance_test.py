#!/usr/bin/env python3
"""End-to-end tests of the real synwall binary on DPDK virtual devices (no NIC, --no-huge).

Each case prints "PASS name" or "FAIL name: why"; the exit status is the number of failures.
  appliance_test.py BUILD_DIR DRIVERS_CONFIG_DIR
Cases: the proxy between two memif links to synwall-gen (clients and a flood outside, its server
inside); a timed run on a replayed SYN flood (summary, JSON counters); the stock dpdk-telemetry.py
reading /synwall/stats, /synwall/stats,<lcore>, /synwall/listeners, /synwall/config and /synwall/io while it
runs; SIGTERM and SIGINT ending it within a second with exit 0 and a summary; every kind of bad
input exiting 2 with one line naming the file, key and reason.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

import harness
from harness import (BUILD, GEN, LCORES, PCAPGEN, SYNWALL, WORK, command, config, prefixes, report, start_synwall,
                     stop_synwall, synwall_with_gen, telemetry, write)


def timed_run():
    cfg = write("ok.toml", config())
    js = os.path.join(WORK, "stats.json")
    r = subprocess.run(command(cfg, f"e2e-run-{os.getpid()}", "--duration", "2", "--stats-period", "0.5",
                               "--stats-json", js), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return report("timed_run", False, f"exit {r.returncode}: {r.stderr[-300:]}")
    lines = [l for l in r.stdout.splitlines() if l.startswith("rx ")]
    stats = json.load(open(js))
    c = stats["counters"]
    ok = ("summary:" in r.stdout and len(lines) >= 3 and c["RxPackets"] > 0 and c["SyncookiesSent"] > 0
          and c["SynAckSent"] == 256 and stats["io"]["tx"] >= c["SyncookiesSent"] and stats["io"]["tx_refused"] == 0)
    report("timed_run_answers_the_flood", ok, json.dumps(c)[:300] + f" lines={len(lines)}")


def live(sig, name):
    cfg = write("live.toml", config())
    prefix = f"e2e-live-{name}-{os.getpid()}"
    p = subprocess.Popen(command(cfg, prefix, "--stats-period", "0.5"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        # Wait for the first stats line: ports are up and traffic flows.
        while time.time() < deadline and p.poll() is None:
            line = p.stdout.readline()
            if line.startswith("rx "):
                break
        if sig == signal.SIGTERM:
            s = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
            s1 = telemetry(prefix, "/synwall/stats,1" if LCORES != "0" else "/synwall/stats,0")
            lst = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]
            cf = telemetry(prefix, "/synwall/config")["/synwall/config"]
            s2 = telemetry(prefix, "/synwall/stats")["/synwall/stats"]
            io = telemetry(prefix, "/synwall/io")["/synwall/io"]
            io2 = telemetry(prefix, "/synwall/io")["/synwall/io"]
            key = list(s1.keys())[0]
            # The I/O figures of the running lcores: frames in, replies out, growing between reads.
            io_ok = (io["rx"] > 0 and io["tx"] > 0 and io2["rx"] >= io["rx"] and "tx_refused" in io
                     and "flow_ring_full" in io and io["busy_ns"] > 0)
            report("telemetry_io_figures_while_running", io_ok, f"{io} {io2}"[:400])
            ok = (s["SynRecv"] > 0 and s2["SynRecv"] >= s["SynRecv"] and s["SyncookiesSent"] > 0
                  and s1[key]["SynRecv"] > 0 and lst["web"]["port"] == 80 and lst["web"]["max_half_open"] == 256
                  and cf["workers"] == 1 and lst["web"]["half_open"] == 256 and cf["checksums"] == "software"
                  and lst["web"]["SynRecv"] > 0 and lst["web"]["SyncookiesSent"] > 0)
            report("telemetry_with_stock_dpdk_telemetry_py", ok, f"{s} {lst} {cf}"[:400])
        t0 = time.time()
        p.send_signal(sig)
        rest, err = p.communicate(timeout=10)
        took = time.time() - t0
        ok = p.returncode == 0 and took < 1.0 and "summary:" in rest
        report(f"{name}_exits_0_within_a_second_with_summary", ok, f"exit {p.returncode} after {took:.2f}s, {err[-200:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def pcapng_frames(path):
    """Packet data of every Enhanced Packet Block in a pcapng file."""
    import struct
    data = open(path, "rb").read()
    frames, off = [], 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12:
            break
        if btype == 6:
            caplen = struct.unpack_from("<I", data, off + 20)[0]
            frames.append(data[off + 28: off + 28 + caplen])
        off += blen
    return frames


def dumpcap():
    """The stock dpdk-dumpcap captures synwall's port from a second process (needs hugepages:
    reserved here, released afterwards)."""
    name = "dpdk_dumpcap_captures_synwall_port"
    hp = "/proc/sys/vm/nr_hugepages"
    before = int(open(hp).read())
    mounted_here = False
    prefix = f"e2e-dumpcap-{os.getpid()}"
    p = None
    try:
        with open(hp, "w") as f:
            f.write("512")
        if int(open(hp).read()) < 256:
            return report(name, False, "could not reserve hugepages")
        os.makedirs("/dev/hugepages", exist_ok=True)
        if subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode != 0:
            subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", "/dev/hugepages"], check=True)
            mounted_here = True
        cfg = write("dumpcap.toml", config())
        cmd = command(cfg, prefix, "--stats-period", "0.5")
        cmd.remove("--no-huge"); cmd.remove("-m"); cmd.remove("512")  # a primary on hugepages
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while p.poll() is None and not p.stdout.readline().startswith("rx "):
            pass
        out = os.path.join(WORK, "cap.pcapng")
        env = dict(os.environ, LD_PRELOAD="/usr/lib/x86_64-linux-gnu/librte_mempool_dpaa.so.23")
        r = subprocess.run(["dpdk-dumpcap", f"--file-prefix={prefix}", "-i", "0", "-c", "400", "-w", out],
                           capture_output=True, text=True, timeout=60, env=env)
        frames = pcapng_frames(out) if os.path.exists(out) else []
        synacks = [f for f in frames if len(f) > 47 and f[12:14] == b"\x08\x00" and f[47] & 0x12 == 0x12]
        syns = [f for f in frames if len(f) > 47 and f[12:14] == b"\x08\x00" and f[47] & 0x12 == 0x02]
        report(name, r.returncode == 0 and len(frames) >= 400 and synacks and syns,
               f"dumpcap exit {r.returncode}, {len(frames)} frames, {len(syns)} SYNs, {len(synacks)} SYN-ACKs {r.stderr[-200:]}")
    finally:
        if p is not None:
            p.send_signal(signal.SIGTERM)
            try:
                p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in os.listdir("/dev/hugepages") if os.path.isdir("/dev/hugepages") else []:
            if f.startswith(prefix):
                os.remove(os.path.join("/dev/hugepages", f))
        if mounted_here:
            subprocess.run(["umount", "/dev/hugepages"])
        with open(hp, "w") as f:
            f.write(str(before))


def bad_inputs():
    missing = os.path.join(WORK, "nope.toml")
    cases = [
        ("unknown_key", config(extra="[engine]\nburts = 4"), [], "engine.burts: unknown key"),
        ("bad_value", config(listener_extra="synack_retries = 99"), [], "listener[0].synack_retries: 99 out of range 0..15"),
        ("unknown_profile", config(profile="nosuch"), [], "port[0].profile: "),
        ("profile_of_another_driver", config(profile="net_ring"), [], "profile 'net_ring' is for net_ring, the device is net_pcap"),
        ("port_does_not_exist", config(device="0000:99:00.0"), [], "port[0].device: no such device '0000:99:00.0'"),
        ("more_roles_than_lcores", config(extra="[lcores]\nworkers = [1, 5]"), [], "lcores.workers: lcore 5 is not an enabled worker lcore"),
        ("wrong_flag", config(), ["--confg"], "unknown option '--confg'"),
        ("bad_number", config(), ["--duration", "soon"], "bad value for --duration: 'soon'"),
        ("stats_json_unwritable", config(), ["--stats-json", "/nonexistent-synwall-dir/s.json"],
         "--stats-json: cannot write '/nonexistent-synwall-dir/s.json': No such file or directory"),
    ]
    for name, text, extra_args, expected in cases:
        cfg = write(f"bad-{name}.toml", text)
        r = subprocess.run(command(cfg, f"e2e-bad-{os.getpid()}", *extra_args), capture_output=True, text=True, timeout=60)
        msg = [l for l in r.stderr.splitlines() if l.startswith("synwall:")]
        ok = r.returncode == 2 and len(msg) == 1 and expected in msg[0] and (name in ("wrong_flag", "bad_number", "stats_json_unwritable") or cfg in msg[0])
        report(f"bad_input_{name}_exits_2", ok, f"exit {r.returncode}, stderr {r.stderr.strip()[-300:]}")
    # A profile that requires hardware checksums on a device without them.
    strict = os.path.join(WORK, "drivers-strict")
    os.makedirs(strict, exist_ok=True)
    with open(os.path.join(strict, "net_pcap.toml"), "w") as f:
        f.write('driver = "net_pcap"\ntcp_checksum = "hardware"\nrequire_offloads = true\n')
    cfg = write("strict.toml", config())
    cmd = command(cfg, f"e2e-bad-{os.getpid()}")
    cmd[cmd.index("--drivers-config") + 1] = strict
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    ok = r.returncode == 2 and "port[0].profile: checksums in hardware are required but net_pcap cannot offload them" in r.stderr
    report("bad_input_required_offload_missing_exits_2", ok, f"exit {r.returncode}, stderr {r.stderr.strip()[-300:]}")
    r = subprocess.run(command(missing, f"e2e-bad-{os.getpid()}"), capture_output=True, text=True, timeout=60)
    ok = r.returncode == 2 and f"synwall: {missing}: cannot open file" in r.stderr
    report("bad_input_missing_file_exits_2", ok, f"exit {r.returncode}, stderr {r.stderr.strip()[-200:]}")


CLIENT = r"""
import socket, sys
fam, addr, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ok = 0
for i in range(n):
    s = socket.socket(socket.AF_INET6 if fam == "6" else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((addr, 80))
        if s.recv(100) == b"":  # synwall's FIN right after the handshake
            ok += 1
    except OSError as e:
        print("client", i, e, file=sys.stderr)
    finally:
        s.close()
print(ok)
"""


def linux_clients():
    """Real Linux TCP clients in a network namespace connect through a net_tap port whose profile
    asks for checksum offload: the TAP PMD finishes our checksums from the mbuf's offload request
    (l2/l3 lengths, pseudo-header sum) and the kernel, which verifies them, completes the handshakes
    and sees our FIN."""
    ns = f"swe2e{os.getpid()}"
    iface = "swtap0"
    prefix = f"e2e-tap-{os.getpid()}"
    drivers = os.path.join(WORK, "drivers-tap")
    os.makedirs(drivers, exist_ok=True)
    with open(os.path.join(drivers, "net_tap.toml"), "w") as f:
        f.write('driver = "net_tap"\nipv4_checksum = "auto"\ntcp_checksum = "auto"\n')
    cfg = write("tap.toml", f"""
[[port]]
name = "tap"
device = "net_tap0,iface={iface}"
profile = "net_tap"

[[listener]]
name = "v4"
address = "10.77.0.1"
port = 80
cookie_mode = "auto"

[[listener]]
name = "v6"
address = "fd77::1"
port = 80
cookie_mode = "always"

[application]
close = "fin"
""")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    p = None
    try:
        p, tap_json = start_synwall(cfg, prefix, "--stats-period", "0.5", lcores=LCORES, netns=ns, drivers=drivers)
        ipns = ["ip", "-n", ns]
        subprocess.run(ipns + ["link", "set", "lo", "up"], check=True)
        subprocess.run(ipns + ["addr", "add", "10.77.0.2/24", "dev", iface], check=True)
        subprocess.run(ipns + ["addr", "add", "fd77::2/64", "dev", iface, "nodad"], check=True)
        subprocess.run(ipns + ["link", "set", iface, "up"], check=True)
        # synwall answers TCP only: the client's neighbour entries are static.
        subprocess.run(ipns + ["neigh", "replace", "10.77.0.1", "lladdr", "02:00:00:77:00:01", "dev", iface], check=True)
        subprocess.run(ipns + ["neigh", "replace", "fd77::1", "lladdr", "02:00:00:77:00:01", "dev", iface], check=True)
        cf = telemetry(prefix, "/synwall/config")["/synwall/config"]
        n = 20
        got = {}
        for fam, addr in (("4", "10.77.0.1"), ("6", "fd77::1")):
            r = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", CLIENT, fam, addr, str(n)],
                               capture_output=True, text=True, timeout=120)
            got[fam] = (r.stdout.strip(), r.stderr.strip()[-300:])
        lst = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]
        _, err, _ = stop_synwall(p)
        out = "".join(p.lines)
        summary = json.load(open(tap_json))
        c, absorb = summary["counters"], summary.get("absorb", {})
        # absorb closes each connection itself (close = "fin"): its own count, not the engine's OutRsts.
        ok = (cf.get("checksums") == "nic" and got["4"][0] == str(n) and got["6"][0] == str(n)
              and c["PassiveOpens"] == 2 * n and c["SyncookiesRecv"] >= n and p.returncode == 0
              and lst["v4"]["half_open"] == 0 and absorb.get("Accepted") == 2 * n
              and lst["v4"]["PassiveOpens"] == n and lst["v6"]["PassiveOpens"] == n
              and lst["v6"]["SyncookiesSent"] >= n and lst["v4"]["OverflowDrops"] == 0
              and absorb.get("ClosedWithFin") == 2 * n and "absorb ClosedWithFin" in out)
        report("linux_clients_complete_handshakes_over_net_tap_with_checksum_offload", ok,
               f"config {cf} clients {got} listeners {lst} counters PassiveOpens={c.get('PassiveOpens')} "
               f"SyncookiesRecv={c.get('SyncookiesRecv')} absorb {absorb} exit {p.returncode} {err[-300:]}")
    except Exception as e:  # setup failures are a failed case, not a crash of the suite
        report("linux_clients_complete_handshakes_over_net_tap_with_checksum_offload", False, repr(e)[:300])
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)




def pcapgen_mix():
    """synwall-pcapgen: a mixed flood in the asked proportions, every checksum valid, and the same
    bytes whether oneTBB renders it on one CPU or on all of them."""
    import struct

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        return s

    a, b = os.path.join(WORK, "mix-a.pcap"), os.path.join(WORK, "mix-b.pcap")
    args = ["--count", "200000", "--mix", "syn=6,ack=3,rst=1", "--options", "mixed", "--seed", "7"]
    subprocess.run([PCAPGEN, "--out", a, *args], check=True, capture_output=True)
    subprocess.run(["taskset", "-c", "0", PCAPGEN, "--out", b, *args], check=True, capture_output=True)
    d = open(a, "rb").read()
    same = d == open(b, "rb").read()
    off, n, kinds, bad = 24, 0, {}, 0
    while off < len(d):
        incl = struct.unpack("<I", d[off + 8:off + 12])[0]
        f = d[off + 16:off + 16 + incl]
        off += 16 + incl
        n += 1
        ip, tcp = f[14:34], f[34:]
        kinds[tcp[13]] = kinds.get(tcp[13], 0) + 1
        if csum(ip) != 0xFFFF or csum(ip[12:20] + b"\0\x06" + struct.pack("!H", len(tcp)) + tcp) != 0xFFFF:
            bad += 1
    share = {k: v / n for k, v in kinds.items()}
    ok = (same and n == 200000 and bad == 0 and set(kinds) == {0x02, 0x10, 0x04}
          and abs(share[0x02] - 0.6) < 0.01 and abs(share[0x10] - 0.3) < 0.01 and abs(share[0x04] - 0.1) < 0.01)
    report("pcapgen_mixed_flood_is_valid_proportioned_and_deterministic", ok,
           f"same={same} n={n} bad={bad} shares={share}")


def malformed_replay():
    """synwall-pcapgen's malformed corpus (every frame broken in one way, or not TCP) replayed once
    into synwall: each frame counted under the reason the manifest names, none answered (the tx pcap
    stays empty), every mbuf freed, clean exit."""
    for fam, count in ((4, 60000), (6, 30000)):
        name = f"malformed_corpus_ipv{fam}_counted_by_reason_none_answered"
        try:
            pcap, manifest = os.path.join(WORK, f"bad{fam}.pcap"), os.path.join(WORK, f"bad{fam}.json")
            subprocess.run([PCAPGEN, "--out", pcap, "--kind", "malformed", "--family", str(fam), "--count", str(count),
                            "--seed", "9", "--manifest", manifest], check=True, capture_output=True)
            m = json.load(open(manifest))
            out_pcap, sj = os.path.join(WORK, f"bad{fam}-tx.pcap"), os.path.join(WORK, f"bad{fam}-sw.json")
            cfg_text = config(device=f"net_pcap0,rx_pcap={pcap},tx_pcap={out_pcap}")
            if fam == 6:  # pcapgen's IPv6 default target
                cfg_text = cfg_text.replace('"203.0.113.10"', '"2001:db8:2::10"')
            cfg = write(f"bad{fam}.toml", cfg_text)
            r = subprocess.run(command(cfg, f"e2e-bad{fam}-{os.getpid()}", "--duration", "3", "--stats-json", sj),
                               capture_output=True, text=True, timeout=60)
            j = json.load(open(sj))
            k, io = j["counters"], j["io"]
            wrong = {c: (k.get(c, 0), n) for c, n in m["by_counter"].items() if k.get(c, 0) != n}
            # The manifest's distinct counters: 16 kinds for IPv4 (14 for IPv6), some sharing a reason.
            ok = (r.returncode == 0 and len(m["by_counter"]) >= (14 if fam == 4 else 12)
                  and not wrong and k["RxPackets"] == count and io["tx"] == 0
                  and io["freed_drop"] + io["freed_pass"] == count and os.path.getsize(out_pcap) == 24
                  and k.get("SynRecv", 0) == 0)
            report(name, ok, f"exit {r.returncode} wrong {wrong} io {io} rx {k.get('RxPackets')} "
                             f"tx pcap {os.path.getsize(out_pcap) if os.path.exists(out_pcap) else None} {r.stderr[-300:]}")
        except Exception as e:
            report(name, False, repr(e)[:300])


def gen_over_memif():
    """synwall-gen and synwall as two processes joined by net_memif: a paced spoofed flood plus
    closed-loop clients that send an HTTP request with their ACK; the generator stops sending,
    synwall is stopped while the generator lingers (memif peers must both stop polling before
    either leaves), both exit 0."""
    prefix = f"e2e-memif-{os.getpid()}"
    sock = f"synwall-e2e-{os.getpid()}.sock"
    cfg = write("memif.toml", config(device=f"net_memif0,role=server,socket={sock}", profile="net_memif"))
    try:
        sw_rc, sw_err, g_rc, g_err, gj, sj, _ = synwall_with_gen(
            cfg, prefix, [f"net_memif0,role=client,socket={sock}"],
            ["--port", "net_memif0", "--rate", "200000", "--flood", "syn=8,ack=1,rst=1", "--clients", "200",
             "--client-data", "http", "--duration", "3", "--linger", "3"])
        c, k = gj["clients"], sj["counters"]
        ok = (sw_rc == 0 and g_rc == 0 and c["completed"] > 1000 and c["success_ratio"] == 1.0
              and c["failed"] == 0 and gj["received"]["flood_synacks"] > 100000
              and k["PassiveOpens"] >= c["completed"] - 200 and k["SyncookiesFailed"] > 0
              and k["EstablishedWithData"] == k["PassiveOpens"]
              and gj["clients"]["latency_us"]["p99"] > 0)
        report("synwall_gen_over_memif_clients_and_flood", ok,
               f"gen exit {g_rc} clients {c} received {gj['received']} synwall exit {sw_rc} "
               f"PassiveOpens={k.get('PassiveOpens')} EstablishedWithData={k.get('EstablishedWithData')} {g_err[-200:]} {sw_err[-200:]}")
    except Exception as e:
        report("synwall_gen_over_memif_clients_and_flood", False, repr(e)[:300])
    # Bad input: one line naming the flag, exit 2.
    for name, args, expected in [
        ("no_port", ["--clients", "5"], "--port: required"),
        ("bad_rate", ["--port", "net_null0", "--rate", "fast"], "--rate: 'fast' is not a rate"),
        ("unknown_flag", ["--port", "net_null0", "--flod", "syn"], "--flod: unknown option"),
        ("no_device", ["--port", "0000:99:00.0"], "--port: no such device"),
        ("json_unwritable", ["--port", "net_null0", "--json", "/nonexistent-synwall-dir/g.json"],
         "--json: cannot write '/nonexistent-synwall-dir/g.json'"),
    ]:
        r = subprocess.run([GEN, "--no-huge", "-m", "256", "-l", "0", f"--file-prefix={prefix}-bad", "--no-pci",
                            "--log-level=lib.eal:error", "--", *args], capture_output=True, text=True, timeout=60)
        prefixes.append(prefix + "-bad")
        first = [l for l in r.stderr.splitlines() if l.startswith("synwall-gen:")]
        report(f"synwall_gen_bad_input_{name}_exits_2", r.returncode == 2 and len(first) == 1 and expected in first[0],
               f"exit {r.returncode}, stderr {r.stderr.strip()[-300:]}")


def proxy_over_memif():
    """synwall as a transparent SYN proxy between two net_memif links to one synwall-gen: outside,
    a paced mixed flood (spoofed SYNs, ACKs, RSTs) and closed-loop clients sending an HTTP request
    with their ACK, then a FIN; inside, the generator's stateless server (--respond). Every client
    connection reaches the server with its request; no flood segment does; /synwall/proxy answers
    the stock dpdk-telemetry.py while it runs; both exit 0."""
    prefix = f"e2e-proxy-{os.getpid()}"
    out_sock, in_sock = f"synwall-e2e-out-{os.getpid()}.sock", f"synwall-e2e-in-{os.getpid()}.sock"
    cfg = write("proxy.toml", f"""
[[port]]
name = "outside"
device = "net_memif0,role=server,socket={out_sock}"
profile = "net_memif"
[[port]]
name = "inside"
device = "net_memif1,role=server,socket={in_sock}"
profile = "net_memif"
[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
cookie_mode = "auto"
max_half_open = 256
[application]
kind = "proxy"
server_port = "inside"
""")
    name = "proxy_over_memif_clients_reach_the_server_the_flood_does_not"

    def live_counters(prefix, _pid):  # the proxy's counters through the stock telemetry client
        live, deadline = {}, time.time() + 15
        while time.time() < deadline:
            live = telemetry(prefix, "/synwall/proxy")["/synwall/proxy"]
            if live.get("ServerConnected", 0) > 0:
                break
            time.sleep(0.2)
        return live
    try:
        sw_rc, sw_err, g_rc, g_err, gj, sj, live = synwall_with_gen(
            cfg, prefix, [f"net_memif0,role=client,socket={out_sock}", f"net_memif1,role=client,socket={in_sock}"],
            ["--port", "net_memif0", "--respond", "net_memif1", "--rate", "200000", "--flood", "syn=8,ack=1,rst=1",
             "--clients", "200", "--client-data", "http", "--client-close", "fin", "--duration", "3", "--linger", "3"],
            live_counters)
        c, k, px, srv = gj["clients"], sj["counters"], sj["proxy"], gj["server"]
        # Connections under way when the generator stopped polling both its ports at once: a client
        # closes with its FIN right after its ACK and starts the next connection without waiting
        # for the server leg, so the pipeline holds the last few milliseconds of connections
        # (seen: 1904 server legs without their request yet at 760 k connections/s). Allowed:
        # 10 ms worth of the measured rate.
        # Frames synwall's worker could not hand to a memif link (its ring toward the generator full:
        # the generator, sharing this 2-core machine with the suite, fell behind) are counted
        # (io.tx_refused) and each costs at most one server leg or request: allowed, being counted.
        # Normal runs: a few hundred connections short at the stop, 0-512 refused frames.
        in_flight = max(1000, int(c["handshakes_per_s"] * 0.01)) + sj["io"]["tx_refused"]
        ok = (sw_rc == 0 and g_rc == 0 and live.get("ServerConnected", 0) > 0
              and c["completed"] > 1000 and c["failed"] == 0 and c["success_ratio"] == 1.0
              and k["SyncookiesFailed"] > 0 and gj["received"]["flood_synacks"] > 10000
              and px["ProxyAccepted"] == k["PassiveOpens"] and px["ServerSynSent"] >= px["ProxyAccepted"]
              and srv["syns"] <= px["ServerSynSent"] and srv["syns"] >= c["completed"] - in_flight
              and px["ServerConnected"] >= c["completed"] - in_flight
              and srv["data"] >= c["completed"] - in_flight and srv["data"] <= px["ServerConnected"]
              and px["ServerRefused"] == 0 and px["ServerTimeout"] == 0)
        if os.environ.get("SYNWALL_E2E_VERBOSE"):
            print(f"  io {sj['io']} gen tx_refused {gj.get('tx_refused')} in_flight {in_flight} "
                  f"unseen legs {c['completed'] - srv['syns']} unseen data {c['completed'] - srv['data']}")
        report(name, ok, f"exits {sw_rc}/{g_rc} clients {c} server {srv} proxy {px} io {sj['io']} "
                         f"live {live} engine PassiveOpens={k.get('PassiveOpens')} {g_err[-200:]} {sw_err[-200:]}")
    except Exception as e:
        report(name, False, repr(e)[:300])


def reload_sighup():
    """SIGHUP (and /synwall/reload through dpdk-telemetry.py, which answers with the outcome)
    reloads the [[listener]] set and the cookie key file while the flood runs (the key's
    change is announced; that cookies of the old key still validate is CookieKeyChange.* in the
    unit tests): a new listener opens, a changed one
    is closed and opened again with its new settings (the flood's SYNs go to the new one), the old
    one shows as closed (telemetry keys it NAME/closed/INDEX; a name with characters telemetry keys
    do not allow is keyed with '_' and given in full as "name"); a configuration that does not load
    is refused with one line on stderr, as is a key file that does not load, and the running
    listeners stay."""
    name = "sighup_and_telemetry_reload_listeners_and_the_key_and_refuse_a_bad_file"
    key = write("reload.key", "000102030405060708090a0b0c0d0e0f\n")
    keyed = f'\n[cookie]\nkey_file = "{key}"\n'
    cfg = write("reload.toml", config(extra=keyed))
    prefix = f"e2e-reload-{os.getpid()}"
    p = subprocess.Popen(command(cfg, prefix, "--stats-period", "0.3"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)

    def until(marker, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline and p.poll() is None:
            line = p.stdout.readline()
            if line.startswith(marker):
                return line
        return ""

    try:
        if not until("rx "):
            return report(name, False, "no stats line")
        write("reload.toml", config(listener_extra='max_half_open = 512', extra="""
[[listener]]
name = "alt-8080"
address = "203.0.113.10"
port = 8080
cookie_mode = "always"
""" + keyed).replace("max_half_open = 256\n", ""))
        write("reload.key", "f0e0d0c0b0a090807060504030201000\n")
        p.send_signal(signal.SIGHUP)
        done = until("synwall: reloaded")
        until("rx ")
        until("rx ")  # the flood reaches the reopened listener
        lst = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]
        web, old, alt = lst.get("web", {}), lst.get("web/closed/0", {}), lst.get("alt_8080", {})
        reloaded = ("2 listener(s) opened, 1 closed, cookie key changed" in done and web.get("max_half_open") == 512
                    and web.get("state") == "open" and web.get("SyncookiesSent", 0) > 0
                    and old.get("state") == "closed" and old.get("max_half_open") == 256
                    and alt.get("port") == 8080 and alt.get("name") == "alt-8080" and len(lst) == 3)
        with open(cfg, "w") as f:
            f.write(config(extra=keyed).replace("port = 80\n", 'port = "eighty"\n'))
        p.send_signal(signal.SIGHUP)
        until("rx ")
        until("rx ")
        # A key file that does not load is refused too; the listeners stay.
        write("reload.key", "not hex\n")
        with open(cfg, "w") as f:
            f.write(config(extra=keyed))
        p.send_signal(signal.SIGHUP)
        until("rx ")
        until("rx ")
        after = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]
        # The same through telemetry: alt-8080 removed from the file, /synwall/reload answers.
        write("reload.key", "f0e0d0c0b0a090807060504030201000\n")
        with open(cfg, "w") as f:
            f.write(config(listener_extra='max_half_open = 512', extra=keyed).replace("max_half_open = 256\n", ""))
        answer = telemetry(prefix, "/synwall/reload")["/synwall/reload"].get("result", "")
        final = telemetry(prefix, "/synwall/listeners")["/synwall/listeners"]
        by_telemetry = (answer == "reloaded: 0 listener(s) opened, 1 closed, cookie key unchanged"
                        and final.get("alt_8080/closed/2", {}).get("state") == "closed" and final["web"]["state"] == "open")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        refused = [l for l in err.splitlines() if l.startswith("synwall: reload refused: ")]
        ok = (reloaded and sorted(after) == sorted(lst) and len(refused) == 2 and "listener[0].port" in refused[0]
              and "cookie.key_file" in refused[1] and by_telemetry
              and p.returncode == 0)
        report(name, ok, f"reload line {done.strip()!r}; listeners {json.dumps(lst)[:400]}; after {sorted(after)}; "
                         f"by telemetry {answer!r} {sorted(final)}; "
                         f"refused {refused}; exit {p.returncode}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def read_pcap(path):
    """Frames of a classic pcap file."""
    import struct
    data = open(path, "rb").read()
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def write_pcap(path, frames):
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def ack_for(synack):
    """The client's ACK completing the handshake of an IPv4 SYN-ACK frame (untagged): addresses and
    ports swapped, seq = its ack, ack = its seq + 1, its TSval echoed when it carries timestamps."""
    import struct

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        t = sum(struct.unpack(f"!{len(b) // 2}H", b))
        while t >> 16:
            t = (t & 0xffff) + (t >> 16)
        return ~t & 0xffff

    ip = synack[14:34]
    tcp = synack[34:]
    src, dst = ip[12:16], ip[16:20]
    sport, dport, seq, ack = struct.unpack_from("!HHII", tcp, 0)
    hl = (tcp[12] >> 4) * 4
    opts, i, tsval = tcp[20:hl], 0, None
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if kind == 8:
            tsval = struct.unpack_from("!I", opts, i + 2)[0]
        i += opts[i + 1]
    o = b"" if tsval is None else b"\x01\x01\x08\x0a" + struct.pack("!II", 12345, tsval)
    th = struct.pack("!HHIIBBHHH", dport, sport, ack, seq + 1, (20 + len(o)) // 4 << 4, 0x10, 502, 0, 0) + o
    pseudo = dst + src + struct.pack("!BBH", 0, 6, len(th))
    th = th[:16] + struct.pack("!H", csum(pseudo + th)) + th[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 1, 0x4000, 64, 6, 0, dst, src)
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return synack[6:12] + synack[0:6] + b"\x08\x00" + iph + th


def shared_key():
    """Two appliances with the same key file validate each other's cookies (the basis of several
    appliances behind ECMP): appliance A answers 64 SYNs with cookies; their completing ACKs,
    replayed into appliance B with the same key file, all open connections; into C, with another
    key, none does, each counted as a failed cookie."""
    name = "two_appliances_sharing_a_key_file_validate_each_others_cookies"
    n = 64
    syns, synacks, acks = (os.path.join(WORK, f) for f in ("ks-syn.pcap", "ks-synack.pcap", "ks-ack.pcap"))
    subprocess.run([PCAPGEN, "--out", syns, "--count", str(n), "--src", "198.18.0.0/15", "--dst", "203.0.113.10",
                    "--mix", "syn=100"], check=True, capture_output=True)
    k1 = write("ks1.key", "00112233445566778899aabbccddeeff\n")
    k2 = write("ks2.key", "ffeeddccbbaa99887766554433221100\n")

    def run(tag, rx, tx, key):
        cfg = write(f"ks-{tag}.toml", config(device=f"net_pcap0,rx_pcap={rx},tx_pcap={tx}",
                                             listener_extra='cookie_mode = "always"').replace(
                                                 'cookie_mode = "auto"\n', "") + f'\n[cookie]\nkey_file = "{key}"\n')
        js = os.path.join(WORK, f"ks-{tag}.json")
        r = subprocess.run(command(cfg, f"e2e-ks{tag}-{os.getpid()}", "--duration", "1.5", "--stats-json", js),
                           capture_output=True, text=True, timeout=60)
        return r.returncode, (json.load(open(js))["counters"] if r.returncode == 0 else r.stderr[-300:])

    rc_a, a = run("a", syns, synacks, k1)
    frames = [f for f in read_pcap(synacks) if len(f) > 47 and f[47] & 0x12 == 0x12] if rc_a == 0 else []
    write_pcap(acks, [ack_for(f) for f in frames])
    rc_b, b = run("b", acks, "/dev/null", k1)
    rc_c, c = run("c", acks, "/dev/null", k2)
    ok = (rc_a == 0 and rc_b == 0 and rc_c == 0 and len(frames) == n and a["SyncookiesSent"] == n
          and b["SyncookiesRecv"] == n and b["PassiveOpens"] == n and b["SyncookiesFailed"] == 0
          and c["SyncookiesFailed"] == n and c["PassiveOpens"] == 0)
    report(name, ok, f"A exit {rc_a} {len(frames)} SYN-ACKs; B exit {rc_b} {str(b)[:200]}; C exit {rc_c} {str(c)[:200]}")


def demo_capture():
    """scripts/run.sh --capture: the demo with synwall on hugepages for the run, its outside port
    captured by the stock dpdk-dumpcap into build/run-latest/capture.pcapng; the hugepages are given
    back afterwards (and hugetlbfs unmounted when the script mounted it)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    hp = "/proc/sys/vm/nr_hugepages"
    before = int(open(hp).read())
    mounted_before = subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode == 0
    results = os.path.join(root, "build", "run-latest")
    shutil.rmtree(results, ignore_errors=True)
    r = subprocess.run([os.path.join(root, "scripts", "run.sh"), "--capture", "2"], capture_output=True, text=True,
                       timeout=300, cwd=root)
    cap = os.path.join(results, "capture.pcapng")
    frames = pcapng_frames(cap) if os.path.exists(cap) else []
    tcp = [f for f in frames if len(f) > 47 and f[12:14] == b"\x08\x00" and f[23] == 6]
    syns = [f for f in tcp if f[47] & 0x12 == 0x02]
    synacks = [f for f in tcp if f[47] & 0x12 == 0x12]
    after = int(open(hp).read())
    mounted_after = subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode == 0
    report("demo_capture_writes_a_dumpcap_pcapng_and_gives_the_hugepages_back",
           r.returncode == 0 and len(frames) >= 2000 and syns and synacks and after == before
           and mounted_after == mounted_before,
           f"exit {r.returncode}, {len(frames)} frames ({len(syns)} SYNs, {len(synacks)} SYN-ACKs), hugepages "
           f"{before} -> {after}, mounted {mounted_before} -> {mounted_after}; {r.stderr[-300:]}")


def demo_ctrl_c():
    """Ctrl-C during the README's demo (scripts/run.sh): SIGINT to its whole process group, as a
    terminal sends it. Both summaries, the verdict and the results directory must come out, and
    the script exits with the generator's status (0), not 130."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_path = os.path.join(WORK, "demo.out")
    results = os.path.join(root, "build", "run-latest")
    shutil.rmtree(results, ignore_errors=True)
    with open(out_path, "w") as out:
        p = subprocess.Popen([os.path.join(root, "scripts", "run.sh"), "60"], stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=root)
    text = ""
    try:
        deadline = time.time() + 300  # the first run may build
        while time.time() < deadline and p.poll() is None:
            text = open(out_path).read()
            if "synwall-gen | tx" in text and "synwall     | rx" in text:  # both live lines: running
                break
            time.sleep(0.2)
        os.killpg(p.pid, signal.SIGINT)
        rc = p.wait(timeout=60)
    except Exception as e:
        with contextlib.suppress(Exception):
            os.killpg(p.pid, signal.SIGKILL)
        report("demo_ctrl_c_prints_both_summaries_and_the_verdict", False, repr(e)[:300])
        return
    text = open(out_path).read()
    try:
        g = json.load(open(os.path.join(results, "gen.json")))
        s = json.load(open(os.path.join(results, "synwall.json")))
        saved = g["clients"]["completed"] > 0 and "counters" in s
    except Exception as e:
        saved = False
        text += f"\nresults: {e!r}"
    ok = (rc == 0 and "synwall-gen | summary:" in text and "synwall     | summary:" in text and
          "verdict     | clients:" in text and "stopped early by Ctrl-C" in text and saved)
    report("demo_ctrl_c_prints_both_summaries_and_the_verdict", ok, f"exit {rc}, tail {text[-400:]!r}")


def helps():
    """--help in every tool prints that tool's own usage on stdout and exits 0: not the EAL's help,
    not an error. The DPDK tools take it before "--" or after it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cases = [
        ("synwall", [SYNWALL, "--help"], ["--config FILE", "--stats-json", "--help-eal"]),
        ("synwall_after_separator", [SYNWALL, "--no-huge", "--", "-h"], ["--config FILE"]),
        ("synwall_gen", [GEN, "--help"], ["--port DEV"]),
        ("synwall_gen_after_separator", [GEN, "-l", "0", "--", "--help"], ["--port DEV"]),
        ("synwall_sim", [os.path.join(BUILD, "apps", "synwall-sim"), "--help"], ["--mode"]),
        ("synwall_pcapgen", [PCAPGEN, "--help"], ["--out FILE"]),
        ("run_sh", [os.path.join(root, "scripts", "run.sh"), "--help"], ["scripts/run.sh --proxy", "Ctrl-C"]),
        ("synwall_version", [SYNWALL, "--version"], ["synwall "]),
        ("bench_soak_py", ["python3", os.path.join(root, "bench", "soak.py"), "--help"], ["--minutes"]),
    ]
    # Every script prints its header and runs nothing (bench.sh once took --help for a full run).
    for script, wanted in (("scripts/bench.sh", "--only"), ("scripts/bench-micro.sh", "REPETITIONS"),
                           ("scripts/test.sh", "N passed, N failed"), ("scripts/setup-deps.sh", "Debian"),
                           ("scripts/docs-images.sh", "--check"), ("scripts/run-proxy.sh", "curl"),
                           ("bench/callgrind_per_packet.sh", "callgrind"), ("bench/e2e/io_floor.sh", "ROUNDS"),
                           ("bench/e2e/proxy_rate.sh", "CLIENTS"), ("bench/e2e/proxy_data.sh", "bench/e2e/proxy_data.sh"),
                           ("bench/e2e/proxy_vs_synproxy.sh", "synproxy"), ("scripts/fuzz.sh", "corpus-app")):
        cases.append((script.replace("/", "_").replace(".", "_"), [os.path.join(root, script), "--help"], [wanted]))
    for name, cmd, wanted in cases:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        ok = r.returncode == 0 and all(w in r.stdout for w in wanted) and "EAL common options" not in r.stdout
        report(f"help_{name}_prints_its_usage_and_exits_0", ok,
               f"exit {r.returncode}, stdout {r.stdout[:200]!r}, stderr {r.stderr[-200:]!r}")


try:
    subprocess.run([PCAPGEN, "--out", os.path.join(WORK, "flood.pcap"), "--count", "2048"], check=True,
                   capture_output=True)
except BaseException:
    harness.cleanup()
    raise
harness.run_cases({"timed_run": timed_run, "live_sigterm": lambda: live(signal.SIGTERM, "sigterm"),
                   "live_sigint": lambda: live(signal.SIGINT, "sigint"), "bad_inputs": bad_inputs, "dumpcap": dumpcap,
                   "linux_clients": linux_clients, "gen_over_memif": gen_over_memif,
                   "proxy_over_memif": proxy_over_memif, "pcapgen_mix": pcapgen_mix, "helps": helps,
                   "demo_ctrl_c": demo_ctrl_c, "demo_capture": demo_capture, "reload_sighup": reload_sighup,
                   "shared_key": shared_key, "malformed_replay": malformed_replay})
