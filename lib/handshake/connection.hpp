// An established connection as the handshake hands it to the application, and the half-open
// request it was made from.
#pragma once

#include <cstdint>

#include "net/packet.hpp"
#include "table/flow_key.hpp"
#include "timer/intrusive_wheel.hpp"

namespace synwall::handshake {

inline constexpr uint8_t kNoWscale = 15;

enum ConnFlags : uint8_t {
    kConnSack = 1u << 0,
    kConnTimestamps = 1u << 1,
    kConnEcn = 1u << 2,
    kConnFromCookie = 1u << 3,
};

// A request in SYN-RECEIVED: what the kernel keeps in a request_sock, less its key (RequestTable
// stores the key beside it, 12 bytes for IPv4, 36 for IPv6) and with its retransmit timer's links
// inside it. 36 bytes: an IPv4 request is 48.
struct HalfOpen {
    uint32_t client_isn;
    uint32_t server_isn;
    uint32_t ts_recent;       // client's TSval, echoed in our TSecr
    timer::TimerLinks timer;  // its SYN-ACK retransmit timer (RequestTable's wheel)
    uint16_t mss;             // client's MSS (0: none sent)
    uint16_t listener;
    uint16_t l2;              // L2 cache index for retransmits (0xffff: none)
    // When this request last answered an out-of-window segment (a resent SYN-ACK or an ACK), in
    // units of 2^24 ns (0: never): such answers are limited per request, as tcp_oow_rate_limited
    // limits a request_sock's. 16 bits wrap after 18 minutes; a request lives about a minute.
    uint16_t last_oow;
    uint8_t client_wscale;    // kNoWscale: none
    uint8_t flags;            // ConnFlags
    uint8_t retransmits;
};
static_assert(sizeof(HalfOpen) == 36);

struct Connection {
    table::FlowKey key;
    uint32_t client_isn;    // the SYN's sequence number
    uint32_t server_isn;    // our SYN-ACK's sequence number
    uint32_t ts_recent;     // client's latest TSval
    uint32_t flow;          // index in the worker's established-flow index
    uint16_t mss;           // effective send MSS (client's, clamped by the listener)
    uint16_t listener;
    uint16_t window;        // client's window field on the completing ACK (unscaled)
    uint8_t snd_wscale;     // client's shift (kNoWscale: no scaling)
    uint8_t rcv_wscale;     // ours (kNoWscale: no scaling)
    uint8_t flags;          // ConnFlags
    // The completing ACK itself (payload and all); the application owns it now: it may reuse the
    // buffer for its first reply or must free it.
    net::Packet packet;
    uint16_t payload_offset;
    uint16_t payload_len;   // its data from RCV.NXT (client_isn + 1) on; 0 if it starts later (out of order)
};

// The per-flow record in the established-flow index.
struct Established {
    table::FlowKey key;
    uint16_t listener;
    uint16_t pad;
};

}  // namespace synwall::handshake
