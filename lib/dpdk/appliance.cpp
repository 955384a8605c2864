#include "dpdk/appliance.hpp"

#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "dpdk/port.hpp"
#include "dpdk/wall_clock.hpp"

namespace synwall::dpdk {

struct Appliance::Lane {
    const std::atomic<bool>* stop;
    unsigned lcore;
    std::unique_ptr<handshake::Worker> engine;
    std::unique_ptr<app::Application> app;  // serves this worker's flows: inline, or on an application lcore
    app::Proxy* proxy = nullptr;            // `app`, when it is the proxy (counters)
    app::Absorb* absorb = nullptr;          // `app`, when it is absorb (counters, read once stopped)
    rte_ring* closes = nullptr;             // with application lcores: from its application lcore
    rte_ring* flows = nullptr;              //   and to it: packets of established flows
    ControlMailbox control;                 // listener and key changes, taken by the loop
    std::unique_ptr<WorkerLoop> loop;
    WorkerLoop& body() { return *loop; }
};

struct Appliance::AppLane {
    const std::atomic<bool>* stop;
    unsigned lcore;
    std::unique_ptr<AppCore> core;
    AppCore& body() { return *core; }
};

// An lcore's whole life: its loop body polled on its own clock until the stop, then flushed.
template <class L>
int Appliance::lcore_main(void* arg) {
    L& lane = *static_cast<L*>(arg);
    const WallClock clock;
    while (!lane.stop->load(std::memory_order_relaxed)) lane.body().poll(clock.now());
    lane.body().flush();
    return 0;
}

std::unique_ptr<Appliance> Appliance::create(const config::ApplianceConfig& cfg, const ApplianceOptions& options,
                                             std::string& error) {
    std::unique_ptr<Appliance> a(new Appliance());
    error = a->build(cfg, options);
    if (!error.empty()) return nullptr;  // the destructor released what build() took
    return a;
}

// Ports: hot-plug vdevs, find devices, check them against their profiles, start them.
std::string Appliance::open_ports(const config::ApplianceConfig& cfg, const ApplianceOptions& options) {
    const size_t nworkers = nworkers_;
    const size_t napps = napps_;
    bool all_tx_csum = true;  // the engine leaves checksums to the NIC only when every port finishes them
    std::string err;
    for (size_t i = 0; i < cfg.ports.size(); ++i) {
        const auto& pc = cfg.ports[i];
        const std::string key = cfg.path + ": port[" + std::to_string(i) + "]";
        auto profile = config::load_port_profile(options.drivers_dir, pc.profile, err);
        if (!profile) return key + ".profile: " + err;
        uint16_t pid = 0;
        if (const std::string e = open_device(pc.device, pid); !e.empty()) return key + ".device: " + e;
        opened_.push_back(pid);
        PortCaps caps;
        if (const std::string e = port_caps(pid, caps); !e.empty()) return key + ".device: " + e;
        if (profile->driver != caps.driver)
            return key + ".profile: profile '" + pc.profile + "' is for " + profile->driver + ", the device is " + caps.driver;
        if (nworkers > profile->max_queues || nworkers > caps.max_rx_queues || nworkers + napps > caps.max_tx_queues)
            return key + ": " + std::to_string(nworkers) + " workers and " + std::to_string(napps) +
                   " application lcores need as many queues; " + pc.profile + " has " +
                   std::to_string(std::min<unsigned>(profile->max_queues, caps.max_rx_queues)) + " rx / " +
                   std::to_string(caps.max_tx_queues) + " tx";
        if (profile->rss && nworkers > 1 && !caps.rss_tcp)
            return key + ".profile: rss = true but " + caps.driver + " cannot hash TCP flows over queues";
        // Checksums: verified by the NIC when the profile asks and the device can; otherwise in
        // software — an error instead when the profile requires the offload.
        const bool want_hw = profile->ipv4_checksum != config::OffloadPolicy::kSoftware ||
                             profile->tcp_checksum != config::OffloadPolicy::kSoftware;
        const bool must_hw = profile->ipv4_checksum == config::OffloadPolicy::kHardware ||
                             profile->tcp_checksum == config::OffloadPolicy::kHardware;
        if (must_hw && !(caps.rx_checksum && caps.tx_checksum)) {
            if (profile->require_offloads)
                return key + ".profile: checksums in hardware are required but " + caps.driver + " cannot offload them";
            std::fprintf(stderr, "synwall: %s: %s has no checksum offload: checksums in software\n", key.c_str(),
                         caps.driver.c_str());
        }
        const bool tx_csum = want_hw && caps.tx_checksum;
        all_tx_csum = all_tx_csum && tx_csum;
        const unsigned nmbufs = static_cast<unsigned>(profile->mbufs_per_queue * nworkers * 2 + 1024);
        rte_mempool* pool = rte_pktmbuf_pool_create(("synwall_" + std::to_string(i)).c_str(), nmbufs,
                                                    profile->mempool_cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                    static_cast<int>(rte_socket_id()));
        if (pool == nullptr) return key + ": cannot allocate " + std::to_string(nmbufs) + " mbufs (memory: -m / hugepages)";
        pools_.push_back(pool);
        PortSetup setup;
        setup.rx_queues = static_cast<uint16_t>(nworkers);
        setup.tx_queues = static_cast<uint16_t>(nworkers + napps);  // application lcores transmit too
        setup.rx_descriptors = profile->rx_descriptors;
        setup.tx_descriptors = profile->tx_descriptors;
        setup.mtu = profile->mtu;
        setup.rss = profile->rss && nworkers > 1;
        setup.rx_checksum = want_hw && caps.rx_checksum;
        setup.tx_checksum = tx_csum;
        if (const std::string e = start_port(pid, setup, pool); !e.empty()) return key + ": " + e;
        port_ids_.push_back(pid);
        port_names_.push_back(pc.name.empty() ? "port" + std::to_string(i) : pc.name);
    }
    engine_cfg_.checksum_offload = all_tx_csum && !port_ids_.empty();
    return "";
}

// One application instance per worker (flow ids are per worker).
std::unique_ptr<app::Application> Appliance::make_app(const config::ApplianceConfig& cfg, Lane& lane) const {
    if (proxy_) {
        app::ProxyConfig pc;
        pc.server_port = port_ids_[static_cast<size_t>(cfg.proxy.server_port_index)];
        pc.server_syn_retries = cfg.proxy.server_syn_retries;
        pc.server_syn_timeout_ns = uint64_t{cfg.proxy.server_syn_timeout_ms} * 1'000'000;
        pc.idle_timeout_ns = uint64_t{cfg.proxy.idle_timeout_s} * 1'000'000'000;
        pc.grace_ns = uint64_t{cfg.grace_ms} * 1'000'000;
        pc.hold_bytes = cfg.proxy.hold_bytes;
        pc.flow_capacity = engine_cfg_.established_capacity;
        pc.ttl = engine_cfg_.ttl;
        auto p = std::make_unique<app::Proxy>(pc);
        lane.proxy = p.get();
        return p;
    }
    app::AbsorbConfig ac;
    ac.close_with = absorb_rst_ ? app::CloseWith::kRst : app::CloseWith::kFin;
    ac.grace_ns = uint64_t{cfg.grace_ms} * 1'000'000;
    ac.linger_capacity = std::max<uint32_t>(1, engine_cfg_.established_capacity / 2);
    ac.flow_capacity = engine_cfg_.established_capacity;
    auto a = std::make_unique<app::Absorb>(ac);
    lane.absorb = a.get();
    return a;
}

std::string Appliance::build(const config::ApplianceConfig& cfg, const ApplianceOptions& options) {
    // Lcores: configured workers and application lcores must be enabled by -l (and not be the main
    // lcore, which runs stats); no workers configured: every worker lcore the EAL has that is not
    // an application lcore; none at all: the main lcore does everything inline.
    for (const auto& [ls, key] : {std::pair{&cfg.worker_lcores, "workers"}, std::pair{&cfg.app_lcores, "apps"}})
        for (unsigned l : *ls)
            if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore())
                return cfg.path + ": lcores." + key + ": lcore " + std::to_string(l) +
                       " is not an enabled worker lcore (enable it with -l; the main lcore runs stats)";
    const std::vector<unsigned>& app_lcores = cfg.app_lcores;
    auto is_app = [&](unsigned l) { return std::find(app_lcores.begin(), app_lcores.end(), l) != app_lcores.end(); };
    std::vector<unsigned> lcores = cfg.worker_lcores;
    for (unsigned l : lcores)
        if (is_app(l)) return cfg.path + ": lcores.apps: lcore " + std::to_string(l) + " is also a worker";
    if (lcores.empty()) {
        unsigned l;
        RTE_LCORE_FOREACH_WORKER(l)
        if (!is_app(l)) lcores.push_back(l);
    }
    inline_main_ = lcores.empty();
    if (inline_main_ && !app_lcores.empty()) return cfg.path + ": lcores.apps: application lcores need worker lcores";
    const size_t nworkers = nworkers_ = inline_main_ ? 1 : lcores.size();
    const size_t napps = napps_ = app_lcores.size();

