#include "gen/malformed_writer.hpp"

#include <cstring>
#include <iterator>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace synwall::gen {
namespace {

using M = Malformation;
using S = net::ParseStatus;

struct KindInfo {
    std::string_view name;
    S status;
    bool v4, v6;
};

constexpr KindInfo kInfo[] = {
    {"truncated-l2", S::kTruncatedL2, true, true},
    {"truncated-vlan", S::kTruncatedL2, true, true},
    {"three-vlans", S::kTooManyVlans, true, true},
    {"truncated-ip-header", S::kTruncatedIp, true, true},
    {"ip-length-beyond-frame", S::kTruncatedIp, true, true},
    {"bad-ip-version", S::kBadIpVersion, true, true},
    {"bad-ipv4-ihl", S::kBadIpv4Ihl, true, false},
    {"ipv4-length-below-ihl", S::kBadIpLength, true, false},
    {"bad-ipv4-checksum", S::kBadIpv4Checksum, true, false},
    {"bad-ipv6-ext-header", S::kBadIpv6ExtHeader, false, true},
    {"multicast-destination", S::kBadAddress, true, true},
    {"truncated-tcp", S::kTruncatedTcp, true, true},
    {"bad-tcp-data-offset", S::kBadTcpDataOffset, true, true},
    {"bad-tcp-checksum", S::kBadTcpChecksum, true, true},
    {"fragment", S::kFragment, true, true},
    {"not-tcp", S::kNotTcp, true, true},
    {"not-ip", S::kNotIp, true, true},
};

static_assert(std::size(kInfo) == kMalformations, "one KindInfo per Malformation, in the enum's order");

constexpr size_t kL3 = 14;  // the base frames are untagged

FloodSpec syn_only(FloodSpec s) {
    s.options = OptionSet::kLinux;
    s.weights = {1, 0, 0, 0};
    return s;
}

// Checksums recomputed from an untagged frame's current header fields, so that a change leaves no
// defect but the intended one.
// (The base frames' IPv4 header is 20 bytes, whatever a broken IHL field says.)
void refresh_ipv4_checksum(uint8_t* d) noexcept {
    uint8_t* ip = d + kL3;
    net::store_be16(ip + 10, 0);
    net::store_be16(ip + 10, net::ipv4_header_checksum({ip, 20}));
}

void refresh_checksums(uint8_t* d, bool v4) noexcept {
    uint8_t* ip = d + kL3;
    uint8_t* th = ip + (v4 ? 20 : 40);
    const auto len = static_cast<uint16_t>(v4 ? net::load_be16(ip + 2) - 20 : net::load_be16(ip + 4));
    const uint64_t pseudo = v4 ? net::pseudo_header_v4(ip + 12, ip + 16, len) : net::pseudo_header_v6(ip + 8, ip + 24, len);
    if (v4) refresh_ipv4_checksum(d);
    net::store_be16(th + 16, 0);
    net::store_be16(th + 16, net::checksum_finish(net::checksum_partial({th, len}, pseudo)));
}

}  // namespace

std::string_view to_string(Malformation m) noexcept { return kInfo[static_cast<size_t>(m)].name; }

net::ParseStatus expected_status(Malformation m) noexcept { return kInfo[static_cast<size_t>(m)].status; }

bool applies_to(Malformation m, net::Family f) noexcept {
    const KindInfo& k = kInfo[static_cast<size_t>(m)];
    return f == net::Family::kIpv4 ? k.v4 : k.v6;
}

MalformedWriter::MalformedWriter(const FloodSpec& spec, uint64_t seed)
    : base_(syn_only(spec), seed), family_(spec.src.family), rng_(seed ^ 0x6d616c666f726d65ull) {
    for (size_t k = 0; k < kMalformations; ++k)
        if (applies_to(static_cast<M>(k), family_)) kinds_[nkinds_++] = static_cast<M>(k);
}

uint16_t MalformedWriter::write(uint8_t* out, uint16_t room, Malformation& kind) noexcept {
    kind = kinds_[rng_.next() % nkinds_];
    return write(kind, out, room);
}

uint16_t MalformedWriter::write(Malformation kind, uint8_t* d, uint16_t room) noexcept {
    return write(kind, d, room, rng_.next());
}

