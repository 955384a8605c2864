#include "dpdk/worker_loop.hpp"

#include "dpdk/app_driver.hpp"
#include "dpdk/mbuf_burst.hpp"
#include "dpdk/mbuf_packet.hpp"


namespace synwall::dpdk {

using handshake::stat_add;
using handshake::stat_set;

bool MempoolSource::alloc(net::Packet& out) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return false;
    out = to_packet(m);
    out.len = 0;
    return true;
}

void IoStats::add(const IoStats& o) noexcept {
    // `o` may belong to a running lcore: its figures are read with relaxed atomic loads.
#define X(f) f += handshake::stat_load(o.f);
    SYNWALL_IO_STATS(X)
#undef X
}

TxBatcher::TxBatcher(std::vector<PortBinding> ports, uint16_t burst, uint64_t flush_ns) : burst_(burst), flush_ns_(flush_ns) {
    for (const auto& b : ports) {
        outs_.push_back(Out{b, {}, 0});
        outs_.back().pending.reserve(4 * handshake::kMaxBurst);
    }
}

TxBatcher::~TxBatcher() {
    flush();
    for (auto& o : outs_)
        for (rte_mbuf* m : o.pending) rte_pktmbuf_free(m);
}

void TxBatcher::queue(uint16_t port, rte_mbuf* m, uint64_t now_ns) noexcept {
    for (auto& o : outs_) {
        if (o.b.port != port) continue;
        if (o.pending.empty()) o.first_ns = now_ns;
        o.pending.push_back(m);
        if (o.pending.size() >= burst_) flush(o);
        return;
    }
    rte_pktmbuf_free(m);  // a port this lcore does not transmit on
    stat_add(stats_.tx_refused, 1);
}

void TxBatcher::flush(Out& o) noexcept {
    size_t sent = 0;
    while (sent < o.pending.size()) {
        const uint16_t n = rte_eth_tx_burst(o.b.port, o.b.tx_queue, o.pending.data() + sent,
                                            static_cast<uint16_t>(std::min<size_t>(o.pending.size() - sent, UINT16_MAX)));
        if (n == 0) break;
        sent += n;
    }
    stat_add(stats_.tx, sent);
    for (size_t i = sent; i < o.pending.size(); ++i) rte_pktmbuf_free(o.pending[i]);  // refused: freed, counted
    stat_add(stats_.tx_refused, o.pending.size() - sent);
    o.pending.clear();
}

void TxBatcher::flush_due(uint64_t now_ns) noexcept {
    for (auto& o : outs_)
        if (!o.pending.empty() && now_ns - o.first_ns >= flush_ns_) flush(o);
}

void TxBatcher::flush() noexcept {
    for (auto& o : outs_) flush(o);
}

WorkerLoop::WorkerLoop(handshake::Worker& engine, rte_mempool* pool, const WorkerLoopConfig& config)
    : engine_(engine), config_(config), source_(pool), tx_(config.ports, config.burst, config.tx_flush_ns) {
    if (config_.burst == 0 || config_.burst > handshake::kMaxBurst) config_.burst = 32;
    rx_.resize(config_.burst);
    pkts_.resize(config_.burst);
    handoff_.reserve(handshake::kMaxBurst);
    if (config_.inline_app)
        app_ = std::make_unique<AppDriver>(*config_.inline_app, tx_, config_.app_pool ? config_.app_pool : pool, &engine_,
                                           nullptr);
}

WorkerLoop::~WorkerLoop() {
    if (app_) app_->drain();
    tx_.flush();
    // Connections still waiting in accept queues own their completing ACKs.
    handshake::Connection c;
    for (uint16_t l = 0, n = engine_.listener_count(); l < n; ++l)
        while (engine_.accept(l, c)) rte_pktmbuf_free(mbuf_of(c.packet));
}