    engine_cfg_ = cfg.engine;
    if (std::string e = open_ports(cfg, options); !e.empty()) return e;

    // Secrets and listeners, shared read-only.
    secrets_ = cfg.secrets;
    secrets_.prf = cfg.prf.value_or(cookie::best_prf());
    if (!cookie::prf_available(secrets_.prf)) return cfg.path + ": cookie.prf: not supported by this CPU";
    std::string err;
    if (cfg.key_file.empty()) {
        secrets_.master = cookie::random_master_key();
    } else if (!cookie::load_master_key(cfg.key_file, secrets_.master, err)) {
        return cfg.path + ": cookie.key_file: " + cfg.key_file + ": " + err;
    }
    prf_name_ = std::string(cookie::to_string(secrets_.prf));
    listeners_ = std::make_shared<const handshake::ListenerTable>(cfg.listeners);
    proxy_ = cfg.app == config::AppKind::kProxy;
    absorb_rst_ = cfg.close_with == config::CloseWith::kRst;

    const uint64_t t0 = WallClock::system_ns();
    for (size_t w = 0; w < nworkers; ++w) {
        auto lane = std::make_unique<Lane>();
        lane->stop = &stop_;
        lane->lcore = inline_main_ ? rte_get_main_lcore() : lcores[w];
        lane->engine = std::make_unique<handshake::Worker>(engine_cfg_, listeners_, secrets_, t0);
        WorkerLoopConfig lc;
        for (size_t p = 0; p < port_ids_.size(); ++p) {
            const int peer = cfg.ports[p].peer_index;
            lc.ports.push_back({port_ids_[p], static_cast<uint16_t>(w), static_cast<uint16_t>(w),
                                peer >= 0 ? static_cast<int32_t>(port_ids_[static_cast<size_t>(peer)]) : -1});
        }
        lc.burst = cfg.burst;
        lc.control = &lane->control;
        lane->app = make_app(cfg, *lane);
        if (napps == 0) {
            lc.inline_app = lane->app.get();
        } else {
            lane->closes = create_close_ring(("synwall_close" + std::to_string(w)).c_str(),
                                             engine_cfg_.established_capacity, static_cast<int>(rte_socket_id()));
            lane->flows = create_flow_ring(("synwall_flows" + std::to_string(w)).c_str(), 4 * handshake::kMaxBurst,
                                           static_cast<int>(rte_socket_id()));
            if (lane->closes == nullptr || lane->flows == nullptr) {
                lanes_.push_back(std::move(lane));  // the destructor frees what was made
                return "cannot allocate the rings of worker " + std::to_string(w);
            }
            lc.closes = lane->closes;
            lc.flows = lane->flows;
        }
        lane->loop = std::make_unique<WorkerLoop>(*lane->engine, pools_[0], lc);
        lanes_.push_back(std::move(lane));
    }
    // Application lcore a serves workers a, a + napps, ... and transmits on tx queue nworkers + a.
    for (size_t a = 0; a < napps; ++a) {
        auto lane = std::make_unique<AppLane>();
        lane->stop = &stop_;
        lane->lcore = app_lcores[a];
        std::vector<AppLink> links;
        for (size_t w = a; w < nworkers; w += napps)
            links.push_back({lanes_[w]->engine.get(), lanes_[w]->closes, lanes_[w]->flows, lanes_[w]->app.get()});
        std::vector<PortBinding> tx;
        for (uint16_t p : port_ids_) tx.push_back({p, 0, static_cast<uint16_t>(nworkers + a)});
        lane->core = std::make_unique<AppCore>(std::move(links), pools_[0], std::move(tx), cfg.burst);
        apps_.push_back(std::move(lane));
    }

