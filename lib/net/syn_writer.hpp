// A client's side of the handshake, for synwall-sim, the pcap generator, the fuzzer and the
// generator app (the engine never needs it): its SYN frame (Ethernet [VLAN] / IPv4 | IPv6 / TCP
// with options), and its ACK answering a SYN-ACK, both with correct checksums.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "net/packet.hpp"
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
    uint32_t ack = 0;
    uint8_t flags = tcp_flag::kSyn;       // other segments too (the generator's ACK, RST, SYN-ACK floods)
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

// Writes the segment `s` describes (a SYN unless s.flags says otherwise) with both checksums.
// Returns the frame length (at most kMaxSynFrame), or 0 if `room` is too small.
uint16_t write_syn(const SynSpec& s, uint8_t* out, uint16_t room) noexcept;

// The client's third segment answering `synack` (a SYN-ACK frame): addresses and ports turned
// around, seq = its ack, ack = its seq + 1, its TSval echoed when it has timestamps. Returns the
// frame length written to `out` (which may be synack.data: rewritten in place), or 0 if `synack` is
// not a SYN-ACK or `room` is too small.
uint16_t write_client_ack(const Packet& synack, uint8_t* out, uint16_t room, uint32_t tsval = 1) noexcept;

// The same in place, for a SYN-ACK already parsed as `synack`: `pkt` becomes the client's ACK with
// ack = its seq + ack_delta (1: the right answer; 2: a near miss, for floods of forged ACKs),
// carrying `data` (a client's first bytes, sent with the ACK) when it is not empty.
// False, `pkt` untouched, if it is not a SYN-ACK or the ACK does not fit.
bool answer_synack(Packet& pkt, const ParsedPacket& synack, uint32_t tsval = 1, uint32_t ack_delta = 1,
                   std::span<const uint8_t> data = {}) noexcept;

}  // namespace synwall::net
