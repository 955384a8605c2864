// synwall: the SYN-flood absorber appliance. A thin shell over dpdk::Appliance (the library does
// the work): arguments, signals, the live stats line, the summary.
//
//   synwall [EAL options] -- --config FILE [--stats-period S] [--duration S] [--stats-json FILE]
//                            [--drivers-config DIR]
//
// Ports come from the configuration (vdev specs are hot-plugged, PCI devices found by name), each
// checked against its drivers-config profile. One worker per configured worker lcore polls one rx
// queue of every port (the main lcore works alone when there are none: one core must work). The
// main lcore prints live stats, serves telemetry and handles SIGINT/SIGTERM: stop receiving, flush,
// free every mbuf, print the summary, exit 0. SIGHUP reloads the listeners and the cookie key file
// from --config. Bad input exits 2 with one line naming file, key and
// reason.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/appliance_config.hpp"
#include "config/drivers_dir.hpp"
#include "config/output_file.hpp"
#include "dpdk/appliance.hpp"
#include "dpdk/appliance_summary.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/telemetry.hpp"
#include "dpdk/wall_clock.hpp"
#include "synwall_version.hpp"

using namespace synwall;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
void on_hangup(int) { g_reload.store(true, std::memory_order_relaxed); }

// SIGHUP: the configuration file read again; its [[listener]] set and its cookie key file applied
// to the running workers (other sections are read at start only). A file that does not load, a key
// file that does not, or a change the workers refuse, leaves the running listeners and key as they
// are.
// Returns the outcome in brief (the telemetry command's answer); prints it in full.
std::string reload(dpdk::Appliance& appliance, const std::string& path) {
    std::string err;
    auto cfg = config::load_appliance_config(path, err);
    std::optional<cookie::MasterKey> key;  // none in the file: the running key stays
    if (cfg && !cfg->key_file.empty()) {
        cookie::MasterKey k;
        if (cookie::load_master_key(cfg->key_file, k, err))
            key = k;
        else
            err = path + ": cookie.key_file: " + cfg->key_file + ": " + err;
    }
    size_t opened = 0, closed = 0;
    if (err.empty()) err = appliance.reload_listeners(cfg->listeners, opened, closed);
    if (!err.empty()) {
        std::fprintf(stderr, "synwall: reload refused: %s (the running listeners and key stay)\n", err.c_str());
        std::fflush(stderr);
        return "refused: " + err;
    }
    const bool new_key = key && *key != appliance.master_key();
    if (new_key) appliance.change_master_key(*key);
    std::printf("synwall: reloaded %s: %zu listener(s) opened, %zu closed, cookie key %s (only [[listener]] and the "
                "key file change while running)\n",
                path.c_str(), opened, closed, new_key ? "changed" : "unchanged");
    std::fflush(stdout);
    return "reloaded: " + std::to_string(opened) + " listener(s) opened, " + std::to_string(closed) + " closed, cookie key " +
           (new_key ? "changed" : "unchanged");
}

// /synwall/reload: the telemetry thread asks, the main lcore (which owns the appliance) reloads
// in its loop and answers.
struct ReloadRequest {
    std::atomic<bool> asked{false};  // looked at every loop iteration (inline: the worker's): no lock
    std::mutex m;
    std::condition_variable cv;
    bool pending = false, answered = false;
    std::string answer;
};
ReloadRequest g_request;

std::string reload_from_telemetry() {
    std::unique_lock<std::mutex> lock(g_request.m);
    g_request.pending = true;
    g_request.answered = false;
    g_request.asked.store(true, std::memory_order_release);
    if (!g_request.cv.wait_for(lock, std::chrono::seconds(10), [] { return g_request.answered; }))
        return "no answer within 10 s (synwall stopping?)";
    return g_request.answer;
}

void answer_reload_request(dpdk::Appliance& appliance, const std::string& path) {
    if (!g_request.asked.exchange(false, std::memory_order_acquire)) return;
    {
        std::lock_guard<std::mutex> lock(g_request.m);
        if (!g_request.pending) return;
        g_request.pending = false;
    }
    const std::string answer = reload(appliance, path);  // not under the lock: it waits for the workers
    std::lock_guard<std::mutex> lock(g_request.m);
    g_request.answer = answer;
    g_request.answered = true;
    g_request.cv.notify_all();
}

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
    "  --drivers-config DIR   port profiles (default: $SYNWALL_DRIVERS_CONFIG, the drivers-config\n"
    "                         of the source tree the binary was built in, or the installed ones)\n"
    "  -h, --help             this text; --help-eal: DPDK's EAL options; --version: the version\n"
    "\n"
    "EAL options used in the docs: -l LCORES, --no-huge -m MB, --no-pci, --file-prefix NAME, --vdev DEV.\n"
    "SIGINT/SIGTERM stop it cleanly; SIGHUP reloads the [[listener]] set and cookie.key_file from --config.\n"
    "Exit status: 0 after a clean stop, 2 on bad input (one line naming the file, key and reason).\n";

