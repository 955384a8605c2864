// The Worker's private per-packet records, shared by its two translation units: worker.cpp (the
// general path, the reference) and worker_fast_path.cpp (the specialised path).
#pragma once

#include <cstddef>

#include "handshake/worker.hpp"
#include "net/plain_ipv4.hpp"
#include "net/reply_template.hpp"

namespace synwall::handshake {

inline constexpr uint32_t kNone = ~0u;

enum class Worker::Action : uint8_t { kDone, kFlow, kSyn, kAck, kRst, kNoAck, kFromServer };

// How a SYN is admitted (the kernel's tcp_conn_request, after the accept-queue check): into the
// SYN queue, or answered with a cookie (always-cookie listener, or SYN queue full in auto mode),
// or dropped (SYN queue full, cookies never).
enum class Worker::Admission : uint8_t { kQueue, kCookie, kCookieOverflow, kDropOverflow };

// What the general path learns about one packet of a chunk before it acts on it.
struct Worker::PacketState {
    net::ParsedPacket p;
    const ListenerConfig* lc;  // (*listeners_)[listener], looked up once
    table::FlowKey key;
    uint32_t crc;
    table::FlowTable<Established>::Hash h_est;
    RequestTable::Hash h_req;
    uint32_t est;
    uint32_t req;
    uint16_t listener;
    Action action;
    int prf_job;         // -1: none
    bool prf_is_cookie;  // the job is a cookie MAC (else an ISN)
    uint32_t counter;    // cookie counter the job used
    uint8_t opts;        // cookie opts the job used
    uint8_t mss_index;   // cookie MSS index the job used
};

// The fast path's record of one packet: the plain IPv4 segment, its key, and the cookie work.
enum class Worker::FastKind : uint8_t { kGeneral, kSyn, kAck };
struct Worker::FastState {
    net::PlainIpv4Segment s;
    table::FlowKey key;
    uint32_t crc;
    table::FlowTable<Established>::Hash h_est;
    RequestTable::Hash h_req;
    const ListenerConfig* lc;
    uint16_t listener;
    FastKind kind;
    Admission admission;        // SYN: the admission its cookie was prepared for
    bool keys_known;            // ACK: the claimed counter's epoch has keys
    cookie::SynCookieInputs in; // SYN
    uint8_t variant;            // SYN: its reply template's variant (bit 0: timestamps)
    cookie::CookieClaim claim;  // ACK; for a SYN, claim.counter is the counter its cookie uses
    uint32_t mac;               // the PRF over the cookie message, once the batch ran
};

static_assert(offsetof(net::TcpOptions, tsval) == 8, "SynShape::options covers MSS, WS and the flags, not the timestamps");

struct Worker::SynAckTemplate {
    uint32_t tag = ~0u;  // listener << 4 | variant
    net::Ipv4ReplyTemplate t;
};

// What establishing a connection needs of the ACK that completes it.
struct Worker::Arrival {
    const table::FlowKey& key;
    table::FlowTable<Established>::Hash h_est;
    uint32_t crc;
    uint16_t listener;
    uint32_t seq;
    bool has_ts;
    uint32_t tsval;
    uint16_t window;
    uint16_t payload_offset;
    uint16_t payload_len;
};

}  // namespace synwall::handshake
