// synwall's rte_telemetry commands, readable with the stock dpdk-telemetry.py:
//   /synwall/stats             counters summed over all workers
//   /synwall/stats,<lcore>     one worker's counters
//   /synwall/listeners         each listener: settings, SYN-queue length, its own counters (SynRecv,
//                              SyncookiesSent, PassiveOpens, OverflowDrops) summed over workers
//   /synwall/config            engine settings
//   /synwall/proxy             the proxy application's counters, summed over its instances
//   /synwall/reload            reloads listeners and the cookie key file (as SIGHUP) and answers
//                              with the outcome (set_reload_hook)
//   /synwall/io                I/O figures (rx, tx, tx refused, ring full, ...) summed over lcores;
//                              the ports' own (imissed, rx_nombuf, errors) are DPDK's /ethdev/stats
// rte_telemetry callbacks carry no user pointer, so the view is registered process-wide; the
// workers it points at must outlive unregister_telemetry(). Counters are read with relaxed atomic
// loads while the workers run (handshake/counters.hpp).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "app/proxy.hpp"
#include "dpdk/worker_loop.hpp"
#include "handshake/worker.hpp"

namespace synwall::dpdk {

struct TelemetryView {
    struct WorkerRef {
        unsigned lcore;
        const handshake::Worker* worker;
    };
    std::vector<WorkerRef> workers;
    const handshake::EngineConfig* engine = nullptr;
    // The current table; replaced when listeners change at run time (the old one must outlive the
    // readers: the appliance keeps every table it published).
    std::atomic<const handshake::ListenerTable*> listeners{nullptr};
    const char* prf = "";
    std::vector<const app::Proxy*> proxies;  // empty: another application
    std::vector<const IoStats*> io;           // every worker and application lcore
};

// /synwall/reload's work. It runs on DPDK's telemetry thread: it hands the request to the thread
// that owns the appliance, waits for it, and returns the one-line outcome. nullptr: the command
// answers that this process does not reload.
using ReloadHook = std::string (*)();
void set_reload_hook(ReloadHook hook);

// Registers the commands (once per process) and points them at `view` (nullptr: answer empty).
int register_telemetry(const TelemetryView* view);
void unregister_telemetry();

}  // namespace synwall::dpdk
