#include "net/reply_template.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace synwall::net {

Ipv4ReplyTemplate make_ipv4_reply_template(const ReplySegment& shape, const ReplyIpFields& ip) noexcept {
    Ipv4ReplyTemplate t;
    // Build the shape's reply with every per-packet field zero (addresses, ports, seq, ack, id,
    // timestamps) and checksums left out: what remains is the constant part, summed once.
    ReplySegment zero = shape;
    zero.seq = zero.ack = 0;
    zero.options.tsval = zero.options.tsecr = 0;
    zero.payload = {};
    uint8_t frame[14 + Ipv4ReplyTemplate::kRoom] = {};
    const uint8_t none[4] = {};
    Packet pkt{frame, 0, sizeof frame, 0, 0, nullptr};
    (void)build_reply(pkt, SegmentEnds{Family::kIpv4, 14, none, none, 0, 0}, zero, ReplyIpFields{ip.ttl, 0, true});
    t.len = static_cast<uint8_t>(pkt.len - 14);
    std::memcpy(t.hdr, frame + 14, t.len);
    store_be16(t.hdr + 10, 0);  // the offloaded build left the pseudo-header sum in TCP's: clear both
    store_be16(t.hdr + 20 + 16, 0);
    t.offload = ip.checksum_offload;
    t.ip_sum = checksum_words32(t.hdr, 20);
    t.tcp_sum = checksum_words32(t.hdr + 20, t.len - 20u);
    t.pseudo = (6u << 8) + __builtin_bswap16(static_cast<uint16_t>(t.len - 20));
    if (shape.options.timestamps) t.ts_offset = static_cast<uint8_t>(20 + 20 + (shape.options.mss ? 4 : 0) + 4);
    return t;
}

bool write_ipv4_reply(Packet& pkt, const Ipv4ReplyTemplate& t, const PlainIpv4Segment& in, uint32_t seq,
                      uint32_t ack, uint16_t ip_id, uint32_t tsval, uint32_t tsecr) noexcept {
    constexpr uint32_t kL3 = PlainIpv4Segment::kL3Offset;
    if (kL3 + t.len > pkt.room) return false;
    // The descriptor first: the caller copies the whole Packet right after, with wide loads that
    // must not meet these narrow stores still in flight.
    pkt.len = static_cast<uint16_t>(kL3 + t.len);
    pkt.flags = t.offload ? kTxChecksumsPending : 0;
    uint8_t* d = pkt.data;
    swap_macs(d);
    uint8_t* ip = d + kL3;
    if (kL3 + Ipv4ReplyTemplate::kRoom <= pkt.room)
        std::memcpy(ip, t.hdr, Ipv4ReplyTemplate::kRoom);  // one wide copy (bytes past len are slack)
    else
        std::memcpy(ip, t.hdr, t.len);
    uint8_t* th = ip + 20;
    // Per-packet words as they sit in memory (summed as such: see checksum.hpp).
    const uint32_t id = __builtin_bswap16(ip_id);
    const uint32_t ports = uint32_t{__builtin_bswap16(in.dst_port)} | uint32_t{__builtin_bswap16(in.src_port)} << 16;
    const uint32_t seq_be = __builtin_bswap32(seq), ack_be = __builtin_bswap32(ack);
    std::memcpy(ip + 4, &id, 2);
    std::memcpy(ip + 12, &in.dst_addr, 4);
    std::memcpy(ip + 16, &in.src_addr, 4);
    std::memcpy(th, &ports, 4);
    std::memcpy(th + 4, &seq_be, 4);
    std::memcpy(th + 8, &ack_be, 4);
    uint64_t var = uint64_t{ports} + seq_be + ack_be;  // the TCP header's per-packet words
    if (t.ts_offset) {
        const uint32_t tv = __builtin_bswap32(tsval), te = __builtin_bswap32(tsecr);
        std::memcpy(ip + t.ts_offset, &tv, 4);
        std::memcpy(ip + t.ts_offset + 4, &te, 4);
        var += uint64_t{tv} + te;
    }
    const uint64_t addrs = uint64_t{in.src_addr} + in.dst_addr;
    if (t.offload) {  // the NIC completes both: the IPv4 checksum stays 0, TCP's holds the pseudo-header
        store_be16(th + 16, checksum_fold(addrs + t.pseudo));
        return true;
    }
    store_be16(ip + 10, checksum_finish(t.ip_sum + id + addrs));
    store_be16(th + 16, checksum_finish(t.tcp_sum + addrs + t.pseudo + var));
    return true;
}

}  // namespace synwall::net
