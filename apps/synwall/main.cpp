// synwall: the SYN-flood absorber appliance.
//
//   synwall [EAL options] -- --config FILE [--stats-period S] [--duration S] [--stats-json FILE]
//                            [--drivers-config DIR]
//
// Ports come from the configuration (vdev specs are hot-plugged, PCI devices found by name), each
// checked against its drivers-config profile. One worker per configured worker lcore polls one rx
// queue of every port (the main lcore works alone when there are none: one core must work). The
// main lcore prints live stats, serves telemetry and handles SIGINT/SIGTERM: stop receiving, flush,
// free every mbuf, print the summary, exit 0. Bad input exits 2 with one line naming file, key and
// reason.
#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pdump.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/appliance_config.hpp"
#include "config/output_file.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/port.hpp"
#include "app/absorb.hpp"
#include "app/proxy.hpp"
#include "dpdk/app_core.hpp"
#include "dpdk/worker_loop.hpp"
#include "dpdk/telemetry.hpp"
#include "handshake/worker.hpp"

using namespace synwall;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

struct Args {
    std::string config;
    double stats_period = 1.0;
    double duration = 0;  // 0: until a signal
    std::string stats_json;
    std::string drivers_dir;
};

constexpr const char* kUsage =
    "usage: synwall [EAL options] -- --config FILE [--stats-period S] [--duration S] [--stats-json FILE]\n"
    "                                [--drivers-config DIR]\n"
    "\n"
    "The SYN-flood absorber appliance: ports, listeners and the application come from --config.\n"
    "  --config FILE          synwall.toml (docs/configuration.md); required\n"
    "  --stats-period S       a live stats line every S seconds (default 1)\n"
    "  --duration S           stop after S seconds (default: at SIGINT or SIGTERM)\n"
    "  --stats-json FILE      the summary as JSON at exit (the path is checked at start)\n"
    "  --drivers-config DIR   port profiles (default: drivers-config beside the binary, or\n"
    "                         $SYNWALL_DRIVERS_CONFIG)\n"
    "  -h, --help             this text; --help-eal: DPDK's EAL options\n"
    "\n"
    "EAL options used in the docs: -l LCORES, --no-huge -m MB, --no-pci, --file-prefix NAME, --vdev DEV.\n"
    "Exit status: 0 after a clean stop, 2 on bad input (one line naming the file, key and reason).\n";

[[noreturn]] void die(int code, const std::string& msg) {
    std::fprintf(stderr, "synwall: %s\n", msg.c_str());
    std::fflush(stderr);
    std::_Exit(code);  // before the EAL owns resources: nothing to release
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 0; i < argc; ++i) {
        const std::string k = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(2, "missing value for " + k);
            return argv[++i];
        };
        auto number = [&](double& out) {
            const std::string v = value();
            char* end = nullptr;
            out = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || out < 0) die(2, "bad value for " + k + ": '" + v + "'");
        };
        if (k == "--config") a.config = value();
        else if (k == "--stats-period") number(a.stats_period);
        else if (k == "--duration") number(a.duration);
        else if (k == "--stats-json") {
            a.stats_json = value();
            if (const std::string why = config::check_writable(a.stats_json); !why.empty()) die(2, "--stats-json: " + why);
        }
        else if (k == "--drivers-config") a.drivers_dir = value();
        else die(2, "unknown option '" + k + "' (synwall --help: usage)");
    }
    if (a.config.empty()) die(2, "--config FILE is required");
    if (a.stats_period <= 0) die(2, "--stats-period must be positive");
    return a;
}

std::string default_drivers_dir() {
    if (const char* env = std::getenv("SYNWALL_DRIVERS_CONFIG")) return env;
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path exe = fs::canonical("/proc/self/exe", ec);
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
        if (fs::exists(p / "drivers-config" / "net_ring.toml")) return (p / "drivers-config").string();
    return "drivers-config";
}

uint64_t wall_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

