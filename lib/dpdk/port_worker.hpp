// One poll-mode worker's loop body on one (port, rx queue, tx queue): rx burst -> the core's burst
// entry -> tx burst, with the application run inline (one core must work too).
//
//   poll(now):  rte_eth_rx_burst            up to `burst` mbufs
//               Worker::process_burst       replies rewritten in place, drops, passes, flows
//               TX buffered; flushed when full or `tx_flush_ns` after its first packet;
//               packets TX refuses are freed and counted (never leaked)
//               Worker::run_timers          SYN-ACK retransmits in mbufs from the mempool
//               application                 accept() connections and absorb them inline
//
// Threading: a PortWorker and its Worker belong to one lcore. Passes (not for the handshake) are
// bridged by the caller's choice: freed here until the bridge lands (counted in PassFreed).
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <vector>

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

enum class CloseWith : uint8_t { kRst, kFin };

struct PortWorkerConfig {
    uint16_t port = 0;
    uint16_t rx_queue = 0;
    uint16_t tx_queue = 0;
    uint16_t burst = 32;
    uint64_t tx_flush_ns = 100'000;  // a partly filled TX batch waits at most this long
    CloseWith close_with = CloseWith::kRst;  // how the inline absorb application ends connections
};

struct PortWorkerStats {
    uint64_t rx = 0, tx = 0, tx_refused = 0, freed_drop = 0, freed_pass = 0, flow_packets = 0;
    uint64_t accepted = 0, closed = 0, multi_segment_dropped = 0;
};

class PortWorker {
public:
    PortWorker(handshake::Worker& engine, rte_mempool* pool, const PortWorkerConfig& config);
    ~PortWorker();  // flushes and frees everything it holds

    // One loop iteration; returns the number of packets received.
    uint32_t poll(uint64_t now_ns) noexcept;
    // Sends what is buffered now.
    void flush() noexcept;

    const PortWorkerStats& stats() const noexcept { return stats_; }

private:
    void queue_tx(rte_mbuf* m, uint64_t now_ns) noexcept;
    void absorb(uint64_t now_ns) noexcept;
    void free_all(const net::Packet* pkts, uint32_t n, uint64_t& counter) noexcept;

    handshake::Worker& engine_;
    rte_mempool* pool_;
    PortWorkerConfig config_;
    MempoolSource source_;
    handshake::BurstOutput out_;
    std::vector<rte_mbuf*> rx_;
    std::vector<net::Packet> pkts_;
    std::vector<rte_mbuf*> tx_;
    uint64_t tx_first_ns_ = 0;
    PortWorkerStats stats_;
};

}  // namespace synwall::dpdk
