#include "net/plain_ipv4.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/packet.hpp"

namespace synwall::net {
namespace {

constexpr size_t kMinFrame = PlainIpv4Segment::kL4Offset + 20;

// Multicast, reserved, broadcast, "this network" and loopback: the parser's martian sources and
// destinations, tested on the first byte (the address as the wire holds it, read little-endian).
bool martian(uint32_t a) noexcept {
    const uint8_t first = static_cast<uint8_t>(a);
    return first >= 224 || first == 0 || first == 127;
}

}  // namespace

bool parse_plain_ipv4(std::span<const uint8_t> frame, uint16_t rx_flags, const ParseConfig& config,
                      PlainIpv4Segment& s, uint16_t max_payload) noexcept {
    const uint8_t* d = frame.data();
    const size_t n = frame.size();
    if (n < kMinFrame) return false;
    // EtherType 0x0800 and version 4 / IHL 5, in one 32-bit compare (bytes 12..15: 08 00 45 tos).
    uint32_t head;
    std::memcpy(&head, d + 12, 4);
    if ((head & 0x00ffffffu) != 0x00450008u) return false;
    const uint8_t* ip = d + PlainIpv4Segment::kL3Offset;
    const size_t total = load_be16(ip + 2);
    if (total < 40 || PlainIpv4Segment::kL3Offset + total > n) return false;
    if ((load_be16(ip + 6) & 0x3fff) != 0 || ip[9] != 6) return false;  // a fragment, or not TCP
    std::memcpy(&s.src_addr, ip + 12, 4);
    std::memcpy(&s.dst_addr, ip + 16, 4);
    if (martian(s.src_addr) || martian(s.dst_addr) || s.src_addr == s.dst_addr) return false;
    if (config.verify_ipv4_checksum && !(rx_flags & kRxIpChecksumGood) && checksum_fold(checksum_words32(ip, 20)) != 0xffff)
        return false;
    const uint8_t* th = ip + 20;
    const size_t doff = static_cast<size_t>(th[12] >> 4) * 4;
    if (doff < 20 || 20 + doff > total || total - 20 - doff > max_payload) return false;
    s.ip_ecn = ip[1] & 0x03;
    s.ttl = ip[8];
    s.tcp_header_len = static_cast<uint8_t>(doff);
    s.payload_len = static_cast<uint16_t>(total - 20 - doff);
    s.src_port = load_be16(th);
    s.dst_port = load_be16(th + 2);
    s.seq = load_be32(th + 4);
    s.ack = load_be32(th + 8);
    s.tcp_flags = th[13];
    s.window = load_be16(th + 14);
    s.options = TcpOptions{};
    if (doff > 20 && !parse_common_tcp_options(th + 20, doff - 20, s.options))
        (void)parse_tcp_options({th + 20, doff - 20}, s.options);  // as parse_into
    if (config.verify_tcp_checksum && !(rx_flags & kRxL4ChecksumGood)) {
        const auto l4_len = static_cast<uint32_t>(total - 20);
        const uint64_t pseudo = pseudo_header_v4(ip + 12, ip + 16, l4_len);
        const uint64_t sum = l4_len == doff ? checksum_words32(th, doff, pseudo)  // header only: whole words
                                            : checksum_partial({th, l4_len}, pseudo);
        if (checksum_fold(sum) != 0xffff) return false;
    }
    return true;
}

}  // namespace synwall::net