    for (const auto& l : lanes_) view_.workers.push_back({l->lcore, l->engine.get()});
    view_.engine = &engine_cfg_;
    view_.listeners.store(listeners_.get(), std::memory_order_release);
    view_.prf = prf_name_.c_str();
    for (const auto& l : lanes_)
        if (l->proxy) view_.proxies.push_back(l->proxy);
    for (const auto& l : lanes_) view_.io.push_back(&l->loop->stats());
    for (const auto& a : apps_) view_.io.push_back(&a->core->stats());
    register_telemetry(&view_);
    telemetry_ = true;
    // Let the stock dpdk-dumpcap / dpdk-pdump capture our ports from a secondary process.
    pdump_ = rte_pdump_init() == 0;
    return "";
}

void Appliance::start() {
    if (started_) return;
    started_ = true;
    if (!inline_main_)
        for (auto& l : lanes_) rte_eal_remote_launch(lcore_main<Lane>, l.get(), l->lcore);
    for (auto& a : apps_) rte_eal_remote_launch(lcore_main<AppLane>, a.get(), a->lcore);
}

void Appliance::poll_inline(uint64_t now_ns) noexcept {
    if (inline_main_ && !stopped_) lanes_[0]->loop->poll(now_ns);
}

void Appliance::stop() {
    if (stopped_) return;
    stopped_ = true;
    stop_.store(true, std::memory_order_relaxed);
    // Stop receiving, let the lcores flush.
    if (started_) rte_eal_mp_wait_lcore();
    if (inline_main_ && !lanes_.empty()) lanes_[0]->loop->flush();
    if (telemetry_) unregister_telemetry();
    telemetry_ = false;
    if (pdump_) rte_pdump_uninit();
    pdump_ = false;
}

