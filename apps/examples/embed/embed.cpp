// synwall-embed: a DPDK application that embeds synwall's handshake engine. It owns its port and
// its rx loop; synwall answers the TCP handshakes of each burst (SYN queue, SYN cookies, SYN-ACK
// retransmits); on an application lcore a small HTTP server (HelloApp) answers every new
// connection with "200 OK" and a FIN. Frames that are not synwall's come back to the application:
// here it answers ARP for its address, so a Linux host on the link reaches it with no static
// neighbour entry.
//
//   synwall-embed -l 0-1 --no-huge -m 512 --no-pci --vdev net_af_packet0,iface=veth0,qpairs=2 \
//       -- --address 10.78.0.1 [--tcp-port 80] [--seconds S]
//
// Lcores: the main lcore polls the port and runs synwall; the next one runs the application.
// SIGINT/SIGTERM stop it; it prints how many connections it answered. docs/embedding.md walks
// through it.
#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dpdk/app_core.hpp"
#include "dpdk/mbuf_burst.hpp"
#include "dpdk/wall_clock.hpp"
#include "handshake/worker.hpp"
#include "hello_app.hpp"
#include "synwall_version.hpp"

using namespace synwall;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

int fail(const std::string& why) {
    std::fprintf(stderr, "synwall-embed: %s\n", why.c_str());
    return 2;
}

// The embedder's own port set-up: two tx queues (the main lcore's, the application's) and as many
// rx queues, all polled by the main lcore (net_af_packet spreads what it receives over its queue
// pairs).
constexpr uint16_t kQueues = 2;

bool start_port(uint16_t port, rte_mempool* pool) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, kQueues, kQueues, &conf) != 0) return false;
    uint16_t rxd = 1024, txd = 1024;
    if (rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd) != 0) return false;
    const int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < kQueues; ++q)
        if (rte_eth_rx_queue_setup(port, q, rxd, socket, nullptr, pool) != 0) return false;
    for (uint16_t q = 0; q < kQueues; ++q)
        if (rte_eth_tx_queue_setup(port, q, txd, socket, nullptr) != 0) return false;
    if (rte_eth_dev_start(port) != 0) return false;
    rte_eth_promiscuous_enable(port);
    return true;
}

// An ARP request for our address, answered in its own buffer. False: not one (the caller frees it).
bool answer_arp(rte_mbuf* m, uint32_t our_ip_be, const rte_ether_addr& our_mac) {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return false;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) return false;
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || arp->arp_data.arp_tip != our_ip_be) return false;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    arp->arp_data.arp_sha = our_mac;
    arp->arp_data.arp_sip = our_ip_be;
    eth->dst_addr = eth->src_addr;
    eth->src_addr = our_mac;
    return true;
}

void send_all(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint32_t n) {
    const uint16_t sent = rte_eth_tx_burst(port, queue, pkts, static_cast<uint16_t>(n));
    for (uint32_t i = sent; i < n; ++i) rte_pktmbuf_free(pkts[i]);
}

struct AppLcore {
    dpdk::AppCore* core;
};

