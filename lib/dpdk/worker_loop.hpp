// One poll-mode worker lcore's loop body: for each of its (port, rx queue, tx queue) bindings,
// rx burst -> the core's burst entry -> replies into that port's TX batch; then timers and the
// application (inline), or the close requests coming back from an application lcore.
//
//   poll(now):  per port: rte_eth_rx_burst, Worker::process_burst; replies go out of the port
//               each packet came in on (SYN-ACK retransmits: the port their SYN came in on)
//               TX batched per port, flushed when full or `tx_flush_ns` after its first packet;
//               what TX refuses is freed and counted (never leaked)
//               Worker::run_timers: SYN-ACK retransmits in mbufs from the mempool
//               application inline (through an AppDriver): accept() every connection before
//               delivering the flow packets of the burst, then its timers (on_tick); or, with
//               application lcores: hand packets of established flows over (ring of FlowHandoff)
//               and forget the flows they closed (ring of flow ids)
// Passes (not for the handshake: ARP, other protocols, TCP to no listener) are bridged unchanged
// to the binding's peer port (an inline L2-transparent box), or freed and counted without one.
// Threading: a WorkerLoop and its Worker belong to one lcore; `closes` is SP (app) / SC (us).
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/application.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

// Retransmit buffers from an rte_mempool.
class MempoolSource final : public handshake::PacketSource {
public:
    explicit MempoolSource(rte_mempool* pool) : pool_(pool) {}
    bool alloc(net::Packet& out) override;

private:
    rte_mempool* pool_;
};

// A packet of an established flow on its way to the application lcore (an rte_ring element).
struct FlowHandoff {
    rte_mbuf* m;
    uint32_t flow;
    uint32_t from_server;  // 1: the server leg of a proxied flow (app::FlowRef::from_server)
};
static_assert(sizeof(FlowHandoff) == 16);

struct PortBinding {
    uint16_t port = 0;
    uint16_t rx_queue = 0;
    uint16_t tx_queue = 0;
    int32_t peer = -1;  // port that frames not for the handshake are bridged to (-1: freed)
};

// A change for one worker, posted by the main lcore and taken by the worker's loop at its next
// iteration, on the worker's own thread: a new listener table (Worker::update_listeners) and/or a
// new cookie master key (Worker::change_master_key).
struct ControlMailbox {
    std::mutex m;
    std::shared_ptr<const handshake::ListenerTable> next;  // under m (nullptr: none)
    std::optional<cookie::MasterKey> key;                   // under m
    std::string error;                                      // under m: the worker's answer
    std::atomic<uint64_t> posted{0}, applied{0};            // applied == posted: answered
};

struct WorkerLoopConfig {
    std::vector<PortBinding> ports;
    uint16_t burst = 32;
    uint64_t tx_flush_ns = 100'000;       // a partly filled TX batch waits at most this long
    app::Application* inline_app = nullptr;  // run the application here (no application lcores)
    rte_mempool* app_pool = nullptr;         //   and the buffers it allocates (nullptr: the loop's)
    rte_ring* closes = nullptr;           // else: flow ids (uint32 elements) the application lcore closed
    rte_ring* flows = nullptr;            //   and packets of established flows to it (FlowHandoff, SP/SC)
    ControlMailbox* control = nullptr;    // listener and key changes at run time (nullptr: none)
};

// The figures of one lcore's I/O. Its owner updates them with handshake::stat_add / stat_set
// (relaxed atomic stores: one writer), so that the main lcore and telemetry may read them while it runs (add()).
#define SYNWALL_IO_STATS(X)                                                                       \
    X(rx)                     /* frames received */                                             \
    X(tx)                     /* frames the ports took */                                       \
    X(tx_refused)             /* frames the ports refused (freed) */                            \
    X(freed_drop)             /* frames the engine or application ended (dropped, consumed) */  \
    X(freed_pass)             /* frames passed with nowhere to go */                            \
    X(bridged)                /* frames to no listener, bridged to the other port */            \
    X(flow_packets)           /* established flows' packets handed to the application */        \
    X(accepted)               /* connections the application took from the accept queues */    \
    X(multi_segment_dropped)  /* chained mbufs, which the engine does not take */               \
    X(flow_ring_full)         /* flow packets the application lcore's ring refused (freed) */   \
    X(flow_delivered)         /* flow packets an application lcore took from its rings */       \
    X(busy_ns)                /* time in loop iterations that received packets */
struct IoStats {
#define X(f) uint64_t f = 0;
    SYNWALL_IO_STATS(X)
#undef X
    void add(const IoStats& o) noexcept;
};

// Per-port TX batching shared by worker and application lcores.
class TxBatcher {
public:
    TxBatcher(std::vector<PortBinding> ports, uint16_t burst, uint64_t flush_ns);
    ~TxBatcher();  // frees what it still holds
    void queue(uint16_t port, rte_mbuf* m, uint64_t now_ns) noexcept;
    void flush_due(uint64_t now_ns) noexcept;
    void flush() noexcept;
    IoStats& stats() noexcept { return stats_; }
    const IoStats& stats() const noexcept { return stats_; }

private:
    struct Out {
        PortBinding b;
        std::vector<rte_mbuf*> pending;
        uint64_t first_ns = 0;
    };
    void flush(Out& o) noexcept;
    std::vector<Out> outs_;
    uint16_t burst_;
    uint64_t flush_ns_;
    IoStats stats_;
};

class AppDriver;

class WorkerLoop {
public:
    WorkerLoop(handshake::Worker& engine, rte_mempool* pool, const WorkerLoopConfig& config);
    ~WorkerLoop();  // flushes; frees every mbuf it or the engine's accept queues still hold

    // One loop iteration; returns the number of packets received.
    uint32_t poll(uint64_t now_ns) noexcept;
    void flush() noexcept { tx_.flush(); }
    const IoStats& stats() const noexcept { return stats_; }

private:
    void dispatch(uint64_t now_ns) noexcept;
    int32_t peer_of(uint16_t port) const noexcept;
    void accept_inline(uint64_t now_ns) noexcept;
    void forget_closed() noexcept;
    void hand_over_flows() noexcept;
    void take_control(uint64_t now_ns);

    handshake::Worker& engine_;
    WorkerLoopConfig config_;
    MempoolSource source_;
    TxBatcher tx_;
    std::unique_ptr<AppDriver> app_;  // the inline application's driver (nullptr: application lcores)
    handshake::BurstOutput out_;
    std::vector<rte_mbuf*> rx_;
    std::vector<net::Packet> pkts_;
    std::vector<FlowHandoff> handoff_;  // flow packets of this loop iteration, for config_.flows
    IoStats stats_;
    uint64_t control_seen_ = 0;  // the last ControlMailbox::posted taken
    uint64_t last_poll_ns_ = 0;  // the previous iteration's clock reading ...
    bool last_poll_busy_ = false;  // ... and whether it received packets (IoStats::busy_ns)
};

}  // namespace synwall::dpdk
