#include "dpdk/mbuf_burst.hpp"

#include <rte_ring_elem.h>

#include "dpdk/mbuf_packet.hpp"

namespace synwall::dpdk {

uint16_t mbufs_to_packets(rte_mbuf* const* rx, uint16_t n, int32_t port, net::Packet* out, uint64_t& freed) noexcept {
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = rx[i];
        // Headers must be contiguous: linearise chained mbufs when the first segment has room.
        if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
            rte_pktmbuf_free(m);
            ++freed;
            continue;
        }
        out[k] = to_packet(m);
        if (port >= 0) out[k].port = static_cast<uint16_t>(port);
        ++k;
    }
    return k;
}

uint32_t hand_over_flows(rte_ring* flows, std::span<const FlowHandoff> packets) noexcept {
    if (packets.empty()) return 0;
    const unsigned n = rte_ring_sp_enqueue_burst_elem(flows, packets.data(), sizeof(FlowHandoff),
                                                      static_cast<unsigned>(packets.size()), nullptr);
    for (size_t i = n; i < packets.size(); ++i) rte_pktmbuf_free(packets[i].m);
    return static_cast<uint32_t>(packets.size() - n);
}

void forget_closed_flows(handshake::Worker& worker, rte_ring* closes) noexcept {
    uint32_t ids[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(closes, ids, sizeof(uint32_t), 64, nullptr)) > 0)
        for (unsigned i = 0; i < n; ++i) worker.forget_flow(ids[i]);
}

void MbufBurst::collect(MbufBurstResult& out) noexcept {
    for (uint32_t i = 0; i < burst_.n_tx; ++i) out.tx[out.n_tx++] = finish_tx(burst_.tx[i]);
    for (uint32_t i = 0; i < burst_.n_drop; ++i) rte_pktmbuf_free(mbuf_of(burst_.drop[i]));
    out.dropped += burst_.n_drop;
    for (uint32_t i = 0; i < burst_.n_pass; ++i) out.pass[out.n_pass++] = mbuf_of(burst_.pass[i]);
    for (uint32_t i = 0; i < burst_.n_flow; ++i) {
        const handshake::FlowPacket& f = burst_.flow[i];
        rte_mbuf* m = mbuf_of(f.packet);
        m->port = f.packet.port;
        out.flow[out.n_flow++] = {m, f.flow, f.from_server ? 1u : 0u};
    }
    burst_.clear();
}

void MbufBurst::process(rte_mbuf* const* rx, uint16_t n, uint64_t now_ns, MbufBurstResult& out) noexcept {
    if (n > handshake::kMaxBurst) n = handshake::kMaxBurst;
    const uint16_t k = mbufs_to_packets(rx, n, -1, pkts_, out.dropped);
    uint32_t done = 0;
    while (done < k) {  // the engine takes fewer than k only when its output is full
        done += worker_.process_burst({pkts_ + done, static_cast<size_t>(k - done)}, now_ns, burst_);
        collect(out);
    }
}

void MbufBurst::run_timers(uint64_t now_ns, MbufBurstResult& out) noexcept {
    if (out.n_tx > handshake::kMaxBurst) return;
    worker_.run_timers(now_ns, source_, burst_);
    collect(out);
}

}  // namespace synwall::dpdk
