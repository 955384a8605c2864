// SYN cookies: the stateless SYN-ACK sequence number and its check on the returning ACK.
//
// Semantics follow the kernel's syncookies.c (MSS from a small per-family table, a coarse time
// counter valid for two periods, wscale/SACK/ECN carried in the low bits of our TSval when the
// client sent timestamps); the layout and the MAC are synwall's own (docs/cookies.md).
//
// Cookie word W (our ISN = client ISN + W):
//
//    31  30    28 27                                                    0
//   +---+--------+-------------------------------------------------------+
//   | p |  mss   |                 MAC (28 bits)                         |
//   +---+--------+-------------------------------------------------------+
//   p   = counter & 1: tells the current period from the previous one
//   mss = index into the family's MSS table (largest entry <= the client's MSS)
//   MAC = low 28 bits of PRF(epoch key, message)
//
// MAC message, IPv4 (one AES block):            IPv6 (three blocks, CBC-MAC):
//   0      4      8     10    12       16         0 client addr 16 server addr 32 ports 36 word 40 zero 48
//   |client|server|c.port|s.port| word |
//   word = counter(23 bits) << 9 | opts(6 bits) << 3 | mss index(3 bits), little-endian
//
// opts (also the low 6 bits of our TSval when the client sent timestamps):
//     5      2   1     0
//   +---------+------+-----+
//   | wscale  | sack | ecn |      wscale 15 = the client sent no window scale
//   +---------+------+-----+      without timestamps opts is kOptsNone (no WS, no SACK, no ECN)
//
// Every bit of W and of opts is covered by the MAC: a random ACK validates with probability 2^-28,
// and any single-bit change of W, of the 4-tuple, of the client ISN or of opts is rejected.
#pragma once

#include <cstdint>

#include "cookie/prf.hpp"
#include "cookie/secret_schedule.hpp"
#include "net/parser.hpp"

namespace synwall::cookie {

inline constexpr uint32_t kMacBits = 28;
inline constexpr uint32_t kMacMask = (1u << kMacBits) - 1;
inline constexpr uint32_t kCounterBits = 23;
inline constexpr uint8_t kOptsNone = 15 << 2;
inline constexpr uint8_t kOptsMask = 0x3f;
inline constexpr uint8_t kMssTableSize = 8;

// Per-family MSS tables, ascending; index 0 is also used for any smaller MSS, as the kernel does.
inline constexpr uint16_t kMssTableV4[kMssTableSize] = {536, 1200, 1300, 1360, 1400, 1440, 1452, 1460};
inline constexpr uint16_t kMssTableV6[kMssTableSize] = {1220, 1280, 1340, 1380, 1400, 1420, 1432, 1440};

uint8_t mss_to_index(net::Family f, uint16_t mss) noexcept;
uint16_t index_to_mss(net::Family f, uint8_t index) noexcept;

struct CookieOptions {
    uint8_t wscale = 15;  // 15: none
    bool sack = false;
    bool ecn = false;
};
inline uint8_t encode_opts(const CookieOptions& o) noexcept {
    return static_cast<uint8_t>((o.wscale & 15) << 2 | (o.sack ? 2 : 0) | (o.ecn ? 1 : 0));
}
inline CookieOptions decode_opts(uint8_t v) noexcept {
    return CookieOptions{static_cast<uint8_t>((v >> 2) & 15), (v & 2) != 0, (v & 1) != 0};
}

// A cookie SYN-ACK's TSval: the clock with its low bits replaced by the cookie's option bits, never
// ahead of the clock (as the kernel's cookie_init_timestamp): the connection's later segments read
// the plain clock and must not look older to the client's PAWS check (RFC 7323 §5).
inline uint32_t cookie_tsval(uint32_t clock, uint8_t opts) noexcept {
    uint32_t ts = (clock & ~uint32_t{kOptsMask}) | (opts & kOptsMask);
    if (ts > clock) ts -= kOptsMask + 1u;  // the previous 64 ms period, same option bits
    return ts;
}

// The connection 4-tuple seen from the client: `client` is the SYN's source.
struct FlowTuple {
    net::Family family = net::Family::kIpv4;
    const uint8_t* client_addr = nullptr;
    const uint8_t* server_addr = nullptr;
    uint16_t client_port = 0;
    uint16_t server_port = 0;
};

inline uint32_t message_word(uint32_t counter, uint8_t opts, uint8_t mss_index) noexcept {
    return (counter & ((1u << kCounterBits) - 1)) << 9 | static_cast<uint32_t>(opts & kOptsMask) << 3 |
           (mss_index & 7u);
}
void fill_mac_message_v4(const FlowTuple& t, uint32_t word, MacMsgV4& out) noexcept;
void fill_mac_message_v6(const FlowTuple& t, uint32_t word, MacMsgV6& out) noexcept;
inline MacMsgV4 mac_message_v4(const FlowTuple& t, uint32_t word) noexcept {
    MacMsgV4 m;
    fill_mac_message_v4(t, word, m);
    return m;
}
inline MacMsgV6 mac_message_v6(const FlowTuple& t, uint32_t word) noexcept {
    MacMsgV6 m;
    fill_mac_message_v6(t, word, m);
    return m;
}

inline uint32_t cookie_word(uint32_t counter, uint8_t mss_index, uint32_t prf_out) noexcept {
    return (counter & 1u) << 31 | static_cast<uint32_t>(mss_index & 7u) << 28 | (prf_out & kMacMask);
}

// The counter a cookie with parity `p` was minted in, seen at counter `now`: now or now - 1.
inline uint32_t cookie_counter(uint32_t now, uint32_t parity) noexcept {
    return (now & 1u) == parity ? now : now - 1;
}

// The cookie's life as pure functions (the kernel's cookie_v4_init_sequence / __cookie_v4_check):
// the caller computes the MAC over message_word(...) with the epoch key of the counter.

// What a SYN's cookie encodes: the MSS index and, with timestamps, the agreed options.
struct SynCookieInputs {
    uint8_t mss_index;
    uint8_t opts;
};
// `client_mss` is the SYN's MSS option, or the family's default when it had none; `agreed` is what
// we grant (wscale, SACK, ECN), carried only when timestamps are used (otherwise kOptsNone).
inline SynCookieInputs syn_inputs(net::Family f, uint16_t client_mss, bool timestamps,
                                  const CookieOptions& agreed) noexcept {
    return SynCookieInputs{mss_to_index(f, client_mss), timestamps ? encode_opts(agreed) : kOptsNone};
}

// Our ISN for the SYN: its ISN plus the cookie word.
inline uint32_t mint(uint32_t client_isn, uint32_t counter, uint8_t mss_index, uint32_t mac) noexcept {
    return client_isn + cookie_word(counter, mss_index, mac);
}

// What an ACK's cookie claims, read before the MAC is checked: W = (ACK - 1) - (SEQ - 1), the
// counter its parity bit names, the MSS index, and the options echoed in the low bits of TSecr.
struct CookieClaim {
    uint32_t word;
    uint32_t counter;
    uint8_t mss_index;
    uint8_t opts;
    uint32_t message_word() const noexcept { return cookie::message_word(counter, opts, mss_index); }
};
inline CookieClaim decode_ack(uint32_t now_counter, uint32_t seq, uint32_t ack, bool has_ts, uint32_t tsecr) noexcept {
    const uint32_t w = ack - seq;
    return CookieClaim{w, cookie_counter(now_counter, w >> 31), static_cast<uint8_t>((w >> 28) & 7),
                       has_ts ? static_cast<uint8_t>(tsecr & kOptsMask) : kOptsNone};
}
// True when `mac`, computed over claim.message_word() with the claimed counter's key, is the cookie's.
inline bool verify(const CookieClaim& claim, uint32_t mac) noexcept { return ((mac ^ claim.word) & kMacMask) == 0; }

// A batch of PRF evaluations, grouped by key so that each group runs pipelined (one AES key
// schedule in registers for the whole group). Jobs keep their submission index.
class PrfBatch {
public:
    static constexpr size_t kMaxJobs = 256;
    static constexpr size_t kMaxKeys = 6;

