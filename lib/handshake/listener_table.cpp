#include "handshake/listener_table.hpp"

#include <algorithm>
#include <cstring>
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

bool is_host(const ListenerConfig& l) noexcept { return l.prefix_len == (l.family == net::Family::kIpv4 ? 32 : 128); }

}  // namespace

bool same_endpoint(const ListenerConfig& a, const ListenerConfig& b) noexcept {
    if (a.family != b.family || a.port != b.port || a.prefix_len != b.prefix_len) return false;
    const unsigned full = a.prefix_len / 8u, rest = a.prefix_len % 8u;
    if (!std::equal(a.addr.begin(), a.addr.begin() + full, b.addr.begin())) return false;
    const auto mask = static_cast<uint8_t>(0xff00u >> rest);
    return rest == 0 || (a.addr[full] & mask) == (b.addr[full] & mask);
}

ListenerTable::HostKey ListenerTable::HostKey::of(net::Family f, const uint8_t* a, uint16_t port) noexcept {
    HostKey k;
    std::memcpy(k.addr.data(), a, f == net::Family::kIpv4 ? 4 : 16);
    k.port = port;
    k.family = static_cast<uint8_t>(f);
    return k;
}

size_t ListenerTable::HostKeyHash::operator()(const HostKey& k) const noexcept {
    uint64_t w[2];
    std::memcpy(w, k.addr.data(), 16);
    uint64_t h = __builtin_ia32_crc32di(uint64_t{k.port} << 8 | k.family, w[0]);
    return __builtin_ia32_crc32di(h, w[1]);
}

ListenerTable::ListenerTable(std::vector<ListenerConfig> listeners)
    : listeners_(std::move(listeners)), port_has_hosts_(65536, 0), port_start_(65537, 0) {
    if (listeners_.size() >= kNone) throw std::invalid_argument("too many listeners");
    std::vector<uint32_t> per_port(65536, 0);
    for (const auto& l : listeners_) ++per_port[l.port];
    // Busy ports: single-address listeners into the hash map (the first of duplicates wins, as in
    // the scan); everything else into the per-port scan ranges.
    // Listeners closed at run time stay findable (their established flows still match), behind any
    // open one on the same address: open ones go in first.
    std::vector<bool> scanned(listeners_.size(), true);
    for (const bool closed : {false, true})
        for (uint16_t i = 0; i < listeners_.size(); ++i) {
            const ListenerConfig& l = listeners_[i];
            if (l.closed != closed || per_port[l.port] <= kScanMax || !is_host(l)) continue;
            hosts_.emplace(HostKey::of(l.family, l.addr.data(), l.port), i);
            port_has_hosts_[l.port] = 1;
            scanned[i] = false;
        }
    for (uint16_t i = 0; i < listeners_.size(); ++i)
        if (scanned[i]) ++port_start_[listeners_[i].port + 1];
    for (size_t p = 1; p < port_start_.size(); ++p) port_start_[p] += port_start_[p - 1];
    by_port_.resize(port_start_.back());
    std::vector<uint32_t> fill(port_start_.begin(), port_start_.end() - 1);
    for (uint16_t i = 0; i < listeners_.size(); ++i)
        if (scanned[i]) by_port_[fill[listeners_[i].port]++] = i;
    // Most specific prefix first within each port; of equal ones, open before closed.
    for (uint32_t port = 0; port < 65536; ++port) {
        auto first = by_port_.begin() + port_start_[port], last = by_port_.begin() + port_start_[port + 1];
        if (last - first > 1)
            std::stable_sort(first, last, [&](uint16_t a, uint16_t b) {
                const ListenerConfig &x = listeners_[a], &y = listeners_[b];
                return x.prefix_len != y.prefix_len ? x.prefix_len > y.prefix_len : !x.closed && y.closed;
            });
    }
}

std::shared_ptr<const ListenerTable> ListenerTable::changed(const std::vector<ListenerConfig>& open,
                                                            const std::vector<std::string>& close, size_t max,
                                                            std::string& error) const {
    std::vector<ListenerConfig> next = listeners_;
    for (const std::string& name : close) {
        auto it = std::find_if(next.begin(), next.end(), [&](const ListenerConfig& l) { return !l.closed && l.name == name; });
        if (it == next.end()) {
            error = "no open listener named '" + name + "'";
            return nullptr;
        }
        it->closed = true;
    }
    for (const ListenerConfig& l : open) {
        for (const ListenerConfig& o : next) {
            if (o.closed) continue;
            if (o.name == l.name) {
                error = "listener '" + l.name + "': the name is taken by an open listener";
                return nullptr;
            }
            if (same_endpoint(o, l)) {
                error = "listener '" + l.name + "': the same address, prefix and port as the open listener '" + o.name + "'";
                return nullptr;
            }
        }
        next.push_back(l);
        next.back().closed = false;
    }
    if (next.size() > max || next.size() >= kNone) {
        error = std::to_string(next.size()) + " listeners (closed ones included) exceed the " + std::to_string(max) +
                " a worker was built for (engine.max_listeners)";
        return nullptr;
    }
    return std::make_shared<const ListenerTable>(std::move(next));
}

uint16_t ListenerTable::lookup(net::Family f, const uint8_t* dst, uint16_t port) const noexcept {
    if (port_start_.empty()) return kNone;
    if (port_has_hosts_[port]) {
        if (const auto it = hosts_.find(HostKey::of(f, dst, port)); it != hosts_.end()) return it->second;
    }
    for (uint32_t i = port_start_[port], e = port_start_[port + 1]; i < e; ++i) {
        const ListenerConfig& l = listeners_[by_port_[i]];
        if (l.family == f && prefix_match(l, dst)) return by_port_[i];
    }
    return kNone;
}

}  // namespace synwall::handshake
