#include "net/reply_builder.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace synwall::net {
namespace {

// The header is assembled in registers and stored in a few wide stores, and its checksums are
// summed from those same values. Summing it back from memory would load 8 bytes across several
// narrower stores that are still in flight, which the CPU cannot forward: a stall of a dozen cycles
// per load, about 15 ns per reply (perf: most of build_reply's samples on those loads).

constexpr uint32_t bytes4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
    return uint32_t{a} | uint32_t{b} << 8 | uint32_t{c} << 16 | uint32_t{d} << 24;
}

// Writes our options at `o` in the kernel's order and alignment — MSS, [SACK-permitted + TS |
// NOP NOP TS], [NOP NOP SACK-permitted], [NOP WS] — as 32-bit words, and returns their sum (each
// word read as memory holds it, little-endian) for the checksum.
uint64_t write_options(uint8_t* o, const ReplyOptions& r) noexcept {
    uint64_t sum = 0;
    auto put = [&](uint32_t w) {
        std::memcpy(o, &w, 4);
        o += 4;
        sum += w;
    };
    if (r.mss != 0) put(bytes4(tcp_opt::kMss, 4, static_cast<uint8_t>(r.mss >> 8), static_cast<uint8_t>(r.mss)));
    if (r.timestamps) {
        put(r.sack_permitted ? bytes4(tcp_opt::kSackPermitted, 2, tcp_opt::kTimestamps, 10)
                             : bytes4(tcp_opt::kNop, tcp_opt::kNop, tcp_opt::kTimestamps, 10));
        put(__builtin_bswap32(r.tsval));
        put(__builtin_bswap32(r.tsecr));
    } else if (r.sack_permitted) {
        put(bytes4(tcp_opt::kNop, tcp_opt::kNop, tcp_opt::kSackPermitted, 2));
    }
    if (r.wscale != ReplyOptions::kNoWscale) put(bytes4(tcp_opt::kNop, tcp_opt::kWscale, 3, r.wscale));
    return sum;
}

}  // namespace

uint8_t reply_options_len(const ReplyOptions& r) noexcept {
    return static_cast<uint8_t>((r.mss ? 4 : 0) + (r.timestamps ? 12 : r.sack_permitted ? 4 : 0) +
                                (r.wscale != ReplyOptions::kNoWscale ? 4 : 0));
}

