#!/usr/bin/python3
"""synwall's side-by-side benchmarks, run by scripts/bench.sh.

Every comparison runs its peers one after the other in the same run, on the same virtual devices
and lcore budget (one busy core each for the system under test and for the traffic source), and
is reported as absolute figures plus a ratio, with the exact commands. Results go to
bench/results/latest.json (name, value, unit, peer, ratio) and to the generated section of
docs/benchmarking.md, plots to docs/img/.

  bench.py BUILD_DIR [--quick] [--only NAME[,NAME]]
"""
import contextlib
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION_NAMES = ("io_floor", "testpmd_source", "clients", "kernel", "scale", "memory", "proxy")


def parse_args(argv):
    """BUILD_DIR [--quick] [--only NAME[,NAME]]: anything else is refused before a benchmark runs
    (a typo must not start minutes of runs and rewrite the report)."""
    build, quick, only = os.path.join(ROOT, "build"), False, None
    rest = list(argv)
    if rest and not rest[0].startswith("-"):
        build = rest.pop(0)
    while rest:
        a = rest.pop(0)
        if a == "--quick":
            quick = True
        elif a == "--only" and rest:
            only = set(rest.pop(0).split(","))
            unknown = only - set(SECTION_NAMES)
            if unknown:
                sys.exit(f"bench: --only: no comparison {sorted(unknown)}; they are {', '.join(SECTION_NAMES)}")
        else:
            sys.exit(f"bench: unknown argument '{a}' (scripts/bench.sh --help: usage)")
    return os.path.abspath(build), quick, only


BUILD, QUICK, ONLY = parse_args(sys.argv[1:])
SYNWALL = os.path.join(BUILD, "apps", "synwall")
GEN = os.path.join(BUILD, "apps", "synwall-gen")
PCAPGEN = os.path.join(BUILD, "apps", "synwall-pcapgen")
DRIVERS = os.path.join(ROOT, "drivers-config")
SECS = 3 if QUICK else 10
WORK = tempfile.mkdtemp(prefix="synwall-bench-")
EAL = ["--no-huge", "-m", "1024", "--no-pci", "--log-level=lib.eal:error"]

results = []     # {"name", "value", "unit", "peer", "ratio", "command"}
sections = []    # markdown blocks, in order
prefixes = []
started = time.time()


def progress(msg):
    print(f"[{time.time() - started:6.1f}s] {msg}", flush=True)


def result(name, value, unit, peer=None, ratio=None, command=None):
    results.append({"name": name, "value": round(value, 4), "unit": unit, "peer": peer,
                    "ratio": None if ratio is None else round(ratio, 4), "command": command})


def prefix(tag):
    p = f"bench-{tag}-{os.getpid()}"
    prefixes.append(p)
    return p


def indent(text):
    """A block of text as a Markdown code block (four spaces)."""
    return textwrap.indent(text, "    ")


def show(cmd):
    """The command as a reader can rerun it: paths relative to the checkout, temporaries as $WORK."""
    return " ".join(shlex.quote(c) for c in cmd).replace(WORK, "$WORK").replace(ROOT + "/", "")