Appliance::~Appliance() {
    release();
    for (rte_mempool* m : pools_) rte_mempool_free(m);
}

void Appliance::release() {
    stop();
    apps_.clear();  // before the workers: pending closes go to the rings, tx batches flushed
    for (auto& l : lanes_) {
        l->loop.reset();  // frees what it, its application and its accept queues hold
        l->app.reset();
        if (l->closes) rte_ring_free(l->closes);
        if (l->flows) rte_ring_free(l->flows);
    }
    lanes_.clear();
    for (uint16_t p : opened_) stop_port(p);
    opened_.clear();
}

MbufAudit Appliance::close() {
    release();
    MbufAudit a;
    a.done = true;
    for (const rte_mempool* m : pools_) {
        a.size += m->size;
        a.in_use += rte_mempool_in_use_count(m);
    }
    return a;
}

// Every worker takes the change on its own lcore; with none running (inline, not started,
// stopped) the engines are this thread's. Identical workers refuse identically: on a refusal none
// changed.
std::string Appliance::apply(const std::shared_ptr<const handshake::ListenerTable>& next,
                             const std::optional<cookie::MasterKey>& key) {
    const bool on_lcores = started_ && !stopped_ && !inline_main_;
    if (!on_lcores) {
        for (auto& l : lanes_) {
            if (next)
                if (std::string e = l->engine->update_listeners(next); !e.empty()) return e;
            if (key) l->engine->change_master_key(*key, WallClock::system_ns());
        }
        return "";
    }
    for (auto& l : lanes_) {
        std::lock_guard<std::mutex> lock(l->control.m);
        l->control.next = next;
        l->control.key = key;
        l->control.posted.fetch_add(1, std::memory_order_release);
    }
    std::string refused;
    for (auto& l : lanes_) {
        ControlMailbox& mb = l->control;
        while (mb.applied.load(std::memory_order_acquire) != mb.posted.load(std::memory_order_relaxed))
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        std::lock_guard<std::mutex> lock(mb.m);
        if (!mb.error.empty()) refused = mb.error;
    }
    return refused;
}

