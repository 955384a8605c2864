#!/usr/bin/env bash
# Installs, from Debian's archive, exactly what synwall's build, tests and benchmarks need.
# Idempotent: installs nothing (and does not touch the network) when everything is present.
. "$(dirname "$0")/lib/usage.sh" "$0" "$@"
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config python3
  dpdk dpdk-dev libdpdk-dev          # EAL, ethdev, rte_ring, telemetry, pdump, testpmd
  libboost-dev                       # Boost.Lockfree (header-only)
  libtbb-dev                         # oneTBB
  libbenchmark-dev                   # Google Benchmark
  libgtest-dev libgmock-dev          # GoogleTest
  libtomlplusplus-dev                # configuration files
  clang libclang-rt-14-dev           # libFuzzer and sanitizer runtimes for the fuzz run
  python3-matplotlib                 # scripts/bench.sh's plots (Debian's /usr/bin/python3)
  iproute2 ethtool                   # network namespaces and veths for the end-to-end tests
  nftables                           # nftables synproxy: scripts/bench.sh's third kernel peer, proxy_test.py's reference
  curl iperf3 nmap tcpdump tshark    # test/e2e/proxy_test.py: clients, bulk transfer, SYN scan, captures
  python3-scapy                      # test/conformance: crafted probes against Linux and synwall
  man-db graphviz                    # test/e2e/install_test.py renders the man pages; docs/img/architecture.svg
)

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup-deps: installing ${#missing[@]} package(s), a few minutes on a first run: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive

# Another package manager at work (unattended upgrades, a second shell) holds dpkg's and apt's
# locks: wait for it, saying so, rather than fail. The locks are fcntl locks, tested the same way.
lock_busy() {
  /usr/bin/python3 - "$@" <<'PY'
import fcntl, sys
for path in sys.argv[1:]:
    try:
        with open(path, "a") as f:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except FileNotFoundError:
        continue
    except OSError:
        sys.exit(0)  # held by someone else
sys.exit(1)
PY
}
wait_for_package_manager() {
  local waited=0
  while lock_busy /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
    if [ $((waited % 10)) -eq 0 ]; then
      echo "setup-deps: another package manager is running; waiting for it (${waited}s so far)"
    fi
    if [ "$waited" -ge 1800 ]; then
      echo "setup-deps: the package manager stayed busy for 30 minutes; giving up" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# Refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  wait_for_package_manager
  $SUDO apt-get -o DPkg::Lock::Timeout=1800 update -qq
fi
wait_for_package_manager
$SUDO apt-get -o DPkg::Lock::Timeout=1800 install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-deps: done"
