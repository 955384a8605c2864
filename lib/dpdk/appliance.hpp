// The appliance as a library: a validated configuration in, running lcores out, and everything
// released again in the right order. What `synwall` runs; an embedder who wants the whole box
// (ports, workers, the application) in its own process uses it the same way.
//
//   dpdk::Eal started (rte_eal_init) ...
//   auto cfg = config::load_appliance_config(path, err);
//   auto a = dpdk::Appliance::create(*cfg, {drivers_dir}, err);   // nullptr + "FILE: KEY: reason"
//   a->start();                               // worker and application lcores launched
//   while (running) {
//       if (a->inline_main()) a->poll_inline(clock.now());  // no worker lcores: the caller works
//       ... a->totals() ...                   // live figures (relaxed atomic loads)
//   }
//   a->stop();                                // lcores return, transmit batches flushed
//   a.reset();                                // application lcores, workers, rings, ports, pools
//
// create() does what synwall's main did: checks the lcores against the EAL's, opens each port
// (vdev specs hot-plugged), checks it against its drivers-config profile, negotiates checksum
// offloads, gives it a mempool and starts it; loads the cookie key; builds one handshake::Worker,
// WorkerLoop and application instance per worker lcore, the rings to and from application lcores
// and their AppCores; registers the /synwall/ telemetry commands and lets dpdk-pdump attach.
//
// Piece by piece, for an embedder that owns its ports and rx loop (docs/embedding.md): a
// handshake::Worker per lcore, MbufBurst over its rx bursts, the established connections from
// Worker::accept (or an AppCore on an application lcore, fed through create_flow_ring /
// create_close_ring), register_telemetry with a TelemetryView of its workers.
// Threading: every member is called from one thread (the main lcore), except what the lcores run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "app/absorb.hpp"
#include "app/proxy.hpp"
#include "config/appliance_config.hpp"
#include "dpdk/app_core.hpp"
#include "dpdk/telemetry.hpp"
#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

struct ApplianceOptions {
    std::string drivers_dir = "drivers-config";  // the port profiles (config::default_drivers_dir())
};

// One port's figures from its driver (rte_eth_stats): what crossed the wire, whatever the engine
// made of it. Bytes out per byte in under a flood come from here.
struct PortFigures {
    std::string name;  // the configured [[port]] name
    uint64_t ipackets = 0, ibytes = 0, opackets = 0, obytes = 0;
    uint64_t imissed = 0;    // frames the NIC dropped: its rx ring was full
    uint64_t rx_nombuf = 0;  // frames the NIC could not take: the pool had no mbuf
    uint64_t oerrors = 0;
};

// The pools once every port is closed: every mbuf should be back.
struct MbufAudit {
    bool done = false;     // Appliance::close() ran
    uint64_t size = 0;     // mbufs in all pools
    uint64_t in_use = 0;   // mbufs not back after every lcore, application and port let go: a leak
};

// The appliance's figures, summed over its lcores.
struct ApplianceTotals {
    handshake::Counters counters;
    IoStats io;
    uint64_t half_open = 0;  // SYN-queue entries now, all workers and listeners
    bool proxy = false;      // the application is the proxy: its figures follow
    app::ProxyCounters proxy_counters;
    uint64_t proxy_active = 0;
    bool absorb = false;     // the application is absorb, and the lcores have stopped: its figures follow
    bool absorb_rst = true;  // it closes with RST (else FIN)
    uint64_t absorb_accepted = 0, absorb_closed = 0, absorb_late = 0, absorb_evicted = 0;
    std::vector<PortFigures> ports;  // configured order
    MbufAudit mbufs;                 // filled by the caller from close()
};

class Appliance {
public:
    // After the EAL started. nullptr and `error` on bad input: every resource taken so far is
    // released again.
    static std::unique_ptr<Appliance> create(const config::ApplianceConfig& cfg, const ApplianceOptions& options,
                                             std::string& error);
    ~Appliance();  // stop(), then frees in order: application lcores, workers, rings, ports, pools
    Appliance(const Appliance&) = delete;
    Appliance& operator=(const Appliance&) = delete;

