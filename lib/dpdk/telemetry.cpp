#include "dpdk/telemetry.hpp"

#include <arpa/inet.h>
#include <rte_telemetry.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>

namespace synwall::dpdk {
namespace {

std::atomic<const TelemetryView*> g_view{nullptr};

void add_counters(rte_tel_data* d, const handshake::Counters& c) {
    for (uint32_t i = 0; i < handshake::kCounterCount; ++i)
        rte_tel_data_add_dict_u64(d, std::string(handshake::counter_name(i)).c_str(), c.get(i));
}

int cmd_stats(const char*, const char* params, rte_tel_data* d) {
    const TelemetryView* v = g_view.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (v == nullptr) return 0;
    handshake::Counters sum;
    bool found = params == nullptr || *params == '\0';
    for (const auto& w : v->workers) {
        if (params && *params) {
            char* end = nullptr;
            const unsigned long lcore = std::strtoul(params, &end, 10);
            if (end == params || *end != '\0') return -1;
            if (lcore != w.lcore) continue;
            found = true;
        }
        sum.accumulate(w.worker->counters());
    }
    if (!found) return -1;
    add_counters(d, sum);
    return 0;
}

int cmd_listeners(const char*, const char*, rte_tel_data* d) {
    const TelemetryView* v = g_view.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    const handshake::ListenerTable* table = v == nullptr ? nullptr : v->listeners.load(std::memory_order_acquire);
    if (table == nullptr) return 0;
    for (size_t i = 0; i < table->size(); ++i) {
        const auto& l = (*table)[static_cast<uint16_t>(i)];
        rte_tel_data* e = rte_tel_data_alloc();
        rte_tel_data_start_dict(e);
        char addr[INET6_ADDRSTRLEN] = {};
        inet_ntop(l.family == net::Family::kIpv4 ? AF_INET : AF_INET6, l.addr.data(), addr, sizeof addr);
        rte_tel_data_add_dict_string(e, "name", l.name.c_str());
        rte_tel_data_add_dict_string(e, "address", (std::string(addr) + "/" + std::to_string(l.prefix_len)).c_str());
        rte_tel_data_add_dict_u64(e, "port", l.port);
        rte_tel_data_add_dict_string(e, "cookie_mode",
                                     l.cookie_mode == handshake::CookieMode::kNever   ? "never"
                                     : l.cookie_mode == handshake::CookieMode::kAuto ? "auto"
                                                                                     : "always");
        rte_tel_data_add_dict_u64(e, "backlog", l.backlog);
        rte_tel_data_add_dict_u64(e, "max_half_open", l.max_half_open);
        rte_tel_data_add_dict_u64(e, "mss", l.mss);
        rte_tel_data_add_dict_u64(e, "synack_retries", l.synack_retries);
        rte_tel_data_add_dict_string(e, "state", l.closed ? "closed" : "open");
        uint64_t half_open = 0;  // requests waiting in the SYN queues of all workers now
        handshake::Worker::ListenerFigures sum;  // its own counters, summed over the workers
        for (const auto& w : v->workers) {
            half_open += w.worker->half_open(static_cast<uint16_t>(i));
            const auto f = w.worker->listener_figures(static_cast<uint16_t>(i));
            sum.syns += f.syns;
            sum.syncookies_sent += f.syncookies_sent;
            sum.passive_opens += f.passive_opens;
            sum.overflow_drops += f.overflow_drops;
        }
        rte_tel_data_add_dict_u64(e, "half_open", half_open);
        rte_tel_data_add_dict_u64(e, "SynRecv", sum.syns);
        rte_tel_data_add_dict_u64(e, "SyncookiesSent", sum.syncookies_sent);
        rte_tel_data_add_dict_u64(e, "PassiveOpens", sum.passive_opens);
        rte_tel_data_add_dict_u64(e, "OverflowDrops", sum.overflow_drops);
        // Keyed by name, in the characters telemetry keys allow (letters, digits, '_', '/': others
        // become '_'; "name" has it as configured). A closed listener keeps its figures under
        // NAME/closed/INDEX: its name may be an open one's now.
        std::string key = l.name.empty() ? "listener" + std::to_string(i) : l.name;
        for (char& ch : key)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '/') ch = '_';
        if (l.closed) key += "/closed/" + std::to_string(i);
        rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
    }
    return 0;
}

int cmd_config(const char*, const char*, rte_tel_data* d) {
    const TelemetryView* v = g_view.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (v == nullptr || v->engine == nullptr) return 0;
    const auto& e = *v->engine;
    rte_tel_data_add_dict_u64(d, "workers", v->workers.size());
    rte_tel_data_add_dict_u64(d, "half_open_capacity", e.half_open_capacity);
    rte_tel_data_add_dict_u64(d, "established_capacity", e.established_capacity);
    rte_tel_data_add_dict_u64(d, "synack_rto_ms", e.synack_rto_ns / 1'000'000);
    rte_tel_data_add_dict_u64(d, "timer_budget", e.timer_budget);
    rte_tel_data_add_dict_u64(d, "reply_rate", e.reply_rate_per_s);
    rte_tel_data_add_dict_string(d, "prf", v->prf);
    rte_tel_data_add_dict_string(d, "checksums", e.checksum_offload ? "nic" : "software");
    return 0;
}

int cmd_proxy(const char*, const char*, rte_tel_data* d) {
    const TelemetryView* v = g_view.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (v == nullptr) return 0;
    app::ProxyCounters sum;
    uint64_t active = 0;
    for (const app::Proxy* p : v->proxies) {
        sum.accumulate(p->counters());
        active += p->active_flows();
    }
    for (uint32_t i = 0; i < app::kProxyCounterCount; ++i)
        rte_tel_data_add_dict_u64(d, std::string(app::proxy_counter_name(i)).c_str(), sum[i]);
    rte_tel_data_add_dict_u64(d, "ActiveFlows", active);
    return 0;
}

int cmd_io(const char*, const char*, rte_tel_data* d) {
    const TelemetryView* v = g_view.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (v == nullptr) return 0;
    IoStats sum;
    for (const IoStats* s : v->io) sum.add(*s);  // relaxed atomic loads of running lcores' figures
#define X(f) rte_tel_data_add_dict_u64(d, #f, sum.f);
    SYNWALL_IO_STATS(X)
#undef X
    return 0;
}

std::atomic<ReloadHook> g_reload{nullptr};

int cmd_reload(const char*, const char*, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    const ReloadHook hook = g_reload.load(std::memory_order_acquire);
    rte_tel_data_add_dict_string(d, "result", hook ? hook().c_str() : "this process does not reload");
    return 0;
}

}  // namespace

