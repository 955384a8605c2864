#!/usr/bin/python3
"""The differential conformance probes: crafted segment sequences sent to a listener and the
answers written down as normalised text, the same for every peer (a Linux listener or synwall).

Run inside the prober's namespace by conformance_test.py:
    probes.py IFACE DST_MAC OUT.json [NAME,NAME...]
Each probe is a list of steps; a step sends one frame and collects, for WAIT seconds, every TCP
segment that comes back to the probe's own source port. Answers are normalised so that values
that legitimately differ between runs and peers (ISNs, TSvals) read as symbols: the server's ISN
is "S", the probe's is "C", a timestamp echo of the probe's latest TSval is "ecr=tsval".
"""
import json
import socket
import sys
import time

from scapy.all import IP, TCP, Dot1AD, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, Raw, conf

CLI4, SRV4 = "10.89.0.1", "10.89.0.2"
CLI6, SRV6 = "fd89::1", "fd89::2"
PORT = 80
WAIT = 0.25
C_ISN = 1_000_000
LINUX_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (5000, 0)), ("NOP", None), ("WScale", 7)]


class Probe:
    def __init__(self, name, steps, v6=False):
        self.name, self.steps, self.v6 = name, steps, v6


# A step: a function (context) -> scapy TCP layer (or a whole L3 packet), plus how long to listen.
# The context holds what the previous answers taught: the server's ISN, its TSval.
def syn(opts=LINUX_OPTS, flags="S", seq=0, **kw):
    return lambda c: TCP(sport=c["sport"], dport=PORT, flags=flags, seq=C_ISN + seq, window=64240, options=opts, **kw)


def ack(seq=1, ack_off=1, flags="A", tsval=5001, data=b"", ts=True, ack_abs=None):
    def make(c):
        opts = [("NOP", None), ("NOP", None), ("Timestamp", (tsval, c.get("s_tsval", 0)))] if ts else []
        a = ack_abs if ack_abs is not None else (c.get("s_isn", 0) + ack_off) & 0xffffffff
        t = TCP(sport=c["sport"], dport=PORT, flags=flags, seq=(C_ISN + seq) & 0xffffffff, ack=a, window=502,
                options=opts)
        return t / Raw(data) if data else t
    return make


def rst(seq=1, flags="R"):
    return lambda c: TCP(sport=c["sport"], dport=PORT, flags=flags, seq=(C_ISN + seq) & 0xffffffff, window=0)


def raw_opts(b, flags="S"):
    """A SYN whose option bytes are given raw (padded with EOL to a multiple of 4)."""
    def make(c):
        pad = b + b"\x00" * (-len(b) % 4)
        t = TCP(sport=c["sport"], dport=PORT, flags=flags, seq=C_ISN, window=64240)
        t.dataofs = 5 + len(pad) // 4
        t.options = []
        return t, pad
    return make


def flags_probe(flags):
    """One segment with exactly these flags (of FSRPAU) to the listener's port: Linux's options on a
    SYN, an unrelated acknowledgement number with ACK, the urgent pointer with URG."""
    def make(c):
        return TCP(sport=c["sport"], dport=PORT, flags=flags, seq=C_ISN, ack=123456 if "A" in flags else 0,
                   window=64240, options=LINUX_OPTS if "S" in flags else [], urgptr=1 if "U" in flags else 0)
    return Probe("flags_" + (flags or "none"), [make])


