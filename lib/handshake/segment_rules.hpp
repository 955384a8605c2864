// Rules about a received segment that the general path and the fast path both apply: one place,
// so the two cannot drift apart (the differential test checks their outputs byte for byte).
#pragma once

#include <algorithm>
#include <cstdint>

#include "cookie/syn_cookie.hpp"
#include "handshake/config.hpp"
#include "handshake/connection.hpp"
#include "net/parser.hpp"
#include "net/reply_builder.hpp"
#include "net/tcp_clock.hpp"

namespace synwall::handshake {

// RFC 9293 §3.7.1: the MSS assumed when a SYN carries none.
inline uint16_t default_mss(net::Family f) noexcept { return f == net::Family::kIpv4 ? 536 : 1220; }

// Whether a SYN gets ECN (RFC 3168 §6.1.1), as tcp_ecn_create_request: an ECN-setup SYN (ECE and
// CWR) that is not itself ECT-marked; an ECT SYN is refused ECN (it did not come from an RFC 3168
// sender, which sends its SYN Not-ECT).
inline bool syn_gets_ecn(uint8_t tcp_flags, uint8_t ip_ecn) noexcept {
    constexpr uint8_t kSetup = net::tcp_flag::kEce | net::tcp_flag::kCwr;
    return (tcp_flags & kSetup) == kSetup && ip_ecn == 0;
}

// Cookie inputs of a SYN to listener `l`: MSS index, and the options we grant (wscale, SACK, ECN)
// when timestamps can carry them.
inline cookie::SynCookieInputs syn_cookie_inputs(net::Family f, const net::TcpOptions& o, bool ecn_setup,
                                                 const ListenerConfig& l) noexcept {
    cookie::CookieOptions co;
    co.wscale = o.has_wscale && l.window_scaling ? o.wscale : kNoWscale;
    co.sack = o.sack_permitted && l.sack;
    co.ecn = ecn_setup && l.ecn;
    return cookie::syn_inputs(f, o.has_mss ? o.mss : default_mss(f), o.has_timestamps && l.timestamps, co);
}

// The cookie SYN-ACK to a SYN (seq `client_seq`, options `o`): our options travel in the cookie
// and, with timestamps, in the TSval. Without timestamps the cookie cannot carry wscale, SACK or
// ECN: none are offered (as the kernel).
inline net::ReplySegment cookie_synack(const ListenerConfig& l, uint32_t client_seq, const net::TcpOptions& o,
                                       uint32_t isn, uint8_t cookie_opts, uint64_t now_ns) noexcept {
    net::ReplySegment seg;
    seg.flags = net::tcp_flag::kSyn | net::tcp_flag::kAck;
    seg.seq = isn;
    seg.ack = client_seq + 1;
    seg.window = l.window;
    seg.options.mss = l.mss;
    const bool ts = o.has_timestamps && l.timestamps;
    seg.options.timestamps = ts;
    if (ts) {
        const cookie::CookieOptions co = cookie::decode_opts(cookie_opts);
        seg.options.tsval = cookie::cookie_tsval(net::tcp_ts_clock(now_ns), cookie_opts);
        seg.options.tsecr = o.tsval;
        seg.options.sack_permitted = co.sack;
        if (co.wscale != kNoWscale) seg.options.wscale = l.wscale;
        if (co.ecn) seg.flags |= net::tcp_flag::kEce;
    }
    return seg;
}

// The connection a valid cookie ACK (sequence `seq`, acknowledging `ack`) establishes on listener `l`.
inline Connection cookie_connection(net::Family f, const cookie::CookieClaim& claim, uint32_t seq, uint32_t ack,
                                    bool has_ts, const ListenerConfig& l) noexcept {
    const cookie::CookieOptions co = cookie::decode_opts(claim.opts);
    Connection c{};
    c.client_isn = seq - 1;
    c.server_isn = ack - 1;
    c.mss = std::min(cookie::index_to_mss(f, claim.mss_index), l.mss);
    c.snd_wscale = co.wscale;
    c.rcv_wscale = co.wscale != kNoWscale ? l.wscale : kNoWscale;
    c.flags = static_cast<uint8_t>(kConnFromCookie | (has_ts ? kConnTimestamps : 0) | (co.sack ? kConnSack : 0) |
                                   (co.ecn ? kConnEcn : 0));
    return c;
}

}  // namespace synwall::handshake
