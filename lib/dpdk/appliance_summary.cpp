#include "dpdk/appliance_summary.hpp"

#include <string_view>

namespace synwall::dpdk {
namespace {

// A configured name as a JSON string: quotes, backslashes and control characters escaped.
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
            out += b;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

void print_summary(std::FILE* out, const ApplianceTotals& t, double seconds) {
    std::fprintf(out, "summary: %.2f s, rx %lu (%.3f Mpps), tx %lu, PassiveOpens %lu, absorbed %lu\n", seconds, t.io.rx,
                 static_cast<double>(t.io.rx) / seconds / 1e6, t.io.tx, t.counters[handshake::kEstablished], t.io.freed_drop);
    for (uint32_t i = 0; i < handshake::kCounterCount; ++i)
        if (t.counters[i])
            std::fprintf(out, "  %-24s %14lu\n", std::string(handshake::counter_name(i)).c_str(), t.counters[i]);
    if (t.proxy)
        for (uint32_t i = 0; i < app::kProxyCounterCount; ++i)
            if (t.proxy_counters[i])
                std::fprintf(out, "  proxy %-18s %14lu\n", std::string(app::proxy_counter_name(i)).c_str(), t.proxy_counters[i]);
    // absorb's closing RSTs or FINs are sent by the application, not the engine: here, not in OutRsts.
    if (t.absorb) {
        std::fprintf(out, "  absorb %-17s %14lu\n", t.absorb_rst ? "ClosedWithRst" : "ClosedWithFin",
                     static_cast<unsigned long>(t.absorb_closed));
        if (t.absorb_late) std::fprintf(out, "  absorb %-17s %14lu\n", "LatePackets", static_cast<unsigned long>(t.absorb_late));
        if (t.absorb_evicted)
            std::fprintf(out, "  absorb %-17s %14lu\n", "LingerEvicted", static_cast<unsigned long>(t.absorb_evicted));
    }
    for (const PortFigures& p : t.ports)
        std::fprintf(out, "  port %s: rx %lu frames %lu bytes, tx %lu frames %lu bytes, missed %lu, no mbuf %lu, tx errors %lu\n",
                     p.name.c_str(), p.ipackets, p.ibytes, p.opackets, p.obytes, p.imissed, p.rx_nombuf, p.oerrors);
    if (t.mbufs.done)
        std::fprintf(out, "  mbufs: %lu of %lu not back in the pools after every port closed%s\n", t.mbufs.in_use,
                     t.mbufs.size, t.mbufs.in_use ? " (a leak)" : "");
}

std::string summary_json(const ApplianceTotals& t, double seconds, size_t workers) {
    std::string j = "{\n  \"seconds\": " + std::to_string(seconds) + ",\n  \"workers\": " + std::to_string(workers) +
                    ",\n  \"io\": {";
    // Every I/O figure by its name, but busy time in seconds.
#define X(f) if (std::string_view(#f) != "busy_ns") j += "\"" #f "\": " + std::to_string(t.io.f) + ", ";
    SYNWALL_IO_STATS(X)
#undef X
    j += "\"busy_s\": " + std::to_string(static_cast<double>(t.io.busy_ns) / 1e9);
    j += "},\n  \"counters\": {";
    for (uint32_t i = 0; i < handshake::kCounterCount; ++i)
        j += std::string(i ? ", " : "") + "\"" + std::string(handshake::counter_name(i)) + "\": " + std::to_string(t.counters[i]);
    j += "}";
    if (t.proxy) {
        j += ",\n  \"proxy\": {\"ActiveFlows\": " + std::to_string(t.proxy_active);
        for (uint32_t i = 0; i < app::kProxyCounterCount; ++i)
            j += ", \"" + std::string(app::proxy_counter_name(i)) + "\": " + std::to_string(t.proxy_counters[i]);
        j += "}";
    }
    if (t.absorb) {
        j += ",\n  \"absorb\": {\"Accepted\": " + std::to_string(t.absorb_accepted) + ", \"" +
             (t.absorb_rst ? "ClosedWithRst" : "ClosedWithFin") + "\": " + std::to_string(t.absorb_closed) +
             ", \"LatePackets\": " + std::to_string(t.absorb_late) + ", \"LingerEvicted\": " + std::to_string(t.absorb_evicted) + "}";
    }
    j += ",\n  \"ports\": {";
    for (size_t i = 0; i < t.ports.size(); ++i) {
        const PortFigures& p = t.ports[i];
        j += std::string(i ? ", " : "") + json_string(p.name) + ": {\"ipackets\": " + std::to_string(p.ipackets) +
             ", \"ibytes\": " + std::to_string(p.ibytes) + ", \"opackets\": " + std::to_string(p.opackets) +
             ", \"obytes\": " + std::to_string(p.obytes) + ", \"imissed\": " + std::to_string(p.imissed) +
             ", \"rx_nombuf\": " + std::to_string(p.rx_nombuf) + ", \"oerrors\": " + std::to_string(p.oerrors) + "}";
    }
    j += "}";
    if (t.mbufs.done)
        j += ",\n  \"mbufs\": {\"pools\": " + std::to_string(t.mbufs.size) +
             ", \"in_use_after_close\": " + std::to_string(t.mbufs.in_use) + "}";
    return j + "\n}\n";
}

}  // namespace synwall::dpdk
