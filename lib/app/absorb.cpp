#include "app/absorb.hpp"

#include "net/parser.hpp"
#include "net/reply_builder.hpp"

namespace synwall::app {

Verdict Absorb::on_accept(handshake::Connection& c, bool& closed) noexcept {
    ++accepted_;
    closed = true;  // absorbed: the worker forgets the flow either way
    // The engine validated this frame already: skip the checksums.
    const net::ParsedPacket p =
        net::parse({c.packet.data, c.packet.len}, net::kRxIpChecksumGood | net::kRxL4ChecksumGood);
    if (!p.ok()) return Verdict::kFree;
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
    if (!net::build_reply(c.packet, p, seg, {})) return Verdict::kFree;
    ++closed_;
    return Verdict::kTransmit;
}

// Every flow was closed at accept; a packet can still arrive (from an application lcore) before
// the worker forgot the flow. The close was reported already: report it once only.
Verdict Absorb::on_packet(net::Packet&, uint32_t, bool& closed) noexcept {
    closed = false;
    return Verdict::kFree;
}

}  // namespace synwall::app
