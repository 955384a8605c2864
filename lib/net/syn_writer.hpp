// Writes a client's SYN frame (Ethernet [VLAN] / IPv4 | IPv6 / TCP with options) into a buffer,
// with correct checksums: the traffic source for synwall-sim, the pcap generator and the
// generator app. (The engine never needs it; clients do.)
#pragma once

#include <array>
#include <cstdint>

#include "net/parser.hpp"

namespace synwall::net {

struct SynSpec {
    Family family = Family::kIpv4;
    std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0, 0x02};
    uint16_t vlan = 0;                    // 0: untagged
    std::array<uint8_t, 16> src{};        // first 4 bytes for IPv4
    std::array<uint8_t, 16> dst{};
    uint16_t src_port = 1024;
    uint16_t dst_port = 80;
    uint32_t seq = 0;
    uint16_t window = 64240;
    uint8_t ttl = 64;
    // Options, in Linux's layout: MSS, SACK-permitted, TS, NOP, WS (each optional).
    uint16_t mss = 1460;                  // 0: none
    bool sack = true;
    bool timestamps = true;
    uint32_t tsval = 0;
    int8_t wscale = 7;                    // < 0: none
    bool ecn_setup = false;               // ECE | CWR
};

inline constexpr uint16_t kMaxSynFrame = 14 + 4 + 40 + 40;

// Returns the frame length (at most kMaxSynFrame), or 0 if `room` is too small.
uint16_t write_syn(const SynSpec& s, uint8_t* out, uint16_t room) noexcept;

}  // namespace synwall::net
