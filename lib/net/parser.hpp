// Parser for Ethernet [802.1Q | QinQ] / IPv4 | IPv6 [extension headers] / TCP [options].
//
// Contract: parse() reads only inside `frame`; every malformed input yields a ParseStatus, never
// a read past the end. On kOk every field of ParsedPacket is valid; on any other status only
// `status` and the offsets reached so far are meaningful.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "net/parse_status.hpp"

namespace synwall::net {

enum class Family : uint8_t { kIpv4 = 4, kIpv6 = 6 };

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                         kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
}

namespace tcp_opt {
inline constexpr uint8_t kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackPermitted = 4, kSack = 5,
                         kTimestamps = 8, kFastOpen = 34, kExperimental = 254;
inline constexpr uint8_t kMaxWscale = 14;  // RFC 7323 §2.3
}

// Options as a peer sent them. Unknown options are skipped by their length.
struct TcpOptions {
    uint16_t mss = 0;
    uint8_t wscale = 0;          // clamped to 14 as RFC 7323 requires
    bool has_mss = false;
    bool has_wscale = false;
    bool sack_permitted = false;
    bool has_timestamps = false;
    bool has_fastopen = false;   // kind 34, or 254 with magic 0xF989 (RFC 7413)
    uint32_t tsval = 0;
    uint32_t tsecr = 0;
};

struct ParsedPacket {
    ParseStatus status = ParseStatus::kOk;
    Family family = Family::kIpv4;
    uint8_t vlan_count = 0;
    uint8_t tcp_flags = 0;
    uint8_t ttl = 0;             // TTL or hop limit
    uint8_t ip_ecn = 0;          // ECN field of TOS / traffic class
    uint16_t l3_offset = 0;      // IP header
    uint16_t l4_offset = 0;      // TCP header
    uint16_t tcp_header_len = 0;
    uint16_t payload_len = 0;    // TCP payload bytes (IP length based; Ethernet padding excluded)
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint16_t window = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    TcpOptions options;

    // Address bytes inside the frame: 4 for IPv4, 16 for IPv6.
    const uint8_t* src_addr = nullptr;
    const uint8_t* dst_addr = nullptr;

    bool ok() const noexcept { return status == ParseStatus::kOk; }
    uint8_t addr_len() const noexcept { return family == Family::kIpv4 ? 4 : 16; }
    bool has(uint8_t flag) const noexcept { return (tcp_flags & flag) != 0; }
};

struct ParseConfig {
    bool verify_ipv4_checksum = true;  // skipped anyway when the packet carries kRxIpChecksumGood
    bool verify_tcp_checksum = true;   // skipped anyway when the packet carries kRxL4ChecksumGood
};

// Fills `out` from `frame` (no need to clear it first: what the status makes valid is written).
void parse_into(std::span<const uint8_t> frame, uint16_t rx_flags, const ParseConfig& config,
                ParsedPacket& out) noexcept;

inline ParsedPacket parse(std::span<const uint8_t> frame, uint16_t rx_flags = 0,
                          const ParseConfig& config = {}) noexcept {
    ParsedPacket p;
    parse_into(frame, rx_flags, config, p);
    return p;
}

namespace detail {
inline uint32_t word32(const uint8_t* p) noexcept {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
}
}  // namespace detail

// The fast path of parse_tcp_options (inline for the engine's fast path): Linux's SYN options, the
// overwhelmingly common layout: MSS, SACK-permitted, TS, NOP, WS
// (02 04 mm mm 04 02 08 0a <tsval> <tsecr> 01 03 03 ws), and its ACK layout NOP NOP TS.
inline bool parse_common_tcp_options(const uint8_t* o, size_t n, TcpOptions& out) noexcept {
    uint64_t head;
    if (n == 20) {
        uint32_t tail;
        std::memcpy(&head, o, 8);
        std::memcpy(&tail, o + 16, 4);
        // 02 04 .. .. 04 02 08 0a, and 01 03 03 .. (little-endian masks)
        if ((head & 0xffffffff0000ffffull) != 0x0a08020400000402ull || (tail & 0x00ffffffu) != 0x00030301u)
            return false;
        out.has_mss = true;
        out.mss = static_cast<uint16_t>(o[2] << 8 | o[3]);
        out.sack_permitted = true;
        out.has_timestamps = true;
        out.tsval = __builtin_bswap32(detail::word32(o + 8));
        out.tsecr = __builtin_bswap32(detail::word32(o + 12));
        out.has_wscale = true;
        out.wscale = o[19] > tcp_opt::kMaxWscale ? tcp_opt::kMaxWscale : o[19];
        return true;
    }
    if (n == 12) {
        uint32_t h4;
        std::memcpy(&h4, o, 4);
        if (h4 != 0x0a080101u) return false;
        out.has_timestamps = true;
        out.tsval = __builtin_bswap32(detail::word32(o + 4));
        out.tsecr = __builtin_bswap32(detail::word32(o + 8));
        return true;
    }
    return false;
}

// TCP options alone (the bytes after the fixed 20-byte header). Returns false on a malformed
// option; `out` then holds what was parsed before it.
bool parse_tcp_options(std::span<const uint8_t> options, TcpOptions& out) noexcept;

}  // namespace synwall::net
