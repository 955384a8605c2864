// Where an application meets DPDK: the one piece of code that hands connections and flow packets
// to an app::Application and carries out what it decides — transmit out of the port it names,
// free, or keep — and the AppIo behind its own sends, allocations and closes. Used by the worker
// loop (application inline) and by application lcores (one driver per worker they serve).
//
// Closes go straight to the worker when the application runs on the worker's own lcore, or into
// `pending` (the application lcore pushes them through its close ring to the worker).
// Threading: single owner, the lcore that runs the application.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <vector>

#include "app/application.hpp"
#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

class AppDriver final : public app::AppIo {
public:
    // Exactly one of `worker` (inline) and `pending` (application lcore) is set.
    AppDriver(app::Application& app, TxBatcher& tx, rte_mempool* pool, handshake::Worker* worker,
              std::vector<uint32_t>* pending)
        : app_(app), tx_(tx), pool_(pool), worker_(worker), pending_(pending) {
        reprocess_.reserve(handshake::kMaxBurst);
    }

    void set_now(uint64_t now_ns) noexcept { now_ = now_ns; }
    void accept(handshake::Connection& c) noexcept { dispose(c.packet, app_.on_accept(c, *this)); }
    void deliver(net::Packet& p, app::FlowRef f) noexcept { dispose(p, app_.on_packet(p, f, *this)); }
    void tick() noexcept { app_.on_tick(*this); }
    void drain() noexcept;
    // Packets the application handed back to be handled again as new (Disposition::kReprocess):
    // the worker loop feeds them to the engine before its next burst. Inline only.
    std::vector<net::Packet>& reprocess() noexcept { return reprocess_; }

    uint64_t now_ns() const noexcept override { return now_; }
    bool alloc(net::Packet& out) noexcept override;
    void send(net::Packet& p, uint16_t port) noexcept override;
    void release(net::Packet& p) noexcept override;
    void close_flow(uint32_t flow) noexcept override;

private:
    void dispose(net::Packet& p, app::Disposition d) noexcept;

    app::Application& app_;
    TxBatcher& tx_;
    rte_mempool* pool_;
    handshake::Worker* worker_;
    std::vector<uint32_t>* pending_;
    uint64_t now_ = 0;
    std::vector<net::Packet> reprocess_;
};

}  // namespace synwall::dpdk
