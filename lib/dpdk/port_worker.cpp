#include "dpdk/port_worker.hpp"

#include "dpdk/mbuf_packet.hpp"
#include "net/reply_builder.hpp"

namespace synwall::dpdk {

bool MempoolSource::alloc(net::Packet& out) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return false;
    out = to_packet(m);
    out.len = 0;
    return true;
}

PortWorker::PortWorker(handshake::Worker& engine, rte_mempool* pool, const PortWorkerConfig& config)
    : engine_(engine), pool_(pool), config_(config), source_(pool) {
    if (config_.burst == 0 || config_.burst > handshake::kMaxBurst) config_.burst = 32;
    rx_.resize(config_.burst);
    pkts_.resize(config_.burst);
    tx_.reserve(4 * handshake::kMaxBurst);
}

PortWorker::~PortWorker() {
    flush();
    for (rte_mbuf* m : tx_) rte_pktmbuf_free(m);
    tx_.clear();
    // Connections still waiting in accept queues own their completing ACKs.
    handshake::Connection c;
    for (uint16_t l = 0; l < engine_.listeners().size(); ++l)
        while (engine_.accept(l, c)) rte_pktmbuf_free(mbuf_of(c.packet));
}

void PortWorker::free_all(const net::Packet* pkts, uint32_t n, uint64_t& counter) noexcept {
    for (uint32_t i = 0; i < n; ++i) rte_pktmbuf_free(mbuf_of(pkts[i]));
    counter += n;
}

void PortWorker::queue_tx(rte_mbuf* m, uint64_t now_ns) noexcept {
    if (tx_.empty()) tx_first_ns_ = now_ns;
    tx_.push_back(m);
    if (tx_.size() >= config_.burst) flush();
}

void PortWorker::flush() noexcept {
    size_t sent = 0;
    while (sent < tx_.size()) {
        const uint16_t n = rte_eth_tx_burst(config_.port, config_.tx_queue, tx_.data() + sent,
                                            static_cast<uint16_t>(std::min<size_t>(tx_.size() - sent, UINT16_MAX)));
        if (n == 0) break;
        sent += n;
    }
    stats_.tx += sent;
    for (size_t i = sent; i < tx_.size(); ++i) rte_pktmbuf_free(tx_[i]);  // TX refused: freed, counted
    stats_.tx_refused += tx_.size() - sent;
    tx_.clear();
}

uint32_t PortWorker::poll(uint64_t now_ns) noexcept {
    const uint16_t n = rte_eth_rx_burst(config_.port, config_.rx_queue, rx_.data(), config_.burst);
    stats_.rx += n;
    uint32_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = rx_[i];
        // Headers must be contiguous: linearise chained mbufs when the first segment has room.
        if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
            rte_pktmbuf_free(m);
            ++stats_.multi_segment_dropped;
            continue;
        }
        pkts_[k++] = to_packet(m);
    }
    out_.clear();
    if (k) engine_.process_burst({pkts_.data(), k}, now_ns, out_);
    engine_.run_timers(now_ns, source_, out_);
    for (uint32_t i = 0; i < out_.n_tx; ++i) queue_tx(finish_tx(out_.tx[i]), now_ns);
    free_all(out_.drop, out_.n_drop, stats_.freed_drop);
    free_all(out_.pass, out_.n_pass, stats_.freed_pass);
    for (uint32_t i = 0; i < out_.n_flow; ++i) rte_pktmbuf_free(mbuf_of(out_.flow[i].packet));
    stats_.flow_packets += out_.n_flow;
    absorb(now_ns);
    if (!tx_.empty() && now_ns - tx_first_ns_ >= config_.tx_flush_ns) flush();
    return n;
}

// The built-in `absorb` application, inline: accept, count, and close each connection with a RST
// (or FIN) built in the completing ACK's own buffer; the worker forgets the flow.
void PortWorker::absorb(uint64_t now_ns) noexcept {
    handshake::Connection c;
    for (uint16_t l = 0; l < engine_.listeners().size(); ++l) {
        while (engine_.accept(l, c)) {
            ++stats_.accepted;
            engine_.forget_flow(c.flow);
            const net::ParsedPacket p = net::parse({c.packet.data, c.packet.len}, net::kRxIpChecksumGood | net::kRxL4ChecksumGood);
            net::ReplySegment seg;
            seg.seq = c.server_isn + 1;
            seg.ack = c.client_isn + 1 + c.payload_len;
            seg.flags = config_.close_with == CloseWith::kRst ? (net::tcp_flag::kRst | net::tcp_flag::kAck)
                                                             : (net::tcp_flag::kFin | net::tcp_flag::kAck);
            seg.window = config_.close_with == CloseWith::kRst ? 0 : 65535;
            if (p.ok() && net::build_reply(c.packet, p, seg, {})) {
                ++stats_.closed;
                queue_tx(finish_tx(c.packet), now_ns);
            } else {
                rte_pktmbuf_free(mbuf_of(c.packet));
            }
        }
    }
}

}  // namespace synwall::dpdk