void set_reload_hook(ReloadHook hook) { g_reload.store(hook, std::memory_order_release); }

int register_telemetry(const TelemetryView* view) {
    static const int rc = [] {
        int r = 0;
        r |= rte_telemetry_register_cmd("/synwall/stats", cmd_stats,
                                        "synwall counters, summed over workers. Parameters: int lcore (one worker)");
        r |= rte_telemetry_register_cmd("/synwall/listeners", cmd_listeners, "synwall listeners and their settings");
        r |= rte_telemetry_register_cmd("/synwall/config", cmd_config, "synwall engine settings");
        r |= rte_telemetry_register_cmd("/synwall/proxy", cmd_proxy, "synwall proxy counters, summed over workers");
        r |= rte_telemetry_register_cmd("/synwall/io", cmd_io,
                                        "synwall I/O figures (rx, tx, tx_refused, flow_ring_full, ...), summed over lcores");
        r |= rte_telemetry_register_cmd("/synwall/reload", cmd_reload,
                                        "synwall: reload listeners and the cookie key file from the configuration (as SIGHUP)");
        return r;
    }();
    g_view.store(view, std::memory_order_release);
    return rc;
}

void unregister_telemetry() { g_view.store(nullptr, std::memory_order_release); }

}  // namespace synwall::dpdk
