// How a proxied flow's segments cross between its two legs. The client completed its handshake with
// synwall (our ISN, our TSval clock, our window scale); the server completed its own with the
// client's ISN and options replayed by the proxy. What differs between the legs, and so what every
// segment has rewritten on its way through, in place with incremental checksums (RFC 1624):
//
//   client -> server   ACK + seq_offset, SACK blocks + seq_offset (they name server bytes),
//                      TSecr - ts_offset, window re-scaled when the server does not scale,
//                      SACK blocks blanked (NOPs) when the server did not permit SACK
//   server -> client   SEQ - seq_offset, TSval + ts_offset, window re-scaled from the server's
//                      shift to the one we advertised to the client
//
// Client sequence numbers and the client's TSval are the same on both legs (the server's SYN
// carried the client's ISN and TSval), so the server's ACK, SACK blocks and TSecr pass unchanged.
// Pure functions over a frame and its parse: no state, no allocation, tested alone.
#pragma once

#include <cstdint>

#include "net/parser.hpp"

namespace synwall::app {

inline constexpr uint8_t kNoShift = 0;  // a leg without window scaling

struct Splice {
    uint32_t seq_offset = 0;  // server's ISN - our ISN
    uint32_t ts_offset = 0;   // our TSval - the server's TSval, at the two handshakes
    bool timestamps = false;  // both legs negotiated timestamps (else TS options pass untouched)
    bool strip_sack = false;  // the client may send SACK blocks, the server did not permit them
    // Window fields: value << from >> to, per direction (the shift the sender applies, and the shift
    // the receiver assumes).
    uint8_t to_server_from = kNoShift, to_server_to = kNoShift;
    uint8_t to_client_from = kNoShift, to_client_to = kNoShift;
};

// `p` must be the ok() parse of `frame` (a TCP segment). The checksums stay as valid as they were.
void splice_to_server(uint8_t* frame, const net::ParsedPacket& p, const Splice& s) noexcept;
void splice_to_client(uint8_t* frame, const net::ParsedPacket& p, const Splice& s) noexcept;

// A window field sent with shift `from`, re-expressed for a receiver assuming shift `to`: rounded
// down, never to 0 from a non-zero window, at most 65535.
uint16_t rescale_window(uint16_t field, uint8_t from, uint8_t to) noexcept;

}  // namespace synwall::app
