// One synwall-gen lcore: on its (port, queue) it sends the flood (as fast as the queue takes it,
// or paced by a token bucket) and its share of the legitimate clients, and receives what comes
// back: SYN-ACKs for its clients become their ACKs in the same mbuf; replies to the flood's
// spoofed sources are counted and freed (or, on request, turned into near-miss ACKs: the right
// tuple and sequence, the cookie + 1 as acknowledgment).
//   poll(now): rx bursts (up to four while full) -> ClientPool::on_frame | flood replies; clients' due segments; flood
//              tokens' worth of frames while the flood backlog is under a burst; transmit
//              client frames first, then the flood; what TX refuses waits for the next poll
//              (beyond eight bursts of client frames or two of flood: freed and counted).
//              The destructor frees the backlog.
// Threading: single owner; stats() is read by the main lcore with plain loads (approximate live).
#pragma once

#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "gen/client_pool.hpp"
#include "gen/flood_writer.hpp"
#include "gen/gen_options.hpp"
#include "gen/responder.hpp"
#include "handshake/rate_limiter.hpp"
#include "dpdk/worker_loop.hpp"

struct rte_mbuf;

namespace synwall::dpdk {

struct GenLaneConfig {
    uint16_t port = 0;
    uint16_t queue = 0;
    uint16_t burst = 32;
    bool flood = true;
    uint64_t flood_pps = 0;  // 0: as fast as the queue takes it
    gen::FloodReplies flood_replies = gen::FloodReplies::kDrop;
};

struct GenStats {
    std::array<uint64_t, gen::kFloodKinds> flood_sent{};
    uint64_t client_sent = 0;      // SYNs, ACKs and closes of the clients
    uint64_t rx = 0;
    uint64_t flood_synacks = 0;    // SYN-ACKs to spoofed flood sources
    uint64_t flood_rsts = 0;       // RSTs to flood sources
    uint64_t rx_other = 0;         // anything else not for a client
    uint64_t nearmiss_sent = 0;
    uint64_t tx_refused = 0;       // freed: the tx queue stayed full (backlog bounds in gen_lane.cpp)
    uint64_t no_mbuf = 0;          // the mempool was empty
    uint64_t flood_total() const noexcept;
    void add(const GenStats& o) noexcept;
};

class GenLane {
public:
    GenLane(const GenLaneConfig& config, rte_mempool* pool, const gen::FloodSpec& flood, const gen::ClientSpec& clients,
            uint64_t seed, uint64_t now_ns);
    ~GenLane();
    uint32_t poll(uint64_t now_ns) noexcept;  // returns the frames sent
    // Stops (or restarts) writing flood frames; the backlog still leaves, replies still flow.
    void set_flood(bool on) noexcept { config_.flood = on; }
    const GenStats& stats() const noexcept { return stats_; }
    const gen::ClientPool* clients() const noexcept { return clients_.get(); }

private:
    uint16_t receive(uint64_t now_ns) noexcept;  // one rx burst; returns its size
    uint32_t transmit() noexcept;
    uint32_t send(std::vector<rte_mbuf*>& q, size_t keep) noexcept;

    GenLaneConfig config_;
    rte_mempool* pool_;
    gen::FloodWriter flood_;
    std::unique_ptr<gen::ClientPool> clients_;
    handshake::RateLimiter pace_;
    std::vector<rte_mbuf*> rx_, fresh_;
    std::vector<rte_mbuf*> ctl_;  // client segments, their ACKs, near misses: sent first
    std::vector<rte_mbuf*> tx_;   // flood frames
    std::vector<net::Packet> pkts_;
    GenStats stats_;
};

// The server side of a proxy benchmark (synwall-gen --respond): rx burst on (port, queue), each
// frame answered in place by a gen::Responder and sent back, the rest freed. What TX refuses is
// freed and counted.
class ResponderLane {
public:
    ResponderLane(uint16_t port, uint16_t queue, uint16_t burst, uint64_t key, uint16_t reply_bytes);
    uint32_t poll(uint64_t now_ns) noexcept;  // returns the frames answered
    const gen::ResponderStats& stats() const noexcept { return responder_.stats(); }
    uint64_t tx_refused() const noexcept { return tx_.stats().tx_refused; }

private:
    uint16_t port_, queue_, burst_;
    gen::Responder responder_;
    std::vector<rte_mbuf*> rx_;
    TxBatcher tx_;  // flushed at the end of every poll
};

}  // namespace synwall::dpdk
