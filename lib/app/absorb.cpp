#include "app/absorb.hpp"

#include "net/parser.hpp"
#include "net/reply_builder.hpp"

namespace synwall::app {

Disposition Absorb::on_accept(handshake::Connection& c, AppIo& io) noexcept {
    ++accepted_;
    if (c.flow < tags_.size()) {
        if (++next_tag_ == 0) next_tag_ = 1;
        tags_[c.flow] = next_tag_;
        Linger::Entry evicted;
        if (linger_.push(c.flow, next_tag_, io.now_ns(), evicted) && tags_[evicted.flow] == evicted.tag) {
            ++evicted_;
            close_if_current(evicted, io);
        }
    } else {
        io.close_flow(c.flow);  // more flows than this instance was sized for: no grace period
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
        seg.window = 65535;
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
        f.flow < tags_.size() && tags_[f.flow] != 0) {
        tags_[f.flow] = 0;
        io.close_flow(f.flow);
        return Disposition::reprocess();
    }
    ++late_;
    return Disposition::free();
}

void Absorb::close_if_current(const Linger::Entry& e, AppIo& io) noexcept {
    if (tags_[e.flow] != e.tag) return;  // closed early; the id may serve a newer flow now
    tags_[e.flow] = 0;
    io.close_flow(e.flow);
}

void Absorb::on_tick(AppIo& io) noexcept {
    Linger::Entry e;
    while (linger_.pop_due(io.now_ns(), e)) close_if_current(e, io);
}

void Absorb::drain(AppIo& io) noexcept {
    Linger::Entry e;
    while (linger_.pop(e)) close_if_current(e, io);
}

}  // namespace synwall::app
