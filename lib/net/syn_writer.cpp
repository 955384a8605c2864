#include "net/syn_writer.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/reply_builder.hpp"

namespace synwall::net {

uint16_t write_syn(const SynSpec& s, uint8_t* out, uint16_t room) noexcept {
    const bool v4 = s.family == Family::kIpv4;
    uint8_t opt[40];
    uint8_t n = 0;
    if (s.mss) {
        opt[n++] = tcp_opt::kMss;
        opt[n++] = 4;
        store_be16(opt + n, s.mss);
        n += 2;
    }
    if (s.timestamps) {
        opt[n++] = s.sack ? tcp_opt::kSackPermitted : tcp_opt::kNop;
        opt[n++] = s.sack ? 2 : tcp_opt::kNop;
        opt[n++] = tcp_opt::kTimestamps;
        opt[n++] = 10;
        store_be32(opt + n, s.tsval);
        store_be32(opt + n + 4, 0);
        n += 8;
    } else if (s.sack) {
        const uint8_t sp[4] = {tcp_opt::kNop, tcp_opt::kNop, tcp_opt::kSackPermitted, 2};
        std::memcpy(opt + n, sp, 4);
        n += 4;
    }
    if (s.wscale >= 0) {
        const uint8_t ws[4] = {tcp_opt::kNop, tcp_opt::kWscale, 3, static_cast<uint8_t>(s.wscale)};
        std::memcpy(opt + n, ws, 4);
        n += 4;
    }
    const uint16_t tcp_len = static_cast<uint16_t>(20 + n);
    const uint16_t l2 = s.vlan ? 18 : 14;
    const uint16_t ip_len = v4 ? 20 : 40;
    const uint16_t total = static_cast<uint16_t>(l2 + ip_len + tcp_len);
    if (total > room) return 0;

    uint8_t* d = out;
    std::memcpy(d, s.dst_mac.data(), 6);
    std::memcpy(d + 6, s.src_mac.data(), 6);
    if (s.vlan) {
        store_be16(d + 12, 0x8100);
        store_be16(d + 14, s.vlan);
    }
    store_be16(d + l2 - 2, v4 ? 0x0800 : 0x86dd);
    uint8_t* ip = d + l2;
    uint8_t* th = ip + ip_len;
    if (v4) {
        ip[0] = 0x45;
        ip[1] = 0;
        store_be16(ip + 2, static_cast<uint16_t>(ip_len + tcp_len));
        store_be16(ip + 4, static_cast<uint16_t>(s.seq));
        store_be16(ip + 6, 0x4000);
        ip[8] = s.ttl;
        ip[9] = 6;
        store_be16(ip + 10, 0);
        std::memcpy(ip + 12, s.src.data(), 4);
        std::memcpy(ip + 16, s.dst.data(), 4);
        store_be16(ip + 10, ipv4_header_checksum({ip, 20}));
    } else {
        store_be32(ip, 0x60000000u);
        store_be16(ip + 4, tcp_len);
        ip[6] = 6;
        ip[7] = s.ttl;
        std::memcpy(ip + 8, s.src.data(), 16);
        std::memcpy(ip + 24, s.dst.data(), 16);
    }
    store_be16(th, s.src_port);
    store_be16(th + 2, s.dst_port);
    store_be32(th + 4, s.seq);
    store_be32(th + 8, s.ack);
    th[12] = static_cast<uint8_t>((tcp_len / 4) << 4);
    th[13] = static_cast<uint8_t>(s.flags | (s.ecn_setup ? tcp_flag::kEce | tcp_flag::kCwr : 0));
    store_be16(th + 14, s.window);
    store_be32(th + 16, 0);
    std::memcpy(th + 20, opt, n);
    const uint64_t ph = v4 ? pseudo_header_v4(ip + 12, ip + 16, tcp_len) : pseudo_header_v6(ip + 8, ip + 24, tcp_len);
    store_be16(th + 16, checksum_finish(checksum_partial({th, tcp_len}, ph)));
    return total;
}

bool answer_synack(Packet& pkt, const ParsedPacket& p, uint32_t tsval, uint32_t ack_delta,
                   std::span<const uint8_t> data) noexcept {
    if (!p.ok() || (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) != (tcp_flag::kSyn | tcp_flag::kAck)) return false;
    ReplySegment seg;
    seg.flags = tcp_flag::kAck;
    seg.seq = p.ack;
    seg.ack = p.seq + ack_delta;
    seg.window = 502;
    seg.options.timestamps = p.options.has_timestamps;
    seg.options.tsval = tsval;
    seg.options.tsecr = p.options.tsval;
    seg.payload = data;
    return build_reply(pkt, p, seg, {});
}

uint16_t write_client_ack(const Packet& synack, uint8_t* out, uint16_t room, uint32_t tsval) noexcept {
    if (synack.len > room) return 0;
    if (out != synack.data) std::memcpy(out, synack.data, synack.len);  // turned around in place, as the engine does
    Packet pk{out, synack.len, room, 0, 0, nullptr};
    return answer_synack(pk, parse({out, synack.len}), tsval) ? pk.len : 0;
}

}  // namespace synwall::net
