#include "dpdk/app_core.hpp"

#include <rte_ring_elem.h>

#include "dpdk/mbuf_packet.hpp"

namespace synwall::dpdk {

rte_ring* create_close_ring(const char* name, unsigned capacity, int socket) {
    unsigned size = 64;
    while (size < capacity + 1) size <<= 1;
    return rte_ring_create_elem(name, sizeof(uint32_t), size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

AppCore::AppCore(std::vector<AppLink> links, app::Application& app, std::vector<PortBinding> tx_ports, uint16_t burst,
                 uint64_t tx_flush_ns)
    : links_(std::move(links)), pending_(links_.size()), app_(app), tx_(std::move(tx_ports), burst, tx_flush_ns), burst_(burst) {}

AppCore::~AppCore() {
    tx_.flush();
    for (size_t i = 0; i < links_.size(); ++i) push_closes(links_[i], pending_[i]);
}

void AppCore::push_closes(AppLink& link, std::vector<uint32_t>& pending) noexcept {
    if (pending.empty()) return;
    const unsigned n = rte_ring_sp_enqueue_burst_elem(link.closes, pending.data(), sizeof(uint32_t),
                                                      static_cast<unsigned>(pending.size()), nullptr);
    pending.erase(pending.begin(), pending.begin() + n);
}

uint32_t AppCore::poll(uint64_t now_ns) noexcept {
    uint32_t handled = 0;
    handshake::Connection c;
    for (size_t i = 0; i < links_.size(); ++i) {
        AppLink& link = links_[i];
        for (uint16_t l = 0; l < link.worker->listeners().size(); ++l) {
            for (uint16_t k = 0; k < burst_ && link.worker->accept(l, c); ++k) {
                ++handled;
                bool closed = false;
                const app::Verdict v = app_.on_accept(c, closed);
                if (closed) pending_[i].push_back(c.flow);
                if (v == app::Verdict::kTransmit)
                    tx_.queue(c.packet.port, finish_tx(c.packet), now_ns);
                else
                    rte_pktmbuf_free(mbuf_of(c.packet));
            }
        }
        push_closes(link, pending_[i]);
    }
    stats_.accepted += handled;
    tx_.flush_due(now_ns);
    stats_.tx = tx_.stats().tx;
    stats_.tx_refused = tx_.stats().tx_refused;
    return handled;
}

}  // namespace synwall::dpdk
