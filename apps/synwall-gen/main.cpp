// synwall-gen: a DPDK traffic generator that speaks TCP handshakes. Floods (spoofed SYNs, ACKs,
// RSTs, SYN-ACKs, mixed by weight, at full speed or a paced rate) and closed-loop legitimate
// clients (SYN, 1 s retransmits, ACK, close) whose success and latency it measures.
//
//   synwall-gen [EAL options] -- --port DEV [options]   (synwall-gen -- --help for the list)
// One lane per worker lcore (its own rx/tx queue pair), or on the main lcore with -l N. Live
// stats every period, a summary at the end and as JSON with --json. Exit 0; 2 on bad input.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "synwall_version.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/gen_lane.hpp"
#include "dpdk/port.hpp"
#include "dpdk/wall_clock.hpp"
#include "gen/gen_options.hpp"
#include "gen/latency_histogram.hpp"

using namespace synwall;

namespace {

std::atomic<bool> g_stop{false};      // signal or duration: lanes stop sending
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "synwall-gen: %s\n", msg.c_str());
    std::fflush(stderr);
    std::_Exit(2);
}

// The lcores' one clock (wall time from the TSC), as synwall's.
using Clock = dpdk::WallClock;

struct Lane {
    unsigned lcore = 0;
    std::unique_ptr<dpdk::GenLane> gen;
    std::unique_ptr<dpdk::ResponderLane> responder;  // --respond: the servers' side, same lcore
    void poll(uint64_t now) {
        gen->poll(now);
        if (responder) responder->poll(now);
    }
};

int lane_main(void* arg) {
    auto* lane = static_cast<Lane*>(arg);
    const Clock clock;
    while (!g_stop.load(std::memory_order_relaxed)) lane->poll(clock.now());
    return 0;
}

struct Totals {
    dpdk::GenStats io;
    gen::ClientStats c;
    gen::LatencyHistogram lat;  // only summed at the end (lanes stopped)
    gen::ResponderStats server;  // --respond
    uint64_t server_tx_refused = 0;
};

Totals totals(const std::vector<std::unique_ptr<Lane>>& lanes, bool with_latency) {
    Totals t;
    for (const auto& l : lanes) {
        t.io.add(l->gen->stats());
        if (const gen::ClientPool* p = l->gen->clients()) {
            t.c.add(p->stats());
            if (with_latency) t.lat.merge(p->latencies());
        }
        if (l->responder) {
            t.server.add(l->responder->stats());
            t.server_tx_refused += l->responder->tx_refused();
        }
    }
    return t;
}

double success_ratio(const gen::ClientStats& c) {
    const uint64_t ended = c.completed + c.failed;
    return ended ? static_cast<double>(c.completed) / static_cast<double>(ended) : 0.0;
}

