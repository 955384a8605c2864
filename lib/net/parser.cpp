#include "net/parser.hpp"

#include <cstring>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/packet.hpp"

namespace synwall::net {
namespace {

// EtherTypes kept in network order: compared with the wire's bytes without swapping them.
constexpr Be16 kEtherTypeIpv4 = Be16::from_host(0x0800);
constexpr Be16 kEtherTypeIpv6 = Be16::from_host(0x86dd);
constexpr Be16 kEtherTypeVlan = Be16::from_host(0x8100);
constexpr Be16 kEtherTypeQinQ = Be16::from_host(0x88a8);
constexpr Be16 kEtherTypeQinQOld = Be16::from_host(0x9100);
constexpr size_t kEthHeaderLen = 14;
constexpr size_t kVlanTagLen = 4;
constexpr uint8_t kIpProtoTcp = 6;
constexpr int kMaxIpv6ExtHeaders = 8;

bool bad_ipv4_address(const uint8_t* a) noexcept {
    return a[0] >= 224 /* multicast, reserved, broadcast */ || a[0] == 0 || a[0] == 127;
}

bool bad_ipv6_address(const uint8_t* a) noexcept {
    if (a[0] == 0xff) return true;  // multicast
    bool zero10 = true;
    for (int i = 0; i < 10; ++i) zero10 &= a[i] == 0;
    if (zero10 && a[10] == 0xff && a[11] == 0xff) return true;  // v4-mapped (RFC 4291 §2.5.5.2)
    if (zero10 && a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1)
        return true;  // unspecified or loopback
    return false;
}

}  // namespace

bool parse_tcp_options(std::span<const uint8_t> opt, TcpOptions& out) noexcept {
    if (parse_common_tcp_options(opt.data(), opt.size(), out)) return true;
    size_t i = 0;
    const size_t n = opt.size();
    while (i < n) {
        const uint8_t kind = opt[i];
        if (kind == tcp_opt::kEol) return true;
        if (kind == tcp_opt::kNop) {
            ++i;
            continue;
        }
        if (i + 1 >= n) return false;  // no room for the length byte
        const uint8_t len = opt[i + 1];
        if (len < 2 || i + len > n) return false;
        const uint8_t* v = opt.data() + i + 2;
        switch (kind) {
        case tcp_opt::kMss:
            if (len == 4) {
                out.has_mss = true;
                out.mss = load_be16(v);
            }
            break;
        case tcp_opt::kWscale:
            if (len == 3) {
                out.has_wscale = true;
                out.wscale = v[0] > tcp_opt::kMaxWscale ? tcp_opt::kMaxWscale : v[0];
            }
            break;
        case tcp_opt::kSackPermitted:
            if (len == 2) out.sack_permitted = true;
            break;
        case tcp_opt::kTimestamps:
            if (len == 10) {
                out.has_timestamps = true;
                out.tsval = load_be32(v);
                out.tsecr = load_be32(v + 4);
            }
            break;
        case tcp_opt::kFastOpen:
            out.has_fastopen = true;
            break;
        case tcp_opt::kExperimental:
            if (len >= 4 && load_be16(v) == 0xf989) out.has_fastopen = true;
            break;
        default:
            break;  // unknown: skipped by length
        }
        i += len;
    }
    return true;
}

void parse_into(std::span<const uint8_t> frame, uint16_t rx_flags, const ParseConfig& config,
                ParsedPacket& p) noexcept {
    p.vlan_count = 0;
    p.options = TcpOptions{};
    const uint8_t* d = frame.data();
    const size_t n = frame.size();

    // L2: Ethernet, then up to two VLAN tags (802.1Q, 802.1ad QinQ).
    if (n < kEthHeaderLen) { p.status = ParseStatus::kTruncatedL2; return; }
    size_t off = 12;
    Be16 ethertype = Be16::load(d + off);
    while (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ ||
           ethertype == kEtherTypeQinQOld) {
        if (p.vlan_count == 2) { p.status = ParseStatus::kTooManyVlans; return; }
        // The tag (TPID at `off`, TCI) and the EtherType after it must be in the frame.
        if (off + kVlanTagLen + 2 > n) { p.status = ParseStatus::kTruncatedL2; return; }
        off += kVlanTagLen;
        ++p.vlan_count;
        ethertype = Be16::load(d + off);
    }
    off += 2;
    p.l3_offset = static_cast<uint16_t>(off);

    size_t l4_end;  // end of the IP payload (Ethernet padding excluded)
    uint8_t proto;
    if (ethertype == kEtherTypeIpv4) {
        p.family = Family::kIpv4;
        if (off + 20 > n) { p.status = ParseStatus::kTruncatedIp; return; }
        const uint8_t* ip = d + off;
        if ((ip[0] >> 4) != 4) { p.status = ParseStatus::kBadIpVersion; return; }
        const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
        if (ihl < 20 || off + ihl > n) { p.status = ParseStatus::kBadIpv4Ihl; return; }
        const size_t total = load_be16(ip + 2);
        if (total < ihl) { p.status = ParseStatus::kBadIpLength; return; }
        if (off + total > n) { p.status = ParseStatus::kTruncatedIp; return; }
        if (config.verify_ipv4_checksum && !(rx_flags & kRxIpChecksumGood) &&
            ipv4_header_checksum({ip, ihl}) != 0)
            { p.status = ParseStatus::kBadIpv4Checksum; return; }
        const uint16_t frag = load_be16(ip + 6);
        if ((frag & 0x3fff) != 0) { p.status = ParseStatus::kFragment; return; }  // MF or offset
        p.ip_ecn = ip[1] & 0x03;
        p.ttl = ip[8];
        proto = ip[9];
        p.src_addr = ip + 12;
        p.dst_addr = ip + 16;
        off += ihl;
        l4_end = p.l3_offset + total;
    } else if (ethertype == kEtherTypeIpv6) {
        p.family = Family::kIpv6;
        if (off + 40 > n) { p.status = ParseStatus::kTruncatedIp; return; }
        const uint8_t* ip = d + off;
        if ((ip[0] >> 4) != 6) { p.status = ParseStatus::kBadIpVersion; return; }
        const size_t payload = load_be16(ip + 4);
        if (off + 40 + payload > n) { p.status = ParseStatus::kTruncatedIp; return; }
        p.ip_ecn = static_cast<uint8_t>((load_be16(ip) >> 4) & 0x03);
        p.ttl = ip[7];
        p.src_addr = ip + 8;
        p.dst_addr = ip + 24;
        l4_end = off + 40 + payload;
        proto = ip[6];
        off += 40;
        // Walk hop-by-hop (0), routing (43), destination options (60) and fragment (44) headers.
        for (int i = 0;; ++i) {
            if (proto != 0 && proto != 43 && proto != 60 && proto != 44) break;
            if (i == kMaxIpv6ExtHeaders) { p.status = ParseStatus::kBadIpv6ExtHeader; return; }
            if (off + 8 > l4_end) { p.status = ParseStatus::kBadIpv6ExtHeader; return; }
            if (proto == 44) {
                // A fragment stops the walk (passed), unless it is an atomic fragment (offset 0,
                // M 0): RFC 6946 has it processed as a whole packet, as the kernel's ipv6_frag_rcv.
                if ((load_be16(d + off + 2) & 0xfff9) != 0) { p.status = ParseStatus::kFragment; return; }
                proto = d[off];
                off += 8;
                continue;
            }
            const size_t ext_len = (static_cast<size_t>(d[off + 1]) + 1) * 8;
            if (off + ext_len > l4_end) { p.status = ParseStatus::kBadIpv6ExtHeader; return; }
            proto = d[off];
            off += ext_len;
        }
    } else {
        { p.status = ParseStatus::kNotIp; return; }
    }
    if (proto != kIpProtoTcp) { p.status = ParseStatus::kNotTcp; return; }
    // Martian TCP endpoints are never answered (no SYN-ACK towards a broadcast or multicast), nor is
    // a segment whose source is its destination (a LAND SYN: the kernel drops a local source
    // arriving from outside as a martian).
    if (p.family == Family::kIpv4 ? bad_ipv4_address(p.src_addr) || bad_ipv4_address(p.dst_addr)
                                  : bad_ipv6_address(p.src_addr) || bad_ipv6_address(p.dst_addr))
        { p.status = ParseStatus::kBadAddress; return; }
    if (std::memcmp(p.src_addr, p.dst_addr, p.addr_len()) == 0) { p.status = ParseStatus::kBadAddress; return; }

    // L4: TCP.
    p.l4_offset = static_cast<uint16_t>(off);
    if (off + 20 > l4_end) { p.status = ParseStatus::kTruncatedTcp; return; }
    const uint8_t* th = d + off;
    const size_t doff = static_cast<size_t>(th[12] >> 4) * 4;
    if (doff < 20 || off + doff > l4_end) { p.status = ParseStatus::kBadTcpDataOffset; return; }
    p.tcp_header_len = static_cast<uint16_t>(doff);
    p.payload_len = static_cast<uint16_t>(l4_end - off - doff);
    p.src_port = load_be16(th);
    p.dst_port = load_be16(th + 2);
    p.seq = load_be32(th + 4);
    p.ack = load_be32(th + 8);
    p.tcp_flags = th[13];
    p.window = load_be16(th + 14);
    // A "silly" option (length 0 or 1, or overrunning the header) ends the walk and the options
    // read before it stand, as the kernel's tcp_parse_options: the segment is processed, not dropped.
    (void)parse_tcp_options({th + 20, doff - 20}, p.options);

    if (config.verify_tcp_checksum && !(rx_flags & kRxL4ChecksumGood)) {
        const uint32_t l4_len = static_cast<uint32_t>(l4_end - off);
        uint64_t sum = p.family == Family::kIpv4 ? pseudo_header_v4(p.src_addr, p.dst_addr, l4_len)
                                                 : pseudo_header_v6(p.src_addr, p.dst_addr, l4_len);
        sum = checksum_partial({th, l4_len}, sum);
        if (checksum_fold(sum) != 0xffff) { p.status = ParseStatus::kBadTcpChecksum; return; }
    }
    p.status = ParseStatus::kOk;
}

std::string_view to_string(ParseStatus s) noexcept {
    switch (s) {
#define SYNWALL_X(e, name, help) \
    case ParseStatus::e:         \
        return name;
        SYNWALL_PARSE_STATUS(SYNWALL_X)
#undef SYNWALL_X
    }
    return "?";
}

}  // namespace synwall::net
