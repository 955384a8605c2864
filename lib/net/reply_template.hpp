// A reply to a plain IPv4 segment (net/plain_ipv4.hpp), precomputed: the IPv4 and TCP headers with
// every field that does not depend on the segment filled in once (version, lengths, TTL, flags,
// window, the options' layout), and the Internet-checksum sums of those fields. Per packet only the
// addresses, ports, sequence numbers, IP id and timestamps are written, and both checksums are
// completed from the template's sums: RFC 1071's checksum is a plain sum of 16-bit words, so the
// constant words are added once. The bytes are build_reply()'s, field for field (the engine's
// differential test compares them).
#pragma once

#include <cstdint>

#include "net/packet.hpp"
#include "net/plain_ipv4.hpp"
#include "net/reply_builder.hpp"

namespace synwall::net {

struct Ipv4ReplyTemplate {
    static constexpr uint32_t kRoom = 64;  // IPv4 header (20) + TCP header with options (at most 40)
    alignas(16) uint8_t hdr[kRoom] = {};
    uint8_t len = 0;        // bytes of hdr in use
    uint8_t ts_offset = 0;  // offset of TSval in hdr (TSecr follows); 0: no timestamps
    bool offload = false;   // checksums left to the NIC (kTxChecksumsPending)
    uint64_t ip_sum = 0;    // sum of the IPv4 header's constant words
    uint64_t tcp_sum = 0;   // of the TCP header's constant words
    uint64_t pseudo = 0;    // of the pseudo-header's protocol and length
};

// The template of the reply `shape` (its flags, window and options; its sequence numbers and
// timestamp values are per packet), with `ip`'s TTL and checksum offload (its id is per packet).
Ipv4ReplyTemplate make_ipv4_reply_template(const ReplySegment& shape, const ReplyIpFields& ip) noexcept;

// Rewrites `pkt`, which holds the plain IPv4 segment `in`, into the template's reply to it: MACs,
// addresses and ports swapped, `seq`, `ack`, `ip_id` and, if the template has timestamps, `tsval`
// and `tsecr`. Returns false, leaving the frame untouched, when it does not fit pkt.room.
bool write_ipv4_reply(Packet& pkt, const Ipv4ReplyTemplate& t, const PlainIpv4Segment& in, uint32_t seq,
                      uint32_t ack, uint16_t ip_id, uint32_t tsval, uint32_t tsecr) noexcept;

}  // namespace synwall::net
