#include "dpdk/app_driver.hpp"

#include "dpdk/mbuf_packet.hpp"

namespace synwall::dpdk {

bool AppDriver::alloc(net::Packet& out) noexcept {
    rte_mbuf* m = pool_ ? rte_pktmbuf_alloc(pool_) : nullptr;
    if (m == nullptr) return false;
    out = to_packet(m);
    out.len = 0;
    return true;
}

void AppDriver::send(net::Packet& p, uint16_t port) noexcept {
    rte_mbuf* m = finish_tx(p);
    m->port = port;
    tx_.queue(port, m, now_);
}

void AppDriver::release(net::Packet& p) noexcept { rte_pktmbuf_free(mbuf_of(p)); }

void AppDriver::close_flow(uint32_t flow) noexcept {
    if (worker_ != nullptr)
        worker_->forget_flow(flow);
    else
        pending_->push_back(flow);
}

void AppDriver::dispose(net::Packet& p, app::Disposition d) noexcept {
    switch (d.kind) {
    case app::Disposition::Kind::kTransmit: send(p, d.port); return;
    case app::Disposition::Kind::kFree: release(p); return;
    case app::Disposition::Kind::kKeep: return;
    case app::Disposition::Kind::kReprocess:
        // Only the worker's own lcore can hand a packet back to its engine, at most a burst's worth.
        if (worker_ != nullptr && reprocess_.size() < handshake::kMaxBurst)
            reprocess_.push_back(p);
        else
            release(p);
        return;
    }
}

void AppDriver::drain() noexcept {
    app_.drain(*this);
    for (net::Packet& p : reprocess_) release(p);
    reprocess_.clear();
}

}  // namespace synwall::dpdk
