// Which listener a segment is for: (family, destination address, destination port) -> index.
// Per port, listeners are kept most specific prefix first; a 65536-entry port index makes the
// common case (one or a few listeners per port) one array read and one prefix compare.
// Immutable after construction; shared read-only by all workers.
#pragma once

#include <cstdint>
#include <vector>

#include "handshake/config.hpp"

namespace synwall::handshake {

class ListenerTable {
public:
    static constexpr uint16_t kNone = 0xffff;

    ListenerTable() = default;
    explicit ListenerTable(std::vector<ListenerConfig> listeners);  // at most 65535

    uint16_t lookup(net::Family f, const uint8_t* dst_addr, uint16_t dst_port) const noexcept;
    const ListenerConfig& operator[](uint16_t i) const noexcept { return listeners_[i]; }
    size_t size() const noexcept { return listeners_.size(); }
    const std::vector<ListenerConfig>& all() const noexcept { return listeners_; }

private:
    std::vector<ListenerConfig> listeners_;
    std::vector<uint32_t> port_start_;  // 65537 entries: CSR index into by_port_
    std::vector<uint16_t> by_port_;
};

}  // namespace synwall::handshake
