"""What the end-to-end suites share: the binaries, a scratch directory, PASS/FAIL reporting, synwall
configurations and command lines, the stock telemetry client, and synwall joined to synwall-gen by
net_memif. Imported by a suite run as `SUITE.py BUILD_DIR DRIVERS_CONFIG_DIR`; `finish()` at the end
removes the scratch directory and the DPDK runtime directories and exits with the failure count.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BUILD, DRIVERS = sys.argv[1], sys.argv[2]
SYNWALL = os.path.join(BUILD, "apps", "synwall")
PCAPGEN = os.path.join(BUILD, "apps", "synwall-pcapgen")
WORK = tempfile.mkdtemp(prefix="synwall-e2e-")
LCORES = "0,1" if os.cpu_count() >= 2 else "0"
failures = 0
prefixes = []


def report(name, ok, why=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why), flush=True)
    failures += 0 if ok else 1


def config(device=None, profile="net_pcap", extra="", listener_extra=""):
    if device is None:
        device = f"net_pcap0,rx_pcap={WORK}/flood.pcap,tx_pcap=/dev/null,infinite_rx=1"
    return f"""
[[port]]
name = "wire"
device = "{device}"
profile = "{profile}"

[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
cookie_mode = "auto"
max_half_open = 256
{listener_extra}
{extra}
"""


def memif_config(sock, listener="", engine=""):
    """synwall.toml for one memif server port `sock` (the generator's peer) and one listener,
    203.0.113.10:80, with `listener` and `engine` settings added; written to WORK, its path."""
    return write(f"memif-{sock}.toml", f"""
[engine]
{engine}
[[port]]
name = "wire"
device = "net_memif0,role=server,socket={sock}"
profile = "net_memif"

[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
{listener}
""")


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def command(cfg, prefix, *app_args, lcores=LCORES):
    prefixes.append(prefix)
    return [SYNWALL, "--no-huge", "-m", "512", "-l", lcores, f"--file-prefix={prefix}", "--no-pci",
            "--log-level=lib.eal:error", "--", "--config", cfg, "--drivers-config", DRIVERS, *app_args]


def telemetry(prefix, cmd):
    out = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n", capture_output=True,
                         text=True, timeout=20).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON from dpdk-telemetry.py: " + out[-300:])
GEN = os.path.join(BUILD, "apps", "synwall-gen")


def start_synwall(cfg, prefix, *args, lcores="0", netns=None, drivers=None):
    """synwall on `lcores` with --stats-json in WORK, once it printed its ports (ready): (Popen, the
    JSON's path). Inside network namespace `netns` when given; `drivers`: another port-profile
    directory. Its stdout is drained by a thread, so a long run cannot fill the pipe; the lines
    are kept in Popen.lines."""
    sw_json = os.path.join(WORK, f"sw-{prefix}.json")
    cmd = command(cfg, prefix, "--stats-json", sw_json, *args, lcores=lcores)
    if drivers:
        cmd[cmd.index("--drivers-config") + 1] = drivers
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    sw = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sw.lines = []
    ready = threading.Event()

    def drain():
        for line in sw.stdout:
            sw.lines.append(line)
            if "port(s)" in line:
                ready.set()
        ready.set()
    sw.drainer = threading.Thread(target=drain, daemon=True)
    sw.drainer.start()
    ready.wait(20)
    return sw, sw_json


def start_gen(prefix, vdevs, gen_args, name="gen"):
    """synwall-gen (lcore 1) on the memif client ends `vdevs`, with --json: (Popen, the JSON's path)."""
    gen_json = os.path.join(WORK, f"{name}-{prefix}.json")
    prefixes.append(f"{prefix}-{name}")
    gen = subprocess.Popen([GEN, "--no-huge", "-m", "512", "-l", "1" if LCORES != "0" else "0",
                            f"--file-prefix={prefix}-{name}", "--no-pci", "--log-level=lib.eal:error",
                            *[f"--vdev={v}" for v in vdevs], "--", *gen_args, "--json", gen_json],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return gen, gen_json


def wait_gen_summary(gen, timeout=30):
    """Until the generator printed its summary (it stopped sending and lingers), or it exited."""
    deadline = time.time() + timeout
    while time.time() < deadline and gen.poll() is None:
        if gen.stdout.readline().startswith("summary:"):
            return True
    return False


def stop_synwall(sw, sig=signal.SIGTERM, timeout=10):
    """Signals synwall and waits for its exit: (exit status, stderr, seconds it took)."""
    t0 = time.time()
    sw.send_signal(sig)
    try:
        sw.wait(timeout)
    except subprocess.TimeoutExpired:
        sw.kill()
        sw.wait()
    took = time.time() - t0
    sw.drainer.join(5)
    return sw.returncode, sw.stderr.read(), took


def reap(*procs):
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def synwall_with_gen(cfg, prefix, vdevs, gen_args, while_running=None, gen_timeout=30):
    """synwall (lcore 0) and synwall-gen (lcore 1) joined by net_memif (`vdevs`: the generator's
    client ends): the generator runs `gen_args` (with --json), synwall is stopped with SIGTERM once
    the generator's summary is out and while it lingers (memif peers must both stop polling before
    either leaves). `while_running(prefix, pid)` runs once the generator started (pid: synwall's).
    Returns (synwall's exit, synwall's stderr, the generator's exit, its stderr, its JSON, synwall's
    --stats-json, what while_running returned); both processes are reaped, also on error."""
    sw, sw_json = start_synwall(cfg, prefix)
    gen = None
    try:
        gen, gen_json = start_gen(prefix, vdevs, gen_args)
        seen = while_running(prefix, sw.pid) if while_running else None
        wait_gen_summary(gen, gen_timeout)
        sw_rc, sw_err, _ = stop_synwall(sw)
        _, g_err = gen.communicate(timeout=20)
        return sw_rc, sw_err, gen.returncode, g_err, json.load(open(gen_json)), json.load(open(sw_json)), seen
    finally:
        reap(gen, sw)


def rss_kb(pid):
    """A process's resident set (VmRSS) in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_cases(cases):
    """Runs the suite's cases ({name: function}), or those SYNWALL_E2E_ONLY=name,name names (while
    working on one; CI runs them all), then cleans up and exits with the failure count."""
    try:
        only = set(filter(None, os.environ.get("SYNWALL_E2E_ONLY", "").split(",")))
        unknown = only - set(cases)
        if unknown:
            raise SystemExit(f"SYNWALL_E2E_ONLY: no case {sorted(unknown)}; cases: {', '.join(cases)}")
        for name, case in cases.items():
            if not only or name in only:
                case()
    finally:
        cleanup()
    finish()


def cleanup():
    shutil.rmtree(WORK, ignore_errors=True)
    for p in prefixes:
        shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)


def finish():
    print(f"{failures} failures")
    sys.exit(min(failures, 100))
