#include "app/absorb.hpp"

#include "net/parser.hpp"
#include "net/reply_builder.hpp"
#include "net/tcp_clock.hpp"

namespace synwall::app {

Disposition Absorb::on_accept(handshake::Connection& c, AppIo& io) noexcept {
    ++accepted_;
    uint32_t evicted;
    if (!linger_.holds(c.flow)) {
        io.close_flow(c.flow);  // more flows than this instance was sized for: no grace period
    } else if (linger_.push(c.flow, io.now_ns(), evicted)) {
        ++evicted_;
        io.close_flow(evicted);
    }
    // The engine validated this frame already: skip the checksums.
    const net::ParsedPacket p =
        net::parse({c.packet.data, c.packet.len}, net::kRxIpChecksumGood | net::kRxL4ChecksumGood);
    if (!p.ok()) return Disposition::free();
    net::ReplySegment seg;
    seg.seq = c.server_isn + 1;
    seg.ack = c.client_isn + 1 + c.payload_len;
    if (how_ == CloseWith::kRst) {
        seg.flags = net::tcp_flag::kRst | net::tcp_flag::kAck;
        seg.window = 0;
    } else {
        seg.flags = net::tcp_flag::kFin | net::tcp_flag::kAck;
        // 64 KiB of receive window, scaled if scaling was negotiated (RFC 7323 §2.2).
        seg.window = c.rcv_wscale != handshake::kNoWscale ? static_cast<uint16_t>(65535u >> c.rcv_wscale) : 65535;
    }
    // Timestamps negotiated: on every segment (RFC 7323 §3.2), echoing the client's latest TSval.
    if (c.flags & handshake::kConnTimestamps) {
        seg.options.timestamps = true;
        seg.options.tsval = net::tcp_ts_clock(io.now_ns());
        seg.options.tsecr = c.ts_recent;
    }
    if (!net::build_reply(c.packet, p, seg, {})) return Disposition::free();
    ++closed_;
    return Disposition::transmit(c.packet.port);
}

// Every flow was closed at accept: what still arrives (a retransmitted ACK, the client's FIN)
// lingers out with the flow, except a new SYN on the tuple, which opens a new connection.
Disposition Absorb::on_packet(net::Packet& p, FlowRef f, AppIo& io) noexcept {
    const net::ParsedPacket pp =
        f.parsed ? *f.parsed : net::parse({p.data, p.len}, net::kRxIpChecksumGood | net::kRxL4ChecksumGood);
    if (pp.ok() && (pp.tcp_flags & (net::tcp_flag::kSyn | net::tcp_flag::kAck | net::tcp_flag::kRst)) == net::tcp_flag::kSyn &&
        linger_.lingering(f.flow)) {
        linger_.cancel(f.flow);
        io.close_flow(f.flow);
        return Disposition::reprocess();
    }
    ++late_;
    return Disposition::free();
}

void Absorb::on_tick(AppIo& io) noexcept {
    uint32_t flow;
    while (linger_.pop_due(io.now_ns(), flow)) io.close_flow(flow);
}

void Absorb::drain(AppIo& io) noexcept {
    uint32_t flow;
    while (linger_.pop(flow)) io.close_flow(flow);
}

}  // namespace synwall::app
