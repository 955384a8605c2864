#include "net/reply_builder.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace synwall::net {
namespace {

uint8_t write_options(uint8_t* o, const ReplyOptions& r) noexcept {
    uint8_t* p = o;
    if (r.mss != 0) {
        p[0] = tcp_opt::kMss;
        p[1] = 4;
        store_be16(p + 2, r.mss);
        p += 4;
    }
    if (r.timestamps) {
        if (r.sack_permitted) {
            p[0] = tcp_opt::kSackPermitted;
            p[1] = 2;
        } else {
            p[0] = tcp_opt::kNop;
            p[1] = tcp_opt::kNop;
        }
        p[2] = tcp_opt::kTimestamps;
        p[3] = 10;
        store_be32(p + 4, r.tsval);
        store_be32(p + 8, r.tsecr);
        p += 12;
    } else if (r.sack_permitted) {
        p[0] = tcp_opt::kNop;
        p[1] = tcp_opt::kNop;
        p[2] = tcp_opt::kSackPermitted;
        p[3] = 2;
        p += 4;
    }
    if (r.wscale != ReplyOptions::kNoWscale) {
        p[0] = tcp_opt::kNop;
        p[1] = tcp_opt::kWscale;
        p[2] = 3;
        p[3] = r.wscale;
        p += 4;
    }
    return static_cast<uint8_t>(p - o);
}

}  // namespace

uint8_t reply_options_len(const ReplyOptions& r) noexcept {
    return static_cast<uint8_t>((r.mss ? 4 : 0) + (r.timestamps ? 12 : r.sack_permitted ? 4 : 0) +
                                (r.wscale != ReplyOptions::kNoWscale ? 4 : 0));
}

bool build_reply(Packet& pkt, const ParsedPacket& in, const ReplySegment& seg,
                 const ReplyIpFields& ipf) noexcept {
    const bool v4 = in.family == Family::kIpv4;
    const uint16_t ip_len = v4 ? 20 : 40;
    const uint16_t hdr_len = static_cast<uint16_t>(20 + reply_options_len(seg.options));
    const size_t frame_len = size_t{in.l3_offset} + ip_len + hdr_len + seg.payload.size();
    if (frame_len > pkt.room) return false;
    const auto tcp_len = static_cast<uint16_t>(hdr_len + seg.payload.size());

    // Everything we still need from the original lives in `in` except the addresses, which the
    // new IP header overwrites: copy them first.
    uint8_t src[16], dst[16];
    if (v4) {  // fixed sizes: inlined moves, no library call
        std::memcpy(src, in.src_addr, 4);
        std::memcpy(dst, in.dst_addr, 4);
    } else {
        std::memcpy(src, in.src_addr, 16);
        std::memcpy(dst, in.dst_addr, 16);
    }

    uint8_t* d = pkt.data;
    // The payload first: it may come from this very frame (its own data, echoed), which the
    // headers below overwrite.
    if (!seg.payload.empty()) std::memmove(d + in.l3_offset + ip_len + hdr_len, seg.payload.data(), seg.payload.size());
    uint8_t mac[6];
    std::memcpy(mac, d, 6);
    std::memcpy(d, d + 6, 6);
    std::memcpy(d + 6, mac, 6);

    uint8_t* ip = d + in.l3_offset;
    uint8_t* th = ip + ip_len;
    if (v4) {
        // version/IHL, TOS, total length, id, DF, TTL, protocol TCP, checksum 0: two 64-bit stores.
        const uint64_t w0 = uint64_t{0x45} | uint64_t{__builtin_bswap16(static_cast<uint16_t>(ip_len + tcp_len))} << 16 |
                            uint64_t{__builtin_bswap16(ipf.ipv4_id)} << 32 | uint64_t{0x0040} << 48;
        const uint32_t w1 = uint32_t{ipf.ttl} | 6u << 8;
        std::memcpy(ip, &w0, 8);
        std::memcpy(ip + 8, &w1, 4);
        std::memcpy(ip + 12, dst, 4);
        std::memcpy(ip + 16, src, 4);
        if (!ipf.checksum_offload) store_be16(ip + 10, ipv4_header_checksum({ip, 20}));
    } else {
        store_be32(ip, 0x60000000u);  // version 6, traffic class 0, flow label 0
        store_be16(ip + 4, tcp_len);
        ip[6] = 6;
        ip[7] = ipf.ttl;
        std::memcpy(ip + 8, dst, 16);
        std::memcpy(ip + 24, src, 16);
    }

    store_be16(th, in.dst_port);
    store_be16(th + 2, in.src_port);
    store_be32(th + 4, seg.seq);
    store_be32(th + 8, seg.ack);
    th[12] = static_cast<uint8_t>((hdr_len / 4) << 4);
    th[13] = seg.flags;
    store_be16(th + 14, seg.window);
    store_be16(th + 16, 0);
    store_be16(th + 18, 0);
    write_options(th + 20, seg.options);

    const uint64_t pseudo = v4 ? pseudo_header_v4(ip + 12, ip + 16, tcp_len)
                               : pseudo_header_v6(ip + 8, ip + 24, tcp_len);
    const uint16_t csum = ipf.checksum_offload ? checksum_fold(pseudo)
                                               : checksum_finish(checksum_partial({th, tcp_len}, pseudo));
    store_be16(th + 16, csum);
    pkt.len = static_cast<uint16_t>(frame_len);
    pkt.flags = ipf.checksum_offload ? kTxChecksumsPending : 0;  // the rx verdicts described the old frame
    return true;
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
