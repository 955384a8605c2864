#!/usr/bin/python3
"""Differential conformance: the same crafted probes (test/conformance/probes.py) against a Linux
listener and against synwall, in the same topology, one after the other, and the answers compared
probe by probe.

  conformance_test.py BUILD_DIR DRIVERS_CONFIG_DIR [probe,probe...]

Topology (rebuilt for every peer, so that no state crosses from one to the next):
  netns swc-cli: c0 (no address; the prober crafts and reads frames on it)  <-veth->
  s0 in netns swc-srv: Linux with 10.89.0.2/24 and fd89::2/64 and a listening socket on port 80,
                       or synwall on net_af_packet with listeners for the same two addresses.
VLAN-tagged probes (one 802.1Q tag; 802.1ad then 802.1Q) are compared with Linux's answer to the same
probe untagged, with the tags added: this machine's kernel has no 802.1Q support for a VLAN reference.
Pairs compared: Linux tcp_syncookies=1 with synwall cookie_mode "auto", and tcp_syncookies=2 with
"always". synwall is configured as the Linux listener answers (its SYN-ACK's window scale, and per
family the SYN-ACK window that later windows are scaled from), and `rst_on_invalid_ack = true`
(Linux resets unmatched ACKs).
A SYN-ACK's window is not compared: Linux derives it from the MSS and options (64240, 65160,
64260), synwall announces its configured one; every later window is.

Every frame synwall sends is captured on the prober's side and read by tshark: good checksums, no
malformed packet, no expert-info error.

Every difference is either a failure or listed in EXPECTED with its reason (docs/handshake.md,
"Differences from Linux"); a listed difference that no longer shows fails too, so the list stays
true. Prints one "PASS name" / "FAIL name: why" line per probe and pair.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build")
DRIVERS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(ROOT, "drivers-config")
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
CLI, SRV = "swc-cli", "swc-srv"
PY = "/usr/bin/python3"  # Debian's, with python3-scapy
WORK = tempfile.mkdtemp(prefix="synwall-conformance-")

# (probe, synwall mode) -> why synwall answers differently, on purpose. "*" matches both modes.
EXPECTED = {
    ("ack_completes", "*"): "after the handshake the application answers: absorb closes the connection "
                            "at once (RST); Linux's socket stays open and silent",
    ("ack_with_data", "*"): "after the handshake the application answers: absorb resets the connection; "
                            "Linux's socket acknowledges the request",
    ("ack_data_out_of_order", "auto"): "after the handshake the application answers: absorb resets the "
                                    "connection (acknowledging RCV.NXT, not the out-of-order bytes); Linux's "
                                    "socket sends a duplicate ACK with a SACK block",
    ("rst_exact_then_ack", "always"): "the ACK carries a valid cookie and opens a connection in both; then "
                                      "absorb resets it, Linux's socket stays silent",
    ("ack_paws_old_tsval", "always"): "a cookie ACK has no request to check PAWS against: a connection in "
                                      "both; then absorb resets it, Linux's socket stays silent",
    ("vlan2_syn", "*"): "the path, not synwall: on net_af_packet the kernel takes the outer tag off the "
                        "frame and DPDK 22.11's PMD puts it back as 802.1Q (rte_vlan_insert: TPID 0x8100), "
                        "so the 802.1ad outer tag comes back as 802.1Q; synwall keeps the tags of the frame "
                        "it answers (unit test HandshakeMatrix, outer 0x88a8)",
    ("vlan2_ack_bad_ack_number", "*"): "as vlan2_syn: the outer 802.1ad tag comes back as 802.1Q on net_af_packet",
    ("ipv6_syn_other_isn", "auto"): "as syn_other_isn: RFC 5961 §4's challenge ACK, where Linux resets the request",
    ("ipv6_ack_paws_old_tsval", "always"): "as ack_paws_old_tsval: a cookie ACK opens a connection in both; "
                                           "then absorb resets it, Linux's socket stays silent",
    ("syn_other_isn", "auto"): "RFC 5961 §4: a SYN with another ISN in SYN-RECEIVED gets the request's "
                               "(challenge) ACK even in the window, so that a blind in-window SYN cannot "
                               "remove a real client's request; Linux resets the request (RFC 793)",
}

LISTENER = """
import socket, sys, time
a = socket.socket(); a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); a.bind(("0.0.0.0", 80)); a.listen(128)
b = socket.socket(socket.AF_INET6); b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); b.bind(("::", 80))
b.listen(128)
print("listening", flush=True)
time.sleep(600)
"""


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True).stdout


def ns(n, *cmd, check=True):
    return sh("ip", "netns", "exec", n, *cmd, check=check)


def down():
    for n in (CLI, SRV):
        subprocess.run(["ip", "netns", "del", n], capture_output=True)


def up():
    down()
    sh("ip", "netns", "add", CLI)
    sh("ip", "netns", "add", SRV)
    sh("ip", "link", "add", "c0", "netns", CLI, "type", "veth", "peer", "name", "s0", "netns", SRV)
    for n, i in ((CLI, "c0"), (SRV, "s0")):
        sh("ip", "-n", n, "link", "set", "lo", "up")
        ns(n, "ethtool", "-K", i, "tx", "off")  # full checksums on what leaves (veth leaves them partial)
        # VLAN tags stay in the frames that packet sockets read (no tag offload into metadata).
        ns(n, "ethtool", "-K", i, "rxvlan", "off", "txvlan", "off", "rx-vlan-stag-hw-parse", "off",
           "tx-vlan-stag-hw-insert", "off", check=False)
    ns(CLI, "sysctl", "-qw", "net.ipv6.conf.c0.disable_ipv6=1")  # the prober's kernel stays silent
    sh("ip", "-n", CLI, "link", "set", "c0", "up")
    sh("ip", "-n", SRV, "link", "set", "s0", "up")
    mac = lambda n, i: sh("ip", "-n", n, "-br", "link", "show", i).split()[2]
    return mac(CLI, "c0"), mac(SRV, "s0")


def wait_output(proc, needle, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if needle in line:
            return True
    return False


def probe(dst_mac, tag):
    out = os.path.join(WORK, f"{tag}.json")
    r = subprocess.run(["ip", "netns", "exec", CLI, PY, os.path.join(HERE, "probes.py"), "c0", dst_mac, out, ONLY],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"probes.py failed: {r.stderr[-500:]}")
    return json.load(open(out))


def run_linux(syncookies):
    cmac, smac = up()
    sh("ip", "-n", SRV, "addr", "add", "10.89.0.2/24", "dev", "s0")
    sh("ip", "-n", SRV, "-6", "addr", "add", "fd89::2/64", "dev", "s0", "nodad")
    sh("ip", "-n", SRV, "neigh", "add", "10.89.0.1", "lladdr", cmac, "dev", "s0")
    sh("ip", "-n", SRV, "-6", "neigh", "add", "fd89::1", "lladdr", cmac, "dev", "s0")
    ns(SRV, "sysctl", "-qw", f"net.ipv4.tcp_syncookies={syncookies}")
    lst = subprocess.Popen(["ip", "netns", "exec", SRV, PY, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    try:
        if not wait_output(lst, "listening", 20):
            raise RuntimeError("the Linux listener did not start")
        return probe(smac, f"linux{syncookies}")
    finally:
        lst.kill()
        lst.wait()
        down()


def synwall_toml(mode, wscale, win4, win6):
    listeners = ""
    for name, addr, mss, window in (("v4", "10.89.0.2", 1460, win4), ("v6", "fd89::2", 1440, win6),
                                    ("vlan1", "10.89.100.2", 1460, win4), ("vlan2", "10.89.200.2", 1460, win4)):
        listeners += f"""