void WorkerLoop::dispatch(uint64_t now_ns) noexcept {
    for (uint32_t i = 0; i < out_.n_tx; ++i) tx_.queue(out_.tx[i].port, finish_tx(out_.tx[i]), now_ns);
    for (uint32_t i = 0; i < out_.n_drop; ++i) rte_pktmbuf_free(mbuf_of(out_.drop[i]));
    for (uint32_t i = 0; i < out_.n_pass; ++i) {
        const net::Packet& p = out_.pass[i];
        const int32_t peer = peer_of(p.port);
        if (peer >= 0) {
            rte_mbuf* m = mbuf_of(p);  // untouched by the engine: forwarded as it came
            tx_.queue(static_cast<uint16_t>(peer), m, now_ns);
            stat_add(stats_.bridged, 1);
        } else {
            rte_pktmbuf_free(mbuf_of(p));
            stat_add(stats_.freed_pass, 1);
        }
    }
    stat_add(stats_.freed_drop, out_.n_drop);
    // A connection's accept comes before its flow packets: they may sit in the same burst.
    if (app_ && out_.n_flow) accept_inline(now_ns);
    for (uint32_t i = 0; i < out_.n_flow; ++i) {
        handshake::FlowPacket& f = out_.flow[i];
        if (app_) {
            app_->deliver(f.packet, {f.flow, f.from_server, f.parsed});
        } else if (config_.flows) {
            rte_mbuf* m = mbuf_of(f.packet);
            m->port = f.packet.port;
            handoff_.push_back({m, f.flow, f.from_server ? 1u : 0u});
        } else {
            rte_pktmbuf_free(mbuf_of(f.packet));
        }
    }
    stat_add(stats_.flow_packets, out_.n_flow);
    hand_over_flows();
    out_.clear();
}

// The accept queue entry of a connection is pushed before its first flow packet (in process_burst),
// so the application lcore, which looks at this ring before the accept queues, never sees a packet
// of a connection it has not accepted.
void WorkerLoop::hand_over_flows() noexcept {
    if (handoff_.empty()) return;
    stat_add(stats_.flow_ring_full, dpdk::hand_over_flows(config_.flows, handoff_));
    handoff_.clear();
}

int32_t WorkerLoop::peer_of(uint16_t port) const noexcept {
    for (const PortBinding& b : config_.ports)
        if (b.port == port) return b.peer;
    return -1;
}

void WorkerLoop::take_control(uint64_t now_ns) {
    ControlMailbox& mb = *config_.control;
    const uint64_t posted = mb.posted.load(std::memory_order_acquire);
    {
        std::lock_guard<std::mutex> lock(mb.m);
        mb.error = mb.next ? engine_.update_listeners(mb.next) : "";
        if (mb.error.empty() && mb.key) engine_.change_master_key(*mb.key, now_ns);
    }
    control_seen_ = posted;
    mb.applied.store(posted, std::memory_order_release);
}

uint32_t WorkerLoop::poll(uint64_t now_ns) noexcept {
    if (config_.control && config_.control->posted.load(std::memory_order_relaxed) != control_seen_) take_control(now_ns);
    if (last_poll_busy_) stat_add(stats_.busy_ns, now_ns - last_poll_ns_);
    uint32_t total = 0;
    for (const PortBinding& b : config_.ports) {
        const uint16_t n = rte_eth_rx_burst(b.port, b.rx_queue, rx_.data(), config_.burst);
        total += n;
        uint64_t unlinearised = 0;
        const uint16_t k = mbufs_to_packets(rx_.data(), n, b.port, pkts_.data(), unlinearised);
        if (unlinearised) stat_add(stats_.multi_segment_dropped, unlinearised);
        if (k) {
            engine_.process_burst({pkts_.data(), k}, now_ns, out_);
            dispatch(now_ns);
        }
    }
    // SYNs that reopened a closed flow's tuple: handled again, now as new connections.
    if (app_ && !app_->reprocess().empty()) {
        std::vector<net::Packet>& again = app_->reprocess();
        const uint32_t n = engine_.process_again(again, now_ns, out_);
        again.erase(again.begin(), again.begin() + n);
        dispatch(now_ns);
    }
    stat_add(stats_.rx, total);
    engine_.run_timers(now_ns, source_, out_);
    dispatch(now_ns);
    if (app_) {
        accept_inline(now_ns);
        app_->tick();
    } else {
        forget_closed();
    }
    tx_.flush_due(now_ns);
    // Keep the TX counters in one place.
    stat_set(stats_.tx, tx_.stats().tx);
    stat_set(stats_.tx_refused, tx_.stats().tx_refused);
    last_poll_ns_ = now_ns;
    last_poll_busy_ = total > 0;
    return total;
}

void WorkerLoop::accept_inline(uint64_t now_ns) noexcept {
    app_->set_now(now_ns);
    if (engine_.connections_queued() == stats_.accepted) return;  // every accept queue is empty
    handshake::Connection c;
    for (uint16_t l = 0, n = engine_.listener_count(); l < n; ++l)
        while (engine_.accept(l, c)) {
            stat_add(stats_.accepted, 1);
            app_->accept(c);
        }
}

void WorkerLoop::forget_closed() noexcept { forget_closed_flows(engine_, config_.closes); }

}  // namespace synwall::dpdk
