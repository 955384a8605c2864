#include "hello_app.hpp"

#include "net/parser.hpp"
#include "net/reply_builder.hpp"
#include "net/tcp_clock.hpp"

namespace embed {

using namespace synwall;
namespace flag = net::tcp_flag;

app::Disposition HelloApp::on_accept(handshake::Connection& c, app::AppIo& io) noexcept {
    ++accepted_;
    if (c.flow >= flows_.size()) {  // more flows than we were sized for
        io.close_flow(c.flow);
        return app::Disposition::free();
    }
    Flow& f = flows_[c.flow];
    f = Flow{};
    f.open = true;
    f.snd_nxt = c.server_isn + 1;
    f.rcv_nxt = c.client_isn + 1;
    f.window = c.rcv_wscale != handshake::kNoWscale ? static_cast<uint16_t>(65535u >> c.rcv_wscale) : 65535;
    f.timestamps = (c.flags & handshake::kConnTimestamps) != 0;
    if (c.payload_len == 0) return app::Disposition::free();  // the request comes next
    // The request came with the handshake's last ACK: treat that ACK as its first data segment.
    return on_packet(c.packet, {c.flow, false, nullptr}, io);
}

app::Disposition HelloApp::on_packet(net::Packet& p, app::FlowRef ref, app::AppIo& io) noexcept {
    const net::ParsedPacket pp = ref.parsed ? *ref.parsed : net::parse({p.data, p.len}, p.flags);
    if (!pp.ok() || ref.flow >= flows_.size() || !flows_[ref.flow].open) return app::Disposition::free();
    Flow& f = flows_[ref.flow];
    if (pp.has(flag::kRst)) {
        f.open = false;
        io.close_flow(ref.flow);
        return app::Disposition::free();
    }
    if (pp.seq != f.rcv_nxt) return reply(p, pp, f, flag::kAck, {}, io);  // not the next byte: re-acknowledge
    f.rcv_nxt += pp.payload_len;
    if (pp.payload_len > 0 && !f.answered) {
        // The request: the response and our FIN in one segment.
        f.answered = true;
        ++answered_;
        return reply(p, pp, f, flag::kAck | flag::kPsh | flag::kFin, kResponse, io);
    }
    if (pp.has(flag::kFin)) {
        // The client closes too: acknowledge its FIN, and synwall forgets the flow.
        f.rcv_nxt += 1;
        f.open = false;
        io.close_flow(ref.flow);
        return reply(p, pp, f, flag::kAck, {}, io);
    }
    return app::Disposition::free();  // an ACK of our data
}

app::Disposition HelloApp::reply(net::Packet& p, const net::ParsedPacket& in, Flow& f, uint8_t flags,
                                 std::string_view payload, app::AppIo& io) noexcept {
    net::ReplySegment seg;
    seg.flags = flags;
    seg.seq = f.snd_nxt;
    seg.ack = f.rcv_nxt;
    seg.window = f.window;
    seg.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    if (f.timestamps) {  // on every segment once negotiated (RFC 7323)
        seg.options.timestamps = true;
        seg.options.tsval = net::tcp_ts_clock(io.now_ns());
        seg.options.tsecr = in.options.has_timestamps ? in.options.tsval : 0;
    }
    if (!net::build_reply(p, in, seg, {})) return app::Disposition::free();
    f.snd_nxt += static_cast<uint32_t>(payload.size()) + ((flags & flag::kFin) ? 1 : 0);
    return app::Disposition::transmit(p.port);
}

}  // namespace embed