// Wall-clock nanoseconds from the TSC: one calibration at start, no system call per loop.
struct Clock {
    uint64_t base_ns, base_tsc;
    double ns_per_tsc;
    Clock() : base_ns(wall_ns()), base_tsc(rte_get_tsc_cycles()), ns_per_tsc(1e9 / static_cast<double>(rte_get_tsc_hz())) {}
    uint64_t now() const {
        return base_ns + static_cast<uint64_t>(static_cast<double>(rte_get_tsc_cycles() - base_tsc) * ns_per_tsc);
    }
};

struct Lane {
    unsigned lcore;
    std::unique_ptr<handshake::Worker> engine;
    std::unique_ptr<app::Application> app;     // serves this worker's flows: inline, or on an application lcore
    app::Proxy* proxy = nullptr;               // `app`, when it is the proxy (counters)
    app::Absorb* absorb = nullptr;             // `app`, when it is absorb (counters, read once stopped)
    rte_ring* closes = nullptr;                // with application lcores: from its application lcore
    rte_ring* flows = nullptr;                 //   and to it: packets of established flows
    std::unique_ptr<dpdk::WorkerLoop> loop;
};

struct AppLane {
    unsigned lcore;
    std::unique_ptr<dpdk::AppCore> core;
};

int worker_main(void* arg) {
    auto* lane = static_cast<Lane*>(arg);
    Clock clock;
    while (!g_stop.load(std::memory_order_relaxed)) lane->loop->poll(clock.now());
    lane->loop->flush();
    return 0;
}

int app_main(void* arg) {
    auto* lane = static_cast<AppLane*>(arg);
    Clock clock;
    while (!g_stop.load(std::memory_order_relaxed)) lane->core->poll(clock.now());
    lane->core->flush();
    return 0;
}

struct Totals {
    handshake::Counters c;
    app::ProxyCounters proxy;
    uint64_t proxy_active = 0;
    dpdk::IoStats io;
    uint64_t half_open = 0;  // SYN-queue entries now, all workers and listeners
};

// Read from the main lcore while the others run (relaxed atomic loads: each figure is exact, the
// set is from slightly different instants); the summary is taken after the lcores stopped.
Totals totals(const std::vector<std::unique_ptr<Lane>>& lanes, const std::vector<std::unique_ptr<AppLane>>& apps) {
    Totals t;
    for (const auto& l : lanes) {
        t.c.accumulate(l->engine->counters());
        t.io.add(l->loop->stats());
        if (l->proxy) {
            t.proxy.accumulate(l->proxy->counters());
            t.proxy_active += l->proxy->active_flows();
        }
        for (uint16_t i = 0; i < l->engine->listeners().size(); ++i) t.half_open += l->engine->half_open(i);
    }
    for (const auto& a : apps) t.io.add(a->core->stats());
    return t;
}

void print_line(const Totals& t, const Totals& prev, double dt, size_t workers, bool proxy) {
    using namespace handshake;
    auto rate = [&](uint64_t a, uint64_t b) { return static_cast<double>(a - b) / dt; };
    std::printf("rx %8.3f Mpps | tx %8.3f Mpps | SYN %8.3f M/s | cookies %8.3f M/s | SYN-ACK(q) %8.3f M/s | "
                "PassiveOpens %9.0f/s | absorbed %9.0f/s | half-open %lu",
                rate(t.io.rx, prev.io.rx) / 1e6, rate(t.io.tx, prev.io.tx) / 1e6, rate(t.c[kSynRecv], prev.c[kSynRecv]) / 1e6,
                rate(t.c[kSyncookiesSent], prev.c[kSyncookiesSent]) / 1e6, rate(t.c[kSynAckSent], prev.c[kSynAckSent]) / 1e6,
                rate(t.c[kEstablished], prev.c[kEstablished]), rate(t.io.freed_drop, prev.io.freed_drop),
                static_cast<unsigned long>(t.half_open));
    std::printf(" | busy %3.0f %%", 100.0 * rate(t.io.busy_ns, prev.io.busy_ns) / 1e9 / static_cast<double>(workers));
    if (proxy)
        std::printf(" | proxied %9.0f/s | flows %lu", rate(t.proxy[app::kServerConnected], prev.proxy[app::kServerConnected]),
                    static_cast<unsigned long>(t.proxy_active));
    std::printf("\n");
    std::fflush(stdout);
}