std::string summary_json(const Totals& t, double seconds, size_t lanes, size_t first_data_bytes) {
    auto u = [](uint64_t v) { return std::to_string(v); };
    auto d = [](double v) {
        char b[64];
        std::snprintf(b, sizeof b, "%.6g", v);
        return std::string(b);
    };
    std::string j = "{\n  \"seconds\": " + d(seconds) + ",\n  \"lanes\": " + u(lanes) + ",\n  \"sent\": {";
    for (size_t k = 0; k < gen::kFloodKinds; ++k)
        j += std::string(k ? ", " : "") + "\"" + std::string(gen::to_string(static_cast<gen::FloodKind>(k))) + "\": " +
             u(t.io.flood_sent[k]);
    j += ", \"client\": " + u(t.io.client_sent) + ", \"nearmiss_ack\": " + u(t.io.nearmiss_sent) + "},\n";
    j += "  \"flood_pps\": " + d(static_cast<double>(t.io.flood_total()) / seconds) + ",\n";
    j += "  \"received\": {\"frames\": " + u(t.io.rx) + ", \"flood_synacks\": " + u(t.io.flood_synacks) +
         ", \"flood_rsts\": " + u(t.io.flood_rsts) + ", \"other\": " + u(t.io.rx_other) + ", \"client_synacks\": " +
         u(t.c.synacks) + "},\n";
    j += "  \"synack_pps\": " + d(static_cast<double>(t.io.flood_synacks + t.c.synacks) / seconds) + ",\n";
    j += "  \"tx_refused\": " + u(t.io.tx_refused) + ",\n  \"no_mbuf\": " + u(t.io.no_mbuf) + ",\n";
    j += "  \"clients\": {\"first_data_bytes\": " + u(first_data_bytes) + ", \"attempts\": " + u(t.c.attempts) +
         ", \"completed\": " + u(t.c.completed) +
         ", \"failed\": " + u(t.c.failed) + ", \"syn_retransmits\": " + u(t.c.syn_retransmits) +
         ", \"resets\": " + u(t.c.resets) + ", \"bad_synacks\": " + u(t.c.bad_synacks) + ", \"stale\": " + u(t.c.stale) + ", \"success_ratio\": " +
         d(success_ratio(t.c)) + ", \"handshakes_per_s\": " + d(static_cast<double>(t.c.completed) / seconds) +
         ",\n    \"latency_us\": {\"p50\": " + d(static_cast<double>(t.lat.quantile(0.5)) / 1e3) +
         ", \"p99\": " + d(static_cast<double>(t.lat.quantile(0.99)) / 1e3) + ", \"p999\": " +
         d(static_cast<double>(t.lat.quantile(0.999)) / 1e3) + ", \"max\": " + d(static_cast<double>(t.lat.max()) / 1e3) +
         "}},\n";
    j += "  \"server\": {\"rx\": " + u(t.server.rx) + ", \"syns\": " + u(t.server.syns) + ", \"syns_per_s\": " +
         d(static_cast<double>(t.server.syns) / seconds) + ", \"data\": " + u(t.server.data) + ", \"data_bytes\": " +
         u(t.server.data_bytes) + ", \"fins\": " + u(t.server.fins) + ", \"ignored\": " + u(t.server.ignored) +
         ", \"tx_refused\": " + u(t.server_tx_refused) + "}\n}\n";
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    // Our usage, not the EAL's, for --help anywhere; --help-eal asks the EAL for its own.
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s\n", gen::gen_usage().c_str());
            return 0;
        }
        if (a == "--version") {
            std::printf("%s %s\n", "synwall-gen", SYNWALL_VERSION);
            return 0;
        }
        if (a == "--help-eal") argv[i] = const_cast<char*>("--help");
    }
    std::vector<std::string> eal_args(argv, argv + argc);
    std::string err;
    auto eal = dpdk::Eal::start(eal_args, err);
    if (!eal) die(err);
    std::vector<std::string> rest;
    for (int i = eal->consumed() + 1; i < argc; ++i) rest.emplace_back(argv[i]);
    if (!rest.empty() && rest[0] == "--") rest.erase(rest.begin());
    auto opt = gen::parse_gen_options(rest, err);
    if (!opt) die(err + "\n" + gen::gen_usage());

    std::vector<unsigned> lcores;
    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    const bool inline_main = lcores.empty();
    const size_t nlanes = inline_main ? 1 : lcores.size();

    uint16_t port = 0;
    if (const std::string e = dpdk::open_device(opt->port, port); !e.empty()) die("--port: " + e);
    const unsigned nmbufs = static_cast<unsigned>(8192 * nlanes + 4096);
    rte_mempool* pool = rte_pktmbuf_pool_create("gen_pool", nmbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) die("cannot allocate " + std::to_string(nmbufs) + " mbufs (memory: -m / hugepages)");
    dpdk::PortSetup setup;
    setup.rx_queues = setup.tx_queues = static_cast<uint16_t>(nlanes);
    setup.rss = nlanes > 1;
    if (const std::string e = dpdk::start_port(port, setup, pool); !e.empty()) die("--port: " + e);

    uint16_t respond_port = 0;
    const bool respond = !opt->respond_port.empty();
    if (respond) {
        if (const std::string e = dpdk::open_device(opt->respond_port, respond_port); !e.empty()) die("--respond: " + e);
        if (const std::string e = dpdk::start_port(respond_port, setup, pool); !e.empty()) die("--respond: " + e);
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // Nothing is sent before the link is up (a memif peer connects after start): frames sent into
    // a down link are lost, and the clients' first SYNs would wait out a 1 s retransmit.
    auto link_up = [](uint16_t p) {
        rte_eth_link link{};
        return rte_eth_link_get_nowait(p, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
    };
    for (int i = 0; i < 300; ++i) {
        if (link_up(port) && (!respond || link_up(respond_port))) break;
        if (i == 299) std::fprintf(stderr, "synwall-gen: --port: link still down after 30 s; sending anyway\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (g_stop.load()) break;
    }

    // Clients split over the lanes; flood rate too.
    const Clock clock;
    std::vector<std::unique_ptr<Lane>> lanes;
    uint32_t first = 0;
    for (size_t i = 0; i < nlanes; ++i) {
        auto lane = std::make_unique<Lane>();
        lane->lcore = inline_main ? rte_get_main_lcore() : lcores[i];
        dpdk::GenLaneConfig c;
        c.port = port;
        c.queue = static_cast<uint16_t>(i);
        c.burst = opt->burst;
        c.flood = opt->flood_on;
        c.flood_pps = opt->flood_pps ? std::max<uint64_t>(1, opt->flood_pps / nlanes) : 0;
        c.flood_replies = opt->flood_replies;
        gen::ClientSpec cs = opt->clients;
        cs.first = first;
        cs.clients = static_cast<uint32_t>(opt->clients.clients / nlanes + (i < opt->clients.clients % nlanes ? 1 : 0));
        first += cs.clients;
        lane->gen = std::make_unique<dpdk::GenLane>(c, pool, opt->flood, cs, opt->seed + i * 0x9e3779b9ull, clock.now());
        if (respond)
            lane->responder = std::make_unique<dpdk::ResponderLane>(respond_port, static_cast<uint16_t>(i), opt->burst,
                                                                    opt->seed * 0x2545f4914f6cdd1dull + 1, opt->respond_bytes);
        lanes.push_back(std::move(lane));
    }

    std::printf("synwall-gen: port %u, %zu lane(s)%s, flood %s%s, %u client(s)\n", port, nlanes,
                inline_main ? " (on the main lcore)" : "", opt->flood_on ? "on" : "off",
                opt->flood_on ? (opt->flood_pps ? (" at " + std::to_string(opt->flood_pps) + " pps").c_str() : " at full speed") : "",
                opt->clients.clients);
    std::fflush(stdout);
    if (!inline_main)
        for (auto& l : lanes) rte_eal_remote_launch(lane_main, l.get(), l->lcore);

    const uint64_t start = clock.now();
    const uint64_t period = static_cast<uint64_t>(opt->stats_period_s * 1e9);
    const uint64_t end = opt->duration_s > 0 ? start + static_cast<uint64_t>(opt->duration_s * 1e9) : UINT64_MAX;
    uint64_t next = start + period, last = start;
    Totals prev;
    while (!g_stop.load(std::memory_order_relaxed)) {
        uint64_t now = clock.now();
        if (inline_main) {
            lanes[0]->poll(now);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            now = clock.now();
        }
        if (now >= next) {
            const Totals t = totals(lanes, false);
            const double dt = static_cast<double>(now - last) / 1e9;
            auto rate = [dt](uint64_t a, uint64_t b) { return static_cast<double>(a - b) / dt; };
            std::printf("tx %8.3f Mpps (flood %8.3f) | rx %8.3f Mpps (SYN-ACK to flood %8.3f) | clients %9.0f hs/s, "
                        "ok %llu, failed %llu, retrans %llu | refused %llu\n",
                        rate(t.io.flood_total() + t.io.client_sent + t.io.nearmiss_sent,
                             prev.io.flood_total() + prev.io.client_sent + prev.io.nearmiss_sent) / 1e6,
                        rate(t.io.flood_total(), prev.io.flood_total()) / 1e6, rate(t.io.rx, prev.io.rx) / 1e6,
                        rate(t.io.flood_synacks, prev.io.flood_synacks) / 1e6, rate(t.c.completed, prev.c.completed),
                        static_cast<unsigned long long>(t.c.completed), static_cast<unsigned long long>(t.c.failed),
                        static_cast<unsigned long long>(t.c.syn_retransmits),
                        static_cast<unsigned long long>(t.io.tx_refused));
            std::fflush(stdout);
            prev = t;
            last = now;
            next += period;
        }
        if (now >= end || (opt->flood_count && totals(lanes, false).io.flood_total() >= opt->flood_count))
            g_stop.store(true);
    }
    rte_eal_mp_wait_lcore();
    const double seconds = static_cast<double>(clock.now() - start) / 1e9;
    const Totals t = totals(lanes, true);
    std::printf("summary: %.2f s, flood sent %llu (%.3f Mpps), SYN-ACKs to the flood %llu (%.3f Mpps); clients: %llu "
                "handshakes, %llu failed, success %.4f %%, latency p50 %.1f us p99 %.1f us p99.9 %.1f us\n",
                seconds, static_cast<unsigned long long>(t.io.flood_total()),
                static_cast<double>(t.io.flood_total()) / seconds / 1e6, static_cast<unsigned long long>(t.io.flood_synacks),
                static_cast<double>(t.io.flood_synacks) / seconds / 1e6, static_cast<unsigned long long>(t.c.completed),
                static_cast<unsigned long long>(t.c.failed), 100.0 * success_ratio(t.c),
                static_cast<double>(t.lat.quantile(0.5)) / 1e3, static_cast<double>(t.lat.quantile(0.99)) / 1e3,
                static_cast<double>(t.lat.quantile(0.999)) / 1e3);
    if (!opt->json.empty())
        std::ofstream(opt->json) << summary_json(t, seconds, lanes.size(), opt->clients.first_data.size());
    std::fflush(stdout);
    // A memif peer that is still polling when we disconnect can crash in DPDK 22.11's memif PMD:
    // give it time to stop first (scripts end synwall inside this window).
    if (opt->linger_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(opt->linger_s));
    lanes.clear();
    dpdk::stop_port(port);
    if (respond) dpdk::stop_port(respond_port);
    rte_mempool_free(pool);
    return 0;
}
