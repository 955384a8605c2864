#include "dpdk/app_core.hpp"

#include <rte_ring_elem.h>

#include "dpdk/mbuf_packet.hpp"

namespace synwall::dpdk {

using handshake::stat_add;
using handshake::stat_set;

namespace {
rte_ring* create_spsc_ring(const char* name, unsigned esize, unsigned capacity, int socket) {
    unsigned size = 64;
    while (size < capacity + 1) size <<= 1;
    return rte_ring_create_elem(name, esize, size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}
}  // namespace

rte_ring* create_close_ring(const char* name, unsigned capacity, int socket) {
    return create_spsc_ring(name, sizeof(uint32_t), capacity, socket);
}

rte_ring* create_flow_ring(const char* name, unsigned capacity, int socket) {
    return create_spsc_ring(name, sizeof(FlowHandoff), capacity, socket);
}

AppCore::AppCore(std::vector<AppLink> links, rte_mempool* pool, std::vector<PortBinding> tx_ports, uint16_t burst,
                 uint64_t tx_flush_ns)
    : links_(std::move(links)), pending_(links_.size()), popped_(links_.size(), 0), tx_(std::move(tx_ports), burst, tx_flush_ns),
      burst_(burst), flows_(burst) {
    for (size_t i = 0; i < links_.size(); ++i)
        drivers_.push_back(std::make_unique<AppDriver>(*links_[i].app, tx_, pool, nullptr, &pending_[i]));
}

AppCore::~AppCore() {
    for (auto& d : drivers_) d->drain();
    tx_.flush();
    for (size_t i = 0; i < links_.size(); ++i) {
        push_closes(links_[i], pending_[i]);
        // Flow packets still in the ring: this lcore was their only consumer.
        if (links_[i].flows == nullptr) continue;
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst_elem(links_[i].flows, flows_.data(), sizeof(FlowHandoff), burst_, nullptr)) > 0)
            for (unsigned k = 0; k < n; ++k) rte_pktmbuf_free(flows_[k].m);
    }
}

void AppCore::push_closes(AppLink& link, std::vector<uint32_t>& pending) noexcept {
    if (pending.empty()) return;
    const unsigned n = rte_ring_sp_enqueue_burst_elem(link.closes, pending.data(), sizeof(uint32_t),
                                                      static_cast<unsigned>(pending.size()), nullptr);
    pending.erase(pending.begin(), pending.begin() + n);
}

uint32_t AppCore::accept_from(size_t i, uint32_t limit) noexcept {
    uint32_t handled = 0;
    handshake::Connection c;
    handshake::Worker& w = *links_[i].worker;
    for (uint16_t l = 0, n = w.listener_count(); l < n; ++l) {
        for (uint32_t k = 0; k < limit && w.accept(l, c); ++k) {
            ++handled;
            drivers_[i]->accept(c);
        }
    }
    return handled;
}

uint32_t AppCore::poll(uint64_t now_ns) noexcept {
    uint32_t handled = 0;
    for (size_t i = 0; i < links_.size(); ++i) {
        AppLink& link = links_[i];
        AppDriver& driver = *drivers_[i];
        driver.set_now(now_ns);
        // Flow packets first, then the accept queues: a packet in hand had its connection queued
        // before it, so draining the queues completely before delivering keeps on_accept first.
        const unsigned n = link.flows == nullptr
                               ? 0
                               : rte_ring_sc_dequeue_burst_elem(link.flows, flows_.data(), sizeof(FlowHandoff), burst_, nullptr);
        if (link.worker->connections_queued() != popped_[i]) {  // else every accept queue is empty
            const uint32_t got = accept_from(i, n ? UINT32_MAX : burst_);
            popped_[i] += got;
            handled += got;
        }
        for (unsigned k = 0; k < n; ++k) {
            net::Packet p = to_packet(flows_[k].m);
            driver.deliver(p, {flows_[k].flow, flows_[k].from_server != 0});
        }
        stat_add(stats_.flow_delivered, n);
        driver.tick();
        push_closes(link, pending_[i]);
    }
    stat_add(stats_.accepted, handled);
    tx_.flush_due(now_ns);
    stat_set(stats_.tx, tx_.stats().tx);
    stat_set(stats_.tx_refused, tx_.stats().tx_refused);
    return handled;
}

}  // namespace synwall::dpdk