// absorb's own figures, summed once the lcores have stopped: its closing RSTs or FINs are sent by
// the application, not the engine, so they are here and not in OutRsts.
struct AbsorbTotals {
    bool on = false;
    bool rst = true;
    uint64_t accepted = 0, closed = 0, late = 0, evicted = 0;
};

AbsorbTotals absorb_totals(const std::vector<std::unique_ptr<Lane>>& lanes, bool rst) {
    AbsorbTotals a;
    a.rst = rst;
    for (const auto& l : lanes) {
        if (!l->absorb) continue;
        a.on = true;
        a.accepted += l->absorb->accepted();
        a.closed += l->absorb->closed();
        a.late += l->absorb->late_packets();
        a.evicted += l->absorb->evicted();
    }
    return a;
}

std::string summary_json(const Totals& t, double seconds, size_t workers, bool proxy, const AbsorbTotals& absorb) {
    std::string j = "{\n  \"seconds\": " + std::to_string(seconds) + ",\n  \"workers\": " + std::to_string(workers) +
                    ",\n  \"io\": {\"rx\": " + std::to_string(t.io.rx) + ", \"tx\": " + std::to_string(t.io.tx) +
                    ", \"tx_refused\": " + std::to_string(t.io.tx_refused) + ", \"freed_drop\": " +
                    std::to_string(t.io.freed_drop) + ", \"freed_pass\": " + std::to_string(t.io.freed_pass) +
                    ", \"accepted\": " + std::to_string(t.io.accepted) + ", \"flow_packets\": " +
                    std::to_string(t.io.flow_packets) + ", \"flow_ring_full\": " + std::to_string(t.io.flow_ring_full) + ", \"busy_s\": " +
                    std::to_string(static_cast<double>(t.io.busy_ns) / 1e9) + "},\n  \"counters\": {";
    for (uint32_t i = 0; i < handshake::kCounterCount; ++i)
        j += std::string(i ? ", " : "") + "\"" + std::string(handshake::counter_name(i)) + "\": " + std::to_string(t.c[i]);
    j += "}";
    if (proxy) {
        j += ",\n  \"proxy\": {\"ActiveFlows\": " + std::to_string(t.proxy_active);
        for (uint32_t i = 0; i < app::kProxyCounterCount; ++i)
            j += ", \"" + std::string(app::proxy_counter_name(i)) + "\": " + std::to_string(t.proxy[i]);
        j += "}";
    }
    if (absorb.on) {
        j += ",\n  \"absorb\": {\"Accepted\": " + std::to_string(absorb.accepted) + ", \"" +
             (absorb.rst ? "ClosedWithRst" : "ClosedWithFin") + "\": " + std::to_string(absorb.closed) +
             ", \"LatePackets\": " + std::to_string(absorb.late) + ", \"LingerEvicted\": " + std::to_string(absorb.evicted) + "}";
    }
    return j + "\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
    // Our usage, not the EAL's, for --help anywhere; --help-eal asks the EAL for its own.
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--help-eal") argv[i] = const_cast<char*>("--help");
    }
    // EAL arguments first; ours after "--".
    std::vector<std::string> eal_args(argv, argv + argc);
    std::string err;
    auto eal = dpdk::Eal::start(eal_args, err);
    if (!eal) die(2, err);
    const int used = eal->consumed();
    // rte_eal_init consumed `used` arguments after argv[0]; a "--" separator is among them.
    std::vector<char*> rest;
    for (int i = used + 1; i < argc; ++i) rest.push_back(argv[i]);
    if (!rest.empty() && std::string(rest[0]) == "--") rest.erase(rest.begin());
    const Args args = parse_args(static_cast<int>(rest.size()), rest.data());

    auto cfg = config::load_appliance_config(args.config, err);
    if (!cfg) die(2, err);
    const std::string drivers_dir = args.drivers_dir.empty() ? default_drivers_dir() : args.drivers_dir;

    // Lcores: configured workers and application lcores must be enabled by -l (and not be the main
    // lcore, which runs stats); no workers configured: every worker lcore the EAL has that is not
    // an application lcore; none at all: the main lcore does everything inline.
    auto check_lcores = [&](const std::vector<unsigned>& ls, const char* key) {
        for (unsigned l : ls)
            if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore())
                die(2, args.config + ": lcores." + key + ": lcore " + std::to_string(l) +
                           " is not an enabled worker lcore (enable it with -l; the main lcore runs stats)");
    };
    check_lcores(cfg->worker_lcores, "workers");
    check_lcores(cfg->app_lcores, "apps");
    const std::vector<unsigned> app_lcores = cfg->app_lcores;
    std::vector<unsigned> lcores = cfg->worker_lcores;
    for (unsigned l : lcores)
        if (std::find(app_lcores.begin(), app_lcores.end(), l) != app_lcores.end())
            die(2, args.config + ": lcores.apps: lcore " + std::to_string(l) + " is also a worker");
    if (lcores.empty()) {
        unsigned l;
        RTE_LCORE_FOREACH_WORKER(l)
        if (std::find(app_lcores.begin(), app_lcores.end(), l) == app_lcores.end()) lcores.push_back(l);
    }
    const bool inline_main = lcores.empty();
    if (inline_main && !app_lcores.empty()) die(2, args.config + ": lcores.apps: application lcores need worker lcores");
    const size_t nworkers = inline_main ? 1 : lcores.size();
    const size_t napps = app_lcores.size();

    // Ports: hot-plug vdevs, find devices, check them against their profiles, start them.
    std::vector<uint16_t> port_ids;
    std::vector<rte_mempool*> pools;
    handshake::EngineConfig engine_cfg = cfg->engine;
    bool all_tx_csum = true;  // the engine leaves checksums to the NIC only when every port finishes them
    for (size_t i = 0; i < cfg->ports.size(); ++i) {
        const auto& pc = cfg->ports[i];
        const std::string key = args.config + ": port[" + std::to_string(i) + "]";
        auto profile = config::load_port_profile(drivers_dir, pc.profile, err);
        if (!profile) die(2, key + ".profile: " + err);
        uint16_t pid = 0;
        if (const std::string e = dpdk::open_device(pc.device, pid); !e.empty()) die(2, key + ".device: " + e);
        dpdk::PortCaps caps;
        if (const std::string e = dpdk::port_caps(pid, caps); !e.empty()) die(2, key + ".device: " + e);
        if (profile->driver != caps.driver)
            die(2, key + ".profile: profile '" + pc.profile + "' is for " + profile->driver + ", the device is " + caps.driver);
        if (nworkers > profile->max_queues || nworkers > caps.max_rx_queues || nworkers + napps > caps.max_tx_queues)
            die(2, key + ": " + std::to_string(nworkers) + " workers and " + std::to_string(napps) +
                       " application lcores need as many queues; " + pc.profile + " has " +
                       std::to_string(std::min<unsigned>(profile->max_queues, caps.max_rx_queues)) + " rx / " +
                       std::to_string(caps.max_tx_queues) + " tx");
        if (profile->rss && nworkers > 1 && !caps.rss_tcp)
            die(2, key + ".profile: rss = true but " + caps.driver + " cannot hash TCP flows over queues");
        // Checksums: verified by the NIC when the profile asks and the device can; otherwise in
        // software — an error instead when the profile requires the offload.
        const bool want_hw = profile->ipv4_checksum != config::OffloadPolicy::kSoftware ||
                             profile->tcp_checksum != config::OffloadPolicy::kSoftware;
        const bool must_hw = profile->ipv4_checksum == config::OffloadPolicy::kHardware ||
                             profile->tcp_checksum == config::OffloadPolicy::kHardware;
        if (must_hw && !(caps.rx_checksum && caps.tx_checksum)) {
            if (profile->require_offloads)
                die(2, key + ".profile: checksums in hardware are required but " + caps.driver + " cannot offload them");
            std::fprintf(stderr, "synwall: %s: %s has no checksum offload: checksums in software\n", key.c_str(),
                         caps.driver.c_str());
        }
        const bool rx_csum = want_hw && caps.rx_checksum;
        const bool tx_csum = want_hw && caps.tx_checksum;
        all_tx_csum = all_tx_csum && tx_csum;
        const unsigned nmbufs = static_cast<unsigned>(profile->mbufs_per_queue * nworkers * 2 + 1024);
        rte_mempool* pool = rte_pktmbuf_pool_create(("synwall_" + std::to_string(i)).c_str(), nmbufs,
                                                    profile->mempool_cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                    static_cast<int>(rte_socket_id()));
        if (pool == nullptr) die(2, key + ": cannot allocate " + std::to_string(nmbufs) + " mbufs (memory: -m / hugepages)");
        dpdk::PortSetup setup;
        setup.rx_queues = static_cast<uint16_t>(nworkers);
        setup.tx_queues = static_cast<uint16_t>(nworkers + napps);  // application lcores transmit too
        setup.rx_descriptors = profile->rx_descriptors;
        setup.tx_descriptors = profile->tx_descriptors;
        setup.mtu = profile->mtu;
        setup.rss = profile->rss && nworkers > 1;
        setup.rx_checksum = rx_csum;
        setup.tx_checksum = tx_csum;
        if (const std::string e = dpdk::start_port(pid, setup, pool); !e.empty()) die(2, key + ": " + e);
        port_ids.push_back(pid);
        pools.push_back(pool);
    }

    engine_cfg.checksum_offload = all_tx_csum && !port_ids.empty();

    // Secrets and listeners, shared read-only.
    cookie::SecretConfig secrets = cfg->secrets;
    secrets.prf = cfg->prf.value_or(cookie::best_prf());
    if (!cookie::prf_available(secrets.prf)) die(2, args.config + ": cookie.prf: not supported by this CPU");
    if (cfg->key_file.empty()) {
        secrets.master = cookie::random_master_key();
    } else if (!cookie::load_master_key(cfg->key_file, secrets.master, err)) {
        die(2, args.config + ": cookie.key_file: " + cfg->key_file + ": " + err);
    }
    auto listeners = std::make_shared<const handshake::ListenerTable>(cfg->listeners);

    const uint64_t t0 = wall_ns();
    const bool proxy = cfg->app == config::AppKind::kProxy;
    // One application instance per worker (flow ids are per worker).
    auto make_app = [&](Lane& lane) {
        if (proxy) {
            app::ProxyConfig pc;
            pc.server_port = port_ids[static_cast<size_t>(cfg->proxy.server_port_index)];
            pc.server_syn_retries = cfg->proxy.server_syn_retries;
            pc.server_syn_timeout_ns = uint64_t{cfg->proxy.server_syn_timeout_ms} * 1'000'000;
            pc.idle_timeout_ns = uint64_t{cfg->proxy.idle_timeout_s} * 1'000'000'000;
            pc.grace_ns = uint64_t{cfg->grace_ms} * 1'000'000;
            pc.hold_bytes = cfg->proxy.hold_bytes;
            pc.flow_capacity = engine_cfg.established_capacity;
            pc.ttl = engine_cfg.ttl;
            auto p = std::make_unique<app::Proxy>(pc);
            lane.proxy = p.get();
            lane.app = std::move(p);
        } else {
            app::AbsorbConfig ac;
            ac.close_with = cfg->close_with == config::CloseWith::kRst ? app::CloseWith::kRst : app::CloseWith::kFin;
            ac.grace_ns = uint64_t{cfg->grace_ms} * 1'000'000;
            ac.linger_capacity = std::max<uint32_t>(1, engine_cfg.established_capacity / 2);
            ac.flow_capacity = engine_cfg.established_capacity;
            auto a = std::make_unique<app::Absorb>(ac);
            lane.absorb = a.get();
            lane.app = std::move(a);
        }
    };
    std::vector<std::unique_ptr<Lane>> lanes;
    for (size_t w = 0; w < nworkers; ++w) {
        auto lane = std::make_unique<Lane>();
        lane->lcore = inline_main ? rte_get_main_lcore() : lcores[w];
        lane->engine = std::make_unique<handshake::Worker>(engine_cfg, listeners, secrets, t0);
        dpdk::WorkerLoopConfig lc;
        for (size_t p = 0; p < port_ids.size(); ++p) {
            const int peer = cfg->ports[p].peer_index;
            lc.ports.push_back({port_ids[p], static_cast<uint16_t>(w), static_cast<uint16_t>(w),
                                peer >= 0 ? static_cast<int32_t>(port_ids[static_cast<size_t>(peer)]) : -1});
        }
        lc.burst = cfg->burst;
        make_app(*lane);
        if (napps == 0) {
            lc.inline_app = lane->app.get();
        } else {
            lane->closes = dpdk::create_close_ring(("synwall_close" + std::to_string(w)).c_str(),
                                                   engine_cfg.established_capacity, static_cast<int>(rte_socket_id()));
            if (lane->closes == nullptr) die(2, "cannot allocate the close ring of worker " + std::to_string(w));
            lc.closes = lane->closes;
            lane->flows = dpdk::create_flow_ring(("synwall_flows" + std::to_string(w)).c_str(), 4 * handshake::kMaxBurst,
                                                 static_cast<int>(rte_socket_id()));
            if (lane->flows == nullptr) die(2, "cannot allocate the flow ring of worker " + std::to_string(w));
            lc.flows = lane->flows;
        }
        lane->loop = std::make_unique<dpdk::WorkerLoop>(*lane->engine, pools[0], lc);
        lanes.push_back(std::move(lane));
    }
    // Application lcore a serves workers a, a + napps, ... and transmits on tx queue nworkers + a.
    std::vector<std::unique_ptr<AppLane>> apps;
    for (size_t a = 0; a < napps; ++a) {
        auto lane = std::make_unique<AppLane>();
        lane->lcore = app_lcores[a];
        std::vector<dpdk::AppLink> links;
        for (size_t w = a; w < nworkers; w += napps)
            links.push_back({lanes[w]->engine.get(), lanes[w]->closes, lanes[w]->flows, lanes[w]->app.get()});
        std::vector<dpdk::PortBinding> tx;
        for (uint16_t p : port_ids) tx.push_back({p, 0, static_cast<uint16_t>(nworkers + a)});
        lane->core = std::make_unique<dpdk::AppCore>(std::move(links), pools[0], std::move(tx), cfg->burst);
        apps.push_back(std::move(lane));
    }
    dpdk::TelemetryView view;
    for (const auto& l : lanes) view.workers.push_back({l->lcore, l->engine.get()});
    view.engine = &engine_cfg;
    view.listeners = listeners.get();
    const std::string prf_name(cookie::to_string(secrets.prf));
    view.prf = prf_name.c_str();
    for (const auto& l : lanes)
        if (l->proxy) view.proxies.push_back(l->proxy);
    for (const auto& l : lanes) view.io.push_back(&l->loop->stats());
    for (const auto& a : apps) view.io.push_back(&a->core->stats());
    dpdk::register_telemetry(&view);
    // Let the stock dpdk-dumpcap / dpdk-pdump capture our ports from a secondary process.
    const bool pdump = rte_pdump_init() == 0;

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("synwall: %zu port(s), %zu listener(s), %zu worker(s)%s, %zu application lcore(s)%s, PRF %s, application %s\n",
                port_ids.size(), listeners->size(), nworkers, inline_main ? " (inline on the main lcore)" : "", napps,
                napps ? "" : " (application inline)", prf_name.c_str(), proxy ? "proxy" : "absorb");
    std::fflush(stdout);
    if (!inline_main)
        for (auto& l : lanes) rte_eal_remote_launch(worker_main, l.get(), l->lcore);
    for (auto& a : apps) rte_eal_remote_launch(app_main, a.get(), a->lcore);

    const Clock clock;
    const uint64_t start = clock.now();
    const uint64_t period = static_cast<uint64_t>(args.stats_period * 1e9);
    const uint64_t end = args.duration > 0 ? start + static_cast<uint64_t>(args.duration * 1e9) : UINT64_MAX;
    uint64_t next = start + period, last = start;
    Totals prev;
    while (!g_stop.load(std::memory_order_relaxed)) {
        uint64_t now = clock.now();
        if (inline_main) {
            lanes[0]->loop->poll(now);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            now = clock.now();
        }
        if (now >= next) {
            const Totals t = totals(lanes, apps);
            print_line(t, prev, static_cast<double>(now - last) / 1e9, lanes.size(), proxy);
            prev = t;
            last = now;
            next += period;
        }
        if (now >= end) g_stop.store(true);
    }
    // Stop receiving, let the workers flush, then free everything.
    rte_eal_mp_wait_lcore();
    if (inline_main) lanes[0]->loop->flush();
    dpdk::unregister_telemetry();
    if (pdump) rte_pdump_uninit();
    const double seconds = static_cast<double>(clock.now() - start) / 1e9;
    const Totals t = totals(lanes, apps);
    // The counters' names (the kernel's) in the summary and the live line alike: PassiveOpens are
    // the handshakes completed, "absorbed" the frames that ended here without a reply (a flood's
    // ACKs and RSTs, and the clients' own closing RSTs: not a loss).
    std::printf("summary: %.2f s, rx %lu (%.3f Mpps), tx %lu, PassiveOpens %lu, absorbed %lu\n", seconds, t.io.rx,
                static_cast<double>(t.io.rx) / seconds / 1e6, t.io.tx, t.c[handshake::kEstablished], t.io.freed_drop);
    for (uint32_t i = 0; i < handshake::kCounterCount; ++i)
        if (t.c[i]) std::printf("  %-24s %14lu\n", std::string(handshake::counter_name(i)).c_str(), t.c[i]);
    if (proxy)
        for (uint32_t i = 0; i < app::kProxyCounterCount; ++i)
            if (t.proxy[i]) std::printf("  proxy %-18s %14lu\n", std::string(app::proxy_counter_name(i)).c_str(), t.proxy[i]);
    const AbsorbTotals absorb = absorb_totals(lanes, cfg->close_with == config::CloseWith::kRst);
    if (absorb.on) {
        std::printf("  absorb %-17s %14lu\n", absorb.rst ? "ClosedWithRst" : "ClosedWithFin",
                    static_cast<unsigned long>(absorb.closed));
        if (absorb.late) std::printf("  absorb %-17s %14lu\n", "LatePackets", static_cast<unsigned long>(absorb.late));
        if (absorb.evicted) std::printf("  absorb %-17s %14lu\n", "LingerEvicted", static_cast<unsigned long>(absorb.evicted));
    }
    if (!args.stats_json.empty()) {
        std::ofstream(args.stats_json) << summary_json(t, seconds, lanes.size(), proxy, absorb);
    }
    apps.clear();   // before the workers: pending closes go to the rings, tx batches flushed
    for (auto& l : lanes) {
        l->loop.reset();  // frees what it, its application and its accept queues hold
        l->app.reset();
        if (l->closes) rte_ring_free(l->closes);
        if (l->flows) rte_ring_free(l->flows);
    }
    lanes.clear();
    for (uint16_t p : port_ids) dpdk::stop_port(p);
    for (rte_mempool* m : pools) rte_mempool_free(m);
    std::fflush(stdout);
    return 0;
}
