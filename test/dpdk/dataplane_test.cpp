// The DPDK layer in-process: EAL with --no-huge, a port made of two rte_rings (net_ring), and the
// PortWorker driving the engine. The test plays the wire: it enqueues client frames in mbufs on
// the port's rx ring and dequeues what synwall transmits from its tx ring.
// After every test the mempool's in-use count is back where it started: no mbuf leaks.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <memory>
#include <rte_pause.h>

#include "config/appliance_config.hpp"
#include "dpdk/appliance.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/mbuf_packet.hpp"
#include "dpdk/port.hpp"
#include "app/absorb.hpp"
#include "dpdk/app_core.hpp"
#include "dpdk/gen_lane.hpp"
#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"
#include "packet_factory.hpp"

using namespace synwall;
using namespace synwall::handshake;
namespace pf = synwall::testing;

namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'790'000'000ull * kSec;

std::unique_ptr<dpdk::Eal> g_eal;
rte_mempool* g_pool = nullptr;

class EalEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        std::string err;
        const std::string prefix = "--file-prefix=synwall-test-" + std::to_string(getpid());
        g_eal = dpdk::Eal::start({"synwall-dataplane-test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                  "--lcores=0@0,1@0", prefix, "--log-level=lib.eal:error"},
                                 err);
        ASSERT_TRUE(g_eal) << err;
        g_pool = rte_pktmbuf_pool_create("test_pool", 4095, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        ASSERT_NE(g_pool, nullptr);
    }
    void TearDown() override {
        rte_mempool_free(g_pool);
        g_eal.reset();
        std::filesystem::remove_all("/var/run/dpdk/synwall-test-" + std::to_string(getpid()));
    }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// A port whose rx ring the test fills and whose tx ring the test drains.
struct RingPort {
    rte_ring* to_synwall;
    rte_ring* from_synwall;
    uint16_t port;

    explicit RingPort(const std::string& name) {
        to_synwall = rte_ring_create((name + "_rx").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        from_synwall = rte_ring_create((name + "_tx").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        const int p = rte_eth_from_rings(name.c_str(), &to_synwall, 1, &from_synwall, 1, SOCKET_ID_ANY);
        EXPECT_GE(p, 0);
        port = static_cast<uint16_t>(p);
        EXPECT_EQ(dpdk::start_port(port, {}, g_pool), "");
    }
    ~RingPort() {
        drain();
        dpdk::stop_port(port);
        rte_ring_free(to_synwall);
        rte_ring_free(from_synwall);
    }
    void send(const std::vector<uint8_t>& frame) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        ASSERT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
        ASSERT_EQ(rte_ring_enqueue(to_synwall, m), 0);
    }
    // Everything synwall transmitted, as byte vectors (the mbufs are freed).
    std::vector<std::vector<uint8_t>> drain() {
        std::vector<std::vector<uint8_t>> out;
        void* obj;
        while (rte_ring_dequeue(from_synwall, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
            out.emplace_back(d, d + rte_pktmbuf_data_len(m));
            rte_pktmbuf_free(m);
        }
        return out;
    }
};

ListenerConfig listener(pf::Fam fam, CookieMode mode) {
    ListenerConfig l;
    l.family = fam == pf::Fam::v4 ? net::Family::kIpv4 : net::Family::kIpv6;
    l.port = 80;
    l.cookie_mode = mode;
    l.mss = fam == pf::Fam::v4 ? 1460 : 1440;
    return l;
}

pf::SegmentSpec client_syn(pf::Fam fam, uint16_t sport) {
    pf::SegmentSpec s;
    s.fam = fam;
    s.src = fam == pf::Fam::v4 ? pf::v4("198.51.100.7") : pf::v6("2001:db8:1::7");
    s.dst = fam == pf::Fam::v4 ? pf::v4("203.0.113.10") : pf::v6("2001:db8:2::10");
    s.sport = sport;
    s.seq = 1000u * sport;
    s.tcp_options = pf::tcp_options({.mss = 1400, .wscale = 7, .sack = true, .ts = true, .tsval = 42});
    return s;
}

// The client's third segment answering `synack` (timestamps echoed).
std::vector<uint8_t> client_ack(pf::SegmentSpec syn, const pf::FrameView& synack) {
    syn.flags = 0x10;
    syn.seq += 1;
    syn.ack = synack.seq() + 1;
    syn.tcp_options = pf::tcp_options({.ts = true, .tsval = 43, .tsecr = synack.options().tsval});
    return pf::build_frame(syn);
}

struct Rig {
    RingPort wire;
    std::unique_ptr<Worker> engine;
    app::Absorb absorb{{.close_with = app::CloseWith::kRst, .grace_ns = 0}};  // forgets at once
    std::unique_ptr<dpdk::WorkerLoop> pw;

    // closes: nullptr runs the application inline; else it runs on an application lcore (which
    // gets flow packets through `flows`, when given).
    // pool: where the worker allocates (SYN-ACK retransmits); the frames it receives come from the
    // test's g_pool either way.
    Rig(const std::string& name, std::vector<ListenerConfig> ls, rte_ring* closes = nullptr, rte_ring* flows = nullptr,
        const EngineConfig& ec = {}, rte_mempool* pool = nullptr)
        : wire(name) {
        cookie::SecretConfig sc;
        sc.master.fill(3);
        sc.prf = cookie::best_prf();
        engine = std::make_unique<Worker>(ec, std::make_shared<ListenerTable>(std::move(ls)), sc, kT0);
        dpdk::WorkerLoopConfig pc;
        pc.ports = {{wire.port, 0, 0}};
        pc.inline_app = closes ? nullptr : &absorb;
        pc.closes = closes;
        pc.flows = flows;
        pw = std::make_unique<dpdk::WorkerLoop>(*engine, pool ? pool : g_pool, pc);
    }
    std::vector<std::vector<uint8_t>> run(uint64_t now) {
        while (pw->poll(now) > 0) {
        }
        pw->flush();
        return wire.drain();
    }
};

class Dataplane : public ::testing::TestWithParam<std::tuple<pf::Fam, CookieMode>> {
protected:
    void TearDown() override {
        // Every mbuf handed to synwall came back: transmitted (and drained) or freed.
        EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
    }
};

TEST_P(Dataplane, SynBurstGetsSynAcksThenAcksBecomeConnections) {
    const auto [fam, mode] = GetParam();
    const std::string name = std::string("ring") + (fam == pf::Fam::v4 ? "4" : "6") + std::to_string(static_cast<int>(mode));
    {
        Rig rig(name, {listener(fam, mode)});
        constexpr int kClients = 40;  // more than one rx burst
        std::vector<pf::SegmentSpec> syns;
        for (int i = 0; i < kClients; ++i) {
            syns.push_back(client_syn(fam, static_cast<uint16_t>(2000 + i)));
            rig.wire.send(pf::build_frame(syns.back()));
        }
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), static_cast<size_t>(kClients));
        for (int i = 0; i < kClients; ++i) {
            const pf::FrameView r(synacks[i]);
            EXPECT_EQ(r.flags(), 0x12);
            EXPECT_EQ(r.ack(), syns[i].seq + 1);
            EXPECT_EQ(r.dport(), syns[i].sport);
            EXPECT_TRUE(r.ipv4_checksum_ok());
            EXPECT_TRUE(r.tcp_checksum_ok());
            rig.wire.send(client_ack(syns[i], r));
        }
        const auto closes = rig.run(kT0 + kSec / 10);
        // The absorb application accepted every connection and closed it with a RST.
        EXPECT_EQ(rig.pw->stats().accepted, static_cast<uint64_t>(kClients));
        EXPECT_EQ(rig.absorb.closed(), static_cast<uint64_t>(kClients));
        ASSERT_EQ(closes.size(), static_cast<size_t>(kClients));
        for (const auto& f : closes) {
            const pf::FrameView r(f);
            EXPECT_EQ(r.flags(), 0x14);  // RST|ACK
            EXPECT_TRUE(r.tcp_checksum_ok());
        }
        EXPECT_EQ(rig.engine->counters()[kEstablished], static_cast<uint64_t>(kClients));
        EXPECT_EQ(rig.engine->established(), 0u) << "absorbed flows are forgotten";
        EXPECT_EQ(rig.engine->counters()[kSyncookiesRecv], mode == CookieMode::kAlways ? kClients : 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(FamiliesAndModes, Dataplane,
                         ::testing::Combine(::testing::Values(pf::Fam::v4, pf::Fam::v6),
                                            ::testing::Values(CookieMode::kNever, CookieMode::kAlways)),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) == pf::Fam::v4 ? "v4" : "v6") +
                                    (std::get<1>(info.param) == CookieMode::kAlways ? "_cookie" : "_queue");
                         });

TEST(DataplaneTimers, SynAckRetransmitsUseMempoolBuffersWithAnInjectedClock) {
    {
        Rig rig("ringtimers", {listener(pf::Fam::v4, CookieMode::kNever)});
        const auto syn = client_syn(pf::Fam::v4, 3000);
        rig.wire.send(pf::build_frame(syn));
        const auto first = rig.run(kT0);
        ASSERT_EQ(first.size(), 1u);
        EXPECT_TRUE(rig.run(kT0 + kSec / 2).empty());
        const auto again = rig.run(kT0 + kSec + kSec / 10);
        ASSERT_EQ(again.size(), 1u);
        EXPECT_EQ(pf::FrameView(again[0]).seq(), pf::FrameView(first[0]).seq());
        EXPECT_TRUE(pf::FrameView(again[0]).tcp_checksum_ok());
        EXPECT_EQ(rig.engine->counters()[kSynAckRetrans], 1u);
        // Let it expire: 5 retransmits then removal at 63 s.
        for (int s = 2; s <= 64; ++s) rig.run(kT0 + static_cast<uint64_t>(s) * kSec);
        EXPECT_EQ(rig.engine->counters()[kSynAckRetrans], 5u);
        EXPECT_EQ(rig.engine->counters()[kReqExpired], 1u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// busy_ns counts the clock time of the iterations that received packets, not of empty polls.
TEST(DataplaneBusy, OnlyIterationsThatReceivedPacketsCountAsBusy) {
    {
        Rig rig("ringbusy", {listener(pf::Fam::v4, CookieMode::kAlways)});
        EXPECT_EQ(rig.pw->poll(kT0), 0u);
        EXPECT_EQ(rig.pw->poll(kT0 + 1000), 0u);
        EXPECT_EQ(rig.pw->stats().busy_ns, 0u) << "empty polls are idle";
        rig.wire.send(pf::build_frame(client_syn(pf::Fam::v4, 4000)));
        EXPECT_EQ(rig.pw->poll(kT0 + 2000), 1u);
        EXPECT_EQ(rig.pw->stats().busy_ns, 0u) << "an iteration ends at the next clock reading";
        EXPECT_EQ(rig.pw->poll(kT0 + 2700), 0u);
        EXPECT_EQ(rig.pw->stats().busy_ns, 700u) << "from the busy iteration's reading to the next";
        EXPECT_EQ(rig.pw->poll(kT0 + 9000), 0u);
        EXPECT_EQ(rig.pw->stats().busy_ns, 700u) << "the empty iteration after it stays idle";
        rig.pw->flush();
        EXPECT_EQ(rig.wire.drain().size(), 1u);  // its SYN-ACK
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

TEST(DataplaneRobustness, MalformedAndForeignFramesAreFreedAndCounted) {
    {
        Rig rig("ringbad", {listener(pf::Fam::v4, CookieMode::kAuto)});
        auto s = client_syn(pf::Fam::v4, 4000);
        s.corrupt_tcp_checksum = true;
        rig.wire.send(pf::build_frame(s));
        rig.wire.send({0x01, 0x02, 0x03});  // runt
        auto other = client_syn(pf::Fam::v4, 4001);
        other.dport = 22;  // no listener
        rig.wire.send(pf::build_frame(other));
        auto ack = client_syn(pf::Fam::v4, 4002);
        ack.flags = 0x10;
        rig.wire.send(pf::build_frame(ack));  // ACK matching nothing
        EXPECT_TRUE(rig.run(kT0).empty());
        EXPECT_EQ(rig.pw->stats().freed_drop, 3u);
        EXPECT_EQ(rig.pw->stats().freed_pass, 1u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

TEST(DataplaneRobustness, ShutdownWithConnectionsStillQueuedFreesTheirBuffers) {
    {
        Rig rig("ringshut", {listener(pf::Fam::v4, CookieMode::kAlways)});
        const auto syn = client_syn(pf::Fam::v4, 5000);
        rig.wire.send(pf::build_frame(syn));
        const auto sa = rig.run(kT0);
        ASSERT_EQ(sa.size(), 1u);
        // Feed the ACK straight to the engine (no poll, so no absorb): it waits in the accept queue.
        const auto f = client_ack(syn, pf::FrameView(sa[0]));
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
        net::Packet p = dpdk::to_packet(m);
        BurstOutput out;
        rig.engine->process_burst({&p, 1}, kT0, out);
        ASSERT_EQ(out.n_established, 1u);
    }  // ~WorkerLoop frees the queued connection's mbuf
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// Inline L2-transparent operation: what is not for the handshake crosses to the peer port
// unchanged (ARP, UDP, TCP to other services); SYNs to the listener are answered on their own port.
TEST(DataplaneBridge, NonHandshakeFramesCrossToThePeerPortUnchanged) {
    {
        RingPort a("bridgeA"), b("bridgeB");
        cookie::SecretConfig sc;
        sc.master.fill(5);
        sc.prf = cookie::best_prf();
        Worker engine(EngineConfig{}, std::make_shared<ListenerTable>(std::vector<ListenerConfig>{listener(pf::Fam::v4, CookieMode::kAlways)}), sc, kT0);
        app::Absorb absorb({.close_with = app::CloseWith::kRst, .grace_ns = 0});  // forgets at once
        dpdk::WorkerLoopConfig lc;
        lc.ports = {{a.port, 0, 0, b.port}, {b.port, 0, 0, a.port}};
        lc.inline_app = &absorb;
        {
            dpdk::WorkerLoop loop(engine, g_pool, lc);
            std::vector<uint8_t> arp(60, 0);
            std::fill(arp.begin(), arp.begin() + 6, 0xff);
            arp[12] = 0x08;
            arp[13] = 0x06;
            arp[20] = 1;
            auto other = client_syn(pf::Fam::v4, 7000);
            other.dport = 22;
            const auto other_frame = pf::build_frame(other);
            a.send(arp);
            a.send(other_frame);
            a.send(pf::build_frame(client_syn(pf::Fam::v4, 7001)));
            b.send(arp);  // and the other way
            while (loop.poll(kT0) > 0) {
            }
            loop.flush();
            const auto out_a = a.drain(), out_b = b.drain();
            ASSERT_EQ(out_b.size(), 2u);
            EXPECT_EQ(out_b[0], arp);
            EXPECT_EQ(out_b[1], other_frame);
            ASSERT_EQ(out_a.size(), 2u);  // the SYN-ACK, and B's ARP bridged back
            EXPECT_EQ(pf::FrameView(out_a[0]).flags(), 0x12);
            EXPECT_EQ(out_a[1], arp);
            EXPECT_EQ(loop.stats().bridged, 3u);
        }
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// The application on its own lcore: connections cross from the worker (accept queue, SPSC) to
// the application lcore, which closes them on its own tx queue and sends the closed flow ids back
// through an element ring; the worker forgets them.
std::atomic<bool> g_app_stop{false};

int app_lcore_main(void* arg) {
    auto* core = static_cast<dpdk::AppCore*>(arg);
    while (!g_app_stop.load(std::memory_order_relaxed)) core->poll(kT0);
    core->flush();
    return 0;
}

TEST(DataplaneAppLcore, ConnectionsCrossToTheApplicationLcoreAndClosesComeBack) {
    {
        rte_ring* closes = dpdk::create_close_ring("closes_t", 1024, SOCKET_ID_ANY);
        ASSERT_NE(closes, nullptr);
        Rig rig("ringapp", {listener(pf::Fam::v4, CookieMode::kAlways)}, closes);
        // The application lcore transmits on the same ring port (net_ring has one tx queue: the
        // test polls worker and app strictly one after the other on it).
        app::Absorb absorb({.close_with = app::CloseWith::kRst, .grace_ns = 0});  // forgets at once
        dpdk::AppCore core({{rig.engine.get(), closes, nullptr, &absorb}}, g_pool, {{rig.wire.port, 0, 0}}, 32);
        constexpr int kClients = 50;
        std::vector<pf::SegmentSpec> syns;
        for (int i = 0; i < kClients; ++i) {
            syns.push_back(client_syn(pf::Fam::v4, static_cast<uint16_t>(6000 + i)));
            rig.wire.send(pf::build_frame(syns.back()));
        }
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), static_cast<size_t>(kClients));
        for (int i = 0; i < kClients; ++i) {
            rig.wire.send(client_ack(syns[i], pf::FrameView(synacks[i])));
        }
        EXPECT_TRUE(rig.run(kT0).empty()) << "the worker no longer closes connections itself";
        EXPECT_EQ(rig.engine->established(), static_cast<uint32_t>(kClients));
        // Now the application lcore runs: it drains the accept queue from another thread.
        g_app_stop = false;
        ASSERT_EQ(rte_eal_remote_launch(app_lcore_main, &core, 1), 0);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (core.stats().accepted < kClients && std::chrono::steady_clock::now() < deadline) rte_pause();
        g_app_stop = true;
        rte_eal_wait_lcore(1);
        EXPECT_EQ(core.stats().accepted, static_cast<uint64_t>(kClients));
        EXPECT_EQ(absorb.closed(), static_cast<uint64_t>(kClients));
        const auto rsts = rig.wire.drain();
        ASSERT_EQ(rsts.size(), static_cast<size_t>(kClients));
        for (const auto& f : rsts) EXPECT_EQ(pf::FrameView(f).flags(), 0x14);
        // The worker's next loop forgets the closed flows.
        rig.run(kT0);
        EXPECT_EQ(rig.engine->established(), 0u);
        rte_ring_free(closes);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// The application lcore stalls (descheduled, stuck in a slow call) while handshakes keep
// completing: the accept queue fills to its backlog and stops there, the completing ACKs beyond it
// are dropped and counted (ListenOverflows, the listener's OverflowDrops), and only the queued
// connections hold buffers. Once the lcore resumes it drains the queue, and the dropped clients'
// ACKs (their retransmits, or their first data, which carry the same acknowledgment) complete:
// nobody is lost for good.
std::atomic<bool> g_app_paused{false};

int pausable_app_main(void* arg) {
    auto* core = static_cast<dpdk::AppCore*>(arg);
    while (!g_app_stop.load(std::memory_order_relaxed))
        if (!g_app_paused.load(std::memory_order_relaxed)) core->poll(kT0);
    core->flush();
    return 0;
}

TEST(DataplaneReliability, AcceptQueueOverflowWhileTheApplicationLcoreStallsThenRecovers) {
    {
        constexpr uint32_t kBacklog = 16, kClients = 48;
        rte_ring* closes = dpdk::create_close_ring("closes_stall", 1024, SOCKET_ID_ANY);
        ASSERT_NE(closes, nullptr);
        ListenerConfig l = listener(pf::Fam::v4, CookieMode::kAlways);
        l.backlog = kBacklog;
        Rig rig("ringstall", {l}, closes);
        app::Absorb absorb({.close_with = app::CloseWith::kRst, .grace_ns = 0});
        dpdk::AppCore core({{rig.engine.get(), closes, nullptr, &absorb}}, g_pool, {{rig.wire.port, 0, 0}}, 32);
        g_app_stop = false;
        g_app_paused = true;  // stalled from the start
        ASSERT_EQ(rte_eal_remote_launch(pausable_app_main, &core, 1), 0);
        std::vector<pf::SegmentSpec> syns;
        for (uint32_t i = 0; i < kClients; ++i) {
            syns.push_back(client_syn(pf::Fam::v4, static_cast<uint16_t>(7000 + i)));
            rig.wire.send(pf::build_frame(syns.back()));
        }
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), kClients);
        std::vector<std::vector<uint8_t>> acks;
        for (uint32_t i = 0; i < kClients; ++i) acks.push_back(client_ack(syns[i], pf::FrameView(synacks[i])));
        for (const auto& a : acks) rig.wire.send(a);
        EXPECT_TRUE(rig.run(kT0).empty()) << "overflow drops silently (abort_on_overflow off)";
        const Counters& c = rig.engine->counters();
        EXPECT_EQ(c[kEstablished], kBacklog);
        EXPECT_EQ(c[kListenOverflows], kClients - kBacklog);
        EXPECT_EQ(rig.engine->listener_figures(0).overflow_drops, kClients - kBacklog);
        EXPECT_EQ(rte_mempool_in_use_count(g_pool), kBacklog) << "only the queued connections hold buffers";
        // More ACKs while stalled change nothing: the queue stays at its bound.
        for (uint32_t i = kBacklog; i < kClients; ++i) rig.wire.send(acks[i]);
        rig.run(kT0);
        EXPECT_EQ(c[kEstablished], kBacklog);
        EXPECT_EQ(c[kListenOverflows], 2 * (kClients - kBacklog));
        EXPECT_EQ(rte_mempool_in_use_count(g_pool), kBacklog);
        const uint64_t overflows = c[kListenOverflows];

        g_app_paused = false;  // the lcore resumes and drains the queue
        auto wait_accepted = [&](uint64_t n) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (core.stats().accepted < n && std::chrono::steady_clock::now() < deadline) rte_pause();
            return core.stats().accepted;
        };
        EXPECT_EQ(wait_accepted(kBacklog), kBacklog);
        g_app_paused = true;  // one tx queue on net_ring: worker and application take turns
        rte_delay_us_block(1000);
        rig.wire.drain();
        rig.run(kT0);  // the worker forgets the closed flows
        // The clients whose ACKs were dropped send them again, a backlog's worth at a time while
        // the application keeps pace: now they complete.
        for (uint32_t from = kBacklog; from < kClients; from += kBacklog) {
            for (uint32_t i = from; i < from + kBacklog; ++i) rig.wire.send(acks[i]);
            rig.run(kT0);
            EXPECT_EQ(c[kEstablished], from + kBacklog);
            g_app_paused = false;
            EXPECT_EQ(wait_accepted(from + kBacklog), from + kBacklog);
            g_app_paused = true;
            rte_delay_us_block(1000);
            rig.run(kT0);
        }
        EXPECT_EQ(c[kListenOverflows], overflows) << "no overflow once the application keeps pace";
        g_app_stop = true;
        rte_eal_wait_lcore(1);
        EXPECT_EQ(absorb.closed(), kClients);
        rig.wire.drain();
        rig.run(kT0);
        EXPECT_EQ(rig.engine->established(), 0u);
        rte_ring_free(closes);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// The worker's own pool runs dry (sized too small on purpose): SYN-ACK retransmits that find no
// buffer are counted (RetransNoBuffer), nothing crashes or leaks, the requests stay, and once
// buffers come back the next retransmits go out and the clients' ACKs complete.
TEST(DataplaneReliability, AnExhaustedPoolIsCountedAndRecoveredFrom) {
    rte_mempool* tiny = rte_pktmbuf_pool_create("tiny_pool", 8, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(tiny, nullptr);
    {
        constexpr uint32_t kClients = 40;
        Rig rig("ringtiny", {listener(pf::Fam::v4, CookieMode::kNever)}, nullptr, nullptr, {}, tiny);
        std::vector<pf::SegmentSpec> syns;
        for (uint32_t i = 0; i < kClients; ++i) {
            syns.push_back(client_syn(pf::Fam::v4, static_cast<uint16_t>(8000 + i)));
            rig.wire.send(pf::build_frame(syns.back()));
        }
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), kClients);
        EXPECT_EQ(rig.engine->half_open(), kClients);
        // The first retransmit round: 8 buffers for 40 requests. The test leaves the 8 frames in
        // the tx ring for now, so the pool stays empty.
        while (rig.pw->poll(kT0 + kSec + kSec / 10) > 0) {
        }
        rig.pw->flush();
        const Counters& c = rig.engine->counters();
        EXPECT_EQ(c[kSynAckRetrans], 8u);
        EXPECT_EQ(c[kRetransNoBuffer], kClients - 8);
        EXPECT_EQ(rte_mempool_avail_count(tiny), 0u);
        EXPECT_EQ(rig.engine->half_open(), kClients) << "a request without a buffer is not dropped";
        // Buffers come back (the wire took the frames); the next round goes out again.
        EXPECT_EQ(rig.wire.drain().size(), 8u);
        EXPECT_EQ(rte_mempool_avail_count(tiny), 8u);
        const auto later = rig.run(kT0 + 3 * kSec + kSec / 2);
        EXPECT_GT(later.size(), 0u);
        EXPECT_GT(c[kSynAckRetrans], 8u);
        // Every client's ACK to the SYN-ACK it got completes.
        for (uint32_t i = 0; i < kClients; ++i) rig.wire.send(client_ack(syns[i], pf::FrameView(synacks[i])));
        rig.run(kT0 + 3 * kSec + kSec / 2);
        EXPECT_EQ(c[kEstablished], kClients);
        EXPECT_EQ(rig.engine->half_open(), 0u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(tiny), 0u);
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
    rte_mempool_free(tiny);
}

// Later packets of established flows follow their connection to the application lcore, in order
// and after on_accept; the flows the application closes are forgotten by the worker.
class KeepFlows final : public app::Application {
public:
    struct Seen {
        uint32_t flow;
        std::vector<uint8_t> payload;
        bool fin;
        bool accepted_before;  // on_accept had already run for this flow
    };
    app::Disposition on_accept(Connection& c, app::AppIo&) noexcept override {
        accepted_.push_back(c.flow);
        return app::Disposition::free();
    }
    app::Disposition on_packet(net::Packet& p, app::FlowRef ref, app::AppIo& io) noexcept override {
        const uint32_t flow = ref.flow;
        const pf::FrameView f({p.data, p.data + p.len});
        const size_t off = f.l4 + f.tcp_header_len();
        const bool fin = (f.flags() & 0x01) != 0;
        const bool known = std::find(accepted_.begin(), accepted_.end(), flow) != accepted_.end();
        seen_.push_back({flow, {f.bytes.begin() + static_cast<long>(off), f.bytes.begin() + static_cast<long>(f.l4 + f.tcp_length())}, fin, known});
        if (fin) io.close_flow(flow);
        return app::Disposition::free();
    }
    std::vector<uint32_t> accepted_;
    std::vector<Seen> seen_;
};

int keep_flows_main(void* arg) { return app_lcore_main(arg); }

TEST(DataplaneAppLcore, FlowPacketsFollowTheirConnectionToTheApplicationLcore) {
    {
        rte_ring* closes = dpdk::create_close_ring("closes_f", 1024, SOCKET_ID_ANY);
        rte_ring* flows = dpdk::create_flow_ring("flows_f", 1024, SOCKET_ID_ANY);
        ASSERT_NE(closes, nullptr);
        ASSERT_NE(flows, nullptr);
        Rig rig("ringflow", {listener(pf::Fam::v4, CookieMode::kNever)}, closes, flows);
        KeepFlows app;
        dpdk::AppCore core({{rig.engine.get(), closes, flows, &app}}, g_pool, {{rig.wire.port, 0, 0}}, 32);
        constexpr int kClients = 20;
        std::vector<pf::SegmentSpec> syns;
        for (int i = 0; i < kClients; ++i) {
            syns.push_back(client_syn(pf::Fam::v4, static_cast<uint16_t>(7000 + i)));
            rig.wire.send(pf::build_frame(syns.back()));
        }
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), static_cast<size_t>(kClients));
        // Each client: its ACK, then "hello <i>" and a FIN, all in one rx burst per client.
        for (int i = 0; i < kClients; ++i) {
            const pf::FrameView sa(synacks[i]);
            rig.wire.send(client_ack(syns[i], sa));
            pf::SegmentSpec d = syns[i];
            d.flags = 0x18;  // PSH|ACK
            d.seq += 1;
            d.ack = sa.seq() + 1;
            d.tcp_options.clear();
            const std::string text = "hello " + std::to_string(i);
            d.payload.assign(text.begin(), text.end());
            rig.wire.send(pf::build_frame(d));
            d.flags = 0x11;  // FIN|ACK
            d.seq += static_cast<uint32_t>(text.size());
            d.payload.clear();
            rig.wire.send(pf::build_frame(d));
        }
        EXPECT_TRUE(rig.run(kT0).empty());
        EXPECT_EQ(rig.pw->stats().flow_packets, 2u * kClients);
        EXPECT_EQ(rig.engine->established(), static_cast<uint32_t>(kClients));
        g_app_stop = false;
        ASSERT_EQ(rte_eal_remote_launch(keep_flows_main, &core, 1), 0);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (core.stats().flow_delivered < 2u * kClients && std::chrono::steady_clock::now() < deadline) rte_pause();
        g_app_stop = true;
        rte_eal_wait_lcore(1);
        ASSERT_EQ(app.accepted_.size(), static_cast<size_t>(kClients));
        ASSERT_EQ(app.seen_.size(), 2u * kClients);
        for (int i = 0; i < kClients; ++i) {
            const auto& data = app.seen_[2 * i];
            const auto& fin = app.seen_[2 * i + 1];
            const std::string text = "hello " + std::to_string(i);
            EXPECT_EQ(data.flow, app.accepted_[i]) << "client " << i;
            EXPECT_EQ(std::string(data.payload.begin(), data.payload.end()), text);
            EXPECT_FALSE(data.fin);
            EXPECT_TRUE(data.accepted_before);
            EXPECT_EQ(fin.flow, app.accepted_[i]);
            EXPECT_TRUE(fin.fin);
        }
        // The FINs closed every flow: the worker's next loop forgets them.
        rig.run(kT0);
        EXPECT_EQ(rig.engine->established(), 0u);
        rte_ring_free(closes);
        rte_ring_free(flows);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// A full flow ring: what does not fit is freed and counted, never leaked.
TEST(DataplaneAppLcore, AFullFlowRingFreesAndCounts) {
    {
        rte_ring* closes = dpdk::create_close_ring("closes_g", 64, SOCKET_ID_ANY);
        rte_ring* flows = dpdk::create_flow_ring("flows_g", 8, SOCKET_ID_ANY);  // 63 usable slots (minimum size 64)
        Rig rig("ringfull", {listener(pf::Fam::v4, CookieMode::kNever)}, closes, flows);
        const pf::SegmentSpec syn = client_syn(pf::Fam::v4, 7777);
        rig.wire.send(pf::build_frame(syn));
        const auto synacks = rig.run(kT0);
        ASSERT_EQ(synacks.size(), 1u);
        const pf::FrameView sa(synacks[0]);
        rig.wire.send(client_ack(syn, sa));
        rig.run(kT0);
        pf::SegmentSpec d = syn;
        d.flags = 0x10;
        d.seq += 1;
        d.ack = sa.seq() + 1;
        d.tcp_options.clear();
        d.payload.assign(10, 'x');
        for (int i = 0; i < 100; ++i) {
            rig.wire.send(pf::build_frame(d));
            d.seq += 10;
        }
        rig.run(kT0);
        const unsigned in_ring = rte_ring_count(flows);
        EXPECT_EQ(in_ring, rte_ring_get_capacity(flows));
        EXPECT_EQ(rig.pw->stats().flow_ring_full, 100u - in_ring);
        {
            // An application lcore that goes away frees what is still in its ring.
            KeepFlows app;
            dpdk::AppCore core({{rig.engine.get(), closes, flows, &app}}, g_pool, {{rig.wire.port, 0, 0}}, 32);
        }
        EXPECT_EQ(rte_ring_count(flows), 0u);
        rig.pw.reset();
        rte_ring_free(closes);
        rte_ring_free(flows);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// TX checksum offload: the reply leaves with the NIC's work requested (flags, header lengths) and
// a pseudo-header sum that, finished the way a NIC finishes it, gives correct checksums.
TEST(DataplaneOffload, RepliesRequestChecksumOffloadWithCorrectHeaderLengths) {
    for (const pf::Fam fam : {pf::Fam::v4, pf::Fam::v6}) {
        for (const bool vlan : {false, true}) {
            SCOPED_TRACE(std::string(fam == pf::Fam::v4 ? "ipv4" : "ipv6") + (vlan ? " vlan" : ""));
            EngineConfig ec;
            ec.checksum_offload = true;
            Rig rig(std::string("ringcsum") + (fam == pf::Fam::v4 ? "4" : "6") + (vlan ? "v" : ""),
                    {listener(fam, CookieMode::kAlways)}, nullptr, nullptr, ec);
            pf::SegmentSpec syn = client_syn(fam, 9000);
            if (vlan) syn.vlans = {100};
            rig.wire.send(pf::build_frame(syn));
            while (rig.pw->poll(kT0) > 0) {
            }
            rig.pw->flush();
            void* obj = nullptr;
            ASSERT_EQ(rte_ring_dequeue(rig.wire.from_synwall, &obj), 0);
            auto* m = static_cast<rte_mbuf*>(obj);
            const bool v4 = fam == pf::Fam::v4;
            EXPECT_EQ(m->l2_len, vlan ? 18u : 14u);
            EXPECT_EQ(m->l3_len, v4 ? 20u : 40u);
            EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM);
            EXPECT_EQ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0, v4);
            EXPECT_TRUE(m->ol_flags & (v4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6));
            auto* d = rte_pktmbuf_mtod(m, uint8_t*);
            std::vector<uint8_t> bytes(d, d + rte_pktmbuf_data_len(m));
            rte_pktmbuf_free(m);
            // Finish as the NIC does: IPv4 header checksum over the header; TCP checksum over the
            // segment with the pseudo-header sum already in the checksum field.
            const size_t l3 = vlan ? 18 : 14, l4 = l3 + (v4 ? 20 : 40);
            if (v4) {
                EXPECT_EQ(bytes[l3 + 10] | bytes[l3 + 11], 0) << "IPv4 checksum left at 0 for the NIC";
                const uint16_t ic = pf::ref_checksum(bytes.data() + l3, 20);
                bytes[l3 + 10] = static_cast<uint8_t>(ic >> 8);
                bytes[l3 + 11] = static_cast<uint8_t>(ic);
            }
            const uint16_t tc = pf::ref_checksum(bytes.data() + l4, bytes.size() - l4);
            bytes[l4 + 16] = static_cast<uint8_t>(tc >> 8);
            bytes[l4 + 17] = static_cast<uint8_t>(tc);
            const pf::FrameView r(bytes);
            EXPECT_EQ(r.flags(), 0x12);
            EXPECT_TRUE(r.ipv4_checksum_ok());
            EXPECT_TRUE(r.tcp_checksum_ok());
        }
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

}  // namespace


// synwall-gen's lane against synwall's worker loop, wired back to back through two rte_rings
// (the generator's tx ring is synwall's rx ring and the other way round), polled in turn on one
// thread with an advancing clock.
namespace {

struct BackToBack {
    rte_ring* g2s;
    rte_ring* s2g;
    uint16_t gen_port, sw_port;
    explicit BackToBack(const std::string& name) {
        g2s = rte_ring_create((name + "_g2s").c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        s2g = rte_ring_create((name + "_s2g").c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        gen_port = static_cast<uint16_t>(rte_eth_from_rings((name + "_gen").c_str(), &s2g, 1, &g2s, 1, SOCKET_ID_ANY));
        sw_port = static_cast<uint16_t>(rte_eth_from_rings((name + "_sw").c_str(), &g2s, 1, &s2g, 1, SOCKET_ID_ANY));
        EXPECT_EQ(dpdk::start_port(gen_port, {}, g_pool), "");
        EXPECT_EQ(dpdk::start_port(sw_port, {}, g_pool), "");
    }
    ~BackToBack() {
        for (rte_ring* r : {g2s, s2g}) {
            void* obj;
            while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
        }
        dpdk::stop_port(gen_port);
        dpdk::stop_port(sw_port);
        rte_ring_free(g2s);
        rte_ring_free(s2g);
    }
};

gen::FloodSpec flood_spec(const std::array<uint32_t, gen::kFloodKinds>& weights) {
    gen::FloodSpec f;
    std::string err;
    EXPECT_TRUE(gen::parse_range("198.18.0.0/15", f.src, err)) << err;
    f.dst = pf::v4("203.0.113.10");
    f.weights = weights;
    return f;
}

gen::ClientSpec client_spec(uint32_t n) {
    gen::ClientSpec c;
    std::string err;
    EXPECT_TRUE(gen::parse_range("10.99.0.0/16", c.src, err)) << err;
    c.dst = pf::v4("203.0.113.10");
    c.clients = n;
    return c;
}

// synwall's side of a back-to-back pair: one engine with one IPv4 listener, absorb inline.
struct SynwallSide {
    std::unique_ptr<Worker> engine;
    app::Absorb absorb{{.close_with = app::CloseWith::kRst, .grace_ns = 0}};  // forgets at once
    std::unique_ptr<dpdk::WorkerLoop> loop;
    SynwallSide(uint16_t port, CookieMode mode) {
        cookie::SecretConfig sc;
        sc.master.fill(9);
        sc.prf = cookie::best_prf();
        engine = std::make_unique<Worker>(EngineConfig{}, std::make_shared<ListenerTable>(std::vector{listener(pf::Fam::v4, mode)}),
                                          sc, kT0);
        dpdk::WorkerLoopConfig wc;
        wc.ports = {{port, 0, 0}};
        wc.inline_app = &absorb;
        wc.tx_flush_ns = 0;
        loop = std::make_unique<dpdk::WorkerLoop>(*engine, g_pool, wc);
    }
    void poll(uint64_t now) {
        loop->poll(now);
        loop->flush();
    }
};

}  // namespace

TEST(GenLane, ClosedLoopClientsCompleteHandshakesWithSynwall) {
    {
        BackToBack wire("b2b_clients");
        SynwallSide sw(wire.sw_port, CookieMode::kNever);
        const Worker& engine = *sw.engine;
        dpdk::GenLaneConfig gc;
        gc.port = wire.gen_port;
        gc.flood = false;
        constexpr uint32_t kClients = 64;
        dpdk::GenLane g(gc, g_pool, flood_spec({1, 0, 0, 0}), client_spec(kClients), 7, 0);
        uint64_t t = 0;
        for (int i = 0; i < 400; ++i, t += 10'000) {  // 4 ms of simulated time
            g.poll(t);
            sw.poll(kT0 + t);
        }
        const gen::ClientStats& c = g.clients()->stats();
        EXPECT_GE(c.completed, 3u * kClients) << "closed loop: every client went round several times";
        EXPECT_EQ(c.failed, 0u);
        EXPECT_EQ(c.bad_synacks, 0u);
        EXPECT_EQ(c.syn_retransmits, 0u);
        EXPECT_EQ(g.clients()->latencies().count(), c.completed);
        EXPECT_LE(g.clients()->latencies().quantile(0.99), 100'000u) << "one poll round trip, not a retransmit";
        // synwall accepted what the clients completed (the last ACKs may still be in the ring).
        EXPECT_GE(engine.counters()[kEstablished], c.completed - kClients);
        EXPECT_LE(engine.counters()[kEstablished], c.completed);
        EXPECT_EQ(sw.absorb.accepted(), engine.counters()[kEstablished]);
        EXPECT_EQ(g.stats().tx_refused, 0u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

TEST(GenLane, MixedFloodIsAnsweredAsSynwallShould) {
    {
        BackToBack wire("b2b_flood");
        SynwallSide sw(wire.sw_port, CookieMode::kAlways);
        const Worker& engine = *sw.engine;
        dpdk::GenLaneConfig gc;
        gc.port = wire.gen_port;
        gc.flood_replies = gen::FloodReplies::kNearMissAck;
        dpdk::GenLane g(gc, g_pool, flood_spec({4, 2, 1, 1}), client_spec(0), 11, 0);
        uint64_t t = 0;
        for (int i = 0; i < 300; ++i, t += 10'000) {
            if (i == 200) g.set_flood(false);  // then everything in flight drains
            g.poll(t);
            sw.poll(kT0 + t);
        }
        const dpdk::GenStats& s = g.stats();
        ASSERT_EQ(s.tx_refused, 0u);
        const auto& k = engine.counters();
        EXPECT_GT(s.flood_sent[0], 0u);
        EXPECT_GT(s.flood_sent[1], 0u);
        EXPECT_GT(s.flood_sent[2], 0u);
        EXPECT_GT(s.flood_sent[3], 0u);
        // Every spoofed SYN got a cookie SYN-ACK back; the generator saw them and answered each
        // with a near-miss ACK, which no cookie check accepted.
        EXPECT_EQ(k[kSyncookiesSent], k[kSynRecv]);
        EXPECT_EQ(s.flood_synacks, k[kSyncookiesSent]);
        EXPECT_EQ(s.nearmiss_sent, s.flood_synacks);
        EXPECT_GT(k[kSyncookiesFailed], s.flood_sent[1]) << "random ACKs and near misses both fail";
        EXPECT_EQ(k[kSyncookiesRecv], 0u);
        EXPECT_EQ(k[kEstablished], 0u);
        EXPECT_EQ(k[kDropSynAckToListener], s.flood_sent[3]);
    }
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u);
}

// The appliance as the library builds it, its worker on lcore 1: listeners opened and closed
// while the worker runs are taken by the worker on its own lcore before change_listeners returns;
// a change the worker refuses leaves everything as it was; after stop() changes apply directly.
TEST(DataplaneAppliance, ListenersChangeWhileTheWorkerRuns) {
    config::ApplianceConfig cfg;
    cfg.path = "appliance-test.toml";
    config::PortConfig port;
    port.name = "wire";
    port.device = "net_null9,no-rx=1";
    port.profile = "net_null";
    cfg.ports.push_back(port);
    ListenerConfig web = listener(pf::Fam::v4, CookieMode::kNever);
    web.name = "web";
    cfg.listeners = {web};
    dpdk::ApplianceOptions options;
    options.drivers_dir = SYNWALL_DRIVERS_CONFIG_DIR;
    std::string err;
    auto a = dpdk::Appliance::create(cfg, options, err);
    ASSERT_TRUE(a) << err;
    ASSERT_FALSE(a->inline_main());
    ASSERT_EQ(a->workers(), 1u);
    a->start();
    ListenerConfig tls = web;
    tls.name = "tls";
    tls.port = 443;
    EXPECT_EQ(a->change_listeners({tls}, {}), "");
    EXPECT_EQ(a->listener_table().size(), 2u);
    EXPECT_EQ(a->worker(0).listener_count(), 2u) << "the worker lcore took it before the call returned";
    EXPECT_NE(a->change_listeners({}, {"nosuch"}), "");
    EXPECT_EQ(a->change_listeners({}, {"tls"}), "");
    EXPECT_TRUE(a->listener_table()[1].closed);
    // Refused by the worker itself (no IPv6 SYN queue was built): nothing changes.
    ListenerConfig v6 = listener(pf::Fam::v6, CookieMode::kNever);
    v6.name = "v6";
    EXPECT_NE(a->change_listeners({v6}, {}).find("SYN queue"), std::string::npos);
    EXPECT_EQ(a->listener_table().size(), 2u);
    EXPECT_EQ(a->worker(0).listener_count(), 2u);
    a->stop();
    tls.port = 8443;
    EXPECT_EQ(a->change_listeners({tls}, {}), "") << "stopped: applied on this thread";
    EXPECT_EQ(a->worker(0).listener_count(), 3u);
    a.reset();
}
