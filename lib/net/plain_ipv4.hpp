// The dominant frame layout, read in one pass: untagged Ethernet, IPv4 without options (IHL 5),
// not a fragment, TCP. A flood's SYNs and a client's ACKs nearly all look like this; the engine's
// fast path reads them into this small record instead of a full ParsedPacket.
//
// Contract: parse_plain_ipv4() returns true exactly when the frame has this layout, carries at most
// `max_payload` bytes of data, and parse_into() would accept it (kOk) with the same field values (test/unit/plain_ipv4_test.cpp
// checks both on the malformed corpus and the option matrix). false means "not this layout, or not
// acceptable": the general parser decides and counts why.
#pragma once

#include <cstdint>
#include <span>

#include "net/parser.hpp"

namespace synwall::net {

struct PlainIpv4Segment {
    uint32_t src_addr = 0;  // as the wire holds them (network order in memory)
    uint32_t dst_addr = 0;
    uint16_t src_port = 0;  // host order
    uint16_t dst_port = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t window = 0;
    uint16_t payload_len = 0;
    uint8_t tcp_flags = 0;
    uint8_t tcp_header_len = 0;
    uint8_t ip_ecn = 0;
    uint8_t ttl = 0;
    TcpOptions options;

    static constexpr uint16_t kL3Offset = 14;
    static constexpr uint16_t kL4Offset = 34;
    const uint8_t* src() const noexcept { return reinterpret_cast<const uint8_t*>(&src_addr); }
    const uint8_t* dst() const noexcept { return reinterpret_cast<const uint8_t*>(&dst_addr); }
    bool has(uint8_t flag) const noexcept { return (tcp_flags & flag) != 0; }
};

// `max_payload`: segments carrying more data are declined before their checksum is summed (the
// engine's fast path takes none; a flow's data segments go to the general path, checked once).
bool parse_plain_ipv4(std::span<const uint8_t> frame, uint16_t rx_flags, const ParseConfig& config,
                      PlainIpv4Segment& out, uint16_t max_payload = 0xffff) noexcept;

}  // namespace synwall::net
