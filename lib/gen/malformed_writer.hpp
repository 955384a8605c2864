// The malformed-traffic corpus: frames that are each broken in exactly one way (or, for the "pass"
// kinds, relabelled so that the parser sees no TCP: an IPv4 fragment or IPv6 fragment header, another
// IP protocol, a non-IP EtherType; the bytes behind the label stay the SYN's), made from a valid
// flood SYN so that everything but the defect is right (checksums recomputed after the change). Each kind names the parse
// status synwall must give it, so a replay can check that every frame was counted under the right
// reason and none was answered. Deterministic for a seed; EAL-free. Used by synwall-pcapgen
// (--kind malformed), the unit tests and the fuzzer's seed corpus.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "gen/flood_writer.hpp"
#include "gen/splitmix64.hpp"
#include "net/parse_status.hpp"

namespace synwall::gen {

enum class Malformation : uint8_t {
    kTruncatedL2,         // cut inside the Ethernet header
    kTruncatedVlan,       // a VLAN TPID, then the frame ends
    kThreeVlans,          // three stacked tags
    kTruncatedIpHeader,   // cut inside the IP header
    kIpLengthBeyond,      // IPv4 total / IPv6 payload length past the frame's end
    kBadIpVersion,        // version nibble disagrees with the EtherType
    kBadIpv4Ihl,          // IHL below 5 (IPv4)
    kIpv4LengthBelowIhl,  // total length shorter than the header (IPv4)
    kBadIpv4Checksum,     // header checksum wrong (IPv4)
    kBadIpv6ExtHeader,    // destination-options header longer than the packet (IPv6)
    kBadAddress,          // multicast destination
    kTruncatedTcp,        // IP length leaves fewer than 20 bytes of TCP
    kBadTcpDataOffset,    // data offset below 5, or beyond the segment
    kBadTcpChecksum,      // TCP checksum wrong
    kFragment,            // IPv4 MF/offset, IPv6 fragment header: passed, never answered
    kNotTcp,              // UDP: passed
    kNotIp,               // ARP EtherType: passed
};
inline constexpr size_t kMalformations = 17;
static_assert(static_cast<size_t>(Malformation::kNotIp) + 1 == kMalformations);

// Variants 0 .. kMalformedVariants - 1 of MalformedWriter::write(kind, ..., variant) cover every
// sub-case of every kind (the sub-cases are picked by variant % 2 and variant % 3).
inline constexpr uint64_t kMalformedVariants = 6;

// Longest frame written: a flood SYN plus three VLAN tags.
inline constexpr uint16_t kMaxMalformedFrame = net::kMaxSynFrame + 12;

std::string_view to_string(Malformation m) noexcept;
// The parse status (and so the counter, net::to_string(status)) the frame must get.
net::ParseStatus expected_status(Malformation m) noexcept;
// Whether the kind exists for a family (IHL and header checksum are IPv4's; extension headers IPv6's).
bool applies_to(Malformation m, net::Family f) noexcept;

class MalformedWriter {
public:
    // Frames from spec's sources to spec's target (family of spec.src); options always Linux's,
    // so that option defects have options to break.
    MalformedWriter(const FloodSpec& spec, uint64_t seed);
    // The next frame, of a kind drawn uniformly from those of the family. Returns its length (0 if
    // `room` < kMaxMalformedFrame).
    uint16_t write(uint8_t* out, uint16_t room, Malformation& kind) noexcept;
    // A frame of one given kind (0 if it does not apply to the family or room is too small).
    uint16_t write(Malformation kind, uint8_t* out, uint16_t room) noexcept;
    // The same with the sub-case chosen by `variant` instead of at random (where the cut falls,
    // which option length, a data offset below 5 or past the segment, ...): variants
    // 0 .. kMalformedVariants - 1 cover every sub-case of every kind.
    uint16_t write(Malformation kind, uint8_t* out, uint16_t room, uint64_t variant) noexcept;

private:

    FloodWriter base_;
    net::Family family_;
    Malformation kinds_[kMalformations];
    uint32_t nkinds_ = 0;
    SplitMix64 rng_;
};

}  // namespace synwall::gen
