// Why a frame is not a well-formed TCP segment we could act on. One list gives the enum, the
// counter names and their help text (see handshake/counters.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace synwall::net {

// X(enum, counter name, help)
#define SYNWALL_PARSE_STATUS(X)                                                                  \
    X(kOk, "ParsedTcp", "frames parsed as well-formed TCP")                                       \
    X(kNotIp, "PassNotIp", "frames that are neither IPv4 nor IPv6 (ARP, LLDP, ...)")              \
    X(kNotTcp, "PassNotTcp", "IP packets carrying another protocol")                              \
    X(kFragment, "PassFragment", "IP fragments: never SYN/ACK candidates")                        \
    X(kTruncatedL2, "DropTruncatedL2", "frame shorter than its Ethernet/VLAN headers")            \
    X(kTooManyVlans, "DropTooManyVlans", "more than two VLAN tags")                               \
    X(kTruncatedIp, "DropTruncatedIp", "frame shorter than the IP header or its total length")   \
    X(kBadIpVersion, "DropBadIpVersion", "IP version field disagrees with the EtherType")         \
    X(kBadIpv4Ihl, "DropBadIpv4Ihl", "IPv4 IHL below 5 or beyond the packet")                     \
    X(kBadIpv4Checksum, "DropBadIpv4Checksum", "IPv4 header checksum wrong")                      \
    X(kBadIpLength, "DropBadIpLength", "IP total/payload length inconsistent")                    \
    X(kBadIpv6ExtHeader, "DropBadIpv6ExtHeader", "IPv6 extension header chain truncated")        \
    X(kBadAddress, "DropBadAddress", "multicast, broadcast, unspecified or v4-mapped address, or source = destination")   \
    X(kTruncatedTcp, "DropTruncatedTcp", "segment shorter than the TCP header")                   \
    X(kBadTcpDataOffset, "DropBadTcpDataOffset", "TCP data offset below 5 or beyond the segment")\
    X(kBadTcpChecksum, "DropBadTcpChecksum", "TCP checksum wrong")

enum class ParseStatus : uint8_t {
#define SYNWALL_X(e, name, help) e,
    SYNWALL_PARSE_STATUS(SYNWALL_X)
#undef SYNWALL_X
};

inline constexpr int kParseStatusCount = 0
#define SYNWALL_X(e, name, help) +1
    SYNWALL_PARSE_STATUS(SYNWALL_X)
#undef SYNWALL_X
    ;

std::string_view to_string(ParseStatus s) noexcept;

// Statuses that are not errors: the frame is fine, just not a TCP segment for the handshake.
inline constexpr bool is_pass(ParseStatus s) noexcept {
    return s == ParseStatus::kNotIp || s == ParseStatus::kNotTcp || s == ParseStatus::kFragment;
}

}  // namespace synwall::net
