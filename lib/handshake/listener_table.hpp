// Which listener a segment is for: (family, destination address, destination port) -> index.
// Per port, listeners are kept most specific prefix first; a 65536-entry port index makes the
// common case (one or a few listeners per port) one array read and one prefix compare. A port
// with many listeners (virtual hosting: thousands of addresses on :443) keeps its single-address
// listeners in a hash map instead, so the lookup stays one hash probe plus the scan of its real
// prefixes (measured: 10,000 listeners on one port cost 60x the rate with a plain scan).
// Immutable after construction; shared read-only by all workers.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "handshake/config.hpp"

namespace synwall::handshake {

// Two listeners for the same addresses and port: same family, port and prefix, and the same
// network under that prefix (203.0.113.7/24 is 203.0.113.0/24). A second one is refused, as a
// second bind(2) is: in the configuration, and when listeners are opened at run time.
bool same_endpoint(const ListenerConfig& a, const ListenerConfig& b) noexcept;

class ListenerTable {
public:
    static constexpr uint16_t kNone = 0xffff;

    ListenerTable() = default;
    explicit ListenerTable(std::vector<ListenerConfig> listeners);  // at most 65535

    // The most specific listener for the address and port; an open one before a closed one.
    uint16_t lookup(net::Family f, const uint8_t* dst_addr, uint16_t dst_port) const noexcept;
    const ListenerConfig& operator[](uint16_t i) const noexcept { return listeners_[i]; }
    size_t size() const noexcept { return listeners_.size(); }
    const std::vector<ListenerConfig>& all() const noexcept { return listeners_; }

    // This table with the listeners in `open` added (the next indices) and those named in `close`
    // closed. Every listener keeps its index, a closed one too (unreachable for new connections,
    // still found for its established flows): what Worker::update_listeners takes. nullptr and
    // `error` when a name to close is not open, a new listener's name or endpoint is an open
    // one's, or the table would hold more than `max` listeners.
    std::shared_ptr<const ListenerTable> changed(const std::vector<ListenerConfig>& open,
                                                 const std::vector<std::string>& close, size_t max,
                                                 std::string& error) const;

    // A port with more listeners than this keeps its single-address ones in the hash map.
    static constexpr uint32_t kScanMax = 8;

private:
    struct HostKey {
        std::array<uint8_t, 16> addr{};
        uint16_t port = 0;
        uint8_t family = 0;
        bool operator==(const HostKey& o) const noexcept {
            return port == o.port && family == o.family && addr == o.addr;
        }
        static HostKey of(net::Family f, const uint8_t* addr, uint16_t port) noexcept;
    };
    struct HostKeyHash {
        size_t operator()(const HostKey& k) const noexcept;
    };

    std::vector<ListenerConfig> listeners_;
    std::unordered_map<HostKey, uint16_t, HostKeyHash> hosts_;
    std::vector<uint8_t> port_has_hosts_;  // 65536 entries: look in hosts_ first
    std::vector<uint32_t> port_start_;  // 65537 entries: CSR index into by_port_
    std::vector<uint16_t> by_port_;
};

}  // namespace synwall::handshake