def synwall_toml(device, profile, listener="", engine=""):
    return f"""
[engine]
{engine}

[[port]]
name = "wire"
device = "{device}"
profile = "{profile}"

[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
{listener}
"""


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_line(proc, needle, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if needle in line:
            return True
    return False


class MemifPair:
    """A system under test on lcore 0 as memif server, synwall-gen on lcore 1 as memif client.
    The generator stops sending, lingers; the server is stopped inside that window (DPDK 22.11's
    memif PMD can crash the side still polling when its peer leaves)."""

    def __init__(self, tag):
        self.sock = f"synwall-bench-{tag}-{os.getpid()}"
        self.tag = tag

    def server_synwall(self, listener="cookie_mode = \"always\"", engine="", devargs=""):
        cfg = write(f"{self.tag}.toml", synwall_toml(f"net_memif0,role=server,socket={self.sock}{devargs}", "net_memif",
                                                     listener, engine))
        self.json = os.path.join(WORK, f"{self.tag}-synwall.json")
        return [SYNWALL, *EAL, "-l", "0", f"--file-prefix={prefix(self.tag)}", "--", "--config", cfg,
                "--drivers-config", DRIVERS, "--stats-json", self.json, "--stats-period", "1"], "port(s)"

    def server_testpmd(self, mode):
        self.json = None
        return ["dpdk-testpmd", *EAL, "-l", "0,1", "--main-lcore", "1", f"--file-prefix={prefix(self.tag)}",
                f"--vdev=net_memif0,role=server,socket={self.sock}", "--", f"--forward-mode={mode}",
                "--auto-start", "--stats-period=1", "--total-num-mbufs=32768"], "Port statistics"

    def run(self, server, gen_args, seconds):
        cmd, ready = server
        srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        gen_json = os.path.join(WORK, f"{self.tag}-gen.json")
        gcmd = [GEN, *EAL, "-l", "1", f"--file-prefix={prefix(self.tag + '-gen')}",
                f"--vdev=net_memif0,role=client,socket={self.sock}", "--", "--port", "net_memif0",
                "--duration", str(seconds), "--linger", "3", "--json", gen_json, *gen_args]
        try:
            # Ready: synwall's ports are up, or testpmd forwards and reports its first statistics.
            if not wait_line(srv, ready, 60):
                raise RuntimeError("server did not start: " + show(cmd))
            gen = subprocess.Popen(gcmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wait_line(gen, "summary:", seconds + 60)
            srv.send_signal(signal.SIGINT)
            srv_out = srv.communicate(timeout=20)[0]
            gen.communicate(timeout=30)
            g = json.load(open(gen_json))
            s = json.load(open(self.json)) if self.json else None
            return g, s, srv_out, show(cmd), show(gcmd)
        finally:
            for p in (srv,):
                if p.poll() is None:
                    p.kill()
                    p.wait()


def rx_pps(g):
    return g["received"]["frames"] / g["seconds"]


# 1 + 2: the I/O floor and synwall on the same generator.
def io_floor():
    progress("I/O floor: synwall-gen -> memif -> {synwall | testpmd 5tswap} -> memif -> synwall-gen")
    rows = []
    sw_rates, tp_rates, offered = [], [], []
    rounds = 1 if QUICK else 3
    failures = []
    sw_cmd = tp_cmd = gen_cmd = ""

    def attempt(label, fn):
        # A peer that fails is reported as failed (and left out of the medians), not as 0 Mpps.
        try:
            return fn()
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
            failures.append(f"{label}: {e}")
            progress(f"  {label} FAILED: {e}")
            return None

    for r in range(rounds):
        sw_now = tp_now = "failed"
        pair = MemifPair(f"floor-sw{r}")
        got = attempt(f"round {r + 1} synwall", lambda: pair.run(pair.server_synwall(), [], SECS))
        if got:
            g, s, _, sw_cmd, gen_cmd = got
            sw_rates.append(g["synack_pps"] / 1e6)
            offered.append(g["flood_pps"] / 1e6)
            sw_now = f"{sw_rates[-1]:.3f} Mpps SYN-ACKs"
        pair = MemifPair(f"floor-tp{r}")
        got = attempt(f"round {r + 1} testpmd", lambda: pair.run(pair.server_testpmd("5tswap"), [], SECS))
        if got:
            gt, _, _, tp_cmd, _ = got
            tp_rates.append(rx_pps(gt) / 1e6)
            offered.append(gt["flood_pps"] / 1e6)
            tp_now = f"{tp_rates[-1]:.3f} Mpps"
        progress(f"  round {r + 1}: synwall {sw_now}, testpmd 5tswap {tp_now}")
    median_or_none = lambda v: sorted(v)[len(v) // 2] if v else None
    sw, tp = median_or_none(sw_rates), median_or_none(tp_rates)
    ratio = sw / tp if sw and tp else None
    if sw is None or tp is None:
        failed = "synwall" if sw is None else "testpmd"
        sections.append(f"""### I/O floor: synwall vs `dpdk-testpmd --forward-mode=5tswap`

**Not measured: every {failed} run failed.**

    {chr(10).join(failures)}
""")
        return sw or 0.0
    io_rows.extend([("synwall\n(SYN cookies)", sw, sw_rates), ("testpmd\n5tswap", tp, tp_rates)])
    result("io_floor.synwall_synack_rate", sw, "Mpps", "testpmd-5tswap", ratio, sw_cmd)
    result("io_floor.testpmd_5tswap_rate", tp, "Mpps", None, None, tp_cmd)
    sections.append(f"""### I/O floor: synwall vs `dpdk-testpmd --forward-mode=5tswap` (target ≥ 0.9)

synwall-gen floods spoofed SYNs at full speed through `net_memif` (`--no-huge`); the peer on
lcore 0 answers in place (synwall: cookie SYN-ACKs; testpmd: the frame with addresses and ports
swapped) and the generator counts what comes back. Medians of {rounds} round(s) of {SECS} s.

| peer | Mpps back at the generator | per round |
|---|---|---|
| synwall (SYN cookies) | {sw:.3f} | {', '.join(f'{x:.3f}' for x in sw_rates)} |
| testpmd 5tswap | {tp:.3f} | {', '.join(f'{x:.3f}' for x in tp_rates)} |
| **ratio** | **{ratio:.2f}** | |
{"" if not failures else chr(10) + "Failed runs (left out of the medians): " + "; ".join(failures) + chr(10)}
![I/O floor](img/io_floor.png)

The generator offered {min(offered):.3f}–{max(offered):.3f} Mpps in these runs (one lcore writing
every frame with full checksums, and receiving every answer): when both peers answer close to that,
the comparison is bounded by the generator, and the pcap-replay comparison above
(`bench/e2e/io_floor.sh`), where replay costs almost nothing, is the stricter one.

    {sw_cmd}
    {tp_cmd}
    {gen_cmd}
""")
    return sw


# 1: testpmd as the traffic source.
def testpmd_source():
    progress("testpmd as the source: pcap replay (net_pcap, infinite_rx) -> memif -> synwall")
    pcap = os.path.join(WORK, "flood.pcap")
    subprocess.run([PCAPGEN, "--out", pcap, "--count", "4096"], check=True, capture_output=True)
    sock = f"synwall-bench-tps-{os.getpid()}"
    cfg = write("tps.toml", synwall_toml(f"net_memif0,role=server,socket={sock}", "net_memif", 'cookie_mode = "always"'))
    sj = os.path.join(WORK, "tps.json")
    scmd = [SYNWALL, *EAL, "-l", "0", f"--file-prefix={prefix('tps')}", "--", "--config", cfg, "--drivers-config",
            DRIVERS, "--stats-json", sj]
    tcmd = ["dpdk-testpmd", *EAL, "-l", "0,1", "--main-lcore", "0", f"--file-prefix={prefix('tps-tp')}",
            f"--vdev=net_pcap0,rx_pcap={pcap},tx_pcap=/dev/null,infinite_rx=1",
            f"--vdev=net_memif0,role=client,socket={sock}", "--", "--forward-mode=io", "--auto-start",
            "--stats-period=1", "--total-num-mbufs=32768", "--no-flush-rx"]
    sw = subprocess.Popen(scmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tp = None
    try:
        if not wait_line(sw, "port(s)", 60):
            progress("  testpmd as the source FAILED: synwall did not start")
            sections.append(f"### testpmd as the traffic source\n\n**Not measured: synwall did not start.**\n\n    {show(scmd)}\n")
            return
        tp = subprocess.Popen(tcmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = []
        deadline = time.time() + SECS + 3
        while time.time() < deadline and tp.poll() is None:
            out.append(tp.stdout.readline())
        # Stop forwarding on both sides before either leaves.
        tp.send_signal(signal.SIGINT)
        time.sleep(0.5)
        sw.send_signal(signal.SIGINT)
        sw.communicate(timeout=20)
        out.append(tp.communicate(timeout=20)[0])
    finally:
        for p in (tp, sw):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    text = "".join(out)
    # Per-period "Rx-pps" of port 1 (memif: the SYN-ACKs coming back).
    rates = []
    for block in re.findall(r"NIC statistics for port 1.*?Tx-pps:\s+\d+", text, re.S):
        m = re.search(r"Rx-pps:\s+(\d+)", block)
        if m:
            rates.append(int(m.group(1)) / 1e6)
    if not rates:  # a peer that failed is reported as failed, not as 0 Mpps
        progress("  testpmd as the source FAILED: no statistics from testpmd (it did not start or connect)")
        sections.append(f"""### testpmd as the traffic source

**Not measured: testpmd reported no statistics** (it did not start, or did not connect to synwall).

    {show(scmd)}
    {show(tcmd)}
""")
        return
    steady = sorted(rates[2:] or rates)
    med = steady[len(steady) // 2]
    try:
        k = json.load(open(sj))["counters"]
    except (OSError, ValueError, KeyError):
        k = {}  # synwall's summary is missing: its counters are left out, the rate stands
    result("testpmd_source.synack_rate", med, "Mpps", "testpmd-io-pcap", None, show(tcmd))
    sections.append(f"""### testpmd as the traffic source

The standard way to benchmark synwall with testpmd: testpmd (io forwarding, one forwarding lcore)
replays a SYN-flood pcap from `net_pcap` (`infinite_rx=1`) into a `net_memif` link to synwall and
forwards what comes back to the pcap port's `tx_pcap=/dev/null`. Its port 1 `Rx-pps` is synwall's
SYN-ACK rate: **{med:.3f} Mpps** (median of the steady seconds; synwall's counters for the run:
{k.get('SynRecv', 0)} SYNs, {k.get('SyncookiesSent', 0)} cookies).

    {show(scmd)}
    {show(tcmd)}
""")


# 4: legitimate clients under flood.
def clients_under_flood(max_flood_mpps):
    progress("legitimate clients under flood: 0, 25, 50, 100 % of the generator's full rate")
    rows = []
    for share in (0, 25, 50, 100):
        pair = MemifPair(f"legit{share}")
        args = ["--clients", "64"]
        if share == 0:
            args += ["--flood", "off"]
        elif share < 100:
            args += ["--rate", str(int(max_flood_mpps * 1e6 * share / 100))]
        g, s, _, scmd, gcmd = pair.run(pair.server_synwall('cookie_mode = "auto"\nmax_half_open = 1024',
                                                           devargs=os.environ.get("SYNWALL_BENCH_MEMIF_ARGS", "")), args, SECS)
        c = g["clients"]
        rows.append((share, g["flood_pps"] / 1e6, c["success_ratio"], c["latency_us"]["p50"], c["latency_us"]["p99"],
                     c["handshakes_per_s"], c["failed"], c["syn_retransmits"]))
        progress(f"  flood {share:3d} %: {g['flood_pps'] / 1e6:.3f} Mpps, success {100 * c['success_ratio']:.3f} %, "
                 f"p50 {c['latency_us']['p50']:.1f} us, p99 {c['latency_us']['p99']:.1f} us")
        result(f"clients_under_flood.{share}.success_ratio", c["success_ratio"], "ratio")
        result(f"clients_under_flood.{share}.p99_latency", c["latency_us"]["p99"], "us", "unloaded",
               c["latency_us"]["p99"] / rows[0][4] if rows[0][4] else None, gcmd)
    table = "\n".join(f"| {r[0]} % | {r[1]:.3f} | {100 * r[2]:.3f} % | {r[3]:.1f} | {r[4]:.1f} | {r[4] / rows[0][4]:.2f} | "
                      f"{r[5]:.0f} | {r[6]} | {r[7]} |" for r in rows)
    sections.append(f"""### Legitimate clients under flood (targets: ≥ 99.9 % success at 100 %, p99 ≤ 2× unloaded)

64 closed-loop clients (SYN, ACK, RST; 1 s SYN retransmits) next to the spoofed SYN flood, both
from synwall-gen over `net_memif`; synwall with `cookie_mode = "auto"`, `max_half_open = 1024`.
Flood share of the generator's full rate ({max_flood_mpps:.3f} Mpps, from the I/O-floor run).

| flood | flood Mpps | success | p50 µs | p99 µs | p99 / unloaded | handshakes/s | failed | SYN retransmits |
|---|---|---|---|---|---|---|---|---|
{table}

![Handshake latency under flood](img/clients_under_flood.png)
""")
    return rows


# 6: memory against capacity.
def memory():
    progress("memory: resident set against half-open and established capacity")
    rows = []
    caps = [(1 << 16, 1 << 16), (1 << 20, 1 << 16), (1 << 22, 1 << 16), (1 << 16, 1 << 22)]
    if QUICK:
        caps = caps[:3]
    base = None
    for ho, est in caps:
        cfg = write(f"mem-{ho}-{est}.toml", synwall_toml("net_null0", "net_null", 'cookie_mode = "auto"',
                                                         f"half_open_capacity = {ho}\nestablished_capacity = {est}"))
        cmd = [SYNWALL, *EAL, "-m", "256", "-l", "0", f"--file-prefix={prefix('mem')}", "--", "--config", cfg,
               "--drivers-config", DRIVERS, "--stats-period", "1"]
        cmd = [c for c in cmd]
        # -m appears twice: keep the last (EAL takes the last value).
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_line(p, "port(s)", 60)
            time.sleep(0.5)
            rss = 0
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        rows.append((ho, est, rss))
        progress(f"  half-open {ho}, established {est}: RSS {rss / 2**20:.1f} MiB")
    base = rows[0][2]
    table = []
    for ho, est, rss in rows:
        extra_ho = ho - rows[0][0]
        extra_est = est - rows[0][1]
        per = ""
        if extra_ho and not extra_est:
            per = f"{(rss - base) / extra_ho:.1f} B per half-open entry"
            result(f"memory.bytes_per_half_open_entry.{ho}", (rss - base) / extra_ho, "B")
        elif extra_est and not extra_ho:
            per = f"{(rss - base) / extra_est:.1f} B per established entry"
            result(f"memory.bytes_per_established_entry.{est}", (rss - base) / extra_est, "B")
        table.append(f"| {ho:,} | {est:,} | {rss / 2**20:.1f} | {per} |")
        result(f"memory.rss.{ho}.{est}", rss / 2**20, "MiB")
    sections.append("""### Memory against capacity

Resident memory of the whole synwall process (one worker, `net_null` port, `--no-huge -m 256`),
tables pre-faulted at start-up; bytes per entry from the difference to the smallest configuration.

| half-open capacity | established capacity | RSS MiB | marginal cost |
|---|---|---|---|
""" + "\n".join(table) + "\n")


# 5 (workers): synwall alone on pcap replay, one queue (one replayed file) per worker.
def worker_scaling():
    """SYN-ACK rate against the worker count, 1 .. the machine's cores. No generator: each worker
    polls its own net_pcap rx queue replaying its own SYN-flood file (infinite_rx), so the workers
    get the CPUs: worker lcores on the last w CPUs, the main lcore (stats only, asleep) on CPU 0 —
    beside worker 1 once every CPU has a worker."""
    progress("scale: SYN-ACK rate against the worker count (pcap replay, one queue per worker)")
    rows = []
    ncpu = os.cpu_count() or 1
    for w in range(1, ncpu + 1):
        pcaps = []
        for q in range(w):
            pcaps.append(os.path.join(WORK, f"workers-{q}.pcap"))
            if not os.path.exists(pcaps[-1]):
                subprocess.run([PCAPGEN, "--out", pcaps[-1], "--count", "4096", "--seed", str(q + 1)], check=True,
                               capture_output=True)
        dev = "net_pcap0," + ",".join(f"rx_pcap={p}" for p in pcaps) + "," + ",".join(["tx_pcap=/dev/null"] * w) + \
              ",infinite_rx=1"
        cfg = write(f"workers{w}.toml", synwall_toml(dev, "net_pcap", 'cookie_mode = "always"'))
        lcores = ",".join(["0@0"] + [f"{i}@{ncpu - w + i - 1}" for i in range(1, w + 1)])  # workers on the last w CPUs
        cmd = [SYNWALL, *EAL, "--lcores", lcores, f"--file-prefix={prefix(f'workers{w}')}", "--", "--config", cfg,
               "--drivers-config", DRIVERS, "--duration", str(SECS)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECS + 60).stdout
        rates = [float(m.group(1)) for m in re.finditer(r"^rx\s+[\d.]+ Mpps \| tx\s+([\d.]+) Mpps", out, re.M)]
        steady = sorted(rates[1:] or rates)
        rate = steady[len(steady) // 2] if steady else 0.0
        rows.append((w, rate))
        progress(f"  {w} worker(s): {rate:.3f} Mpps SYN-ACKs")
        result(f"scale.workers.{w}.synack_rate", rate, "Mpps", "1 worker", rate / rows[0][1] if rows[0][1] else None,
               show(cmd))
    return rows, cmd


# 5: scale: half-open table fill, number of listeners.
def scale():
    progress("scale: SYN-ACK rate against half-open table fill (queue mode, up to 10M requests)")
    cap = 1 << 24
    secs = 5 if QUICK else 8
    pair = MemifPair("fill")
    srv = pair.server_synwall('cookie_mode = "never"\nmax_half_open = 16000000\nsynack_retries = 0',
                              f"half_open_capacity = {cap}\nsynack_rto_ms = 60000")
    srv[0][srv[0].index("--stats-period") + 1] = "0.1"  # several samples before 2M, on a slow source too
    g, sj, out, scmd, gcmd = pair.run(srv, [], secs)
    series = []  # (half-open after the period, SYN-ACK(q) M/s during it)
    for line in out.splitlines():
        m = re.search(r"SYN-ACK\(q\)\s+([\d.]+) M/s.*half-open (\d+)", line)
        if m and float(m.group(1)) > 0:
            series.append((int(m.group(2)), float(m.group(1))))
    if len(series) < 3:
        progress("  not enough samples")
        return
    steady = series[1:-1]  # the first and last periods are partial
    empty = [r for f, r in steady if f < 2_000_000] or [steady[0][1]]
    full = [r for f, r in steady if 9_000_000 <= f <= 11_000_000]  # around 10M (62 % of the capacity)
    e = sorted(empty)[len(empty) // 2]
    top = max(f for f, _ in steady)
    result("scale.fill.synack_rate_empty", e, "Mpps", None, None, scmd)
    row_full = ""
    if full:
        f10 = sorted(full)[len(full) // 2]
        result("scale.fill.synack_rate_at_10M", f10, "Mpps", "empty table", f10 / e, scmd)
        row_full = f"| 9M–11M | {f10:.3f} | {f10 / e:.2f} |\n"
    # When synwall answers all the generator offers, the source sets the pace and the ratio only
    # says the table did not slow synwall below it: say so beside the figure.
    offered = g["flood_pps"] / 1e6
    result("scale.fill.offered", offered, "Mpps", None, None, scmd)
    bound = " (source-bound: synwall answered all it was offered)" if e >= 0.97 * offered else ""
    progress(f"  empty {e:.3f} Mpps; reached {top:,} half-open" + (f", at 9M-11M {f10:.3f} Mpps" if full else "") +
             f"; offered {offered:.3f} Mpps on average{bound}")
    global fill_series
    fill_series = steady

    progress("scale: SYN-ACK rate against the number of listeners (all on port 80, the target last)")
    counts = [1, 100, 10000] if QUICK else [1, 10, 100, 1000, 10000]
    rows = []
    for n in counts:
        blocks = []
        for i in range(n - 1):
            blocks.append(f'[[listener]]\naddress = "10.{200 + i // 65536}.{(i // 256) % 256}.{i % 256}"\nport = 80\nbacklog = 16\n'
                          f'max_half_open = 16\ncookie_mode = "always"\n')
        pair = MemifPair(f"lst{n}")
        srv = pair.server_synwall('cookie_mode = "always"\nbacklog = 16', "")
        cfg = srv[0][srv[0].index("--config") + 1]
        text = open(cfg).read()
        text = text.replace("[[listener]]\nname = \"web\"", "".join(blocks) + "[[listener]]\nname = \"web\"")
        open(cfg, "w").write(text)
        gl, _, _, lcmd, _ = pair.run(srv, [], SECS)
        rows.append((n, gl["synack_pps"] / 1e6))
        progress(f"  {n:5d} listeners: {rows[-1][1]:.3f} Mpps SYN-ACKs")
        result(f"scale.listeners.{n}.synack_rate", rows[-1][1], "Mpps", "1 listener", rows[-1][1] / rows[0][1])
    global listener_rows
    listener_rows = rows
    wrows, wcmd = worker_scaling()
    worker_rows.extend(wrows)
    sections.append(f"""### Scale (target: within 10 % of the empty-table rate at 10M half-open requests)

**Half-open table fill.** synwall in queue mode (`cookie_mode = "never"`, `half_open_capacity =
{cap:,}`, SYN-ACK timeout 60 s with no retransmits so that requests stay) under synwall-gen's
full-speed flood of distinct spoofed tuples; rate of stateful SYN-ACKs per 0.25 s period against
the table's fill. Reached {top:,} requests in {secs} s (the table is sized for 75 % load:
beyond 12.6M the two-choice buckets overflow more often; the plot shows the whole run).

| fill | SYN-ACK Mpps | vs empty |
|---|---|---|
| < 2M | {e:.3f} | 1.00 |
{row_full}
![SYN-ACK rate against half-open fill](img/scale_fill.png)

**Listeners.** N listeners on port 80 with distinct addresses (the flood's target last: the
worst case of the per-port scan, most specific prefix first), cookie mode, full-speed flood.

| listeners | SYN-ACK Mpps | vs 1 |
|---|---|---|
""" + "\n".join(f"| {n:,} | {r:.3f} | {r / rows[0][1]:.2f} |" for n, r in rows) + f"""

    {scmd}
    {gcmd}

**Workers.** synwall alone, answering a replayed SYN flood: one `net_pcap` rx queue per worker,
each replaying its own file (`infinite_rx=1`), cookie mode; workers 1 to the machine's
{os.cpu_count()} cores, on the last CPUs (the main lcore, which only prints stats, sits on CPU 0, beside
worker 1 in the last row). The rate is what the workers transmit (SYN-ACKs). No generator
competes for the cores, so this is synwall's own scaling.

| workers | SYN-ACK Mpps | vs 1 worker |
|---|---|---|
""" + "\n".join(f"| {w} | {r:.3f} | {r / wrows[0][1]:.2f} |" for w, r in wrows) + f"""

![SYN-ACK rate against workers](img/scale_workers.png)

    {show(wcmd)}

On a bigger box the same loop runs to its core count. With a NIC, give synwall `[lcores] workers
= [...]` (or `-l 0-N`) and a profile with `rss = true` and as many queues; from synwall-gen over
memif, as many generator lanes (`-l`), one memif queue pair each.
""")


# 3: the Linux kernel on a veth pair, and synwall on the same veth.
def cpu_busy(cpu):
    """Busy jiffies of one CPU (user, nice, system, irq, softirq) from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return v[0] + v[1] + v[2] + v[5] + v[6]
    return 0


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True).stdout


def kernel(dpdk_rate):
    progress("Linux kernel vs synwall on a veth pair (generator: synwall-gen on net_af_packet)")
    hz = os.sysconf("SC_CLK_TCK")
    ng, ns = f"swbg{os.getpid()}", f"swbs{os.getpid()}"
    rows = []
    listener = None
    try:
        sh("ip", "netns", "add", ng)
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "g0", "netns", ng, "type", "veth", "peer", "name", "k0", "netns", ns)
        for n, i in ((ng, "g0"), (ns, "k0")):
            sh("ip", "-n", n, "link", "set", "lo", "up")
            sh("ip", "-n", n, "link", "set", i, "up")
        gmac = sh("ip", "-n", ng, "-br", "link", "show", "g0").split()[2]
        kmac = sh("ip", "-n", ns, "-br", "link", "show", "k0").split()[2]
        # Receive processing of each side on its own CPU: the generator's on 0, the peer's on 1.
        sh("ip", "netns", "exec", ns, "sh", "-c", "echo 2 > /sys/class/net/k0/queues/rx-0/rps_cpus")
        sh("ip", "netns", "exec", ng, "sh", "-c", "echo 1 > /sys/class/net/g0/queues/rx-0/rps_cpus")
        # Full checksums on the peer's replies (veth sends partial ones; AF_PACKET sees them raw).
        sh("ip", "netns", "exec", ns, "ethtool", "-K", "k0", "tx", "off")
        gen_cmd = ["ip", "netns", "exec", ng, GEN, *EAL, "-l", "0", f"--file-prefix={prefix('kgen')}",
                   "--vdev=net_af_packet0,iface=g0,qdisc_bypass=1", "--", "--port", "net_af_packet0",
                   "--dst-mac", kmac, "--duration", str(SECS), "--json", os.path.join(WORK, "kgen.json")]

        def measure(label, note):
            b = cpu_busy(1)
            t0 = time.time()
            subprocess.run(gen_cmd, capture_output=True, text=True, timeout=SECS + 60)
            dt = time.time() - t0
            busy = (cpu_busy(1) - b) / hz
            g = json.load(open(os.path.join(WORK, "kgen.json")))
            synacks = g["received"]["flood_synacks"]
            per_cpu = synacks / busy if busy > 0 else 0.0
            rows.append((label, g["flood_pps"] / 1e6, synacks / g["seconds"] / 1e6, busy / dt, per_cpu / 1e6, note))
            progress(f"  {label}: offered {g['flood_pps'] / 1e6:.3f} Mpps, SYN-ACKs {synacks / g['seconds'] / 1e6:.3f} Mpps, "
                     f"CPU 1 busy {100 * busy / dt:.0f} %, {per_cpu / 1e6:.3f} M SYN-ACKs per CPU-second")
            return per_cpu

        sh("ip", "-n", ns, "addr", "add", "203.0.113.10/24", "dev", "k0")
        sh("ip", "-n", ns, "neigh", "add", "203.0.113.1", "lladdr", gmac, "dev", "k0")
        sh("ip", "-n", ns, "route", "add", "198.18.0.0/15", "via", "203.0.113.1")
        listen = ("import socket, sys, time\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                  "s.bind(('203.0.113.10', 80))\ns.listen(int(sys.argv[1]))\ntime.sleep(3600)\n")
        # nftables synproxy (the netfilter SYN proxy in front of the same listener): SYNs skip
        # conntrack (notrack), synproxy answers them with its own cookies and drops them.
        synproxy_rules = """table ip bench_synproxy {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 80 tcp flags syn notrack
  }
  chain in {
    type filter hook input priority filter; policy accept;
    tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}
"""
        rules_file = write("synproxy.nft", synproxy_rules)
        kernel_rates = {}
        cpu_note = "softirq + system time of CPU 1 (all of the kernel's receive, cookie, transmit)"
        for peer, mode, backlog, label in ((2, 2, 128, "Linux, tcp_syncookies=2"),
                                           (1, 1, 16, "Linux, tcp_syncookies=1, backlog 16"),
                                           ("synproxy", 1, 128, "nftables synproxy (in front of the same listener)")):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv4.tcp_syncookies={mode}")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv4.tcp_max_syn_backlog={backlog}")
            if peer == "synproxy":
                # The ruleset first: it loads conntrack, whose sysctl only exists then. A kernel
                # without synproxy loses this peer, not the whole comparison.
                try:
                    sh("ip", "netns", "exec", ns, "nft", "-f", rules_file)
                    sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0")
                except (subprocess.CalledProcessError, FileNotFoundError) as e:
                    progress(f"  nftables synproxy skipped (nft from apt's nftables, a kernel with nft_synproxy): {e}")
                    continue
            listener = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", listen, str(backlog)])
            time.sleep(0.5)
            kernel_rates[peer] = measure(label, cpu_note)
            listener.kill()
            listener.wait()
            listener = None
            if peer == "synproxy":
                sh("ip", "netns", "exec", ns, "nft", "flush", "ruleset")
        # synwall on the same veth end; the kernel there keeps quiet (no address). Its polling lcore
        # owns CPU 1: the veth/AF_PACKET receive work is steered to CPU 0 (softirq work sharing a
        # CPU with a busy-polling thread starves), where it is not counted.
        sh("ip", "-n", ns, "addr", "flush", "dev", "k0")
        sh("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /sys/class/net/k0/queues/rx-0/rps_cpus")
        cfg = write("kern-synwall.toml", synwall_toml("net_af_packet0,iface=k0,qdisc_bypass=1", "net_af_packet",
                                                      'cookie_mode = "always"'))
        sw = subprocess.Popen(["ip", "netns", "exec", ns, SYNWALL, *EAL, "-l", "1", f"--file-prefix={prefix('ksw')}", "--",
                               "--config", cfg, "--drivers-config", DRIVERS], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        try:
            wait_line(sw, "port(s)", 30)
            af = measure("synwall, net_af_packet on the veth",
                         "its polling lcore only (always busy); the kernel's veth/AF_PACKET receive work ran on CPU 0, uncounted")
        finally:
            sw.send_signal(signal.SIGINT)
            try:
                out = sw.communicate(timeout=20)[0]
                open(os.path.join(WORK, "kernel-synwall.log"), "w").write(out)
            except subprocess.TimeoutExpired:
                sw.kill()
        k2 = kernel_rates[2]
        rows.append(("synwall, DPDK path (memif from synwall-gen)", dpdk_rate, dpdk_rate, 1.0, dpdk_rate,
                     "one polling lcore, saturated (the I/O-floor run)"))
        result("kernel.linux_syncookies2.per_cpu_second", k2 / 1e6, "M SYN-ACKs per CPU-s")
        result("kernel.linux_syncookies1_backlog16.per_cpu_second", kernel_rates[1] / 1e6, "M SYN-ACKs per CPU-s")
        if "synproxy" in kernel_rates:
            result("kernel.nft_synproxy.per_cpu_second", kernel_rates["synproxy"] / 1e6, "M SYN-ACKs per CPU-s",
                   "linux-syncookies2", kernel_rates["synproxy"] / k2)
        result("kernel.synwall_af_packet.per_cpu_second", af / 1e6, "M SYN-ACKs per CPU-s", "linux-syncookies2", af / k2)
        result("kernel.synwall_dpdk.per_cpu_second", dpdk_rate, "M SYN-ACKs per CPU-s", "linux-syncookies2",
               dpdk_rate * 1e6 / k2)
        kernel_rows.extend((r[0], r[4]) for r in rows)
        table = "\n".join(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {100 * r[3]:.0f} % | {r[4]:.3f} | {r[4] * 1e6 / k2:.1f}× | {r[5]} |"
                          for r in rows)
        sections.append(f"""### The Linux kernel (target: synwall's DPDK path ≥ 30× the kernel's SYN cookies per CPU-second)

Two namespaces joined by a veth pair. synwall-gen (on `net_af_packet` on the generator's end, CPU 0)
floods spoofed SYNs from 198.18.0.0/15 (routed back into the generator's namespace) at its full
af_packet speed; the peer's receive processing is pinned to CPU 1 (RPS), and CPU 1's busy time
(user + system + irq + softirq from `/proc/stat`) is the peer's cost. SYN-ACKs are counted where
they arrive, at the generator (`ethtool -K k0 tx off` on the peer's end so that they carry full
checksums).

| peer | offered Mpps | SYN-ACKs Mpps | CPU 1 busy | M SYN-ACKs per CPU-second | vs kernel (=2) | CPU counted |
|---|---|---|---|---|---|---|
{table}

![SYN-ACKs per CPU-second](img/kernel.png)

Which I/O path limits what: the generator on AF_PACKET offers only ~{rows[0][1]:.2f} Mpps, enough to
load the kernel's one receive CPU but not synwall, whose lcore polls at 100 % whatever the load — on
the veth, synwall's figure per CPU-second is the generator's rate, not synwall's capacity. The DPDK
path (memif, no kernel) is where synwall's own cost shows: one lcore answering at the rate in the
I/O-floor table. nftables synproxy (the third peer) answers SYNs from netfilter's input hook with
its own cookies, before they reach TCP; its ruleset:

{indent(synproxy_rules)}
    {show(gen_cmd)}
""")
    except (subprocess.CalledProcessError, FileNotFoundError, OSError, ValueError, KeyError) as e:
        progress(f"  kernel comparison failed: {e}")
        sections.append(f"### The Linux kernel\n\nNot measured in this run: {e}\n")
    finally:
        if listener is not None:
            listener.kill()
        for n in (ng, ns):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def run_script(cmd, timeout):
    """A bench/e2e script's output lines, or None (with its tail shown) when it fails."""
    progress("  " + show(cmd))
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        progress(f"  timed out after {timeout} s")
        return None
    if r.returncode != 0:
        progress(f"  failed (exit {r.returncode}): " + " | ".join((r.stdout + r.stderr).strip().splitlines()[-3:]))
        return None
    return r.stdout.splitlines()


def keyvals(line):
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split() if "=" in kv)}


# The SYN proxy: proxied connections per worker (memif), vs nftables synproxy (veth), spliced data.
def proxy():
    progress("proxy: proxied connections per second on one worker (memif, synwall-gen on both sides)")
    rounds = 1 if QUICK else 3
    secs = min(SECS, 5)
    parts = []
    rate_cmd = ["bench/e2e/proxy_rate.sh", str(secs), str(rounds)]
    out = run_script(rate_cmd, rounds * (secs + 90))
    per_worker = per_busy = None
    if out:
        rows = []
        for line in out:
            m = re.match(r"round (\d+): proxied (\d+) conn/s, client handshakes (\d+) /s, connect p50 ([\d.]+) us "
                         r"p99 ([\d.]+) us, worker busy ([\d.]+), (\d+) proxied per busy second", line)
            if m:
                rows.append(m.groups())
                progress("  " + line)
        if rows:
            per_worker = float(sorted(int(r[1]) for r in rows)[len(rows) // 2])
            per_busy = float(sorted(int(r[6]) for r in rows)[len(rows) // 2])
            result("proxy.proxied_per_worker", per_worker, "connections/s", "target 1M", per_worker / 1e6, show(rate_cmd))
            result("proxy.proxied_per_busy_worker_second", per_busy, "connections per busy worker-second")
            table = "\n".join(f"| {r[0]} | {int(r[1]):,} | {int(r[2]):,} | {r[3]} | {r[4]} | {100 * float(r[5]):.0f} % | "
                              f"{int(r[6]):,} |" for r in rows)
            parts.append(f"""#### Proxied connections per second, one worker (target ≥ 1 M)

synwall (`proxy`, one worker on lcore 0) between two `net_memif` links to one synwall-gen on lcore
1 that plays both sides: 4000 closed-loop clients (SYN, ACK, FIN) on one link, a stateless server
(`--respond`) on the other. A proxied connection is one whose server leg the server answered.
"Busy" is the worker's own accounting: the time of loop iterations that received packets.

| round | proxied/s | client handshakes/s | connect p50 µs | p99 µs | worker busy | proxied per busy second |
|---|---|---|---|---|---|---|
{table}

Median **{per_worker:,.0f}** proxied connections/s ({per_worker / 1e6:.2f} × the 1 M target), **{per_busy:,.0f}**
per busy worker-second. The generator, writing every client's and the server's segments on one
lcore, is the first limit; the copy-based memif link the second.

    {show(rate_cmd)}
""")
    progress("proxy: synwall vs nftables synproxy as a middle box (veth, one generator for clients and server)")
    vs_cmd = ["bench/e2e/proxy_vs_synproxy.sh", str(min(SECS, 3)), str(rounds)]
    out = run_script(vs_cmd, rounds * 4 * 60)
    med = {}
    if out:
        for line in out:
            if line.startswith("round "):
                progress("  " + line)
            if line.startswith("median "):
                f = line.split()
                med[(f[1], f[2])] = keyvals(line)
    nft_c, sw_c = med.get(("nft", "clients")), med.get(("synwall", "clients"))
    nft_f, sw_f = med.get(("nft", "flood")), med.get(("synwall", "flood"))
    if nft_c:
        result("proxy.nft_synproxy.per_cpu_second", nft_c["per_cpu_s"], "server legs per CPU-second", None, None, show(vs_cmd))
    if sw_c:
        result("proxy.synwall_af_packet.per_busy_second", sw_c["per_cpu_s"], "server legs per busy worker-second",
               "nft-synproxy", sw_c["per_cpu_s"] / nft_c["per_cpu_s"] if nft_c and nft_c["per_cpu_s"] else None, show(vs_cmd))
    goal = ""
    if nft_c and nft_c["per_cpu_s"] and per_worker:
        r1, r2 = per_worker / nft_c["per_cpu_s"], (per_busy or 0) / nft_c["per_cpu_s"]
        result("proxy.synwall_memif_vs_nft_synproxy_per_cpu_second", r1, "ratio", "nft-synproxy", r1)
        goal = (f"On memif, driven as fast as the generator can, synwall's worker proxies {per_worker:,.0f} "
                f"connections/s: **{r1:.1f} ×** nftables synproxy's {nft_c['per_cpu_s']:,.0f} per CPU-second "
                f"({r2:.1f} × counted per busy worker-second; target ≥ 20 ×).")
    for peer, f in (("nft_synproxy", nft_f), ("synwall", sw_f)):
        if f:
            result(f"proxy.flood.{peer}.success_ratio", f["success"], "ratio")
            result(f"proxy.flood.{peer}.p99_connect", f["p99_us"], "us", None, None, show(vs_cmd))

    def row(name, c, f):
        if not c or not f:
            return f"| {name} | failed | | | | | | |"
        return (f"| {name} | {c['legs_per_s']:,.0f} | {100 * c['cpu_busy']:.0f} % | **{c['per_cpu_s']:,.0f}** | "
                f"{f['flood_mpps'] * 1e3:.0f} k | {100 * f['success']:.2f} % | {f['p50_us']:.0f} / {f['p99_us']:.0f} | "
                f"{f['reached_per_handshake']:.4f} |")
    parts.append(f"""#### synwall vs nftables synproxy in the middle (target ≥ 20 × per CPU-second)

Both in the same topology, one after the other, with the same generator commands
(`bench/e2e/proxy_vs_synproxy.sh`: one synwall-gen on CPU 0 plays 4000 closed-loop clients and the
server through two veth pairs). nftables synproxy runs in a routing namespace (forward hook, the
usual notrack + `synproxy mss 1460 wscale 7 timestamp sack-perm` recipe) with its receive work on
CPU 1, whose busy time is its cost. synwall runs on `net_af_packet` (one worker on CPU 1; its CPU is
its worker's busy time; the kernel's AF_PACKET work runs on CPU 0, uncounted). A server leg is a
SYN the proxy sent the server (synproxy's `cookie_valid`, synwall's `ServerSynSent`). The flood run:
32 clients beside a spoofed SYN flood (198.18.0.0/15, routed back to the generator) offered at
50,000 pps (achieved rate in the table).

| peer | server legs/s | CPU busy | legs per CPU-second | flood | client success under flood | connect p50 / p99 µs | server legs per client handshake |
|---|---|---|---|---|---|---|---|
{row("nftables synproxy", nft_c, nft_f)}
{row("synwall (net_af_packet)", sw_c, sw_f)}

{goal}
On the veth both serve what the generator offers; synwall's figure there is bounded by the
generator (and AF_PACKET's system calls), not by its worker.

    {show(vs_cmd)}
""")
    progress("proxy: spliced data through one worker vs testpmd io forwarding (iperf3 over veth)")
    data_cmd = ["bench/e2e/proxy_data.sh", str(min(SECS, 5)), str(rounds)]
    out = run_script(data_cmd, rounds * 4 * 60)
    if out:
        lines = [line for line in out if line.startswith(("round", "median"))]
        for line in lines:
            progress("  " + line)
        for line in lines:
            m = re.match(r"median (\S+): testpmd io ([\d.]+) Gbit/s, synwall proxy ([\d.]+) Gbit/s, ratio ([\d.]+)", line)
            if m:
                d = "client_to_server" if m.group(1).startswith("client") else "server_to_client"
                result(f"proxy.data.{d}.synwall", float(m.group(3)), "Gbit/s", "testpmd-io", float(m.group(4)), show(data_cmd))
                result(f"proxy.data.{d}.testpmd_io", float(m.group(2)), "Gbit/s")
        parts.append(f"""#### Spliced data through one worker (target ≥ 0.8 × testpmd io)

One iperf3 TCP stream each way between Linux namespaces, through `dpdk-testpmd --forward-mode=io`
and through synwall's proxy on the same two veths (`net_af_packet`, one forwarding lcore each),
interleaved rounds:

{indent(chr(10).join(lines))}

    {show(data_cmd)}
""")
    sections.append("### The SYN proxy\n\n" + "\n".join(parts))


fill_series = []
listener_rows = []
worker_rows = []
io_rows = []        # (peer, median Mpps, Mpps per round)
kernel_rows = []    # (peer, M SYN-ACKs per CPU-second)
clients_rows = []


def plots():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("no matplotlib (apt-get install python3-matplotlib): plots skipped")
        return
    img = os.path.join(ROOT, "docs", "img")
    os.makedirs(img, exist_ok=True)

    @contextlib.contextmanager
    def figure(name, title, xlabel, ylabel, size=(6, 3.5)):
        """One PNG in docs/img: the caller draws on the axes, this labels and saves them."""
        fig, ax = plt.subplots(figsize=size)
        try:
            yield ax
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
            fig.tight_layout()
            fig.savefig(os.path.join(img, name), dpi=100)
        finally:
            plt.close(fig)

    if fill_series:
        with figure("scale_fill.png", "synwall queue mode: rate against table fill", "half-open requests (millions)",
                    "SYN-ACKs (Mpps)") as ax:
            ax.plot([f / 1e6 for f, _ in fill_series], [r for _, r in fill_series], "o-")
            ax.set_ylim(bottom=0)
    if clients_rows:
        with figure("clients_under_flood.png", "legitimate clients under flood", "flood (% of the generator's full rate)",
                    "handshake latency (µs)") as ax:
            x = [r[0] for r in clients_rows]
            ax.plot(x, [r[3] for r in clients_rows], "o-", label="p50")
            ax.plot(x, [r[4] for r in clients_rows], "s-", label="p99")
            ax.set_yscale("log")
    if worker_rows:
        with figure("scale_workers.png", "synwall: rate against worker count (pcap replay)",
                    "workers (one rx queue each)", "SYN-ACKs (Mpps)") as ax:
            w = [n for n, _ in worker_rows]
            ax.plot(w, [r for _, r in worker_rows], "o-", label="synwall")
            ax.plot(w, [worker_rows[0][1] * n for n in w], ":", label="linear")
            ax.set_xticks(w)
            ax.set_ylim(bottom=0)
    if io_rows:
        with figure("io_floor.png", "I/O floor over memif: synwall vs testpmd 5tswap", "",
                    "Mpps back at the generator") as ax:
            ax.bar([n for n, _, _ in io_rows], [m for _, m, _ in io_rows], color=["tab:blue", "tab:gray"])
            for i, (_, _, per_round) in enumerate(io_rows):
                ax.plot([i] * len(per_round), per_round, "k.", label="rounds" if i == 0 else None)
    if kernel_rows:
        with figure("kernel.png", "SYN-flood cost: Linux, nftables synproxy, synwall", "M SYN-ACKs per CPU-second (log)",
                    "", size=(7, 3.5)) as ax:
            ax.barh([n.replace(" (", "\n(") for n, _ in kernel_rows], [v for _, v in kernel_rows],
                    color=["tab:gray"] * (len(kernel_rows) - 1) + ["tab:blue"])
            ax.set_xscale("log")
            ax.set_xlim(right=max(v for _, v in kernel_rows) * 3)
            for i, (_, v) in enumerate(kernel_rows):
                ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
            ax.invert_yaxis()
            ax.tick_params(axis="y", labelsize=7)
    progress("plots in docs/img/")


def report():
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, {cpu}, kernel {platform.release()}",
            "mode": "quick" if QUICK else "full", "seconds_per_run": SECS}
    with open(os.path.join(ROOT, "bench", "results", "latest.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    md = os.path.join(ROOT, "docs", "benchmarking.md")
    text = open(md).read()
    begin, end = "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->"
    block = (f"{begin}\n## Side-by-side comparisons (`scripts/bench.sh{' --quick' if QUICK else ''}`)\n\n"
             f"Generated {meta['date']} on {meta['machine']}; {SECS} s per run. Machine-readable: "
             f"`bench/results/latest.json`.\n\n" + "\n".join(sections) + f"\n{end}")
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    open(md, "w").write(text)
    progress(f"wrote bench/results/latest.json and docs/benchmarking.md ({len(results)} figures)")


def want(name):
    return ONLY is None or name in ONLY


try:
    max_flood = None
    if want("io_floor"):
        max_flood = io_floor()
    if want("testpmd_source"):
        testpmd_source()
    if want("clients"):
        clients_rows.extend(clients_under_flood(max_flood or 2.0))
    if want("kernel"):
        kernel(max_flood or 0.0)
    if want("scale"):
        scale()
    if want("memory"):
        memory()
    if want("proxy"):
        proxy()
    plots()
    report()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
    for p in prefixes:
        shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)
