#include "gen/client_pool.hpp"

#include <cstring>

#include "net/parser.hpp"

namespace synwall::gen {

namespace flag = net::tcp_flag;

ClientPool::ClientPool(const ClientSpec& spec, uint64_t seed, uint64_t now_ns)
    : spec_(spec),
      slots_(spec.clients),
      timers_(spec.clients ? spec.clients : 1, 1'000'000, 4096, now_ns),
      expired_(256),
      rng_(seed) {
    if (spec_.ports_per_addr == 0) spec_.ports_per_addr = 1;
    if (spec_.ports_per_client == 0) spec_.ports_per_client = 1;
    for (uint32_t i = 0; i < spec_.clients; ++i) {
        slots_[i].port_k = static_cast<uint8_t>(spec_.ports_per_client - 1);  // the first connection uses port 0
        enqueue(i);
    }
}

void ClientPool::enqueue(uint32_t i) noexcept {
    if (slots_[i].queued) return;
    slots_[i].queued = true;
    ready_.push_back(i);
}

void ClientPool::describe(uint32_t i, net::SynSpec& s) const noexcept {
    const uint64_t slot = (uint64_t{spec_.first} + i) * spec_.ports_per_client + slots_[i].port_k;
    s = spec_.syn;
    s.family = spec_.src.family;
    spec_.src.at(slot / spec_.ports_per_addr, s.src.data());
    s.dst = spec_.dst;
    s.src_port = static_cast<uint16_t>(spec_.sport_base + slot % spec_.ports_per_addr);
    s.dst_port = spec_.dport;
}

int64_t ClientPool::client_of(const uint8_t* addr, uint16_t port, uint32_t* k) const noexcept {
    const int64_t a = spec_.src.index_of(addr);
    if (a < 0 || port < spec_.sport_base || port - spec_.sport_base >= spec_.ports_per_addr) return -1;
    const uint64_t slot = static_cast<uint64_t>(a) * spec_.ports_per_addr + (port - spec_.sport_base);
    const uint64_t g = slot / spec_.ports_per_client;
    if (k) *k = static_cast<uint32_t>(slot % spec_.ports_per_client);
    if (g < spec_.first || g - spec_.first >= slots_.size()) return -1;
    return static_cast<int64_t>(g - spec_.first);
}

uint32_t ClientPool::poll(uint64_t now_ns, net::Packet* bufs, uint32_t n) noexcept {
    // Due retransmits (and attempts that ran out of them).
    uint32_t due;
    while ((due = timers_.expire(now_ns, expired_.data(), static_cast<uint32_t>(expired_.size()))) > 0) {
        for (uint32_t k = 0; k < due; ++k) {
            Slot& s = slots_[expired_[k]];
            s.timer = timer::TimerWheel::kInvalid;
            if (s.state != State::kSynSent) continue;
            if (s.retries >= spec_.max_retries) {
                handshake::stat_add(stats_.failed, 1);
                s.state = State::kIdle;  // connect() failed: the client tries again
            } else {
                ++s.retries;
            }
            enqueue(expired_[k]);
        }
        if (due < expired_.size()) break;
    }
    uint32_t out = 0;
    while (out < n && !ready_.empty()) {
        const uint32_t i = ready_.front();
        ready_.pop_front();
        Slot& s = slots_[i];
        s.queued = false;
        net::SynSpec seg;
        describe(i, seg);
        seg.tsval = static_cast<uint32_t>(now_ns / 1'000'000);
        switch (s.state) {
        case State::kIdle:
            s.port_k = static_cast<uint8_t>((s.port_k + 1) % spec_.ports_per_client);  // a new connection, the next port
            describe(i, seg);
            seg.tsval = static_cast<uint32_t>(now_ns / 1'000'000);
            s.isn = static_cast<uint32_t>(rng_.next());
            s.retries = 0;
            s.first_ns = now_ns;
            s.state = State::kSynSent;
            handshake::stat_add(stats_.attempts, 1);
            [[fallthrough]];
        case State::kSynSent:
            seg.seq = s.isn;
            if (s.retries) handshake::stat_add(stats_.syn_retransmits, 1);
            handshake::stat_add(stats_.syns, 1);
            s.timer = timers_.start(now_ns, spec_.rto_ns << s.retries, i);
            break;
        case State::kCloseDue:
            seg.seq = s.isn + 1 + static_cast<uint32_t>(spec_.first_data.size());  // after the data sent with the ACK
            seg.mss = 0;
            seg.sack = seg.timestamps = false;
            seg.wscale = -1;
            seg.ecn_setup = false;
            if (spec_.close == ClientClose::kRst) {
                seg.flags = flag::kRst;
            } else {
                seg.flags = flag::kFin | flag::kAck;
                seg.ack = s.server_isn + 1;
                seg.window = 502;
            }
            handshake::stat_add(stats_.closes, 1);
            s.state = State::kIdle;
            enqueue(i);  // closed loop: it starts again
            break;
        }
        net::Packet& b = bufs[out];
        b.len = net::write_syn(seg, b.data, b.room);
        if (b.len) ++out;
    }
    return out;
}

ClientPool::Rx ClientPool::on_frame(net::Packet& p, uint64_t now_ns) noexcept {
    return on_frame(p, net::parse({p.data, p.len}, p.flags), now_ns);
}

ClientPool::Rx ClientPool::on_frame(net::Packet& p, const net::ParsedPacket& in, uint64_t now_ns) noexcept {
    if (!in.ok()) return Rx::kNotOurs;
    uint32_t k = 0;
    const int64_t c = client_of(in.dst_addr, in.dst_port, &k);
    if (c < 0 || in.src_port != spec_.dport ||
        std::memcmp(in.src_addr, spec_.dst.data(), spec_.src.addr_len()) != 0)
        return Rx::kNotOurs;
    Slot& s = slots_[static_cast<size_t>(c)];
    if (k != s.port_k) {  // the server still talking to one of this client's earlier connections
        handshake::stat_add(stats_.stale, 1);
        return Rx::kConsumed;
    }
    if (in.has(flag::kRst)) {
        // RFC 9293 3.10.7.3: in SYN-SENT a RST counts only if it acknowledges our SYN; the server's
        // RST closing the previous connection on this tuple does not.
        if (s.state == State::kSynSent && in.has(flag::kAck) && in.ack == s.isn + 1) {  // refused: connect() fails
            handshake::stat_add(stats_.resets, 1);
            handshake::stat_add(stats_.failed, 1);
            timers_.cancel(s.timer);
            s.timer = timer::TimerWheel::kInvalid;
            s.state = State::kIdle;
            enqueue(static_cast<uint32_t>(c));
        }
        return Rx::kConsumed;
    }
    if ((in.tcp_flags & (flag::kSyn | flag::kAck)) != (flag::kSyn | flag::kAck)) return Rx::kConsumed;
    handshake::stat_add(stats_.synacks, 1);
    if (in.ack != s.isn + 1 || s.state == State::kIdle) {
        handshake::stat_add(stats_.bad_synacks, 1);
        return Rx::kConsumed;
    }
    // The ACK (again, for a SYN-ACK retransmitted before our ACK arrived), in the same buffer; a
    // buffer too small for it (and its data) leaves the client waiting, its SYN timer running.
    const uint32_t server_isn = in.seq;  // `in` points into p, which the ACK overwrites
    if (!net::answer_synack(p, in, static_cast<uint32_t>(now_ns / 1'000'000), 1, spec_.first_data)) return Rx::kConsumed;
    if (s.state == State::kSynSent) {
        handshake::stat_add(stats_.completed, 1);
        latencies_.record(now_ns - s.first_ns);
        timers_.cancel(s.timer);
        s.timer = timer::TimerWheel::kInvalid;
        s.server_isn = server_isn;
        s.state = State::kCloseDue;
        enqueue(static_cast<uint32_t>(c));
    }
    return Rx::kReply;
}

}  // namespace synwall::gen