    void clear() noexcept;
    // Returns the job index, or -1 when the batch is full.
    int add_v4(const PrfKey* key, const MacMsgV4& msg) noexcept;
    int add_v6(const PrfKey* key, const MacMsgV6& msg) noexcept;
    // Queues a job and returns its message to fill in place (nullptr when the batch is full).
    MacMsgV4* slot_v4(const PrfKey* key, int& job) noexcept {
        job = add(key, false);
        return job >= 0 ? &msg4_[job] : nullptr;
    }
    MacMsgV6* slot_v6(const PrfKey* key, int& job) noexcept {
        job = add(key, true);
        return job >= 0 ? &msg6_[job] : nullptr;
    }
    void run() noexcept;
    uint32_t result(int job) const noexcept { return out_[job]; }
    size_t size() const noexcept { return jobs_; }

private:
    struct Group {
        const PrfKey* key;
        bool v6;
        uint16_t count;
        uint16_t first;  // jobs chained through next_
        uint16_t last;
    };
    // Inline: the per-packet cost of queueing is a few instructions when the key is the last one's.
    int add(const PrfKey* key, bool v6) noexcept {
        if (jobs_ == kMaxJobs) return -1;
        const auto job = static_cast<uint16_t>(jobs_);
        if (ngroups_ != 0 && groups_[ngroups_ - 1].key == key && groups_[ngroups_ - 1].v6 == v6) {
            Group& g = groups_[ngroups_ - 1];
            next_[g.last] = job;
            g.last = job;
            ++g.count;
            ++jobs_;
            return job;
        }
        return add_slow(key, v6);
    }
    int add_slow(const PrfKey* key, bool v6) noexcept;

    Group groups_[kMaxKeys];
    size_t ngroups_ = 0;
    size_t jobs_ = 0;
    uint16_t next_[kMaxJobs];
    MacMsgV4 msg4_[kMaxJobs];
    MacMsgV6 msg6_[kMaxJobs];
    uint32_t out_[kMaxJobs];
};

}  // namespace synwall::cookie
