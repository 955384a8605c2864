#include "handshake/worker.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "handshake/segment_rules.hpp"
#include "handshake/worker_internal.hpp"
#include "net/byte_order.hpp"
#include "net/tcp_clock.hpp"

namespace synwall::handshake {

using net::Family;
using net::ParsedPacket;
using net::ParseStatus;
namespace flag = net::tcp_flag;

namespace {

cookie::FlowTuple tuple_of(const ParsedPacket& p) noexcept {
    return cookie::FlowTuple{p.family, p.src_addr, p.dst_addr, p.src_port, p.dst_port};
}

// PAWS for a request (tcp_paws_reject, RFC 7323 §5.3): timestamps negotiated and the segment's
// TSval older than TS.Recent, the SYN's. RSTs are not subject to it (the kernel exempts them
// within an MSL, longer than a request lives).
bool paws_reject(const HalfOpen& r, const ParsedPacket& p) noexcept {
    return (r.flags & kConnTimestamps) && p.options.has_timestamps && !p.has(flag::kRst) &&
           static_cast<int32_t>(r.ts_recent - p.options.tsval) > 0;
}

// Whether a family needs a request table: one of its listeners may keep requests.
bool queues_requests(const ListenerTable& listeners, net::Family f) noexcept {
    for (const ListenerConfig& l : listeners.all())
        if (l.family == f && l.cookie_mode != CookieMode::kAlways) return true;
    return false;
}

}  // namespace

Worker::Worker(const EngineConfig& engine, std::shared_ptr<const ListenerTable> listeners,
               const cookie::SecretConfig& secrets, uint64_t now_ns)
    : config_(engine),
      listeners_(std::move(listeners)),
      secrets_(secrets),
      half_open_(engine.half_open_capacity, queues_requests(*listeners_, net::Family::kIpv4),
                 queues_requests(*listeners_, net::Family::kIpv6), engine.timer_tick_ns, engine.timer_slots, now_ns),
      // Every flood SYN is looked up here and misses: the bucket summary answers most from L1.
      established_(engine.established_capacity, table::FlowTable<Established>::Summary::kOn),
      accept_(std::max<size_t>(engine.max_listeners, listeners_->size())),
      listener_state_(std::max<size_t>(engine.max_listeners, listeners_->size())),
      l2_(engine.l2_cache_entries),
      reply_limit_(engine.reply_rate_per_s, engine.reply_burst),
      state_(new PacketState[kMaxBurst]),
      fast_(new FastState[kMaxBurst]),
      synack_templates_(new SynAckTemplate[kSynAckTemplates]) {
    for (size_t i = 0; i < listeners_->size(); ++i)
        accept_[i] = std::make_unique<AcceptQueue>((*listeners_)[static_cast<uint16_t>(i)].backlog);
    listener_count_ = static_cast<uint16_t>(listeners_->size());
    secrets_.advance(now_ns / 1'000'000'000);
}

void Worker::change_master_key(const cookie::MasterKey& key, uint64_t now_ns) {
    if (key == secrets_.config().master) return;
    const uint64_t now_s = now_ns / 1'000'000'000;
    secrets_.advance(now_s);
    // Cookies minted so far carry a counter up to this one, and are valid through the next.
    retiring_ = std::make_unique<cookie::SecretSchedule>(secrets_);
    retiring_last_counter_ = secrets_.now_counter() + 1;
    cookie::SecretConfig next = secrets_.config();
    next.master = key;
    secrets_ = cookie::SecretSchedule(next);
    secrets_.advance(now_s);
}

bool Worker::retired_key_validates(const PacketState& st, const cookie::CookieClaim& claim) noexcept {
    if (!retiring_ || claim.counter >= retiring_last_counter_) return false;  // minted after the change
    const auto* keys = retiring_->keys_for_counter(claim.counter);
    return keys != nullptr && cookie::verify(claim, prf_now(st.p, keys->v4, keys->v6, claim.message_word()));
}

std::string Worker::update_listeners(std::shared_ptr<const ListenerTable> next) {
    const ListenerTable& cur = *listeners_;
    if (next == nullptr) return "no listener table";
    if (next->size() < cur.size()) return "listeners cannot be taken away, only closed";
    if (next->size() > accept_.size())
        return std::to_string(next->size()) + " listeners exceed the " + std::to_string(accept_.size()) +
               " this worker was built for (engine.max_listeners)";
    for (uint16_t i = 0; i < cur.size(); ++i) {
        const ListenerConfig &a = cur[i], &b = (*next)[i];
        if (a.name != b.name || a.port != b.port || a.family != b.family || a.addr != b.addr || (a.closed && !b.closed))
            return "listener " + std::to_string(i) + " ('" + a.name + "') is not at its index in the new table";
    }
    for (size_t i = cur.size(); i < next->size(); ++i) {
        const ListenerConfig& l = (*next)[static_cast<uint16_t>(i)];
        if (l.cookie_mode != CookieMode::kAlways && !half_open_.queues(l.family))
            return "listener '" + l.name + "' would queue " + (l.family == net::Family::kIpv6 ? "IPv6" : "IPv4") +
                   " requests, and this worker was built without a SYN queue for them (no such listener at start)";
    }
    for (size_t i = cur.size(); i < next->size(); ++i) {
        accept_[i] = std::make_unique<AcceptQueue>((*next)[static_cast<uint16_t>(i)].backlog);
        listener_state_[i] = ListenerState{};
    }
    listeners_ = std::move(next);
    last_listener_ = {};  // the fast path's cached lookup
    __atomic_store_n(&listener_count_, static_cast<uint16_t>(listeners_->size()), __ATOMIC_RELEASE);
    return "";
}

Worker::~Worker() = default;

size_t Worker::memory_bytes() const noexcept {
    return half_open_.memory_bytes() + established_.memory_bytes() +
           sizeof(*this) + kMaxBurst * (sizeof(PacketState) + sizeof(FastState)) +
           kSynAckTemplates * sizeof(SynAckTemplate);
}

// Kept out of line even under LTO: one symbol to profile (callgrind --toggle-collect) and to call.
__attribute__((noinline)) uint32_t Worker::process_burst(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept {
    // Each packet lands in exactly one output array; never take more than the emptiest can hold.
    const uint32_t room = kMaxBurst - std::max({out.n_drop, out.n_pass, out.n_flow, out.n_tx > kMaxBurst ? kMaxBurst : out.n_tx});
    const auto n = static_cast<uint32_t>(std::min<size_t>(pkts.size(), room));
    return n ? process_chunk(pkts.first(n), now_ns, out) : 0;
}

uint32_t Worker::process_again(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept {
    counting_input_ = false;
    const uint32_t n = process_burst(pkts, now_ns, out);
    counting_input_ = true;
    counters_.add(kSynReopenedFlow, n);
    return n;
}

uint32_t Worker::process_chunk(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept {
    const auto n = static_cast<uint32_t>(pkts.size());
    if (counting_input_) counters_.add(kRxPackets, n);
    secrets_.advance(now_ns / 1'000'000'000);
    if (retiring_ && secrets_.now_counter() > retiring_last_counter_) retiring_.reset();  // its cookies expired
    touched_ = 0;
    if (config_.fast_path && counting_input_)
        fast_chunk(pkts, now_ns, out);
    else
        general_run(pkts, 0, n, now_ns, out);
    return n;
}

void Worker::general_run(std::span<net::Packet> pkts, uint32_t first, uint32_t n, uint64_t now_ns,
                         BurstOutput& out) noexcept {
    prf_.clear();
    // 1. Parse, find the listener, hash the key and prefetch both tables' buckets.
    for (uint32_t i = first; i < n; ++i) classify(state_[i], pkts[i]);
    // Buckets are on their way; start loading the entries their tags point at (large tables are
    // DRAM-bound: this overlaps the misses of the whole burst).
    for (uint32_t i = first; i < n; ++i) {
        const PacketState& st = state_[i];
        if (st.action == Action::kDone) continue;
        established_.prefetch_entry(st.h_est);
        if (st.action != Action::kFromServer && st.lc->cookie_mode != CookieMode::kAlways)
            half_open_.prefetch_entry(st.h_req);
    }
    // 2. Look the keys up (state as of the start of the chunk) and queue the PRF work the
    //    packets will most likely need, so that it runs pipelined in one batch.
    for (uint32_t i = first; i < n; ++i) prepare_prf(state_[i], now_ns);
    prf_.run();
    // 3. Act, strictly in arrival order; a packet whose key another packet of this chunk changed
    //    is looked up again, and PRF work the prediction missed is done on the spot.
    for (uint32_t i = first; i < n; ++i) execute(state_[i], pkts[i], now_ns, out);
}

Worker::Admission Worker::admit(const ListenerConfig& l, uint16_t listener) const noexcept {
    if (l.cookie_mode == CookieMode::kAlways) return Admission::kCookie;
    const bool queue_full = listener_state_[listener].half_open >= l.max_half_open || half_open_.full();
    if (!queue_full) return Admission::kQueue;
    return l.cookie_mode == CookieMode::kNever ? Admission::kDropOverflow : Admission::kCookieOverflow;
}

void Worker::classify(PacketState& st, net::Packet& pkt) noexcept {
    net::parse_into({pkt.data, pkt.len}, pkt.flags, config_.parse, st.p);
    st.action = Action::kDone;
    st.prf_job = -1;
    if (!st.p.ok()) return;
    st.listener = listeners_->lookup(st.p.family, st.p.dst_addr, st.p.dst_port);
    if (st.listener == ListenerTable::kNone) {
        // From a protected service to a client: the server leg of a proxied flow, if one is open.
        st.listener = listeners_->lookup(st.p.family, st.p.src_addr, st.p.src_port);
        if (st.listener == ListenerTable::kNone) return;
        st.lc = &(*listeners_)[st.listener];
        st.key = table::key_from_server_packet(st.p);
        st.crc = table::hash_key(st.key);
        st.h_est = established_.hash_from_crc(st.crc);
        established_.prefetch(st.h_est);
        st.action = Action::kFromServer;
        return;
    }
    st.lc = &(*listeners_)[st.listener];
    st.key = table::key_from_client_packet(st.p);
    st.crc = table::hash_key(st.key);
    const uint8_t f = st.p.tcp_flags;
    if (f & flag::kSyn)
        st.action = Action::kSyn;
    else if (f & flag::kRst)
        st.action = Action::kRst;
    else if (f & flag::kAck)
        st.action = Action::kAck;
    else
        st.action = Action::kNoAck;
    st.h_est = established_.hash_from_crc(st.crc);
    // An ACK may complete a handshake and insert its flow: both buckets, not only those the
    // summary names (it names none for a new flow, and the insert then missed twice).
    if (st.action == Action::kAck)
        established_.prefetch_for_insert(st.h_est);
    else
        established_.prefetch(st.h_est);
    if (st.lc->cookie_mode != CookieMode::kAlways) {  // an always-cookie listener never queues
        st.h_req = half_open_.hash_from_crc(st.crc, st.p.family);
        half_open_.prefetch(st.h_req);
    }
}

bool Worker::cookie_eligible(uint16_t listener, uint64_t now_ns) const noexcept {
    switch ((*listeners_)[listener].cookie_mode) {
    case CookieMode::kAlways: return true;
    case CookieMode::kNever: return false;
    case CookieMode::kAuto: {
        const ListenerState& ls = listener_state_[listener];
        return ls.cookies_sent && now_ns - ls.last_cookie_sent_ns <= config_.cookie_window_ns;
    }
    }
    return false;
}

void Worker::prepare_prf(PacketState& st, uint64_t now_ns) noexcept {
    if (st.action == Action::kDone) return;
    st.est = established_.find(st.key, st.h_est);
    if (st.action == Action::kFromServer) return;
    if (st.est != kNone) {
        st.action = Action::kFlow;
        return;
    }
    const ListenerConfig& l = *st.lc;
    if (l.closed) return;  // nothing but its established flows: passed in execute
    // A key always maps to the same listener, and an always-cookie listener never queues.
    st.req = l.cookie_mode == CookieMode::kAlways ? kNone : half_open_.find(st.key, st.h_req);
    if (st.req != kNone) return;
    const ParsedPacket& p = st.p;
    const uint32_t now_counter = secrets_.now_counter();
    if (st.action == Action::kSyn && !p.has(flag::kAck | flag::kRst | flag::kFin)) {
        const Admission a = admit(l, st.listener);
        if (a == Admission::kCookie || a == Admission::kCookieOverflow) {
            const cookie::SynCookieInputs in = syn_cookie_inputs(p.family, p.options, syn_gets_ecn(p.tcp_flags, p.ip_ecn), l);
            st.counter = now_counter;
            st.opts = in.opts;
            st.mss_index = in.mss_index;
            st.prf_is_cookie = true;
            const auto* keys = secrets_.keys_for_counter(now_counter);
            const uint32_t word = cookie::message_word(now_counter, in.opts, in.mss_index);
            st.prf_job = queue_prf(p, keys->v4, keys->v6, word);
        } else if (a == Admission::kQueue) {
            st.prf_is_cookie = false;
            st.prf_job = queue_prf(p, secrets_.isn_key(), secrets_.isn_key(), 0);
        }
    } else if (st.action == Action::kAck && cookie_eligible(st.listener, now_ns)) {
        const cookie::CookieClaim c = cookie::decode_ack(now_counter, p.seq, p.ack, p.options.has_timestamps, p.options.tsecr);
        st.counter = c.counter;
        st.mss_index = c.mss_index;
        st.opts = c.opts;
        st.prf_is_cookie = true;
        const auto* keys = secrets_.keys_for_counter(st.counter);
        if (keys == nullptr) return;
        st.prf_job = queue_prf(p, keys->v4, keys->v6, c.message_word());
    }
}

int Worker::queue_prf(const ParsedPacket& p, const cookie::PrfKey& k4, const cookie::PrfKey& k6, uint32_t word) noexcept {
    int job;
    if (p.family == Family::kIpv4) {
        if (cookie::MacMsgV4* m = prf_.slot_v4(&k4, job)) cookie::fill_mac_message_v4(tuple_of(p), word, *m);
    } else {
        if (cookie::MacMsgV6* m = prf_.slot_v6(&k6, job)) cookie::fill_mac_message_v6(tuple_of(p), word, *m);
    }
    return job;
}

uint32_t Worker::prf_now(const ParsedPacket& p, const cookie::PrfKey& k4, const cookie::PrfKey& k6, uint32_t word) noexcept {
    uint32_t r;
    if (p.family == Family::kIpv4) {
        const cookie::MacMsgV4 m = cookie::mac_message_v4(tuple_of(p), word);
        cookie::prf_v4(k4, &m, &r, 1);
    } else {
        const cookie::MacMsgV6 m = cookie::mac_message_v6(tuple_of(p), word);
        cookie::prf_v6(k6, &m, &r, 1);
    }
    return r;
}

uint32_t Worker::cookie_prf(const PacketState& st, uint32_t counter, uint8_t opts, uint8_t mss_index) noexcept {
    if (st.prf_job >= 0 && st.prf_is_cookie && st.counter == counter && st.opts == opts && st.mss_index == mss_index)
        return prf_.result(st.prf_job);
    const auto* keys = secrets_.keys_for_counter(counter);
    if (keys == nullptr) return ~0u;  // caller compares; an unknown epoch never matches by design
    return prf_now(st.p, keys->v4, keys->v6, cookie::message_word(counter, opts, mss_index));
}

uint32_t Worker::stateful_isn(const PacketState& st, uint64_t now_ns) noexcept {
    // RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock.
    const uint32_t f = st.prf_job >= 0 && !st.prf_is_cookie ? prf_.result(st.prf_job)
                                                            : prf_now(st.p, secrets_.isn_key(), secrets_.isn_key(), 0);
    return static_cast<uint32_t>(now_ns / 4000) + f;
}

void Worker::execute(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    if (st.action == Action::kDone) {
        if (!st.p.ok()) {
            if (counting_input_) counters_.add(parse_counter(st.p.status));
            if (net::is_pass(st.p.status))
                out.pass[out.n_pass++] = pkt;
            else
                out.drop[out.n_drop++] = pkt;
        } else {
            if (counting_input_) counters_.add(parse_counter(ParseStatus::kOk));
            counters_.add(kPassNoListener);
            out.pass[out.n_pass++] = pkt;
        }
        return;
    }
    if (counting_input_) counters_.add(parse_counter(ParseStatus::kOk));
    if (st.action == Action::kFromServer) {
        if (touched(st.crc)) st.est = established_.find(st.key, st.h_est);
        if (st.est == kNone) {  // no proxied flow: the server talks to a client directly
            counters_.add(kPassNoListener);
            out.pass[out.n_pass++] = pkt;
            return;
        }
        counters_.add(kFlowPackets);
        counters_.add(kServerFlowPackets);
        out.flow[out.n_flow++] = FlowPacket{pkt, st.est, true, &st.p};
        return;
    }
    if (touched(st.crc)) {
        st.est = established_.find(st.key, st.h_est);
        st.req = st.est == kNone && st.lc->cookie_mode != CookieMode::kAlways
                     ? half_open_.find(st.key, st.h_req)
                     : kNone;
        if (st.est != kNone) st.action = Action::kFlow;
    }
    if (st.lc->closed && st.action != Action::kFlow) {  // closed at run time: as if no listener
        counters_.add(kPassNoListener);
        out.pass[out.n_pass++] = pkt;
        return;
    }
    switch (st.action) {
    case Action::kFlow:
        counters_.add(kFlowPackets);
        out.flow[out.n_flow++] = FlowPacket{pkt, st.est, false, &st.p};
        return;
    case Action::kSyn: return on_syn(st, pkt, now_ns, out);
    case Action::kAck:
        counters_.add(kAcksToListener);
        return on_ack(st, pkt, now_ns, out);
    case Action::kRst:
        counters_.add(kRstsToListener);
        return on_rst(st, pkt, now_ns, out);
    case Action::kNoAck: return drop(pkt, kDropNoAckFlag, out);
    case Action::kDone:
    case Action::kFromServer: return;
    }
}

void Worker::drop(net::Packet& pkt, uint32_t counter, BurstOutput& out) noexcept {
    counters_.add(counter);
    out.drop[out.n_drop++] = pkt;
}

bool Worker::transmit(net::Packet& pkt, const net::SegmentEnds& in, const net::ReplySegment& seg,
                      BurstOutput& out) noexcept {
    const net::ReplyIpFields ip{config_.ttl, ip_id_++, config_.checksum_offload};
    if (!net::build_reply(pkt, in, seg, ip)) {
        drop(pkt, kDropReplyTooBig, out);
        return false;
    }
    out.tx[out.n_tx++] = pkt;
    return true;
}

void Worker::send_cookie_synack(uint16_t listener, const net::SegmentEnds& ends, uint32_t client_seq,
                                const net::TcpOptions& o, cookie::SynCookieInputs in, uint32_t counter, uint32_t mac,
                                net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    mark_cookie_sent(listener, now_ns);
    counters_.add(kSyncookiesSent);
    const uint32_t isn = cookie::mint(client_seq, counter, in.mss_index, mac);
    transmit(pkt, ends, cookie_synack((*listeners_)[listener], client_seq, o, isn, in.opts, now_ns), out);
}

void Worker::on_syn(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    const ParsedPacket& p = st.p;
    // In the kernel's order (tcp_rcv_state_process, LISTEN): a RST is never answered; any ACK-bearing
    // segment, SYN+FIN+ACK too, gets a reset (RFC 9293 §3.10.7.2; here if we send resets); then
    // SYN+FIN is dropped.
    if (p.has(flag::kRst)) return drop(pkt, kDropSynRst, out);
    if (p.has(flag::kAck)) return send_rst_or_drop(st, pkt, st.lc->rst_on_invalid_ack, kDropSynAckToListener, now_ns, out);
    if (p.has(flag::kFin)) return drop(pkt, kDropSynFin, out);
    counters_.add(kSynRecv);
    const ListenerConfig& l = *st.lc;
    ListenerState& ls = listener_state_[st.listener];
    stat_add(ls.syns, 1);

    if (st.req != kNone) {  // SYN-RECEIVED: a retransmitted SYN, or a new one on the same tuple
        HalfOpen& r = half_open_.at(st.req);
        if (paws_reject(r, p)) {  // as tcp_check_req: not a retransmission, an old duplicate
            counters_.add(kPawsRejected);
            return send_request_ack(st, pkt, r, now_ns, out);
        }
        if (p.seq == r.client_isn) {
            // Same ISN: as tcp_check_req's inet_rtx_syn_ack, at most one per request per
            // invalid_ratelimit (else each spoofed copy draws a bigger SYN-ACK: a reflector). The
            // request keeps the timestamp of the SYN that made it, as the kernel's does.
            if (oow_rate_limited(r, now_ns)) return drop(pkt, kAckSkippedSynRecv, out);
            counters_.add(kSynAckResent);
            transmit(pkt, p, request_synack(r, now_ns), out);
            return;
        }
        // RFC 5961 §4: a SYN with another sequence number gets a challenge ACK.
        return send_request_ack(st, pkt, r, now_ns, out);
    }

    if (accept_[st.listener]->full()) {
        // Linux >= 4.10: a listener whose accept queue is full drops new SYNs.
        counters_.add(kListenOverflows);
        stat_add(ls.overflow_drops, 1);
        return drop(pkt, kListenDrops, out);
    }
    bool want_cookie = true;
    switch (admit(l, st.listener)) {
    case Admission::kQueue: want_cookie = false; break;
    case Admission::kCookie: break;
    case Admission::kCookieOverflow: counters_.add(kReqQFullDoCookies); break;
    case Admission::kDropOverflow:
        counters_.add(kReqQFullDrop);
        stat_add(ls.overflow_drops, 1);
        return drop(pkt, kListenDrops, out);
    }

    uint32_t req = kNone;
    if (!want_cookie) {
        req = half_open_.insert(st.key, st.h_req);
        if (req == kNone) {  // both buckets full: a collision attack or a very unlucky key
            if (l.cookie_mode == CookieMode::kNever) {
                counters_.add(kReqQFullDrop);
                stat_add(ls.overflow_drops, 1);
                return drop(pkt, kListenDrops, out);
            }
            counters_.add(kReqQFullDoCookies);
            want_cookie = true;
        }
    }

    if (want_cookie) {
        // Reuse what prepare_prf computed when it predicted this cookie.
        const cookie::SynCookieInputs in =
            st.prf_job >= 0 && st.prf_is_cookie ? cookie::SynCookieInputs{st.mss_index, st.opts}
                                                : syn_cookie_inputs(p.family, p.options, syn_gets_ecn(p.tcp_flags, p.ip_ecn), l);
        const uint32_t counter = secrets_.now_counter();
        const uint32_t mac = cookie_prf(st, counter, in.opts, in.mss_index);
        return send_cookie_synack(st.listener, net::ends_of(p), p.seq, p.options, in, counter, mac, pkt, now_ns, out);
    }

    // A new request in SYN-RECEIVED (RFC 9293 §3.10.7.2), with its retransmit timer.
    HalfOpen& r = half_open_.at(req);
    const net::TcpOptions& o = p.options;
    r.client_isn = p.seq;
    r.server_isn = stateful_isn(st, now_ns);
    r.ts_recent = o.tsval;
    r.mss = o.has_mss ? o.mss : 0;
    r.listener = st.listener;
    r.l2 = l2_.intern(pkt.port, pkt.data, p.l3_offset);
    r.client_wscale = o.has_wscale && l.window_scaling ? o.wscale : kNoWscale;
    r.flags = static_cast<uint8_t>((o.sack_permitted && l.sack ? kConnSack : 0) |
                                   (o.has_timestamps && l.timestamps ? kConnTimestamps : 0) |
                                   (syn_gets_ecn(p.tcp_flags, p.ip_ecn) && l.ecn ? kConnEcn : 0));
    r.retransmits = 0;
    r.last_oow = 0;
    half_open_.start_timer(req, now_ns, config_.synack_rto_ns);
    std::atomic_ref(ls.half_open).store(ls.half_open + 1, std::memory_order_relaxed);  // telemetry reads it
    touch(st.crc);
    counters_.add(kSynAckSent);
    // The first SYN-ACK is built from the request, exactly as its resends and retransmits.
    transmit(pkt, p, request_synack(r, now_ns), out);
}

void Worker::on_ack(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    const ParsedPacket& p = st.p;
    const ListenerConfig& l = *st.lc;
    Connection c{};
    if (st.req != kNone) {  // RFC 9293 §3.10.7.4, SYN-RECEIVED, in tcp_check_req's order
        HalfOpen& r = half_open_.at(st.req);
        if (p.ack != r.server_isn + 1)
            return send_rst_or_drop(st, pkt, l.rst_on_invalid_ack, kDropBadAckNumber, now_ns, out);
        if (paws_reject(r, p)) {
            counters_.add(kPawsRejected);
            return send_request_ack(st, pkt, r, now_ns, out);
        }
        if (!seq_in_window(net::TcpSeq(p.seq), net::TcpSeq(r.client_isn + 1), std::max<uint32_t>(l.window, 1))) {
            counters_.add(kDropOutOfWindow);
            return send_request_ack(st, pkt, r, now_ns, out);
        }
        c.client_isn = r.client_isn;
        c.server_isn = r.server_isn;
        const uint16_t client_mss = r.mss ? r.mss : default_mss(p.family);
        c.mss = std::min(client_mss, l.mss);
        c.snd_wscale = r.client_wscale;
        c.rcv_wscale = r.client_wscale != kNoWscale ? l.wscale : kNoWscale;
        c.flags = r.flags;
        return establish(st, pkt, c, st.req, now_ns, out);
    }
    if (!cookie_eligible(st.listener, now_ns))
        return send_rst_or_drop(st, pkt, l.rst_on_invalid_ack, kDropInvalidAck, now_ns, out);

    // A cookie ACK (the kernel's cookie_v4_check / cookie_v6_check).
    const cookie::CookieClaim claim =
        cookie::decode_ack(secrets_.now_counter(), p.seq, p.ack, p.options.has_timestamps, p.options.tsecr);
    const uint32_t mac = cookie_prf(st, claim.counter, claim.opts, claim.mss_index);
    if ((secrets_.keys_for_counter(claim.counter) == nullptr || !cookie::verify(claim, mac)) &&
        !retired_key_validates(st, claim)) {
        counters_.add(kSyncookiesFailed);
        return send_rst_or_drop(st, pkt, l.rst_on_invalid_ack, kDropInvalidAck, now_ns, out);
    }
    establish(st, pkt, cookie_connection(p.family, claim, p.seq, p.ack, p.options.has_timestamps, l), kNone, now_ns, out);
}

void Worker::establish(const PacketState& st, net::Packet& pkt, const Connection& proto, uint32_t req,
                       uint64_t now_ns, BurstOutput& out) noexcept {
    const ParsedPacket& p = st.p;
    const ListenerConfig& l = *st.lc;
    AcceptQueue& q = *accept_[st.listener];
    const bool from_cookie = (proto.flags & kConnFromCookie) != 0;
    if (from_cookie) counters_.add(kSyncookiesRecv);
    if (q.full()) {
        // tcp_check_req with a full accept queue: drop the ACK, keep the request (the client's
        // next ACK or our retransmit retries), or reset it with abort_on_overflow.
        counters_.add(kListenOverflows);
        counters_.add(kListenDrops);
        stat_add(listener_state_[st.listener].overflow_drops, 1);
        if (!l.abort_on_overflow) {
            out.drop[out.n_drop++] = pkt;
            return;
        }
        if (req != kNone) erase_request(req);
        counters_.add(kAcceptRstSent);
        transmit(pkt, p, net::rst_for(p), out);
        return;
    }
    enqueue(Arrival{st.key, st.h_est, st.crc, st.listener, p.seq, p.options.has_timestamps, p.options.tsval, p.window,
                    static_cast<uint16_t>(p.l4_offset + p.tcp_header_len), p.payload_len},
            pkt, proto, req, out);
    (void)now_ns;
}

void Worker::enqueue(const Arrival& a, net::Packet& pkt, const Connection& proto, uint32_t req, BurstOutput& out) noexcept {
    const uint32_t flow = established_.insert(a.key, a.h_est);
    if (flow == kNone) return drop(pkt, kDropFlowTableFull, out);
    established_.at(flow).listener = a.listener;
    if (req != kNone) erase_request(req);
    touch(a.crc);

    Connection c = proto;
    c.key = a.key;
    c.ts_recent = a.has_ts ? a.tsval : 0;
    c.flow = flow;
    c.listener = a.listener;
    c.window = a.window;
    c.packet = pkt;
    c.payload_offset = a.payload_offset;
    // Data that does not start at RCV.NXT (a queued request's ACK in the window but past it) is out
    // of order: not the connection's first bytes, and not to be acknowledged (the kernel queues it
    // out of order and ACKs RCV.NXT). A cookie ACK's data starts at RCV.NXT by construction.
    c.payload_len = a.seq == proto.client_isn + 1 ? a.payload_len : 0;
    accept_[a.listener]->push(c);  // cannot fail: single producer, checked by the caller
    __atomic_store_n(&queued_total_, queued_total_ + 1, __ATOMIC_RELEASE);
    counters_.add(kEstablished);
    stat_add(listener_state_[a.listener].passive_opens, 1);
    if (a.payload_len) counters_.add(kEstablishedWithData);
    ++out.n_established;
}

void Worker::on_rst(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    // RFC 5961 §3.2 in SYN-RECEIVED: exact RCV.NXT resets, in-window gets a challenge ACK.
    if (st.req == kNone) return drop(pkt, kRstIgnored, out);
    HalfOpen& r = half_open_.at(st.req);
    const ListenerConfig& l = *st.lc;
    const net::TcpSeq rcv_nxt(r.client_isn + 1);
    if (net::TcpSeq(st.p.seq) == rcv_nxt) {
        erase_request(st.req);
        touch(st.crc);
        return drop(pkt, kRstReqRemoved, out);
    }
    if (seq_in_window(net::TcpSeq(st.p.seq), rcv_nxt, std::max<uint32_t>(l.window, 1)))
        return send_request_ack(st, pkt, r, now_ns, out);
    drop(pkt, kRstIgnored, out);
}

void Worker::send_rst_or_drop(const PacketState& st, net::Packet& pkt, bool rst, uint32_t drop_counter,
                              uint64_t now_ns, BurstOutput& out) noexcept {
    if (!rst) return drop(pkt, drop_counter, out);
    counters_.add(drop_counter);
    if (!reply_limit_.allow(now_ns)) return drop(pkt, kReplyRateLimited, out);
    if (transmit(pkt, st.p, net::rst_for(st.p), out)) counters_.add(kRstSent);
}

bool Worker::oow_rate_limited(HalfOpen& r, uint64_t now_ns) noexcept {
    if (config_.invalid_ratelimit_ms == 0) return false;
    constexpr unsigned kUnitShift = 24;  // HalfOpen::last_oow's unit: 2^24 ns, about 16.8 ms
    const auto now = static_cast<uint16_t>(std::max<uint64_t>((now_ns >> kUnitShift) & 0xffff, 1));
    const uint64_t interval = ((uint64_t{config_.invalid_ratelimit_ms} * 1'000'000) >> kUnitShift) + 1;
    if (r.last_oow != 0 && static_cast<uint16_t>(now - r.last_oow) < interval) return true;
    r.last_oow = now;
    return false;
}

void Worker::send_request_ack(const PacketState& st, net::Packet& pkt, HalfOpen& r, uint64_t now_ns,
                              BurstOutput& out) noexcept {
    if (oow_rate_limited(r, now_ns)) return drop(pkt, kAckSkippedSynRecv, out);
    if (!reply_limit_.allow(now_ns)) return drop(pkt, kReplyRateLimited, out);
    const ListenerConfig& l = *st.lc;
    net::ReplySegment seg;
    seg.flags = flag::kAck;
    seg.seq = r.server_isn + 1;
    seg.ack = r.client_isn + 1;
    // After a SYN, windows are scaled (RFC 7323 §2.2): ours, shifted by the scale we offered.
    seg.window = r.client_wscale != kNoWscale ? static_cast<uint16_t>(l.window >> l.wscale) : l.window;
    if (r.flags & kConnTimestamps) {
        seg.options.timestamps = true;
        seg.options.tsval = net::tcp_ts_clock(now_ns);
        seg.options.tsecr = r.ts_recent;
    }
    if (transmit(pkt, st.p, seg, out)) counters_.add(kChallengeAcks);
}

net::ReplySegment Worker::request_synack(const HalfOpen& r, uint64_t now_ns) const noexcept {
    const ListenerConfig& l = (*listeners_)[r.listener];
    net::ReplySegment seg;
    seg.flags = flag::kSyn | flag::kAck | ((r.flags & kConnEcn) ? flag::kEce : 0);
    seg.seq = r.server_isn;
    seg.ack = r.client_isn + 1;
    seg.window = l.window;
    seg.options.mss = l.mss;
    seg.options.timestamps = (r.flags & kConnTimestamps) != 0;
    seg.options.tsval = net::tcp_ts_clock(now_ns);
    seg.options.tsecr = r.ts_recent;
    seg.options.sack_permitted = (r.flags & kConnSack) != 0;
    if (r.client_wscale != kNoWscale) seg.options.wscale = l.wscale;
    return seg;
}

void Worker::erase_request(uint32_t req) noexcept {
    const HalfOpen& r = half_open_.at(req);
    uint32_t& n = listener_state_[r.listener].half_open;
    std::atomic_ref(n).store(n - 1, std::memory_order_relaxed);  // telemetry reads it
    half_open_.erase(req);
}

void Worker::forget_flow(uint32_t flow) noexcept {
    touch(table::hash_key(established_.at(flow).key));
    established_.erase(flow);
}

uint32_t Worker::run_timers(uint64_t now_ns, PacketSource& source, BurstOutput& out) noexcept {
    // Never expire more than the output can take: the rest stays due for the next call.
    const uint32_t room = static_cast<uint32_t>(std::min(std::size(out.tx) - out.n_tx, std::size(out.drop) - out.n_drop));
    // Each request is handled as its timer fires, while its entry is in cache.
    return half_open_.expire(now_ns, std::min(config_.timer_budget, room), [&](uint32_t req) {
        HalfOpen& r = half_open_.at(req);  // its timer has stopped
        const ListenerConfig& l = (*listeners_)[r.listener];
        if (r.retransmits >= l.synack_retries || l.closed) {  // a closed listener's requests expire now
            counters_.add(kReqExpired);
            erase_request(req);
            return;
        }
        ++r.retransmits;
        retransmit(req, now_ns, source, out);
        // Exponential backoff: 1, 2, 4, ... times the initial RTO (RFC 6298 §5.5).
        half_open_.start_timer(req, now_ns, config_.synack_rto_ns << r.retransmits);
    });
}

bool Worker::retransmit(uint32_t req, uint64_t now_ns, PacketSource& source, BurstOutput& out) noexcept {
    const HalfOpen& r = half_open_.at(req);
    if (r.l2 == L2Cache::kNone) {
        counters_.add(kRetransNoL2);
        return false;
    }
    net::Packet pkt;
    if (!source.alloc(pkt)) {
        counters_.add(kRetransNoBuffer);
        return false;
    }
    const L2Cache::Entry& l2 = l2_[r.l2];
    std::memcpy(pkt.data, l2.bytes, l2.len);
    pkt.port = l2.port;
    // Describe the SYN this request came from, then build the reply exactly as the first time.
    const table::FlowKey key = half_open_.key(req);
    ParsedPacket syn;
    syn.family = key.family();
    syn.l3_offset = l2.len;
    syn.src_addr = key.client_addr();
    syn.dst_addr = key.server_addr();
    syn.src_port = key.client_port;
    syn.dst_port = key.server_port;
    const net::ReplySegment seg = request_synack(r, now_ns);
    const net::ReplyIpFields ip{config_.ttl, ip_id_++, config_.checksum_offload};
    if (!net::build_reply(pkt, syn, seg, ip)) {
        counters_.add(kDropReplyTooBig);
        out.drop[out.n_drop++] = pkt;  // hand the buffer back
        return false;
    }
    counters_.add(kSynAckRetrans);
    out.tx[out.n_tx++] = pkt;
    return true;
}

Worker::ListenerFigures Worker::listener_figures(uint16_t listener) const noexcept {
    const ListenerState& ls = listener_state_[listener];
    return {stat_load(ls.syns), stat_load(ls.syncookies_sent), stat_load(ls.passive_opens), stat_load(ls.overflow_drops)};
}

}  // namespace synwall::handshake
