// The engine's fast path: untagged IPv4 SYNs that get a cookie and ACKs that carry one (a flood's
// packets, and the handshakes that complete through it), in stages across the burst with a small
// record per packet instead of a full ParsedPacket:
//   1. screen  read the plain IPv4 segment (net/plain_ipv4), find the listener, hash the key and
//              prefetch the buckets; anything else is left to the general path
//   2. prepare look the key up (a hit is a flow's packet or a request: general path), decide the
//              admission, queue the cookie's MAC in one PRF batch
//   3. act     in arrival order: check that nothing earlier in the chunk changed what was
//              prepared, then answer; packets the fast path declines go, in order, through the
//              general path (Worker::general_run), which stays the reference.
// Every decision uses the rules the general path uses (admit, segment_rules.hpp, lib/cookie), and
// test/unit/fast_path_test.cpp runs both paths on the same frames and requires identical bytes,
// dispositions, connections and counters.
#include "handshake/segment_rules.hpp"
#include "handshake/worker.hpp"
#include "handshake/worker_internal.hpp"

#include <cstring>

namespace synwall::handshake {

namespace flag = net::tcp_flag;

void Worker::fast_chunk(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept {
    const auto n = static_cast<uint32_t>(pkts.size());
    // Local copies: the records are written through byte pointers, which may alias any member, so
    // the compiler would otherwise reload fast_ and pkts at every use.
    FastState* const fs = fast_.get();
    net::Packet* const pk = pkts.data();
    uint32_t candidates = 0;
    for (uint32_t i = 0; i < n; ++i) {
        fast_screen(fs[i], pk[i]);
        candidates += fs[i].kind != FastKind::kGeneral;
    }
    if (candidates == 0) return general_run(pkts, 0, n, now_ns, out);
    tally_ = Tally{};
    for (uint32_t i = 0; i < n; ++i) {
        const FastState& st = fs[i];
        if (st.kind == FastKind::kGeneral) continue;
        established_.prefetch_entry(st.h_est);
        if (st.lc->cookie_mode != CookieMode::kAlways) half_open_.prefetch_entry(st.h_req);
    }
    prf_.clear();
    for (uint32_t i = 0; i < n; ++i) fast_prepare(fs[i], now_ns);
    prf_.run();
    for (uint32_t i = 0; i < n; ++i) {
        FastState& st = fs[i];
        if (st.kind != FastKind::kGeneral && st.mac != kNone) st.mac = prf_.result(static_cast<int>(st.mac));
    }
    // Act in arrival order; a run of declined packets goes through the general path before the
    // next packet is tried, so the general path sees the state as of its packets' turn.
    uint32_t run = kNone;
    for (uint32_t i = 0; i < n; ++i) {
        FastState& st = fs[i];
        if (st.kind != FastKind::kGeneral) {
            if (run != kNone) {
                general_run(pkts, run, i, now_ns, out);
                run = kNone;
            }
            if (st.kind == FastKind::kSyn ? fast_syn(st, pk[i], now_ns, out) : fast_ack(st, pk[i], now_ns, out))
                continue;
        }
        if (run == kNone) run = i;
    }
    if (run != kNone) general_run(pkts, run, n, now_ns, out);
    // The fast path's counters, added once per chunk.
    const Tally& t = tally_;
    counters_.add(parse_counter(net::ParseStatus::kOk), t.cookie_syns + t.forged_acks + t.cookie_acks);
    counters_.add(kSynRecv, t.cookie_syns);
    counters_.add(kSyncookiesSent, t.cookie_syns);
    counters_.add(kReqQFullDoCookies, t.overflows);
    counters_.add(kAcksToListener, t.forged_acks + t.cookie_acks);
    counters_.add(kSyncookiesFailed, t.forged_acks);
    counters_.add(kDropInvalidAck, t.forged_acks);
    counters_.add(kSyncookiesRecv, t.cookie_acks);
}

void Worker::fast_screen(FastState& st, net::Packet& pkt) noexcept {
    st.kind = FastKind::kGeneral;
    // Segments with data (most likely a flow's) are declined before their checksum is summed.
    if (!net::parse_plain_ipv4({pkt.data, pkt.len}, pkt.flags, config_.parse, st.s, 0)) return;
    const uint8_t f = st.s.tcp_flags;
    FastKind kind;
    if ((f & ~(flag::kEce | flag::kCwr)) == flag::kSyn)
        kind = FastKind::kSyn;
    else if ((f & ~flag::kPsh) == flag::kAck)
        kind = FastKind::kAck;
    else
        return;
    // The listener table never changes under a worker: the last answer serves a flood's next SYN.
    if (st.s.dst_addr != last_listener_.addr || st.s.dst_port != last_listener_.port) {
        last_listener_ = {st.s.dst_addr, st.s.dst_port,
                          listeners_->lookup(net::Family::kIpv4, st.s.dst(), st.s.dst_port)};
    }
    st.listener = last_listener_.listener;
    if (st.listener == ListenerTable::kNone) return;
    st.lc = &(*listeners_)[st.listener];
    if (st.lc->closed) return;  // closed at run time: the general path decides
    st.crc = table::make_key_v4(st.s.src_addr, st.s.dst_addr, st.s.src_port, st.s.dst_port, st.key);
    st.h_est = established_.hash_from_crc(st.crc);
    // A cookie ACK inserts its flow: both buckets (the summary names none for a new flow).
    if (kind == FastKind::kAck)
        established_.prefetch_for_insert(st.h_est);
    else
        established_.prefetch(st.h_est);
    if (st.lc->cookie_mode != CookieMode::kAlways) {
        st.h_req = half_open_.hash_from_crc(st.crc, net::Family::kIpv4);
        half_open_.prefetch(st.h_req);
    }
    st.kind = kind;
}

void Worker::fast_prepare(FastState& st, uint64_t now_ns) noexcept {
    if (st.kind == FastKind::kGeneral) return;
    st.mac = kNone;  // until a PRF job is queued: then its index, and after the batch its result
    const ListenerConfig& l = *st.lc;
    // A flow's packet, or one for a request in SYN-RECEIVED: the general path's.
    if (established_.find(st.key, st.h_est) != kNone ||
        (l.cookie_mode != CookieMode::kAlways && half_open_.find(st.key, st.h_req) != kNone)) {
        st.kind = FastKind::kGeneral;
        return;
    }
    const uint32_t now_counter = secrets_.now_counter();
    const cookie::SecretSchedule::EpochKeys* keys;
    uint32_t word;
    if (st.kind == FastKind::kSyn) {
        st.admission = admit(l, st.listener);
        if (st.admission != Admission::kCookie && st.admission != Admission::kCookieOverflow) {
            st.kind = FastKind::kGeneral;
            return;
        }
        // A flood's SYNs share one shape (listener, options, ECN): its cookie inputs and reply
        // variant are worked out once and reused while the shape repeats.
        uint64_t options;
        std::memcpy(&options, &st.s.options, sizeof options);  // MSS, WS and the presence flags
        const bool ecn = syn_gets_ecn(st.s.tcp_flags, st.s.ip_ecn);
        if (options != syn_shape_.options || st.listener != syn_shape_.listener || ecn != syn_shape_.ecn) {
            const cookie::SynCookieInputs in = syn_cookie_inputs(net::Family::kIpv4, st.s.options, ecn, l);
            const uint32_t opts = in.opts;
            // Template variant: timestamps, then (from the cookie's option bits) SACK, window scale, ECN.
            const bool ts = st.s.options.has_timestamps && l.timestamps;
            const auto variant = static_cast<uint8_t>(
                ts ? 1u | (opts & 2u) | ((opts >> 2) != kNoWscale ? 4u : 0u) | (opts & 1u) << 3 : 0u);
            syn_shape_ = {options, st.listener, ecn, in, variant};
        }
        st.in = syn_shape_.in;
        st.variant = syn_shape_.variant;
        st.claim.counter = now_counter;
        keys = secrets_.keys_for_counter(now_counter);
        word = cookie::message_word(now_counter, st.in.opts, st.in.mss_index);
    } else {
        if (!cookie_eligible(st.listener, now_ns)) {  // a bad ACK (reset or dropped): the general path's
            st.kind = FastKind::kGeneral;
            return;
        }
        const net::TcpOptions& o = st.s.options;
        st.claim = cookie::decode_ack(now_counter, st.s.seq, st.s.ack, o.has_timestamps, o.tsecr);
        keys = secrets_.keys_for_counter(st.claim.counter);
        st.keys_known = keys != nullptr;
        if (keys == nullptr) return;  // an epoch we no longer hold: rejected without a MAC
        word = st.claim.message_word();
    }
    int job;
    cookie::MacMsgV4* m = prf_.slot_v4(&keys->v4, job);
    if (m == nullptr) {
        st.kind = FastKind::kGeneral;
        return;
    }
    cookie::fill_mac_message_v4({net::Family::kIpv4, st.s.src(), st.s.dst(), st.s.src_port, st.s.dst_port}, word, *m);
    st.mac = static_cast<uint32_t>(job);
}

// Whether an earlier packet of this chunk gave the key a flow or a request since prepare: the
// touched filter is coarse (64 bits), so a hit in it is checked against the tables.
bool Worker::fast_key_taken(const FastState& st) const noexcept {
    return touched(st.crc) && (established_.find(st.key, st.h_est) != kNone ||
                               (st.lc->cookie_mode != CookieMode::kAlways && half_open_.find(st.key, st.h_req) != kNone));
}

bool Worker::fast_syn(FastState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept {
    const ListenerConfig& l = *st.lc;
    // Anything an earlier packet of this chunk changed since prepare: the general path decides.
    if (fast_key_taken(st) || accept_[st.listener]->full() || admit(l, st.listener) != st.admission) return false;
    ++tally_.cookie_syns;  // ParsedTcp, SynRecv, SyncookiesSent
    tally_.overflows += st.admission == Admission::kCookieOverflow;  // ReqQFullDoCookies
    mark_cookie_sent(st.listener, now_ns);
    stat_add(listener_state_[st.listener].syns, 1);
    // The reply's constant part comes from a template of this listener and option variant.
    const net::TcpOptions& o = st.s.options;
    const bool ts = (st.variant & 1u) != 0;
    const uint32_t tag = uint32_t{st.listener} << 4 | st.variant;
    SynAckTemplate& e = synack_templates_[tag % kSynAckTemplates];
    if (e.tag != tag) {
        e.t = net::make_ipv4_reply_template(cookie_synack(l, st.s.seq, o, 0, st.in.opts, now_ns),
                                           {config_.ttl, 0, config_.checksum_offload});
        e.tag = tag;
    }
    const uint32_t isn = cookie::mint(st.s.seq, st.claim.counter, st.in.mss_index, st.mac);
    const uint32_t tsval = ts ? cookie::cookie_tsval(net::tcp_ts_clock(now_ns), st.in.opts) : 0;
    if (net::write_ipv4_reply(pkt, e.t, st.s, isn, st.s.seq + 1, ip_id_++, tsval, o.tsval))
        out.tx[out.n_tx++] = pkt;
    else
        drop(pkt, kDropReplyTooBig, out);
    return true;
}

bool Worker::fast_ack(FastState& st, net::Packet& pkt, uint64_t /*now_ns*/, BurstOutput& out) noexcept {
    const ListenerConfig& l = *st.lc;
    if (fast_key_taken(st)) return false;
    const bool valid = st.keys_known && cookie::verify(st.claim, st.mac);
    // A forged ACK answered with a reset, and a full accept queue's overflow handling, are the
    // general path's (they need the parsed segment for the reset); so is a rejected ACK while a
    // previous cookie key still validates (change_master_key).
    if (!valid ? l.rst_on_invalid_ack || retiring_ != nullptr : accept_[st.listener]->full()) return false;
    if (!valid) {
        ++tally_.forged_acks;  // ParsedTcp, AcksToListener, SyncookiesFailed, DropInvalidAck
        out.drop[out.n_drop++] = pkt;
        return true;
    }
    const net::TcpOptions& o = st.s.options;
    ++tally_.cookie_acks;  // ParsedTcp, AcksToListener, SyncookiesRecv
    enqueue(Arrival{st.key, st.h_est, st.crc, st.listener, st.s.seq, o.has_timestamps, o.tsval, st.s.window,
                    static_cast<uint16_t>(net::PlainIpv4Segment::kL4Offset + st.s.tcp_header_len), st.s.payload_len},
            pkt, cookie_connection(net::Family::kIpv4, st.claim, st.s.seq, st.s.ack, o.has_timestamps, l), kNone, out);
    return true;
}

}  // namespace synwall::handshake
