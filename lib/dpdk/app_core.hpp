// An application lcore: takes the established connections of the workers it serves (the
// consumer side of their accept queues: lock-free SPSC, one consumer each) and the later packets
// of those flows (an SP/SC rte_ring of FlowHandoff per worker), runs each worker's application
// instance through an AppDriver (flow ids are per worker), transmits on its own tx queue of each port, and sends the flows it closed back to their worker
// through an SP/SC element ring of uint32 flow ids (the worker forgets them; its tables stay
// single-owner). Close requests that do not fit the ring wait here and are retried: never lost.
#pragma once

#include <rte_ring.h>

#include <memory>
#include <vector>

#include "app/application.hpp"
#include "dpdk/app_driver.hpp"
#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

struct AppLink {
    handshake::Worker* worker;
    rte_ring* closes;           // this app lcore produces, the worker consumes
    rte_ring* flows = nullptr;  // the worker produces, this app lcore consumes (nullptr: none)
    app::Application* app = nullptr;  // the instance serving this worker's flows
};

// An SP/SC ring of uint32 flow ids, sized for `capacity` entries (rounded up to a power of two).
rte_ring* create_close_ring(const char* name, unsigned capacity, int socket);
// An SP/SC ring of FlowHandoff elements for `capacity` packets in flight (rounded up likewise).
rte_ring* create_flow_ring(const char* name, unsigned capacity, int socket);

class AppCore {
public:
    // `pool`: buffers the applications allocate (AppIo::alloc).
    AppCore(std::vector<AppLink> links, rte_mempool* pool, std::vector<PortBinding> tx_ports, uint16_t burst,
            uint64_t tx_flush_ns = 100'000);
    ~AppCore();  // flushes, and hands pending closes over (best effort) before the rings go away

    // One loop iteration; returns the number of connections handled.
    uint32_t poll(uint64_t now_ns) noexcept;
    void flush() noexcept { tx_.flush(); }
    const IoStats& stats() const noexcept { return stats_; }

private:
    void push_closes(AppLink& link, std::vector<uint32_t>& pending) noexcept;
    uint32_t accept_from(size_t link, uint32_t limit) noexcept;

    std::vector<AppLink> links_;
    std::vector<std::vector<uint32_t>> pending_;  // closes not yet accepted by each link's ring
    std::vector<uint64_t> popped_;                // connections taken from each link's worker
    TxBatcher tx_;
    std::vector<std::unique_ptr<AppDriver>> drivers_;  // one per link
    uint16_t burst_;
    std::vector<FlowHandoff> flows_;
    IoStats stats_;
};

}  // namespace synwall::dpdk