int app_main(void* arg) {
    dpdk::AppCore& core = *static_cast<AppLcore*>(arg)->core;
    const dpdk::WallClock clock;
    while (!g_stop.load(std::memory_order_relaxed)) core.poll(clock.now());
    core.flush();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const int used = rte_eal_init(argc, argv);
    if (used < 0) return fail(std::string("EAL: ") + rte_strerror(rte_errno));
    std::string address;
    unsigned long tcp_port = 80;
    double seconds = 0;
    for (int i = used + 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--version") {
            std::printf("synwall-embed on synwall %s\n", SYNWALL_VERSION);
            return 0;
        }
        if (i + 1 >= argc) return fail("missing value for " + a);
        const std::string v = argv[++i];
        char* end = nullptr;
        if (a == "--address") {
            address = v;
        } else if (a == "--tcp-port") {
            tcp_port = std::strtoul(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0') return fail("bad value for --tcp-port: '" + v + "'");
        } else if (a == "--seconds") {
            seconds = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || seconds < 0) return fail("bad value for --seconds: '" + v + "'");
        } else {
            return fail("unknown option '" + a + "'");
        }
    }
    in_addr ip{};
    if (inet_pton(AF_INET, address.c_str(), &ip) != 1) return fail("--address A.B.C.D is required");
    if (tcp_port == 0 || tcp_port > 65535) return fail("--tcp-port must be 1..65535");
    if (rte_eth_dev_count_avail() != 1) return fail("give the EAL exactly one port (--vdev or a PCI device)");
    const unsigned app_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    if (app_lcore >= RTE_MAX_LCORE) return fail("give the EAL two lcores (-l 0-1): the rx loop and the application");

    const uint16_t port = 0;
    rte_mempool* pool = rte_pktmbuf_pool_create("embed", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr || !start_port(port, pool)) return fail("cannot start port 0");
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port, &mac);

    // synwall: one listener, the engine's defaults, a random cookie key.
    handshake::ListenerConfig listener;
    listener.name = "http";
    listener.family = net::Family::kIpv4;
    std::memcpy(listener.addr.data(), &ip, 4);
    listener.prefix_len = 32;
    listener.port = static_cast<uint16_t>(tcp_port);
    handshake::EngineConfig engine;
    cookie::SecretConfig secrets;
    secrets.prf = cookie::best_prf();
    secrets.master = cookie::random_master_key();
    auto listeners = std::make_shared<const handshake::ListenerTable>(std::vector{listener});
    handshake::Worker worker(engine, listeners, secrets, dpdk::WallClock::system_ns());
    dpdk::MbufBurst burst(worker, pool);

    // The application lcore: established connections from the worker's accept queue, the later
    // packets of their flows through `flows`, the flows it closed back through `closes`.
    rte_ring* flows = dpdk::create_flow_ring("embed_flows", 4 * handshake::kMaxBurst, static_cast<int>(rte_socket_id()));
    rte_ring* closes = dpdk::create_close_ring("embed_closes", engine.established_capacity, static_cast<int>(rte_socket_id()));
    if (flows == nullptr || closes == nullptr) return fail("cannot allocate the rings");
    embed::HelloApp hello(engine.established_capacity);
    auto core = std::make_unique<dpdk::AppCore>(std::vector<dpdk::AppLink>{{&worker, closes, flows, &hello}}, pool,
                                                std::vector<dpdk::PortBinding>{{port, 0, 1, -1}}, 32);
    AppLcore app{core.get()};

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    rte_eal_remote_launch(app_main, &app, app_lcore);
    std::printf("synwall-embed: ready, HTTP on %s:%lu (synwall %s)\n", address.c_str(), tcp_port, SYNWALL_VERSION);
    std::fflush(stdout);

    const dpdk::WallClock clock;
    const uint64_t end = seconds > 0 ? clock.now() + static_cast<uint64_t>(seconds * 1e9) : UINT64_MAX;
    rte_mbuf* rx[handshake::kMaxBurst];
    dpdk::MbufBurstResult out;
    uint64_t arp_answered = 0;
    uint16_t queue = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        const uint64_t now = clock.now();
        if (now >= end) break;
        const uint16_t n = rte_eth_rx_burst(port, queue, rx, handshake::kMaxBurst);
        queue = static_cast<uint16_t>((queue + 1) % kQueues);
        out.clear();
        burst.process(rx, n, now, out);
        burst.run_timers(now, out);
        send_all(port, 0, out.tx, out.n_tx);
        // Not synwall's: ARP for us is answered, the rest is not this example's business.
        for (uint32_t i = 0; i < out.n_pass; ++i) {
            if (answer_arp(out.pass[i], ip.s_addr, mac)) {
                ++arp_answered;
                send_all(port, 0, &out.pass[i], 1);
            } else {
                rte_pktmbuf_free(out.pass[i]);
            }
        }
        dpdk::hand_over_flows(flows, {out.flow, out.n_flow});
        dpdk::forget_closed_flows(worker, closes);
    }
    g_stop.store(true);
    rte_eal_mp_wait_lcore();
    core.reset();  // frees what the application lcore still holds
    handshake::Connection c;
    while (worker.accept(0, c)) rte_pktmbuf_free(static_cast<rte_mbuf*>(c.packet.owner));
    const handshake::Counters& k = worker.counters();
    std::printf("synwall-embed: %lu connections accepted, %lu answered with 200 OK; PassiveOpens %lu, "
                "SyncookiesSent %lu; %lu ARP requests answered\n",
                static_cast<unsigned long>(hello.accepted()), static_cast<unsigned long>(hello.answered()),
                static_cast<unsigned long>(k[handshake::kEstablished]),
                static_cast<unsigned long>(k[handshake::kSyncookiesSent]), static_cast<unsigned long>(arp_answered));
    rte_ring_free(flows);
    rte_ring_free(closes);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return 0;
}
