// The burst entry point over rte_mbuf arrays, for an embedder that owns its ports and rx loop:
// its rx burst in, and out what to transmit, what is not synwall's, and the packets of established
// flows. One per worker lcore, over that lcore's handshake::Worker.
//
//   rte_mbuf* rx[32];
//   const uint16_t n = rte_eth_rx_burst(port, queue, rx, 32);
//   out.clear();
//   burst.process(rx, n, clock.now(), out);
//   burst.run_timers(clock.now(), out);          // SYN-ACK retransmits, now and then
//   send out.tx[0..n_tx)   each out of its m->port (checksums done, or asked of the NIC)
//   out.pass[0..n_pass)    untouched: ARP, other protocols, TCP to no listener (the embedder's)
//   out.flow[0..n_flow)    established flows' packets: to the application (hand_over_flows)
// Connections come from Worker::accept (the accept queues: their consumer may be another lcore).
// Every mbuf comes back in exactly one of the arrays or is freed (counted in `dropped`).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <span>

#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

struct MbufBurstResult {
    uint32_t n_tx = 0, n_pass = 0, n_flow = 0;
    uint64_t dropped = 0;  // frames synwall ended here (a flood's, bad ones, chained mbufs it could not linearise)
    rte_mbuf* tx[3 * handshake::kMaxBurst];  // a burst's replies and up to 2 * kMaxBurst retransmits
    rte_mbuf* pass[handshake::kMaxBurst];
    FlowHandoff flow[handshake::kMaxBurst];
    void clear() noexcept { n_tx = n_pass = n_flow = 0; }
};

class MbufBurst {
public:
    // `pool`: the buffers of SYN-ACK retransmits.
    MbufBurst(handshake::Worker& worker, rte_mempool* pool) : worker_(worker), source_(pool) {}

    // Handles rx[0, n), n at most handshake::kMaxBurst, into a cleared `out`. A frame's port is its
    // m->port: replies go back out of it.
    void process(rte_mbuf* const* rx, uint16_t n, uint64_t now_ns, MbufBurstResult& out) noexcept;
    // SYN-ACK retransmits now due, into out.tx (at most 2 * kMaxBurst; none when `out` already
    // holds more than one burst's replies: they stay due for the next call).
    void run_timers(uint64_t now_ns, MbufBurstResult& out) noexcept;

private:
    void collect(MbufBurstResult& out) noexcept;
    handshake::Worker& worker_;
    MempoolSource source_;
    handshake::BurstOutput burst_;
    net::Packet pkts_[handshake::kMaxBurst];
};

// The views the engine takes of received mbufs: chained ones linearised, or freed when they cannot
// be (returned in `freed`). `port` overrides m->port when >= 0. Returns how many went into `out`.
uint16_t mbufs_to_packets(rte_mbuf* const* rx, uint16_t n, int32_t port, net::Packet* out, uint64_t& freed) noexcept;

// An established flow's packets to the application lcore's ring (create_flow_ring): what does not
// fit is freed. Returns how many were freed.
uint32_t hand_over_flows(rte_ring* flows, std::span<const FlowHandoff> packets) noexcept;

// The flows an application lcore closed (its create_close_ring): the worker forgets them. Worker
// lcore only.
void forget_closed_flows(handshake::Worker& worker, rte_ring* closes) noexcept;

}  // namespace synwall::dpdk
