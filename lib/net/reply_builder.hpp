// Turns a received TCP segment into our reply, in the same buffer (SYN -> SYN-ACK, bad ACK -> RST,
// challenge ACK). Nothing is allocated.
//
// The reply keeps the frame's L2 header (MACs swapped, VLAN tags and EtherTypes kept), writes a
// fresh IP header without options or extension headers (IPv4: DF, our id and TTL; IPv6: our hop
// limit), swaps addresses and ports, writes the TCP header and our options, drops any payload (or
// puts seg.payload in its place) and computes checksums: fully, or only the pseudo-header sum when
// the NIC will finish them (RTE_MBUF_F_TX_TCP_CKSUM / RTE_MBUF_F_TX_IP_CKSUM semantics).
#pragma once

#include <cstdint>
#include <span>

#include "net/packet.hpp"
#include "net/parser.hpp"

namespace synwall::net {

// Options we put on a reply; written in the kernel's order and alignment:
// MSS, [SACK-permitted + TS | NOP NOP TS], [NOP NOP SACK-permitted], [NOP WS].
struct ReplyOptions {
    uint16_t mss = 0;            // 0: no MSS option
    uint8_t wscale = kNoWscale;  // kNoWscale: no window-scale option
    bool sack_permitted = false;
    bool timestamps = false;
    uint32_t tsval = 0;
    uint32_t tsecr = 0;

    static constexpr uint8_t kNoWscale = 0xff;
};

struct ReplySegment {
    uint8_t flags = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t window = 0;
    ReplyOptions options;
    std::span<const uint8_t> payload;  // data after the header (a client's first bytes); usually none;
                                       // may point into the frame being rewritten
};

struct ReplyIpFields {
    uint8_t ttl = 64;            // TTL / hop limit
    uint16_t ipv4_id = 0;
    bool checksum_offload = false;
};

// The two ends of a received segment, as a reply needs them: what build_reply reads of `in`. A
// ParsedPacket gives them (ends_of); the engine's fast path fills them from a PlainIpv4Segment.
struct SegmentEnds {
    Family family = Family::kIpv4;
    uint16_t l3_offset = 0;             // the L2 header kept (MACs swapped) is this long
    const uint8_t* src_addr = nullptr;  // 4 or 16 bytes
    const uint8_t* dst_addr = nullptr;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
};

inline SegmentEnds ends_of(const ParsedPacket& p) noexcept {
    return SegmentEnds{p.family, p.l3_offset, p.src_addr, p.dst_addr, p.src_port, p.dst_port};
}

// Length of the TCP options that `o` produces (a multiple of 4, at most 20).
uint8_t reply_options_len(const ReplyOptions& o) noexcept;

// Rewrites `pkt` (parsed as `in`, which must be ok()) into the reply. Returns false, leaving the
// frame untouched, when the reply does not fit in pkt.room.
bool build_reply(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg,
                 const ReplyIpFields& ip) noexcept;
inline bool build_reply(Packet& pkt, const ParsedPacket& in, const ReplySegment& seg,
                        const ReplyIpFields& ip) noexcept {
    return build_reply(pkt, ends_of(in), seg, ip);
}

// The same segment, but continuing in `in`'s direction: MACs, addresses and ports kept (the proxy's
// SYN to the server, built from the client's ACK). `pkt` may be another buffer than the one `in`
// describes, as long as it holds `in`'s L2 header (in.l3_offset bytes): addresses are read from
// `in`, not from `pkt`.
bool build_forward(Packet& pkt, const SegmentEnds& in, const ReplySegment& seg,
                   const ReplyIpFields& ip) noexcept;
inline bool build_forward(Packet& pkt, const ParsedPacket& in, const ReplySegment& seg,
                          const ReplyIpFields& ip) noexcept {
    return build_forward(pkt, ends_of(in), seg, ip);
}

// RFC 9293 §3.10.7.1: the RST that answers `in` (seq taken from its ACK field if it has one,
// otherwise seq 0 with ACK = its seq + its length).
ReplySegment rst_for(const ParsedPacket& in) noexcept;

}  // namespace synwall::net