[[listener]]
name = "{name}"
address = "{addr}"
port = 80
cookie_mode = "{mode}"
mss = {mss}
wscale = {wscale}
window = {window}
rst_on_invalid_ack = true
"""
    return f"""
[[port]]
name = "wire"
device = "net_af_packet0,iface=s0,qdisc_bypass=1"
profile = "net_af_packet"
{listeners}
[application]
kind = "absorb"
close = "rst"
"""


def run_synwall(mode, wscale, win4, win6):
    _, smac = up()
    ns(SRV, "sysctl", "-qw", "net.ipv6.conf.s0.disable_ipv6=1")  # the kernel under synwall stays silent
    cfg = os.path.join(WORK, f"synwall-{mode}.toml")
    open(cfg, "w").write(synwall_toml(mode, wscale, win4, win6))
    prefix = f"swc-{os.getpid()}"
    sw = subprocess.Popen(["ip", "netns", "exec", SRV, os.path.join(BUILD, "apps", "synwall"), "--no-huge", "-m", "256",
                           "-l", "0", f"--file-prefix={prefix}", "--no-pci", "--log-level=lib.eal:error", "--",
                           "--config", cfg, "--drivers-config", DRIVERS, "--stats-json",
                           os.path.join(WORK, f"synwall-{mode}-stats.json")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pcap = os.path.join(WORK, f"synwall-{mode}.pcap")
    cap = subprocess.Popen(["ip", "netns", "exec", CLI, "tcpdump", "-i", "c0", "-U", "-w", pcap, "tcp src port 80"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not wait_output(sw, "synwall:", 30):
            raise RuntimeError("synwall did not start")
        deadline = time.time() + 10
        while time.time() < deadline and "listening on" not in cap.stderr.readline():
            pass
        answers = probe(smac, f"synwall-{mode}")
        cap.send_signal(signal.SIGINT)
        cap.communicate(timeout=10)
        return answers, pcap
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
        sw.send_signal(signal.SIGINT)
        try:
            sw.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            sw.kill()
            sw.communicate()
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        down()


def tshark_check(pcap):
    """Every frame synwall sent: checksums good, not malformed, no expert info of severity error.
    Returns (frames, problems)."""
    fields = ("frame.number", "tcp.checksum.status", "ip.checksum.status", "frame.protocols", "_ws.expert.severity",
              "_ws.expert.message")
    cmd = ["tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields",
           "-E", "separator=\t", "-E", "aggregator=|"] + [x for f in fields for x in ("-e", f)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames, problems = 0, []
    for line in out.splitlines():
        f = dict(zip(fields, (line.split("\t") + [""] * len(fields))[:len(fields)]))
        frames += 1
        if f["tcp.checksum.status"] != "1" or f["ip.checksum.status"] not in ("1", ""):
            problems.append(f"frame {f['frame.number']}: checksum status tcp {f['tcp.checksum.status']} ip {f['ip.checksum.status']}")
        if "malformed" in f["frame.protocols"]:
            problems.append(f"frame {f['frame.number']}: malformed")
        for m, v in zip(f["_ws.expert.message"].split("|"), f["_ws.expert.severity"].split("|")):
            if v and int(v) >= 0x800000:
                problems.append(f"frame {f['frame.number']}: expert error: {m}")
    return frames, problems


# VLAN probes: this machine's kernel has no 802.1Q support (no VLAN interfaces), so the reference for
# a tagged probe is Linux's answer to the same probe untagged, carrying the probe's tags.
VLAN_TWINS = {"syn": "syn_linux_options", "dup_syn": "dup_syn", "ack_bad_ack_number": "ack_bad_ack_number"}
VLAN_TAGS = {"vlan1": "vlan=q100 ", "vlan2": "vlan=ad200/q100 "}


def vlan_reference(name, lin):
    prefix, _, rest = name.partition("_")
    twin = lin.get(VLAN_TWINS.get(rest, ""))
    if prefix not in VLAN_TAGS or twin is None:
        return None
    return [re.sub(r"^(\d+: )", r"\1" + VLAN_TAGS[prefix], line) if line[0].isdigit() else line for line in twin]


def normalise(lines):
    """SYN-ACK windows are not compared (see the module comment)."""
    return [re.sub(r"^(\d+: (vlan=\S+ )?SA\S* .*)win=\d+", r"\1win=W", line) for line in lines]


def markdown(results):
    """probe | Linux =1 | synwall auto | Linux =2 | synwall always; same answers shown once as "same"."""
    by = {}
    for name, syncookies, mode, lin, sw in results:
        by.setdefault(name, {})[mode] = (lin, sw)
    cell = lambda lines: "<br>".join(f"`{x}`" for x in (lines or ["(not run)"]))
    rows = ["| probe | Linux `tcp_syncookies=1` | synwall `auto` | Linux `tcp_syncookies=2` | synwall `always` |",
            "|---|---|---|---|---|"]
    for name, modes in by.items():
        row = [f"`{name}`"]
        for mode in ("auto", "always"):
            lin, sw = modes.get(mode, (None, None))
            same = lin is not None and normalise(lin) == normalise(sw or [])
            row += [cell(lin), "same" if same else cell(sw)]
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows) + "\n"


def main():
    results = []
    try:
        for syncookies, mode in ((1, "auto"), (2, "always")):
            try:
                lin = run_linux(syncookies)
            except Exception as e:
                print(f"FAIL linux_tcp_syncookies={syncookies}: the reference could not be probed: {e}")
                continue
            # synwall is configured as Linux answers a SYN with Linux's options, per family: its
            # window scale and SYN-ACK window (the base of every later, scaled window).
            def learnt(probe, key, default):
                for line in lin.get(probe, []):
                    m = re.search(key + r"[=:](\d+)", line)
                    if m:
                        return int(m.group(1))
                return default
            wscale = learnt("syn_linux_options", "WScale", 7)
            win4, win6 = learnt("syn_linux_options", "win", 65535), learnt("ipv6_syn", "win", 65535)
            try:
                sw, pcap = run_synwall(mode, wscale, win4, win6)
                frames, problems = tshark_check(pcap)
                if frames == 0 or problems:
                    print(f"FAIL synwall_replies_pass_tshark[{mode}]: {frames} frames; " + "; ".join(problems[:10]))
                else:
                    print(f"PASS synwall_replies_pass_tshark[{mode}]: {frames} frames, checksums good, no expert error")
            except Exception as e:
                print(f"FAIL synwall_{mode}: synwall could not be probed: {e}")
                continue
            for name in list(lin):
                if name.startswith("vlan"):
                    lin[name] = vlan_reference(name, lin) or lin[name]
            for name in lin:
                a, b = normalise(lin[name]), normalise(sw.get(name, ["(not run)"]))
                why = EXPECTED.get((name, mode)) or EXPECTED.get((name, "*"))
                label = f"{name}[linux{syncookies}/{mode}]"
                results.append((name, syncookies, mode, lin[name], sw.get(name)))
                if a == b and why is None:
                    print(f"PASS {label}: {' | '.join(a)}")
                elif a == b:
                    print(f"FAIL {label}: listed as an expected difference ({why}) but the answers agree: "
                          f"{' | '.join(a)}")
                elif why is not None:
                    print(f"PASS {label}: expected difference ({why}): linux {' | '.join(a)} / synwall {' | '.join(b)}")
                else:
                    print(f"FAIL {label}: linux {' | '.join(a)} / synwall {' | '.join(b)}")
        if os.environ.get("SYNWALL_CONFORMANCE_TABLE"):  # the Markdown table of docs/handshake.md
            with open(os.environ["SYNWALL_CONFORMANCE_TABLE"], "w") as f:
                f.write(markdown(results))
    finally:
        down()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
