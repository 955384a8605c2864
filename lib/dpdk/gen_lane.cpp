#include "dpdk/gen_lane.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>

#include "dpdk/mbuf_packet.hpp"
#include "net/parser.hpp"
#include "net/syn_writer.hpp"

namespace synwall::dpdk {

uint64_t GenStats::flood_total() const noexcept {
    uint64_t n = 0;
    for (uint64_t v : flood_sent) n += v;
    return n;
}

void GenStats::add(const GenStats& o) noexcept {
    for (size_t k = 0; k < gen::kFloodKinds; ++k) flood_sent[k] += handshake::stat_load(o.flood_sent[k]);
    client_sent += handshake::stat_load(o.client_sent);
    rx += handshake::stat_load(o.rx);
    flood_synacks += handshake::stat_load(o.flood_synacks);
    flood_rsts += handshake::stat_load(o.flood_rsts);
    rx_other += handshake::stat_load(o.rx_other);
    nearmiss_sent += handshake::stat_load(o.nearmiss_sent);
    tx_refused += handshake::stat_load(o.tx_refused);
    no_mbuf += handshake::stat_load(o.no_mbuf);
}

GenLane::GenLane(const GenLaneConfig& config, rte_mempool* pool, const gen::FloodSpec& flood,
                 const gen::ClientSpec& clients, uint64_t seed, uint64_t now_ns)
    : config_(config),
      pool_(pool),
      flood_(flood, seed),
      // The bucket holds one burst: a paced flood leaves in bursts of at most `burst` frames.
      pace_(static_cast<uint32_t>(std::min<uint64_t>(config.flood_pps ? config.flood_pps : 1, UINT32_MAX)),
            config.burst) {
    if (config_.burst == 0) config_.burst = 32;
    if (clients.clients) clients_ = std::make_unique<gen::ClientPool>(clients, seed ^ 0x5bd1e995u, now_ns);
    rx_.resize(config_.burst);
    tx_.reserve(4u * config_.burst);
    ctl_.reserve(16u * config_.burst);
    fresh_.resize(config_.burst);
    pkts_.resize(config_.burst);
}

GenLane::~GenLane() {
    for (rte_mbuf* m : ctl_) rte_pktmbuf_free(m);
    for (rte_mbuf* m : tx_) rte_pktmbuf_free(m);
}

uint16_t GenLane::receive(uint64_t now_ns) noexcept {
    const uint16_t n = rte_eth_rx_burst(config_.port, config_.queue, rx_.data(), config_.burst);
    handshake::stat_add(stats_.rx, n);
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = rx_[i];
        net::Packet p = to_packet(m);
        const net::ParsedPacket in = net::parse({p.data, p.len}, p.flags);
        const auto r = clients_ ? clients_->on_frame(p, in, now_ns) : gen::ClientPool::Rx::kNotOurs;
        if (r == gen::ClientPool::Rx::kReply) {
            ctl_.push_back(finish_tx(p));
            handshake::stat_add(stats_.client_sent, 1);
            continue;
        }
        if (r == gen::ClientPool::Rx::kNotOurs && in.ok() && in.has(net::tcp_flag::kSyn) && in.has(net::tcp_flag::kAck)) {
            handshake::stat_add(stats_.flood_synacks, 1);
            // Answered as a forger who saw it would: the right tuple and sequence numbers, the
            // acknowledgment one off the cookie.
            if (config_.flood_replies == gen::FloodReplies::kNearMissAck && net::answer_synack(p, in, 1, 2)) {
                ctl_.push_back(finish_tx(p));
                handshake::stat_add(stats_.nearmiss_sent, 1);
                continue;
            }
        } else if (r == gen::ClientPool::Rx::kNotOurs) {
            handshake::stat_add(in.ok() && in.has(net::tcp_flag::kRst) ? stats_.flood_rsts : stats_.rx_other, 1);
        }
        rte_pktmbuf_free(m);
    }
    return n;
}