PROBES = [
    Probe("syn_no_options", [syn([])]),
    Probe("syn_linux_options", [syn()]),
    Probe("syn_mss_only", [syn([("MSS", 1400)])]),
    # Option edge cases.
    Probe("mss_zero", [syn([("MSS", 0)])]),
    Probe("mss_small", [syn([("MSS", 100)])]),
    Probe("wscale_15", [syn([("MSS", 1460), ("WScale", 15)])]),
    Probe("duplicate_mss", [syn([("MSS", 1300), ("MSS", 1400)])]),
    Probe("option_len_zero", [raw_opts(b"\x02\x04\x05\xb4\x08\x00")]),
    Probe("option_len_one", [raw_opts(b"\x02\x04\x05\xb4\x03\x01")]),
    Probe("option_overrun", [raw_opts(b"\x02\x04\x05\xb4\x08\x0a\x00\x00")]),
    Probe("eol_then_garbage", [raw_opts(b"\x02\x04\x05\xb4\x00\x03\x03\x07")]),
    Probe("unknown_option", [syn([("MSS", 1460), (99, b"\x01\x02")])]),
    Probe("sack_ws_without_ts", [syn([("MSS", 1460), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])]),
    Probe("ts_only", [syn([("Timestamp", (5000, 0))])]),
    # ECN.
    Probe("ecn_setup", [syn(flags="SEC")]),
    Probe("ecn_setup_ect", [syn(flags="SEC")]),  # sent ECT(0): see ip_of()
    Probe("ece_only", [syn(flags="SE")]),
    # SYN-RECEIVED (a queued request; in cookie-always modes these exercise cookies instead).
    Probe("dup_syn", [syn(), syn()]),
    Probe("syn_other_isn", [syn(), syn(seq=50000)]),
    Probe("rst_exact_then_ack", [syn(), rst(seq=1), ack()]),
    Probe("rst_in_window", [syn(), rst(seq=101)]),
    Probe("rst_out_of_window", [syn(), rst(seq=10_000_000)]),
    Probe("ack_bad_ack_number", [syn(), ack(ack_off=100)]),
    Probe("ack_out_of_window", [syn(), ack(seq=10_000_000)]),
    Probe("ack_paws_old_tsval", [syn(), ack(tsval=4000)]),
    Probe("ack_completes", [syn(), ack()]),
    Probe("ack_with_data", [syn(), ack(data=b"GET / HTTP/1.0\r\n\r\n")]),
    Probe("ack_data_out_of_order", [syn(), ack(seq=101, data=b"GET / HTTP/1.0\r\n\r\n")]),
    # IP layer.
    Probe("ipv4_options_nop", [syn()]),  # IPv4 options: see ip_of()
    Probe("ipv6_syn", [syn()], v6=True),
    Probe("ipv6_destopts", [syn()], v6=True),
    Probe("ipv6_atomic_fragment", [syn()], v6=True),
    Probe("ipv6_syn_no_options", [syn([])], v6=True),
    Probe("ipv6_option_len_zero", [raw_opts(b"\x02\x04\x05\xa0\x08\x00")], v6=True),
    Probe("ipv6_ecn_setup", [syn(flags="SEC")], v6=True),
    Probe("ipv6_dup_syn", [syn(), syn()], v6=True),
    Probe("ipv6_syn_other_isn", [syn(), syn(seq=50000)], v6=True),
    Probe("ipv6_rst_in_window", [syn(), rst(seq=101)], v6=True),
    Probe("ipv6_ack_bad_ack_number", [syn(), ack(ack_off=100)], v6=True),
    Probe("ipv6_ack_out_of_window", [syn(), ack(seq=10_000_000)], v6=True),
    Probe("ipv6_ack_paws_old_tsval", [syn(), ack(tsval=4000)], v6=True),
    # VLAN tags (the Linux reference answers them on VLAN interfaces: 802.1Q 100 for 10.89.100.0/24,
    # 802.1ad 200 then 802.1Q 100 for 10.89.200.0/24).
    Probe("vlan1_syn", [syn()]),
    Probe("vlan1_dup_syn", [syn(), syn()]),
    Probe("vlan1_ack_bad_ack_number", [syn(), ack(ack_off=100)]),
    Probe("vlan2_syn", [syn()]),
    Probe("vlan2_ack_bad_ack_number", [syn(), ack(ack_off=100)]),
]
# Every combination of FIN, SYN, RST, PSH, ACK and URG.
PROBES += [flags_probe("".join(f for i, f in enumerate("FSRPAU") if bits >> i & 1)) for bits in range(64)]


def ip_of(probe, v6):
    if probe.name.startswith("vlan1_"):
        return Dot1Q(vlan=100) / IP(src="10.89.100.1", dst="10.89.100.2", ttl=64, flags="DF")
    if probe.name.startswith("vlan2_"):
        return Dot1AD(vlan=200) / Dot1Q(vlan=100) / IP(src="10.89.200.1", dst="10.89.200.2", ttl=64, flags="DF")
    if v6:
        base = IPv6(src=CLI6, dst=SRV6, hlim=64)
        if probe.name == "ipv6_destopts":
            return base / IPv6ExtHdrDestOpt()
        if probe.name == "ipv6_atomic_fragment":
            return base / IPv6ExtHdrFragment(offset=0, m=0, id=7)
        return base
    ip = IP(src=CLI4, dst=SRV4, ttl=64, flags="DF")
    if probe.name == "ecn_setup_ect":
        ip.tos = 0x02
    if probe.name == "ipv4_options_nop":
        ip.options = [b"\x01\x01\x01\x00"]
    return ip


def tags(frame):
    """The answer's VLAN tags, outermost first, as text ("" when untagged)."""
    out, layer = [], frame.payload
    while isinstance(layer, (Dot1Q, Dot1AD)):
        out.append(f"{'ad' if isinstance(layer, Dot1AD) else 'q'}{layer.vlan}")
        layer = layer.payload
    return "vlan=" + "/".join(out) + " " if out else ""