uint16_t MalformedWriter::write(Malformation kind, uint8_t* d, uint16_t room, uint64_t variant) noexcept {
    if (room < kMaxMalformedFrame || !applies_to(kind, family_)) return 0;
    FloodKind fk;
    uint16_t len = base_.write(d, room, fk);
    if (len == 0) return 0;
    const bool v4 = family_ == net::Family::kIpv4;
    uint8_t* ip = d + kL3;
    uint8_t* th = ip + (v4 ? 20 : 40);
    const uint64_t r = variant;
    switch (kind) {
    case M::kTruncatedL2:
        return static_cast<uint16_t>(1 + r % 13);
    case M::kTruncatedVlan:
        net::store_be16(d + 12, 0x8100);
        return static_cast<uint16_t>(14 + r % 4);  // the tag's TCI or the next EtherType missing
    case M::kThreeVlans:
        std::memmove(d + 24, d + 12, len - 12u);
        net::store_be16(d + 12, 0x88a8);
        net::store_be16(d + 14, static_cast<uint16_t>(r % 4095 + 1));
        net::store_be16(d + 16, 0x8100);
        net::store_be16(d + 18, static_cast<uint16_t>((r >> 12) % 4095 + 1));
        net::store_be16(d + 20, 0x8100);
        net::store_be16(d + 22, static_cast<uint16_t>((r >> 24) % 4095 + 1));
        return static_cast<uint16_t>(len + 12);
    case M::kTruncatedIpHeader:
        return static_cast<uint16_t>(kL3 + r % (v4 ? 20 : 40));
    case M::kIpLengthBeyond:
        if (v4) {
            net::store_be16(ip + 2, static_cast<uint16_t>(net::load_be16(ip + 2) + 1 + r % 200));
            refresh_ipv4_checksum(d);  // (the TCP checksum would read past the frame)
        } else {
            net::store_be16(ip + 4, static_cast<uint16_t>(net::load_be16(ip + 4) + 1 + r % 200));
        }
        return len;
    case M::kBadIpVersion:
        ip[0] = static_cast<uint8_t>((v4 ? 6 : 4) << 4 | (ip[0] & 0x0f));
        if (v4) refresh_ipv4_checksum(d);
        return len;
    case M::kBadIpv4Ihl:
        ip[0] = static_cast<uint8_t>(0x40 | r % 5);
        refresh_ipv4_checksum(d);
        return len;
    case M::kIpv4LengthBelowIhl:
        net::store_be16(ip + 2, static_cast<uint16_t>(r % 20));
        refresh_ipv4_checksum(d);
        return len;
    case M::kBadIpv4Checksum:
        ip[10 + r % 2] ^= static_cast<uint8_t>(1 + (r >> 8) % 255);
        return len;
    case M::kBadIpv6ExtHeader:
        ip[6] = 60;     // destination options, whose length byte says 201 * 8 bytes
        th[1] = 200;
        return len;
    case M::kBadAddress:
        if (v4) {
            const uint8_t group[4] = {224, 0, 0, static_cast<uint8_t>(1 + r % 254)};
            std::memcpy(ip + 16, group, 4);
        } else {
            const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            std::memcpy(ip + 24, all_nodes, 16);
        }
        refresh_checksums(d, v4);
        return len;
    case M::kTruncatedTcp: {
        const auto k = static_cast<uint16_t>(r % 20);
        if (v4) {
            net::store_be16(ip + 2, static_cast<uint16_t>(20 + k));
            refresh_ipv4_checksum(d);
        } else {
            net::store_be16(ip + 4, k);
        }
        return static_cast<uint16_t>((th - d) + k);
    }
    case M::kBadTcpDataOffset: {
        const uint8_t doff = r % 2 ? static_cast<uint8_t>((r >> 8) % 5) : uint8_t{15};  // < 5, or 60 bytes > the segment
        th[12] = static_cast<uint8_t>(doff << 4 | (th[12] & 0x0f));
        refresh_checksums(d, v4);
        return len;
    }
    case M::kBadTcpChecksum:
        th[16 + r % 2] ^= static_cast<uint8_t>(1 + (r >> 8) % 255);
        return len;
    case M::kFragment:
        if (v4) {
            net::store_be16(ip + 6, r % 2 ? uint16_t{0x2000} : static_cast<uint16_t>(1 + (r >> 8) % 0x1fff));
            refresh_ipv4_checksum(d);
        } else {
            ip[6] = 44;
        }
        return len;
    case M::kNotTcp:
        ip[v4 ? 9 : 6] = 17;
        if (v4) refresh_ipv4_checksum(d);
        return len;
    case M::kNotIp:
        net::store_be16(d + 12, 0x0806);
        return len;
    }
    return 0;
}

}  // namespace synwall::gen