// What the queue does not take now is retried on the next poll (a full link slows the flood down
// instead of burning it). Client frames and replies go first; only beyond their bounds (eight
// bursts of client frames, two of flood) are frames freed and counted.
uint32_t GenLane::send(std::vector<rte_mbuf*>& q, size_t keep) noexcept {
    uint16_t sent = 0;
    if (!q.empty()) {
        sent = rte_eth_tx_burst(config_.port, config_.queue, q.data(), static_cast<uint16_t>(std::min<size_t>(q.size(), UINT16_MAX)));
        q.erase(q.begin(), q.begin() + sent);
    }
    if (q.size() > keep) {
        for (size_t i = keep; i < q.size(); ++i) rte_pktmbuf_free(q[i]);
        handshake::stat_add(stats_.tx_refused, q.size() - keep);
        q.resize(keep);
    }
    return sent;
}

uint32_t GenLane::transmit() noexcept {
    const uint32_t sent = send(ctl_, 8u * config_.burst);
    return sent + (ctl_.empty() ? send(tx_, 2u * config_.burst) : 0);
}

uint32_t GenLane::poll(uint64_t now_ns) noexcept {
    // Replies first, up to four bursts: a generator that falls behind on receiving loses the
    // target's answers to its own clients.
    for (int i = 0; i < 4 && receive(now_ns) == config_.burst; ++i) {
    }
    // The clients' due segments.
    if (clients_ && rte_pktmbuf_alloc_bulk(pool_, fresh_.data(), config_.burst) == 0) {
        for (uint16_t i = 0; i < config_.burst; ++i) {
            pkts_[i] = to_packet(fresh_[i]);
            pkts_[i].len = 0;
        }
        const uint32_t k = clients_->poll(now_ns, pkts_.data(), config_.burst);
        for (uint32_t i = 0; i < k; ++i) ctl_.push_back(finish_tx(pkts_[i]));
        handshake::stat_add(stats_.client_sent, k);
        for (uint32_t i = k; i < config_.burst; ++i) rte_pktmbuf_free(fresh_[i]);
    } else if (clients_) {
        handshake::stat_add(stats_.no_mbuf, 1);
    }
    // The flood.
    if (config_.flood && tx_.size() < config_.burst) {
        const uint32_t room = static_cast<uint32_t>(config_.burst - tx_.size());
        const uint32_t want = config_.flood_pps ? pace_.take(now_ns, room) : room;
        if (want && rte_pktmbuf_alloc_bulk(pool_, fresh_.data(), want) == 0) {
            for (uint32_t i = 0; i < want; ++i) {
                rte_mbuf* m = fresh_[i];
                gen::FloodKind kind;
                net::Packet p = to_packet(m);
                p.len = flood_.write(p.data, p.room, kind);
                handshake::stat_add(stats_.flood_sent[static_cast<size_t>(kind)], 1);
                tx_.push_back(finish_tx(p));
            }
        } else if (want) {
            handshake::stat_add(stats_.no_mbuf, 1);
        }
    }
    return transmit();
}

ResponderLane::ResponderLane(uint16_t port, uint16_t queue, uint16_t burst, uint64_t key, uint16_t reply_bytes)
    : port_(port), queue_(queue), burst_(burst), responder_(key, reply_bytes), rx_(burst), tx_({{port, queue, queue}}, burst, 0) {}

uint32_t ResponderLane::poll(uint64_t now_ns) noexcept {
    const uint16_t n = rte_eth_rx_burst(port_, queue_, rx_.data(), burst_);
    uint32_t answered = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = rx_[i];
        net::Packet p = to_packet(m);
        if (m->nb_segs == 1 && responder_.on_frame(p, now_ns)) {
            tx_.queue(port_, finish_tx(p), now_ns);
            ++answered;
        } else {
            rte_pktmbuf_free(m);
        }
    }
    if (answered) tx_.flush();
    return answered;
}

}  // namespace synwall::dpdk
