#include "handshake/listener_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace synwall::handshake {
namespace {

bool prefix_match(const ListenerConfig& l, const uint8_t* a) noexcept {
    const unsigned full = l.prefix_len / 8, rest = l.prefix_len % 8;
    for (unsigned i = 0; i < full; ++i)
        if (a[i] != l.addr[i]) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
    return (a[full] & mask) == (l.addr[full] & mask);
}

}  // namespace

ListenerTable::ListenerTable(std::vector<ListenerConfig> listeners)
    : listeners_(std::move(listeners)), port_start_(65537, 0) {
    if (listeners_.size() >= kNone) throw std::invalid_argument("too many listeners");
    for (const auto& l : listeners_) ++port_start_[l.port + 1];
    for (size_t p = 1; p < port_start_.size(); ++p) port_start_[p] += port_start_[p - 1];
    by_port_.resize(listeners_.size());
    std::vector<uint32_t> fill(port_start_.begin(), port_start_.end() - 1);
    for (uint16_t i = 0; i < listeners_.size(); ++i) by_port_[fill[listeners_[i].port]++] = i;
    // Most specific prefix first within each port (ports without listeners have empty ranges).
    for (size_t i = 0; i < listeners_.size(); ++i) {
        const uint16_t port = listeners_[i].port;
        auto first = by_port_.begin() + port_start_[port], last = by_port_.begin() + port_start_[port + 1];
        if (by_port_[port_start_[port]] != i) continue;  // sort each port's range once
        if (last - first > 1)
            std::stable_sort(first, last, [&](uint16_t a, uint16_t b) {
                return listeners_[a].prefix_len > listeners_[b].prefix_len;
            });
    }
}

uint16_t ListenerTable::lookup(net::Family f, const uint8_t* dst, uint16_t port) const noexcept {
    if (port_start_.empty()) return kNone;
    for (uint32_t i = port_start_[port], e = port_start_[port + 1]; i < e; ++i) {
        const ListenerConfig& l = listeners_[by_port_[i]];
        if (l.family == f && prefix_match(l, dst)) return by_port_[i];
    }
    return kNone;
}

}  // namespace synwall::handshake
