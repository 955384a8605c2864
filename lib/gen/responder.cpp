#include "gen/responder.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "gen/splitmix64.hpp"
#include "net/reply_builder.hpp"

namespace synwall::gen {

namespace flag = net::tcp_flag;

void ResponderStats::add(const ResponderStats& o) noexcept {
    rx += handshake::stat_load(o.rx);
    syns += handshake::stat_load(o.syns);
    data += handshake::stat_load(o.data);
    data_bytes += handshake::stat_load(o.data_bytes);
    fins += handshake::stat_load(o.fins);
    ignored += handshake::stat_load(o.ignored);
}

uint32_t Responder::isn(const net::ParsedPacket& p) const noexcept {
    uint64_t h = key_ ^ (uint64_t{p.src_port} << 16 | p.dst_port);
    const size_t n = p.addr_len();
    for (size_t i = 0; i < n; i += 4) {
        uint32_t a, b;
        std::memcpy(&a, p.src_addr + i, 4);
        std::memcpy(&b, p.dst_addr + i, 4);
        h = SplitMix64(h ^ (uint64_t{a} << 32 | b)).next();
    }
    return static_cast<uint32_t>(h);
}

bool Responder::on_frame(net::Packet& pkt, uint64_t now_ns) noexcept {
    handshake::stat_add(stats_.rx, 1);
    const net::ParsedPacket p = net::parse({pkt.data, pkt.len}, pkt.flags);
    if (!p.ok() || p.has(flag::kRst)) {
        handshake::stat_add(stats_.ignored, 1);
        return false;
    }
    net::ReplySegment seg;
    seg.window = 65535;
    const net::TcpOptions& o = p.options;
    const uint32_t tsval = static_cast<uint32_t>(now_ns / 1'000'000);
    if (p.has(flag::kSyn) && !p.has(flag::kAck)) {
        seg.flags = flag::kSyn | flag::kAck;
        seg.seq = isn(p);
        seg.ack = p.seq + 1;
        seg.options.mss = 1460;
        if (o.has_wscale) seg.options.wscale = 7;
        seg.options.sack_permitted = o.sack_permitted;
        seg.options.timestamps = o.has_timestamps;
        seg.options.tsval = tsval;
        seg.options.tsecr = o.tsval;
        handshake::stat_add(stats_.syns, 1);
    } else if (p.payload_len > 0 || p.has(flag::kFin)) {
        seg.flags = flag::kAck | (p.has(flag::kFin) ? flag::kFin : 0);
        seg.seq = p.ack;
        seg.ack = p.seq + p.payload_len + (p.has(flag::kFin) ? 1 : 0);
        seg.window = 1024;  // scaled by 7 when the client scales: 128 KiB
        seg.options.timestamps = o.has_timestamps;
        seg.options.tsval = tsval;
        seg.options.tsecr = o.tsval;
        if (p.payload_len) {
            handshake::stat_add(stats_.data, 1);
            handshake::stat_add(stats_.data_bytes, p.payload_len);
        }
        if (p.has(flag::kFin)) handshake::stat_add(stats_.fins, 1);
        static constexpr std::array<uint8_t, 1460> kBody = [] {
            std::array<uint8_t, 1460> b{};
            for (auto& c : b) c = 'r';
            return b;
        }();
        if (reply_bytes_ && p.payload_len && !p.has(flag::kFin)) {
            seg.flags |= flag::kPsh;
            seg.payload = {kBody.data(), std::min<size_t>(reply_bytes_, kBody.size())};
        }
    } else {
        handshake::stat_add(stats_.ignored, 1);
        return false;
    }
    if (!net::build_reply(pkt, p, seg, {64, ip_id_++, false})) {
        handshake::stat_add(stats_.ignored, 1);
        return false;
    }
    return true;
}

}  // namespace synwall::gen