std::string Appliance::change_listeners(const std::vector<handshake::ListenerConfig>& open,
                                        const std::vector<std::string>& close) {
    std::string err;
    std::shared_ptr<const handshake::ListenerTable> next = listeners_->changed(open, close, engine_cfg_.max_listeners, err);
    if (!next) return err;
    if (std::string e = apply(next, std::nullopt); !e.empty()) return e;
    listeners_ = next;
    published_.push_back(next);  // telemetry may still read an older one
    view_.listeners.store(next.get(), std::memory_order_release);
    return "";
}

void Appliance::change_master_key(const cookie::MasterKey& key) {
    if (key == secrets_.master) return;
    apply(nullptr, key);
    secrets_.master = key;
}

std::string Appliance::reload_listeners(const std::vector<handshake::ListenerConfig>& wanted, size_t& opened,
                                        size_t& closed) {
    std::vector<handshake::ListenerConfig> open;
    std::vector<std::string> close;
    for (const handshake::ListenerConfig& cur : listeners_->all()) {
        if (cur.closed) continue;
        const auto it = std::find_if(wanted.begin(), wanted.end(), [&](const auto& w) { return w.name == cur.name; });
        if (it == wanted.end() || !(*it == cur)) close.push_back(cur.name);
    }
    for (const handshake::ListenerConfig& w : wanted) {
        const auto& all = listeners_->all();
        const bool same = std::any_of(all.begin(), all.end(), [&](const auto& cur) { return !cur.closed && cur == w; });
        if (!same) open.push_back(w);
    }
    opened = open.size();
    closed = close.size();
    if (open.empty() && close.empty()) return "";
    return change_listeners(open, close);
}

ApplianceTotals Appliance::totals() const {
    ApplianceTotals t;
    t.proxy = proxy_;
    for (const auto& l : lanes_) {
        t.counters.accumulate(l->engine->counters());
        t.io.add(l->loop->stats());
        if (l->proxy) {
            t.proxy_counters.accumulate(l->proxy->counters());
            t.proxy_active += l->proxy->active_flows();
        }
        for (uint16_t i = 0, n = l->engine->listener_count(); i < n; ++i) t.half_open += l->engine->half_open(i);
        // absorb's figures are plain integers of its lcore: read once it stopped.
        if (l->absorb && stopped_) {
            t.absorb = true;
            t.absorb_accepted += l->absorb->accepted();
            t.absorb_closed += l->absorb->closed();
            t.absorb_late += l->absorb->late_packets();
            t.absorb_evicted += l->absorb->evicted();
        }
    }
    t.absorb_rst = absorb_rst_;
    for (const auto& a : apps_) t.io.add(a->core->stats());
    for (size_t p = 0; p < port_ids_.size(); ++p) {
        PortFigures f;
        f.name = port_names_[p];
        rte_eth_stats s;
        if (rte_eth_stats_get(port_ids_[p], &s) == 0) {
            f.ipackets = s.ipackets;
            f.ibytes = s.ibytes;
            f.opackets = s.opackets;
            f.obytes = s.obytes;
            f.imissed = s.imissed;
            f.rx_nombuf = s.rx_nombuf;
            f.oerrors = s.oerrors;
        }
        t.ports.push_back(std::move(f));
    }
    return t;
}

const handshake::Worker& Appliance::worker(size_t w) const noexcept { return *lanes_[w]->engine; }

std::string Appliance::describe() const {
    char line[320];
    std::snprintf(line, sizeof line, "%zu port(s), %zu listener(s), %zu worker(s)%s, %zu application lcore(s)%s, PRF %s, application %s",
                  ports(), listeners(), workers(), inline_main_ ? " (inline on the main lcore)" : "", app_lcores(),
                  apps_.empty() ? " (application inline)" : "", prf_name(), application_name());
    return line;
}

}  // namespace synwall::dpdk
