// Test-side frame construction and inspection, written independently of lib/net (its own
// checksum loop, its own field offsets) so that tests check the library against a second
// implementation rather than against itself.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace synwall::testing {

enum class Fam { v4, v6 };

struct Ipv6Ext {
    uint8_t type;             // 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment
    uint8_t len_units = 0;    // hdr ext len field (length = (len_units + 1) * 8; fragment: 8)
    uint16_t frag = 0;        // fragment: the offset / M field (offset << 3 | M); 0: an atomic fragment
};

struct SegmentSpec {
    Fam fam = Fam::v4;
    std::array<uint8_t, 16> src{};  // first 4 bytes for IPv4
    std::array<uint8_t, 16> dst{};
    std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0, 0x02};
    std::vector<uint16_t> vlans;    // TCIs, outermost first (outer tag 0x88a8 when two)
    uint16_t sport = 40000, dport = 80;
    uint32_t seq = 1000, ack = 0;
    uint8_t flags = 0x02;           // SYN
    uint16_t window = 64240;
    std::vector<uint8_t> tcp_options;  // raw bytes, padded with EOL to a multiple of 4
    std::vector<uint8_t> payload;
    std::vector<uint8_t> ipv4_options; // raw, padded to a multiple of 4
    std::vector<Ipv6Ext> ipv6_ext;
    uint8_t ttl = 64;
    uint8_t ecn = 0;                // ECN bits of TOS / traffic class
    uint16_t ipv4_frag = 0x4000;    // DF
    bool corrupt_ip_checksum = false;
    bool corrupt_tcp_checksum = false;
    size_t pad_to = 0;              // Ethernet padding up to this frame length
};

std::array<uint8_t, 16> v4(const std::string& dotted);
std::array<uint8_t, 16> v6(const std::string& text);

// TCP option bytes.
struct OptionSpec {
    int mss = -1;        // -1: absent
    int wscale = -1;
    bool sack = false;
    bool ts = false;
    uint32_t tsval = 0, tsecr = 0;
    bool tfo = false;
};
std::vector<uint8_t> tcp_options(const OptionSpec& o);

std::vector<uint8_t> build_frame(const SegmentSpec& s);

// Independent ones'-complement checksum (plain 16-bit loop).
uint16_t ref_checksum(const uint8_t* p, size_t n, uint32_t initial = 0);

// Reads of a frame the library produced; offsets computed here, from the frame itself.
struct FrameView {
    std::vector<uint8_t> bytes;
    size_t l3 = 0;      // IP header offset
    size_t l4 = 0;      // TCP header offset
    bool v6 = false;
    int vlan_count = 0;

    explicit FrameView(std::vector<uint8_t> b);
    uint16_t be16(size_t off) const { return static_cast<uint16_t>(bytes[off] << 8 | bytes[off + 1]); }
    uint32_t be32(size_t off) const {
        return uint32_t{bytes[off]} << 24 | uint32_t{bytes[off + 1]} << 16 | uint32_t{bytes[off + 2]} << 8 | bytes[off + 3];
    }
    uint16_t sport() const { return be16(l4); }
    uint16_t dport() const { return be16(l4 + 2); }
    uint32_t seq() const { return be32(l4 + 4); }
    uint32_t ack() const { return be32(l4 + 8); }
    uint8_t flags() const { return bytes[l4 + 13]; }
    uint16_t window() const { return be16(l4 + 14); }
    size_t tcp_header_len() const { return (bytes[l4 + 12] >> 4) * 4u; }
    std::vector<uint8_t> src_addr() const;
    std::vector<uint8_t> dst_addr() const;
    uint8_t ttl() const { return v6 ? bytes[l3 + 7] : bytes[l3 + 8]; }
    bool ipv4_checksum_ok() const;
    bool tcp_checksum_ok() const;
    size_t tcp_length() const;  // header + payload per the IP length
    std::vector<uint8_t> payload() const {  // the bytes after the TCP header, per the IP length (clamped)
        const size_t end = std::min(bytes.size(), l4 + tcp_length());
        const size_t first = std::min(end, l4 + tcp_header_len());
        return {bytes.begin() + static_cast<std::ptrdiff_t>(first), bytes.begin() + static_cast<std::ptrdiff_t>(end)};
    }
    // Parsed options (independent walker).
    OptionSpec options() const;
    bool has_option(uint8_t kind) const;
};

}  // namespace synwall::testing
