// Flow keys for the table benchmarks: key_of(i) is the i-th of up to 2^24 * 64k distinct IPv4
// client tuples towards one server address and port.
#pragma once

#include <cstdint>

#include "table/flow_key.hpp"

namespace synwall::bench {

inline table::FlowKey key_of(uint64_t i) {
    table::FlowKey k{};
    const uint8_t a[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    table::store_addr(k.client, net::Family::kIpv4, a);
    const uint8_t s[4] = {192, 0, 2, 1};
    table::store_addr(k.server, net::Family::kIpv4, s);
    k.client_port = static_cast<uint16_t>(1024 + (i >> 24));
    k.server_port = 80;
    return k;
}

}  // namespace synwall::bench
