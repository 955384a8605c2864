#include "app/proxy.hpp"

#include <algorithm>
#include <cstring>

#include "net/reply_builder.hpp"

namespace synwall::app {

namespace flag = net::tcp_flag;
using handshake::kNoWscale;

namespace {

constexpr uint64_t kTickNs = 1'000'000;  // timer resolution: 1 ms
constexpr uint32_t kSlots = 4096;        // wheel span 4 s; longer timers take extra turns
constexpr uint32_t kTimerBudget = 256;   // timers handled per on_tick

// Frames handed to the application were parsed by the engine, checksums included.
net::ParsedPacket parse_trusted(const net::Packet& p) noexcept {
    return net::parse({p.data, p.len}, net::kRxIpChecksumGood | net::kRxL4ChecksumGood);
}

constexpr std::string_view kNames[] = {
#define SYNWALL_X(e, name, help) name,
    SYNWALL_PROXY_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
};
constexpr std::string_view kHelp[] = {
#define SYNWALL_X(e, name, help) help,
    SYNWALL_PROXY_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
};

}  // namespace

std::string_view proxy_counter_name(uint32_t c) noexcept { return c < kProxyCounterCount ? kNames[c] : "?"; }
std::string_view proxy_counter_help(uint32_t c) noexcept { return c < kProxyCounterCount ? kHelp[c] : "?"; }

Proxy::Proxy(const ProxyConfig& config)
    : config_(config),
      flows_(config.flow_capacity),
      // Every flow holds its completing ACK apart; later segments: on average four per flow.
      held_(std::max<size_t>(size_t{config.flow_capacity} * 4, 64)),
      timers_(config.flow_capacity, kTickNs, kSlots, 0),
      // Half the flow ids at most linger: under a high connection rate the oldest closed flows are
      // forgotten early rather than leaving no room for new connections.
      linger_(config.flow_capacity, std::max<uint32_t>(config.flow_capacity / 2, 1), config.grace_ns),
      expired_(kTimerBudget) {
    for (uint32_t i = 0; i < held_.size(); ++i) held_[i].next = i + 1 < held_.size() ? i + 1 : kNil;
    held_free_ = 0;
}

Disposition Proxy::on_accept(handshake::Connection& c, AppIo& io) noexcept {
    if (c.flow >= flows_.size()) {  // a worker configured with more flows than this instance
        counters_.add(kUnexpected);
        io.close_flow(c.flow);
        return Disposition::free();
    }
    const net::ParsedPacket ack = parse_trusted(c.packet);
    Flow& f = flows_[c.flow];
    f = Flow{};
    f.state = State::kServerSyn;
    f.ack = c.packet;
    f.last_ns = io.now_ns();
    f.client_isn = c.client_isn;
    f.our_isn = c.server_isn;
    f.our_tsval = ack.options.has_timestamps ? ack.options.tsecr : 0;
    f.ts_recent = c.ts_recent;
    f.client_port = c.packet.port;
    f.mss = c.mss;
    f.window = c.window;
    f.client_wscale = c.snd_wscale;
    f.our_wscale = c.rcv_wscale;
    f.conn_flags = c.flags;
    f.held_bytes = c.payload_len;  // data on the ACK counts against the hold limit too
    count_active(+1);
    counters_.add(kAccepted);
    if (c.payload_len) counters_.add(kHeld);
    send_server_syn(f, io);  // without a buffer now, the timer tries again
    f.timer = timers_.start(io.now_ns(), config_.server_syn_timeout_ns, c.flow);
    return Disposition::keep();
}

// The server's SYN: the client's address, port, ISN and negotiated options, in the client's L2
// header, out of the server port (RFC 9293 §3.5: an active open on the client's behalf).
bool Proxy::send_server_syn(Flow& f, AppIo& io) noexcept {
    net::Packet syn;
    if (!io.alloc(syn)) {
        counters_.add(kNoBuffer);
        return false;
    }
    const net::ParsedPacket ack = parse_trusted(f.ack);
    std::memcpy(syn.data, f.ack.data, ack.l3_offset);
    net::ReplySegment seg;
    seg.flags = flag::kSyn;
    if (f.conn_flags & handshake::kConnEcn) seg.flags |= flag::kEce | flag::kCwr;
    seg.seq = f.client_isn;
    const uint32_t shift = f.client_wscale != kNoWscale ? f.client_wscale : 0;
    seg.window = static_cast<uint16_t>(std::min<uint64_t>(uint64_t{f.window} << shift, 0xffff));
    seg.options.mss = f.mss;
    if (f.client_wscale != kNoWscale) seg.options.wscale = f.client_wscale;
    seg.options.sack_permitted = (f.conn_flags & handshake::kConnSack) != 0;
    seg.options.timestamps = (f.conn_flags & handshake::kConnTimestamps) != 0;
    seg.options.tsval = f.ts_recent;
    seg.options.tsecr = 0;
    if (!net::build_forward(syn, ack, seg, {ack.ttl, ip_id_++, false})) {
        io.release(syn);
        counters_.add(kNoBuffer);
        return false;
    }
    io.send(syn, config_.server_port);
    counters_.add(kServerSynSent);
    return true;
}

Disposition Proxy::on_packet(net::Packet& p, FlowRef ref, AppIo& io) noexcept {
    if (ref.flow >= flows_.size() || flows_[ref.flow].state == State::kFree) {
        counters_.add(kUnknownFlow);
        return Disposition::free();
    }
    Flow& f = flows_[ref.flow];
    const net::ParsedPacket pp = ref.parsed ? *ref.parsed : parse_trusted(p);
    if (!pp.ok()) {
        counters_.add(kUnexpected);
        return Disposition::free();
    }
    if ((linger_.lingering(ref.flow) || (f.fins & kFinClient)) && !ref.from_server &&
        (pp.tcp_flags & (flag::kSyn | flag::kAck | flag::kRst)) == flag::kSyn) {
        // A new connection on the tuple of a flow the client has closed (a SYN in TIME_WAIT, or
        // after a FIN whose end we missed: the client reuses the port only once it is done):
        // forget the old one now. The server's side of an unfinished one times out on its own.
        counters_.add(kReopened);
        free_flow(ref.flow, io);
        return Disposition::reprocess();
    }
    if (f.state == State::kDead) {
        counters_.add(kLatePackets);
        return Disposition::free();
    }
    return ref.from_server ? from_server(f, ref.flow, p, pp, io) : from_client(f, ref.flow, p, pp, io);
}

Disposition Proxy::from_client(Flow& f, uint32_t id, net::Packet& p, const net::ParsedPacket& pp, AppIo& io) noexcept {
    if (pp.has(flag::kSyn)) {  // the handshake is over on the client's side
        counters_.add(kUnexpected);
        return Disposition::free();
    }
    if (f.state == State::kServerSyn) {
        if (pp.has(flag::kRst)) {
            // The server is half-way through our SYN: reset it too, from the client's own RST
            // (its sequence number is the client's, the same on both legs).
            counters_.add(kClientRst);
            net::ReplySegment seg;
            seg.flags = flag::kRst;
            seg.seq = f.client_isn + 1;
            const bool sent = net::build_forward(p, pp, seg, {pp.ttl, ip_id_++, false});
            close(f, id, State::kDead, io);
            return sent ? Disposition::transmit(config_.server_port) : Disposition::free();
        }
        if (pp.payload_len == 0 && !pp.has(flag::kFin)) return Disposition::free();  // a bare ACK: the held one speaks
        if (f.held_bytes + pp.payload_len > config_.hold_bytes || held_free_ == kNil) {
            counters_.add(kHeldDropped);
            return Disposition::free();
        }
        hold(f, p);
        counters_.add(kHeld);
        if (pp.has(flag::kFin) && !(f.fins & kFinClient)) {  // the client is done: a new SYN may follow
            counters_.add(kClientFin);
            f.fins |= kFinClient;
        }
        return Disposition::keep();
    }
    // Spliced.
    splice_to_server(p.data, pp, f.splice);
    counters_.add(kToServer);
    spliced(f, id, pp, kFinClient, kClientFin, kClientRst, io);
    return Disposition::transmit(config_.server_port);
}

Disposition Proxy::from_server(Flow& f, uint32_t id, net::Packet& p, const net::ParsedPacket& pp, AppIo& io) noexcept {
    if (f.state == State::kServerSyn) {
        const bool acks_syn = pp.has(flag::kAck) && pp.ack == f.client_isn + 1;
        if (pp.has(flag::kRst)) {
            if (!acks_syn) {  // RFC 9293 §3.10.7.3: a RST in SYN-SENT must acknowledge the SYN
                counters_.add(kServerBadSynAck);
                return Disposition::free();
            }
            counters_.add(kServerRefused);
            reset_client(f, io);
            close(f, id, State::kDead, io);
            return Disposition::free();
        }
        if (!pp.has(flag::kSyn) || !acks_syn) {
            counters_.add(kServerBadSynAck);
            return Disposition::free();
        }
        connect(f, pp, io);
        return Disposition::free();
    }
    if (pp.has(flag::kSyn)) {
        // The server repeats its SYN-ACK: our (the client's) ACK was lost. Answer it again.
        if (!pp.has(flag::kAck) || pp.ack != f.client_isn + 1) {
            counters_.add(kUnexpected);
            return Disposition::free();
        }
        counters_.add(kServerSynAckRepeat);
        net::ReplySegment seg;
        seg.flags = flag::kAck;
        seg.seq = f.client_isn + 1;
        seg.ack = pp.seq + 1;
        seg.window = rescale_window(f.window, f.splice.to_server_from, f.splice.to_server_to);
        if (f.splice.timestamps) {
            seg.options.timestamps = true;
            seg.options.tsval = f.ts_recent;
            seg.options.tsecr = pp.options.tsval;
        }
        if (!net::build_reply(p, pp, seg, {config_.ttl, ip_id_++, false})) return Disposition::free();
        return Disposition::transmit(config_.server_port);
    }
    splice_to_client(p.data, pp, f.splice);
    counters_.add(kToClient);
    spliced(f, id, pp, kFinServer, kServerFin, kServerRst, io);
    return Disposition::transmit(f.client_port);
}

// A segment crossed one way: the flow's teardown, as it sees FINs and RSTs (RFC 9293 §3.6).
void Proxy::spliced(Flow& f, uint32_t id, const net::ParsedPacket& pp, uint8_t fin_bit, uint32_t fin_counter,
                    uint32_t rst_counter, AppIo& io) noexcept {
    f.last_ns = io.now_ns();
    if (pp.has(flag::kRst)) {
        counters_.add(rst_counter);
        close(f, id, State::kDead, io);
    } else if (pp.has(flag::kFin) && !(f.fins & fin_bit)) {
        counters_.add(fin_counter);
        f.fins |= fin_bit;
        if (f.fins == (kFinClient | kFinServer)) close(f, id, State::kSpliced, io);
    }
}

// The server answered: fix the translation between the legs, then let the held segments through
// (the client's completing ACK first: translated, it completes the server's handshake).
void Proxy::connect(Flow& f, const net::ParsedPacket& synack, AppIo& io) noexcept {
    const net::TcpOptions& o = synack.options;
    Splice& s = f.splice;
    s.seq_offset = synack.seq - f.our_isn;
    s.timestamps = (f.conn_flags & handshake::kConnTimestamps) && o.has_timestamps;
    s.ts_offset = s.timestamps ? f.our_tsval - o.tsval : 0;
    s.strip_sack = (f.conn_flags & handshake::kConnSack) && !o.sack_permitted;
    // RFC 7323 §2.2: scaling is on for a leg only when both its ends sent the option. The server
    // got the client's shift in our SYN exactly when the client scales.
    const bool client_scales = f.client_wscale != kNoWscale;
    const bool server_scales = client_scales && o.has_wscale;
    s.to_server_from = client_scales ? f.client_wscale : kNoShift;
    s.to_server_to = server_scales ? f.client_wscale : kNoShift;
    s.to_client_from = server_scales ? o.wscale : kNoShift;
    s.to_client_to = f.our_wscale != kNoWscale ? f.our_wscale : kNoShift;

    timers_.cancel(f.timer);
    f.timer = timers_.start(io.now_ns(), config_.idle_timeout_ns, static_cast<uint32_t>(&f - flows_.data()));
    f.state = State::kSpliced;
    f.last_ns = io.now_ns();
    counters_.add(kServerConnected);

    const uint32_t id = static_cast<uint32_t>(&f - flows_.data());
    net::Packet ack = f.ack;
    f.ack = {};
    const uint32_t head = f.held_head;
    f.held_head = f.held_tail = kNil;
    f.held_bytes = 0;
    // Each held segment crosses as if it arrived now (FIN bookkeeping included).
    net::Packet pkt = ack;
    for (uint32_t i = head;;) {
        const net::ParsedPacket pp = parse_trusted(pkt);
        if (pp.ok() && f.state == State::kSpliced) {
            const Disposition d = from_client(f, id, pkt, pp, io);
            if (d.kind == Disposition::Kind::kTransmit)
                io.send(pkt, d.port);
            else
                io.release(pkt);
        } else {
            io.release(pkt);
        }
        if (i == kNil) break;
        pkt = held_[i].p;
        const uint32_t next = held_[i].next;
        held_[i].next = held_free_;
        held_free_ = i;
        --held_in_use_;
        i = next;
    }
}

// RST to the client (RFC 9293 §3.10.7.1, as for any ACK nobody will serve): built in the held ACK.
void Proxy::reset_client(Flow& f, AppIo& io) noexcept {
    if (f.ack.data == nullptr) return;
    const net::ParsedPacket ack = parse_trusted(f.ack);
    net::Packet p = f.ack;
    f.ack = {};
    if (!ack.ok() || !net::build_reply(p, ack, net::rst_for(ack), {config_.ttl, ip_id_++, false})) {
        io.release(p);
        return;
    }
    io.send(p, f.client_port);
}

void Proxy::hold(Flow& f, net::Packet& p) noexcept {
    const uint32_t i = held_free_;
    held_free_ = held_[i].next;
    ++held_in_use_;
    held_[i] = Held{p, kNil};
    if (f.held_tail == kNil)
        f.held_head = i;
    else
        held_[f.held_tail].next = i;
    f.held_tail = i;
    f.held_bytes += parse_trusted(p).payload_len;
}

void Proxy::release_held(Flow& f, AppIo& io) noexcept {
    if (f.ack.data != nullptr) {
        io.release(f.ack);
        f.ack = {};
    }
    for (uint32_t i = f.held_head; i != kNil;) {
        io.release(held_[i].p);
        const uint32_t next = held_[i].next;
        held_[i].next = held_free_;
        held_free_ = i;
        --held_in_use_;
        i = next;
    }
    f.held_head = f.held_tail = kNil;
    f.held_bytes = 0;
}

// The flow is over: no timer, no buffers; it lingers (kSpliced after both FINs: its last ACKs still
// cross; kDead: everything is dropped) until the grace period ends.
void Proxy::close(Flow& f, uint32_t id, State state, AppIo& io) noexcept {
    timers_.cancel(f.timer);
    f.timer = timer::TimerWheel::kInvalid;
    release_held(f, io);
    f.state = state;
    if (linger_.lingering(id)) return;
    uint32_t evicted;
    if (linger_.push(id, io.now_ns(), evicted)) {
        counters_.add(kLingerEvicted);
        free_flow(evicted, io);
    }
}

void Proxy::free_flow(uint32_t id, AppIo& io) noexcept {
    Flow& f = flows_[id];
    timers_.cancel(f.timer);
    release_held(f, io);
    linger_.cancel(id);
    f = Flow{};
    count_active(-1);
    counters_.add(kFreed);
    io.close_flow(id);
}

void Proxy::on_timer(uint32_t id, AppIo& io) noexcept {
    Flow& f = flows_[id];
    f.timer = timer::TimerWheel::kInvalid;  // it fired
    const uint64_t now = io.now_ns();
    if (f.state == State::kServerSyn) {
        if (f.retries >= config_.server_syn_retries) {
            counters_.add(kServerTimeout);
            reset_client(f, io);
            close(f, id, State::kDead, io);
            return;
        }
        ++f.retries;
        if (send_server_syn(f, io)) counters_.add(kServerSynRetrans);
        f.timer = timers_.start(now, config_.server_syn_timeout_ns << f.retries, id);
        return;
    }
    if (f.state == State::kSpliced && !linger_.lingering(id)) {
        if (now - f.last_ns >= config_.idle_timeout_ns) {
            counters_.add(kIdleTimeout);
            close(f, id, State::kDead, io);
            return;
        }
        f.timer = timers_.start(now, config_.idle_timeout_ns - (now - f.last_ns), id);
    }
}

void Proxy::on_tick(AppIo& io) noexcept {
    const uint64_t now = io.now_ns();
    const uint32_t n = timers_.expire(now, expired_.data(), kTimerBudget);
    for (uint32_t i = 0; i < n; ++i) on_timer(expired_[i], io);
    uint32_t id;
    while (linger_.pop_due(now, id)) free_flow(id, io);
}

void Proxy::drain(AppIo& io) noexcept {
    for (uint32_t id = 0; id < flows_.size(); ++id)
        if (flows_[id].state != State::kFree) free_flow(id, io);  // lingering ones too
}

}  // namespace synwall::app