    // Launches the worker and application lcores. With no worker lcores the caller's lcore is the
    // only worker: it calls poll_inline() in its loop.
    void start();
    bool inline_main() const noexcept { return inline_main_; }
    void poll_inline(uint64_t now_ns) noexcept;
    // Stops every lcore and waits for them; transmit batches are flushed. Idempotent.
    void stop();

    // While running: each figure exact, the set from slightly different instants. absorb's own
    // figures only once stopped.
    ApplianceTotals totals() const;
    // After the last totals(): stops, lets every application, worker and port go (ports stopped
    // and closed, so drivers return the mbufs of their rings), and counts the mbufs not back in
    // the pools. Only the destructor may follow.
    MbufAudit close();

    // Listeners at run time: opens `open` and closes the listeners named in `close` on every worker,
    // and returns once all of them have switched ("" ), or why the change was refused (then
    // nothing changed). A closed listener's established connections carry on; its half-open
    // requests expire; new SYNs to it pass as to no listener (handshake::Worker::update_listeners).
    std::string change_listeners(const std::vector<handshake::ListenerConfig>& open, const std::vector<std::string>& close);
    // The listener set made what `wanted` says (a reloaded configuration's): listeners whose name
    // is new are opened, those whose name is gone are closed, and those whose settings changed are
    // closed and opened again under the same name. `opened` and `closed` count what changed.
    std::string reload_listeners(const std::vector<handshake::ListenerConfig>& wanted, size_t& opened, size_t& closed);
    const handshake::ListenerTable& listener_table() const noexcept { return *listeners_; }
    // A new cookie master key (a reloaded key file) on every worker, returning once all switched:
    // cookies the previous key minted keep validating while they are valid
    // (handshake::Worker::change_master_key). The same key again changes nothing.
    void change_master_key(const cookie::MasterKey& key);
    const cookie::MasterKey& master_key() const noexcept { return secrets_.master; }

    // Worker w's engine, for reading (counters, listener_count) from this thread.
    const handshake::Worker& worker(size_t w) const noexcept;

    size_t ports() const noexcept { return port_ids_.size(); }
    size_t workers() const noexcept { return lanes_.size(); }
    size_t app_lcores() const noexcept { return apps_.size(); }
    size_t listeners() const noexcept { return listeners_->size(); }  // closed ones included
    const char* prf_name() const noexcept { return prf_name_.c_str(); }
    const char* application_name() const noexcept { return proxy_ ? "proxy" : "absorb"; }
    // One line: ports, listeners, workers, application lcores, PRF, application.
    std::string describe() const;

private:
    struct Lane;
    struct AppLane;
    Appliance() = default;
    std::string build(const config::ApplianceConfig& cfg, const ApplianceOptions& options);
    std::string open_ports(const config::ApplianceConfig& cfg, const ApplianceOptions& options);
    std::unique_ptr<app::Application> make_app(const config::ApplianceConfig& cfg, Lane& lane) const;
    void release();  // everything but the pools, in order; idempotent
    std::string apply(const std::shared_ptr<const handshake::ListenerTable>& next,
                      const std::optional<cookie::MasterKey>& key);
    template <class L>
    static int lcore_main(void* lane);

    std::atomic<bool> stop_{false};
    bool started_ = false, stopped_ = false, inline_main_ = false, proxy_ = false, pdump_ = false;
    bool telemetry_ = false, absorb_rst_ = true;
    size_t nworkers_ = 0, napps_ = 0;
    handshake::EngineConfig engine_cfg_;
    cookie::SecretConfig secrets_;
    std::shared_ptr<const handshake::ListenerTable> listeners_;
    std::vector<std::shared_ptr<const handshake::ListenerTable>> published_;  // kept for telemetry's readers
    std::string prf_name_;
    std::vector<uint16_t> opened_;    // every port opened (stopped and closed at the end)
    std::vector<uint16_t> port_ids_;  // configured order
    std::vector<std::string> port_names_;
    std::vector<rte_mempool*> pools_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::vector<std::unique_ptr<AppLane>> apps_;
    TelemetryView view_;
};

}  // namespace synwall::dpdk