namespace {

// The TCP header's first 16 bytes as two little-endian words: ports, seq | ack, data offset,
// flags, window. kReply: the ports of `in` swapped.
struct TcpWords {
    uint64_t t0, t1;
};
template <bool kReply>
TcpWords tcp_words(const SegmentEnds& in, const ReplySegment& seg, uint32_t hdr_len) noexcept {
    const uint16_t sport = kReply ? in.dst_port : in.src_port;
    const uint16_t dport = kReply ? in.src_port : in.dst_port;
    return TcpWords{uint64_t{__builtin_bswap16(sport)} | uint64_t{__builtin_bswap16(dport)} << 16 |
                        uint64_t{__builtin_bswap32(seg.seq)} << 32,
                    uint64_t{__builtin_bswap32(seg.ack)} | uint64_t{(hdr_len / 4u) << 4} << 32 |
                        uint64_t{seg.flags} << 40 | uint64_t{__builtin_bswap16(seg.window)} << 48};
}

// kReply: the segment answers `in` (MACs, addresses and ports swapped); otherwise it continues in
// `in`'s direction (a SYN the proxy sends on the client's behalf).
template <bool kReply>
bool build_segment(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg, const ReplyIpFields& ipf) noexcept {
    const bool v4 = in.family == Family::kIpv4;
    const uint16_t ip_len = v4 ? 20 : 40;
    const auto hdr_len = static_cast<uint16_t>(20 + reply_options_len(seg.options));
    const size_t frame_len = size_t{in.l3_offset} + ip_len + hdr_len + seg.payload.size();
    if (frame_len > pkt.room) return false;
    const auto tcp_len = static_cast<uint16_t>(hdr_len + seg.payload.size());
    // The descriptor first: callers copy the whole Packet right after, with wide loads that must
    // not meet these narrow stores still in flight (the same stall as above).
    pkt.len = static_cast<uint16_t>(frame_len);
    pkt.flags = ipf.checksum_offload ? kTxChecksumsPending : 0;  // the rx verdicts described the old frame

    // Everything we still need from the original lives in `in` except the addresses, which the
    // new IP header overwrites: copy them first.
    // `src` and `dst` name the addresses of `in`; the reply goes from dst to src.
    uint8_t src[16], dst[16];
    const uint8_t* from = kReply ? in.src_addr : in.dst_addr;
    const uint8_t* to = kReply ? in.dst_addr : in.src_addr;
    if (v4) {  // fixed sizes: inlined moves, no library call
        std::memcpy(src, from, 4);
        std::memcpy(dst, to, 4);
    } else {
        std::memcpy(src, from, 16);
        std::memcpy(dst, to, 16);
    }

    uint8_t* d = pkt.data;
    uint8_t* ip = d + in.l3_offset;
    uint8_t* th = ip + ip_len;
    // The payload first: it may come from this very frame (its own data, echoed), which the
    // headers below overwrite.
    if (!seg.payload.empty()) std::memmove(th + hdr_len, seg.payload.data(), seg.payload.size());
    if constexpr (kReply) swap_macs(d);

    uint64_t pseudo;  // TCP pseudo-header sum (symmetric in the two addresses)
    if (v4) {
        // version/IHL, TOS, total length, id, DF | TTL, protocol TCP, checksum 0 | addresses.
        const uint64_t w0 = uint64_t{0x45} | uint64_t{__builtin_bswap16(static_cast<uint16_t>(ip_len + tcp_len))} << 16 |
                            uint64_t{__builtin_bswap16(ipf.ipv4_id)} << 32 | uint64_t{0x0040} << 48;
        const uint32_t w1 = uint32_t{ipf.ttl} | 6u << 8;
        uint32_t a_dst, a_src;
        std::memcpy(&a_dst, dst, 4);
        std::memcpy(&a_src, src, 4);
        std::memcpy(ip, &w0, 8);
        std::memcpy(ip + 8, &w1, 4);
        std::memcpy(ip + 12, &a_dst, 4);
        std::memcpy(ip + 16, &a_src, 4);
        if (!ipf.checksum_offload)
            store_be16(ip + 10, checksum_finish(detail::add_carry(detail::add_carry(w0, w1), uint64_t{a_dst} + a_src)));
        pseudo = pseudo_header_v4(src, dst, tcp_len);
    } else {
        const uint64_t w0 = uint64_t{0x60} | uint64_t{__builtin_bswap16(tcp_len)} << 32 | uint64_t{6} << 48 |
                            uint64_t{ipf.ttl} << 56;  // version 6, class and flow label 0, length, TCP, hops
        std::memcpy(ip, &w0, 8);
        std::memcpy(ip + 8, dst, 16);
        std::memcpy(ip + 24, src, 16);
        pseudo = pseudo_header_v6(src, dst, tcp_len);
    }

    // Ports, seq | ack, data offset, flags, window | checksum 0, urgent 0 | options.
    const auto [t0, t1] = tcp_words<kReply>(in, seg, hdr_len);
    const uint32_t zero = 0;
    std::memcpy(th, &t0, 8);
    std::memcpy(th + 8, &t1, 8);
    std::memcpy(th + 16, &zero, 4);
    const uint64_t opt_sum = write_options(th + 20, seg.options);

    uint16_t csum;
    if (ipf.checksum_offload) {
        csum = checksum_fold(pseudo);
    } else {
        uint64_t sum = detail::add_carry(detail::add_carry(detail::add_carry(pseudo, t0), t1), opt_sum);
        if (!seg.payload.empty()) sum = checksum_partial({th + hdr_len, seg.payload.size()}, sum);
        csum = checksum_finish(sum);
    }
    store_be16(th + 16, csum);
    return true;
}

// The same for the case nearly every reply is (IPv4, no payload: SYN-ACKs, RSTs, ACKs), in
// straight-line code: addresses as two 32-bit registers, their sum shared by both checksums.
template <bool kReply>
bool build_segment_v4(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg, const ReplyIpFields& ipf) noexcept {
    const uint32_t hdr_len = 20u + reply_options_len(seg.options);
    const uint32_t frame_len = in.l3_offset + 20u + hdr_len;
    if (frame_len > pkt.room) return false;
    pkt.len = static_cast<uint16_t>(frame_len);
    pkt.flags = ipf.checksum_offload ? kTxChecksumsPending : 0;
    uint32_t from, to;  // the reply's source and destination addresses
    std::memcpy(&from, kReply ? in.dst_addr : in.src_addr, 4);
    std::memcpy(&to, kReply ? in.src_addr : in.dst_addr, 4);
    uint8_t* d = pkt.data;
    if constexpr (kReply) swap_macs(d);
    uint8_t* ip = d + in.l3_offset;
    uint8_t* th = ip + 20;
    const uint64_t w0 = uint64_t{0x45} | uint64_t{__builtin_bswap16(static_cast<uint16_t>(20 + hdr_len))} << 16 |
                        uint64_t{__builtin_bswap16(ipf.ipv4_id)} << 32 | uint64_t{0x0040} << 48;
    const uint64_t w1 = uint64_t{ipf.ttl} | 6u << 8 | uint64_t{from} << 32;
    std::memcpy(ip, &w0, 8);
    std::memcpy(ip + 8, &w1, 8);
    std::memcpy(ip + 16, &to, 4);
    const uint64_t addrs = uint64_t{from} + to;
    if (!ipf.checksum_offload)
        store_be16(ip + 10, checksum_finish(detail::add_carry(detail::add_carry(w0, ipf.ttl | 6u << 8), addrs)));
    const uint64_t pseudo = addrs + (6u << 8) + __builtin_bswap16(static_cast<uint16_t>(hdr_len));
    const auto [t0, t1] = tcp_words<kReply>(in, seg, hdr_len);
    std::memcpy(th, &t0, 8);
    std::memcpy(th + 8, &t1, 8);
    const uint64_t opt_sum = write_options(th + 20, seg.options);
    const uint16_t csum = ipf.checksum_offload
                              ? checksum_fold(pseudo)
                              : checksum_finish(detail::add_carry(detail::add_carry(detail::add_carry(pseudo, t0), t1), opt_sum));
    const uint32_t t2 = __builtin_bswap16(csum);  // checksum, urgent pointer 0
    std::memcpy(th + 16, &t2, 4);
    return true;
}

}  // namespace

bool build_reply(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg, const ReplyIpFields& ip) noexcept {
    if (in.family == Family::kIpv4 && seg.payload.empty()) return build_segment_v4<true>(pkt, in, seg, ip);
    return build_segment<true>(pkt, in, seg, ip);
}

bool build_forward(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg, const ReplyIpFields& ip) noexcept {
    if (in.family == Family::kIpv4 && seg.payload.empty()) return build_segment_v4<false>(pkt, in, seg, ip);
    return build_segment<false>(pkt, in, seg, ip);
}

ReplySegment rst_for(const ParsedPacket& in) noexcept {
    ReplySegment r;
    if (in.has(tcp_flag::kAck)) {
        r.flags = tcp_flag::kRst;
        r.seq = in.ack;
    } else {
        r.flags = tcp_flag::kRst | tcp_flag::kAck;
        r.seq = 0;
        r.ack = in.seq + in.payload_len + (in.has(tcp_flag::kSyn) ? 1 : 0) +
                (in.has(tcp_flag::kFin) ? 1 : 0);
    }
    return r;
}

}  // namespace synwall::net