[[noreturn]] void die(int code, const std::string& msg) {
    std::fprintf(stderr, "synwall: %s\n", msg.c_str());
    std::fflush(stderr);
    std::_Exit(code);  // before any port, pool or lcore of ours exists: nothing of ours to release
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

void print_line(const dpdk::ApplianceTotals& t, const dpdk::ApplianceTotals& prev, double dt, size_t workers) {
    using namespace handshake;
    auto rate = [&](uint64_t a, uint64_t b) { return static_cast<double>(a - b) / dt; };
    const Counters& c = t.counters;
    const Counters& p = prev.counters;
    std::printf("rx %8.3f Mpps | tx %8.3f Mpps | SYN %8.3f M/s | cookies %8.3f M/s | SYN-ACK(q) %8.3f M/s | "
                "PassiveOpens %9.0f/s | absorbed %9.0f/s | half-open %lu",
                rate(t.io.rx, prev.io.rx) / 1e6, rate(t.io.tx, prev.io.tx) / 1e6, rate(c[kSynRecv], p[kSynRecv]) / 1e6,
                rate(c[kSyncookiesSent], p[kSyncookiesSent]) / 1e6, rate(c[kSynAckSent], p[kSynAckSent]) / 1e6,
                rate(c[kEstablished], p[kEstablished]), rate(t.io.freed_drop, prev.io.freed_drop),
                static_cast<unsigned long>(t.half_open));
    std::printf(" | busy %3.0f %%", 100.0 * rate(t.io.busy_ns, prev.io.busy_ns) / 1e9 / static_cast<double>(workers));
    if (t.proxy)
        std::printf(" | proxied %9.0f/s | flows %lu",
                    rate(t.proxy_counters[app::kServerConnected], prev.proxy_counters[app::kServerConnected]),
                    static_cast<unsigned long>(t.proxy_active));
    std::printf("\n");
    std::fflush(stdout);
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
        if (a == "--version") {
            std::printf("synwall %s\n", SYNWALL_VERSION);
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
    dpdk::ApplianceOptions options;
    options.drivers_dir = args.drivers_dir.empty() ? config::default_drivers_dir() : args.drivers_dir;
    auto appliance = dpdk::Appliance::create(*cfg, options, err);
    if (!appliance) {
        std::fprintf(stderr, "synwall: %s\n", err.c_str());
        return 2;  // the appliance and the EAL were released on the way out
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_hangup);
    std::printf("synwall: %s\n", appliance->describe().c_str());
    std::fflush(stdout);
    dpdk::set_reload_hook(reload_from_telemetry);
    appliance->start();

    const dpdk::WallClock clock;
    const uint64_t start = clock.now();
    const uint64_t period = static_cast<uint64_t>(args.stats_period * 1e9);
    const uint64_t end = args.duration > 0 ? start + static_cast<uint64_t>(args.duration * 1e9) : UINT64_MAX;
    uint64_t next = start + period, last = start;
    dpdk::ApplianceTotals prev;
    while (!g_stop.load(std::memory_order_relaxed)) {
        uint64_t now = clock.now();
        if (appliance->inline_main()) {
            appliance->poll_inline(now);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            now = clock.now();
        }
        if (now >= next) {
            const dpdk::ApplianceTotals t = appliance->totals();
            print_line(t, prev, static_cast<double>(now - last) / 1e9, appliance->workers());
            prev = t;
            last = now;
            next += period;
        }
        if (g_reload.exchange(false, std::memory_order_relaxed)) reload(*appliance, args.config);
        answer_reload_request(*appliance, args.config);
        if (now >= end) g_stop.store(true);
    }
    dpdk::set_reload_hook(nullptr);
    appliance->stop();
    const double seconds = static_cast<double>(clock.now() - start) / 1e9;
    dpdk::ApplianceTotals t = appliance->totals();
    t.mbufs = appliance->close();  // every port closed: each mbuf must be back in its pool
    dpdk::print_summary(stdout, t, seconds);
    if (!args.stats_json.empty()) std::ofstream(args.stats_json) << dpdk::summary_json(t, seconds, appliance->workers());
    appliance.reset();
    std::fflush(stdout);
    return 0;
}