def describe(t, c):
    """One answer as text: flags, seq and ack as symbols, window, options."""
    def seq_sym(v):
        if "s_isn" in c:
            d = (v - c["s_isn"]) & 0xffffffff
            if d < 1 << 20:
                return f"S+{d}" if d else "S"
        if v == c.get("last_ack"):
            return "=their ack"
        return "0" if v == 0 else "?"

    def ack_sym(v):
        d = (v - C_ISN) & 0xffffffff
        if d < 1 << 24:
            return f"C+{d}"
        return "0" if v == 0 else "?"
    flags = str(t.flags)
    parts = [flags, "seq=" + ("S" if "S" in flags and "A" in flags else seq_sym(t.seq))]
    if "A" in flags:
        parts.append("ack=" + ack_sym(t.ack))
    parts.append(f"win={t.window}")
    opts = []
    for k, v in t.options:
        if k == "Timestamp":
            ecr = "ecr=tsval" if v[1] == c.get("tsval") else f"ecr={'0' if v[1] == 0 else '?'}"
            opts.append(f"TS({ecr})")
        elif k in ("MSS", "WScale"):
            opts.append(f"{k}:{v}")
        elif k in ("NOP", "EOL"):
            continue
        else:
            opts.append(str(k))
    parts.append("opts=" + ",".join(opts))
    if t.urgptr:
        parts.append(f"urg={t.urgptr}")
    return " ".join(parts)


SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 1 << 4, 1 << 6


def with_outer_tag(data, ancillary):
    """The frame as it was on the wire: the kernel hands a packet socket the outer VLAN tag in
    PACKET_AUXDATA (struct tpacket_auxdata), not in the bytes; put it back after the MACs."""
    for level, kind, aux in ancillary:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(aux) < 20:
            continue
        status = int.from_bytes(aux[0:4], "little")
        tci, tpid = int.from_bytes(aux[16:18], "little"), int.from_bytes(aux[18:20], "little")
        if status & TP_STATUS_VLAN_VALID:
            if not status & TP_STATUS_VLAN_TPID_VALID:
                tpid = 0x8100
            return data[:12] + tpid.to_bytes(2, "big") + tci.to_bytes(2, "big") + data[12:]
    return data


def run(iface, dst_mac, names):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)  # the receive path takes the outer VLAN tag off
    sock.bind((iface, 0))
    results = {}
    sport = 20000 + int(time.time()) % 20000
    for probe in PROBES:
        if names and probe.name not in names:
            continue
        sport += 1
        c = {"sport": sport}
        lines = []
        for i, step in enumerate(probe.steps):
            made = step(c)
            extra = b""
            if isinstance(made, tuple):
                made, extra = made
            if isinstance(made, TCP):
                opt = [o for o in made.options if o[0] == "Timestamp"]
                c["tsval"] = opt[0][1][0] if opt else c.get("tsval")
                c["last_ack"] = made.ack
            l3 = ip_of(probe, probe.v6)
            pkt = Ether(dst=dst_mac) / l3 / made
            if extra:  # raw option bytes: rebuild with the payload placed as options
                b = bytearray(bytes(Ether(dst=dst_mac) / l3 / made))
                tcp_at = len(b) - 20
                b[tcp_at + 12] = (5 + len(extra) // 4) << 4 | (b[tcp_at + 12] & 0x0f)
                b = b[:tcp_at + 20] + bytearray(extra) + b[tcp_at + 20:]
                if probe.v6:
                    b[18:20] = (len(b) - 54).to_bytes(2, "big")  # payload length (no extension header)
                else:
                    b[16:18] = (len(b) - 14).to_bytes(2, "big")  # total length
                pkt = Ether(bytes(b))
                if not probe.v6:
                    del pkt[IP].chksum
                del pkt[TCP].chksum
                pkt = Ether(bytes(pkt))
            sock.send(bytes(pkt))
            deadline = time.time() + WAIT
            while (left := deadline - time.time()) > 0:
                sock.settimeout(left)
                try:
                    data, anc, _, addr = sock.recvmsg(65536, socket.CMSG_SPACE(32))
                except socket.timeout:
                    break
                if addr[2] == socket.PACKET_OUTGOING:
                    continue
                r = Ether(with_outer_tag(data, anc))
                if TCP not in r:
                    continue
                t = r[TCP]
                if t.dport != sport or t.sport != PORT:
                    continue
                if "S" in str(t.flags) and "A" in str(t.flags):
                    c["s_isn"] = t.seq
                for k, v in t.options:
                    if k == "Timestamp":
                        c["s_tsval"] = v[0]
                lines.append(f"{i}: {tags(r)}{describe(t, c)}")
        results[probe.name] = lines or ["(no answer)"]
    sock.close()
    return results


if __name__ == "__main__":
    conf.verb = 0
    names = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] else set()
    out = run(sys.argv[1], sys.argv[2], names)
    with open(sys.argv[3], "w") as f:
        json.dump(out, f, indent=1)
