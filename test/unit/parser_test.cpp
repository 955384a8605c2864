// net::parse: Ethernet [802.1Q | QinQ] / IPv4 | IPv6 [ext headers] / TCP [options].
// Frames come from the independent builder in test/unit/packet_factory; every malformed case is
// produced by editing one field of a valid frame (and repairing the checksums with the reference
// checksum loop so that only the intended defect remains).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "net/byte_order.hpp"
#include "net/packet.hpp"
#include "net/parser.hpp"
#include "packet_factory.hpp"

using namespace synwall::net;

namespace synwall::net {
// gtest prints statuses by name.
void PrintTo(ParseStatus s, std::ostream* os) { *os << to_string(s); }
}  // namespace synwall::net
namespace pf = synwall::testing;
using pf::Fam;
using pf::SegmentSpec;

namespace {

using Bytes = std::vector<uint8_t>;

SegmentSpec base(Fam fam) {
    SegmentSpec s;
    s.fam = fam;
    if (fam == Fam::v4) {
        s.src = pf::v4("192.0.2.1");
        s.dst = pf::v4("198.51.100.7");
    } else {
        s.src = pf::v6("2001:db8::1");
        s.dst = pf::v6("2001:db8:1::7");
    }
    return s;
}

pf::OptionSpec full_options() {
    pf::OptionSpec o;
    o.mss = 1460;
    o.wscale = 7;
    o.sack = true;
    o.ts = true;
    o.tsval = 0x01020304;
    o.tsecr = 0;
    return o;
}

uint16_t get16(const Bytes& f, size_t off) { return static_cast<uint16_t>(f[off] << 8 | f[off + 1]); }
void put16(Bytes& f, size_t off, uint16_t v) {
    f[off] = static_cast<uint8_t>(v >> 8);
    f[off + 1] = static_cast<uint8_t>(v);
}

// Layout of a frame built by build_frame, computed here from the spec.
struct Layout {
    size_t l3 = 0, l4 = 0, doff = 0, l4_end = 0;
    bool v6 = false;
};

Layout layout_of(const SegmentSpec& s) {
    Layout l;
    l.v6 = s.fam == Fam::v6;
    l.l3 = 14 + 4 * s.vlans.size();
    size_t ipl = 20 + (s.ipv4_options.size() + 3) / 4 * 4;
    if (l.v6) {
        ipl = 40;
        for (const auto& e : s.ipv6_ext) ipl += e.type == 44 ? 8 : (e.len_units + 1u) * 8;
    }
    l.l4 = l.l3 + ipl;
    l.doff = 20 + (s.tcp_options.size() + 3) / 4 * 4;
    l.l4_end = l.l4 + l.doff + s.payload.size();
    return l;
}

// Pseudo-header sum computed here (not with lib/net).
uint32_t pseudo(const Bytes& f, size_t l3, bool v6, size_t tcp_len) {
    uint32_t sum = 0;
    const size_t a = v6 ? l3 + 8 : l3 + 12, n = v6 ? 32 : 8;
    for (size_t i = 0; i < n; i += 2) sum += get16(f, a + i);
    return sum + 6 + static_cast<uint32_t>(tcp_len);
}

void fix_ipv4_checksum(Bytes& f, size_t l3) {
    const size_t ihl = (f[l3] & 15u) * 4;
    put16(f, l3 + 10, 0);
    put16(f, l3 + 10, pf::ref_checksum(f.data() + l3, ihl));
}

// Recompute the TCP checksum over [l4, l4_end).
void fix_tcp_checksum(Bytes& f, size_t l3, bool v6, size_t l4, size_t l4_end) {
    put16(f, l4 + 16, 0);
    put16(f, l4 + 16, pf::ref_checksum(f.data() + l4, l4_end - l4, pseudo(f, l3, v6, l4_end - l4)));
}

// Replace the TCP options of an existing IPv4 frame's spec and rebuild (checksums valid).
Bytes with_options(Fam fam, const Bytes& opts, const Bytes& payload = {}) {
    auto s = base(fam);
    s.tcp_options = opts;
    s.payload = payload;
    return pf::build_frame(s);
}

// Copy into a heap block of exactly the frame's size, so that ASan sees any read past its end
// (a std::vector may have spare capacity behind its last element).
struct ExactBuffer {
    std::unique_ptr<uint8_t[]> mem;
    size_t n;
    ExactBuffer(const uint8_t* p, size_t len) : mem(new uint8_t[len == 0 ? 1 : len]), n(len) {
        if (len) std::memcpy(mem.get(), p, len);
    }
    std::span<const uint8_t> span() const { return {mem.get(), n}; }
};

ParseStatus status_of(const Bytes& f, uint16_t rx = 0, const ParseConfig& c = {}) {
    const ExactBuffer b(f.data(), f.size());
    return parse(b.span(), rx, c).status;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Valid frames
// ---------------------------------------------------------------------------------------------

TEST(Parser, Ipv4SynAllFields) {
    auto s = base(Fam::v4);
    s.sport = 51234;
    s.dport = 443;
    s.seq = 0xfedcba98;
    s.ack = 0x11223344;
    s.flags = tcp_flag::kSyn | tcp_flag::kEce | tcp_flag::kCwr;
    s.window = 29200;
    s.ttl = 57;
    s.ecn = 2;
    s.tcp_options = pf::tcp_options(full_options());
    const auto f = pf::build_frame(s);
    const auto p = parse(f);
    ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status);
    EXPECT_TRUE(p.ok());
    EXPECT_EQ(p.family, Family::kIpv4);
    EXPECT_EQ(p.vlan_count, 0);
    EXPECT_EQ(p.l3_offset, 14);
    EXPECT_EQ(p.l4_offset, 34);
    EXPECT_EQ(p.tcp_header_len, 40);
    EXPECT_EQ(p.payload_len, 0);
    EXPECT_EQ(p.src_port, 51234);
    EXPECT_EQ(p.dst_port, 443);
    EXPECT_EQ(p.seq, 0xfedcba98u);
    EXPECT_EQ(p.ack, 0x11223344u);
    EXPECT_EQ(p.tcp_flags, tcp_flag::kSyn | tcp_flag::kEce | tcp_flag::kCwr);
    EXPECT_TRUE(p.has(tcp_flag::kSyn));
    EXPECT_FALSE(p.has(tcp_flag::kAck));
    EXPECT_EQ(p.window, 29200);
    EXPECT_EQ(p.ttl, 57);
    EXPECT_EQ(p.ip_ecn, 2);
    EXPECT_EQ(p.addr_len(), 4);
    EXPECT_EQ(p.src_addr, f.data() + 26);
    EXPECT_EQ(p.dst_addr, f.data() + 30);
    EXPECT_EQ(0, std::memcmp(p.src_addr, s.src.data(), 4));
    EXPECT_EQ(0, std::memcmp(p.dst_addr, s.dst.data(), 4));
    EXPECT_TRUE(p.options.has_mss);
    EXPECT_EQ(p.options.mss, 1460);
    EXPECT_TRUE(p.options.has_wscale);
    EXPECT_EQ(p.options.wscale, 7);
    EXPECT_TRUE(p.options.sack_permitted);
    EXPECT_TRUE(p.options.has_timestamps);
    EXPECT_EQ(p.options.tsval, 0x01020304u);
    EXPECT_EQ(p.options.tsecr, 0u);
    EXPECT_FALSE(p.options.has_fastopen);
}

TEST(Parser, Ipv6SynAllFields) {
    auto s = base(Fam::v6);
    s.seq = 7;
    s.flags = tcp_flag::kSyn;
    s.ttl = 255;
    s.ecn = 3;
    s.tcp_options = pf::tcp_options(full_options());
    s.payload = {9, 8, 7};
    const auto f = pf::build_frame(s);
    const auto p = parse(f);
    ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status);
    EXPECT_EQ(p.family, Family::kIpv6);
    EXPECT_EQ(p.l3_offset, 14);
    EXPECT_EQ(p.l4_offset, 54);
    EXPECT_EQ(p.tcp_header_len, 40);
    EXPECT_EQ(p.payload_len, 3);
    EXPECT_EQ(p.ttl, 255);
    EXPECT_EQ(p.ip_ecn, 3);
    EXPECT_EQ(p.seq, 7u);
    EXPECT_EQ(p.addr_len(), 16);
    EXPECT_EQ(p.src_addr, f.data() + 22);
    EXPECT_EQ(p.dst_addr, f.data() + 38);
    EXPECT_EQ(0, std::memcmp(p.src_addr, s.src.data(), 16));
    EXPECT_EQ(0, std::memcmp(p.dst_addr, s.dst.data(), 16));
    EXPECT_EQ(p.options.mss, 1460);
    EXPECT_EQ(p.options.wscale, 7);
    EXPECT_TRUE(p.options.has_timestamps);
}

TEST(Parser, NoOptionsAckWithPayload) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.flags = tcp_flag::kAck | tcp_flag::kPsh;
        s.ack = 0xffffffff;
        s.payload.assign(1001, 0x5a);
        const auto f = pf::build_frame(s);
        const auto p = parse(f);
        ASSERT_EQ(p.status, ParseStatus::kOk);
        EXPECT_EQ(p.tcp_header_len, 20);
        EXPECT_EQ(p.payload_len, 1001);
        EXPECT_EQ(p.ack, 0xffffffffu);
        EXPECT_FALSE(p.options.has_mss);
        EXPECT_FALSE(p.options.has_wscale);
        EXPECT_FALSE(p.options.sack_permitted);
        EXPECT_FALSE(p.options.has_timestamps);
        EXPECT_FALSE(p.options.has_fastopen);
    }
}

class ParserVlan : public ::testing::TestWithParam<std::tuple<Fam, int>> {};

TEST_P(ParserVlan, TagsCountedAndSkipped) {
    const auto [fam, tags] = GetParam();
    auto s = base(fam);
    for (int i = 0; i < tags; ++i) s.vlans.push_back(static_cast<uint16_t>(100 + i));
    s.tcp_options = pf::tcp_options(full_options());
    const auto f = pf::build_frame(s);
    const auto p = parse(f);
    ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status);
    EXPECT_EQ(p.vlan_count, tags);
    EXPECT_EQ(p.l3_offset, 14 + 4 * tags);
    EXPECT_EQ(p.l4_offset, 14 + 4 * tags + (fam == Fam::v4 ? 20 : 40));
    EXPECT_EQ(p.family, fam == Fam::v4 ? Family::kIpv4 : Family::kIpv6);
    EXPECT_EQ(p.options.mss, 1460);
}

INSTANTIATE_TEST_SUITE_P(All, ParserVlan,
                         ::testing::Combine(::testing::Values(Fam::v4, Fam::v6),
                                            ::testing::Values(0, 1, 2)));

TEST(Parser, QinQWith9100OuterTpid) {
    auto s = base(Fam::v4);
    s.vlans = {10, 20};
    auto f = pf::build_frame(s);
    ASSERT_EQ(get16(f, 12), 0x88a8);
    put16(f, 12, 0x9100);
    const auto p = parse(f);
    ASSERT_EQ(p.status, ParseStatus::kOk);
    EXPECT_EQ(p.vlan_count, 2);
    EXPECT_EQ(p.l3_offset, 22);
    // Two 802.1Q tags (no 802.1ad) are accepted as well.
    put16(f, 12, 0x8100);
    EXPECT_EQ(parse(f).vlan_count, 2);
    EXPECT_EQ(parse(f).status, ParseStatus::kOk);
}

TEST(Parser, ThreeVlanTagsRejected) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.vlans = {1, 2, 3};
        auto f = pf::build_frame(s);
        EXPECT_EQ(status_of(f), ParseStatus::kTooManyVlans);
        put16(f, 12, 0x88a8);
        EXPECT_EQ(status_of(f), ParseStatus::kTooManyVlans);
        put16(f, 16, 0x9100);
        EXPECT_EQ(status_of(f), ParseStatus::kTooManyVlans);
    }
}

TEST(Parser, Ipv4OptionsSkipped) {
    for (size_t optlen : {4u, 8u, 12u, 40u}) {
        auto s = base(Fam::v4);
        s.ipv4_options.assign(optlen, 1);  // NOPs
        s.ipv4_options[0] = 7;             // record route header, content irrelevant to us
        s.ipv4_options[1] = static_cast<uint8_t>(optlen);
        s.ipv4_options[2] = 4;
        s.tcp_options = pf::tcp_options(full_options());
        s.payload = {1, 2, 3, 4, 5};
        const auto f = pf::build_frame(s);
        const auto p = parse(f);
        ASSERT_EQ(p.status, ParseStatus::kOk) << optlen;
        EXPECT_EQ(p.l4_offset, 34 + optlen);
        EXPECT_EQ(p.tcp_header_len, 40);
        EXPECT_EQ(p.payload_len, 5);
        EXPECT_EQ(p.src_port, s.sport);
        EXPECT_EQ(p.options.mss, 1460);
        EXPECT_EQ(p.src_addr, f.data() + 26);
    }
}

TEST(Parser, Ipv6ExtensionHeadersWalked) {
    const std::vector<std::vector<pf::Ipv6Ext>> chains = {
        {{0, 0}},
        {{43, 0}},
        {{60, 0}},
        {{0, 1}, {43, 2}, {60, 0}},
        {{0, 0}, {60, 3}},
        {{60, 0}, {43, 0}, {60, 1}},
    };
    for (const auto& chain : chains) {
        for (int tags : {0, 2}) {
            auto s = base(Fam::v6);
            s.ipv6_ext = chain;
            for (int i = 0; i < tags; ++i) s.vlans.push_back(7);
            s.tcp_options = pf::tcp_options(full_options());
            s.payload = {1, 2, 3};
            const auto f = pf::build_frame(s);
            const auto l = layout_of(s);
            const auto p = parse(f);
            ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status) << " chain of " << chain.size();
            EXPECT_EQ(p.l4_offset, l.l4);
            EXPECT_EQ(p.tcp_header_len, 40);
            EXPECT_EQ(p.payload_len, 3);
            EXPECT_EQ(p.src_port, s.sport);
            EXPECT_EQ(p.dst_port, s.dport);
            EXPECT_EQ(p.options.tsval, 0x01020304u);
            EXPECT_EQ(p.src_addr, f.data() + l.l3 + 8);
        }
    }
}

TEST(Parser, Ipv6ExtensionChainLengthLimit) {
    // Eight extension headers are walked; a ninth is rejected as a bad chain.
    auto s = base(Fam::v6);
    for (int i = 0; i < 8; ++i) s.ipv6_ext.push_back({static_cast<uint8_t>(i % 2 ? 60 : 43), 0});
    auto p = parse(pf::build_frame(s));
    ASSERT_EQ(p.status, ParseStatus::kOk);
    EXPECT_EQ(p.l4_offset, 14 + 40 + 64);
    s.ipv6_ext.push_back({60, 0});
    EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadIpv6ExtHeader);
    // A long chain ending in a fragment header: still too long (the limit is hit first).
    s.ipv6_ext.push_back({44, 0});
    EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadIpv6ExtHeader);
}

TEST(Parser, SourceEqualToDestinationIsAMartian) {
    // A LAND segment (source address = destination address), IPv4 and IPv6: dropped as a bad
    // address, whatever the ports; one address apart parses.
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.src = s.dst;
        EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadAddress);
        s.sport = s.dport;
        EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadAddress);
        s.src[fam == Fam::v4 ? 3 : 15] ^= 1;
        EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kOk);
    }
}

TEST(Parser, Ipv4Fragments) {
    struct Case {
        uint16_t frag;
        ParseStatus want;
    };
    const Case cases[] = {
        {0x0000, ParseStatus::kOk},       {0x4000, ParseStatus::kOk},  // DF
        {0x2000, ParseStatus::kFragment},                              // MF, first fragment
        {0x6000, ParseStatus::kFragment},                              // DF|MF (odd, still MF)
        {0x0001, ParseStatus::kFragment},                              // offset 8
        {0x2001, ParseStatus::kFragment},  {0x1fff, ParseStatus::kFragment},
        {0x4001, ParseStatus::kFragment},
    };
    for (const auto& c : cases) {
        auto s = base(Fam::v4);
        s.ipv4_frag = c.frag;
        EXPECT_EQ(status_of(pf::build_frame(s)), c.want) << std::hex << c.frag;
    }
}

TEST(Parser, Ipv6FragmentHeader) {
    // A real fragment (M set, or an offset) is passed; an atomic fragment (offset 0, M 0) is a
    // whole packet (RFC 6946): parsed through, TCP after the fragment header.
    for (uint16_t frag : {uint16_t{1}, uint16_t{8 << 3}, uint16_t{(8 << 3) | 1}, uint16_t{0xfff8}, uint16_t{0}}) {
        for (const auto& chain : std::vector<std::vector<pf::Ipv6Ext>>{
                 {{44, 0}}, {{0, 0}, {44, 0}}, {{0, 0}, {60, 0}, {44, 0}}, {{43, 1}, {44, 0}}, {{44, 0}, {60, 0}}}) {
            auto s = base(Fam::v6);
            s.ipv6_ext = chain;
            size_t ext_bytes = 0;
            for (auto& e : s.ipv6_ext) {
                if (e.type == 44) e.frag = frag;
                ext_bytes += e.type == 44 ? 8 : (e.len_units + 1u) * 8;
            }
            const auto p = parse(pf::build_frame(s));
            SCOPED_TRACE(::testing::Message() << "frag field " << frag << ", chain of " << chain.size());
            if (frag) {
                EXPECT_EQ(p.status, ParseStatus::kFragment);
            } else {
                ASSERT_EQ(p.status, ParseStatus::kOk);
                EXPECT_EQ(p.l4_offset, 14 + 40 + ext_bytes);
                EXPECT_EQ(p.dst_port, s.dport);
            }
        }
    }
    // The reserved bits between offset and M do not make a fragment.
    auto s = base(Fam::v6);
    s.ipv6_ext = {{44, 0, 6}};
    EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kOk);
}

TEST(Parser, NonIpFramesPass) {
    // ARP request, padded to the Ethernet minimum.
    Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
                 0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 192, 0, 2, 1,
                 0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
    arp.resize(60, 0);
    auto p = parse(arp);
    EXPECT_EQ(p.status, ParseStatus::kNotIp);
    EXPECT_TRUE(is_pass(p.status));
    EXPECT_EQ(p.vlan_count, 0);
    // The same ARP inside a VLAN tag.
    Bytes tagged(arp.begin(), arp.begin() + 12);
    tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x05});
    tagged.insert(tagged.end(), arp.begin() + 12, arp.end());
    p = parse(tagged);
    EXPECT_EQ(p.status, ParseStatus::kNotIp);
    EXPECT_EQ(p.vlan_count, 1);
    // LLDP, and an 802.3 length field instead of an EtherType.
    for (uint16_t et : {uint16_t{0x88cc}, uint16_t{0x0026}, uint16_t{0x0000}, uint16_t{0xffff}}) {
        Bytes f = arp;
        put16(f, 12, et);
        EXPECT_EQ(status_of(f), ParseStatus::kNotIp) << et;
    }
    // A minimal 14-byte frame that is not IP.
    Bytes hdr(arp.begin(), arp.begin() + 14);
    EXPECT_EQ(status_of(hdr), ParseStatus::kNotIp);
}

TEST(Parser, NonTcpProtocolsPass) {
    for (uint8_t proto : {uint8_t{17}, uint8_t{1}, uint8_t{132}, uint8_t{0}}) {
        auto f = pf::build_frame(base(Fam::v4));
        f[14 + 9] = proto;
        fix_ipv4_checksum(f, 14);
        const auto p = parse(f);
        EXPECT_EQ(p.status, ParseStatus::kNotTcp) << int(proto);
        EXPECT_TRUE(is_pass(p.status));
    }
    for (uint8_t nh : {uint8_t{17}, uint8_t{58}, uint8_t{59}, uint8_t{50}}) {
        auto f = pf::build_frame(base(Fam::v6));
        f[14 + 6] = nh;
        EXPECT_EQ(status_of(f), ParseStatus::kNotTcp) << int(nh);
    }
    // UDP after a hop-by-hop header and a destination-options header.
    auto s = base(Fam::v6);
    s.ipv6_ext = {{0, 0}, {60, 0}};
    auto f = pf::build_frame(s);
    ASSERT_EQ(f[14 + 40 + 8], 6);  // next header of the second extension
    f[14 + 40 + 8] = 17;
    EXPECT_EQ(status_of(f), ParseStatus::kNotTcp);
}

// ---------------------------------------------------------------------------------------------
// TCP options
// ---------------------------------------------------------------------------------------------

TEST(Parser, WindowScaleClampedTo14) {
    for (int ws : {0, 1, 13, 14, 15, 16, 100, 255}) {
        pf::OptionSpec o;
        o.wscale = ws;
        const auto p = parse(with_options(Fam::v4, pf::tcp_options(o)));
        ASSERT_EQ(p.status, ParseStatus::kOk);
        EXPECT_TRUE(p.options.has_wscale);
        EXPECT_EQ(p.options.wscale, std::min(ws, 14)) << ws;
    }
}

TEST(Parser, OptionsIndividually) {
    {
        pf::OptionSpec o;
        o.mss = 536;
        const auto p = parse(with_options(Fam::v6, pf::tcp_options(o)));
        ASSERT_TRUE(p.ok());
        EXPECT_TRUE(p.options.has_mss);
        EXPECT_EQ(p.options.mss, 536);
        EXPECT_FALSE(p.options.has_wscale);
        EXPECT_FALSE(p.options.sack_permitted);
        EXPECT_FALSE(p.options.has_timestamps);
    }
    {
        pf::OptionSpec o;
        o.mss = 0xffff;
        EXPECT_EQ(parse(with_options(Fam::v4, pf::tcp_options(o))).options.mss, 0xffff);
    }
    {
        pf::OptionSpec o;
        o.sack = true;
        const auto p = parse(with_options(Fam::v4, pf::tcp_options(o)));
        ASSERT_TRUE(p.ok());
        EXPECT_TRUE(p.options.sack_permitted);
        EXPECT_FALSE(p.options.has_mss);
    }
    {
        pf::OptionSpec o;
        o.ts = true;
        o.tsval = 0xffffffff;
        o.tsecr = 0x80000001;
        const auto p = parse(with_options(Fam::v4, pf::tcp_options(o)));
        ASSERT_TRUE(p.ok());
        EXPECT_TRUE(p.options.has_timestamps);
        EXPECT_EQ(p.options.tsval, 0xffffffffu);
        EXPECT_EQ(p.options.tsecr, 0x80000001u);
    }
    {
        pf::OptionSpec o;
        o.tfo = true;  // kind 34, length 2: cookie request
        const auto p = parse(with_options(Fam::v4, pf::tcp_options(o)));
        ASSERT_TRUE(p.ok());
        EXPECT_TRUE(p.options.has_fastopen);
    }
}

TEST(Parser, FastOpenForms) {
    struct Case {
        Bytes opts;
        bool fastopen;
    };
    const Case cases[] = {
        {{34, 2, 1, 1}, true},                                  // cookie request
        {{34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1}, true},         // 8-byte cookie
        {{254, 4, 0xf9, 0x89}, true},                           // experimental, request
        {{254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8}, true},  // experimental with cookie
        {{254, 4, 0x89, 0xf9}, false},                          // other magic (byte-swapped)
        {{254, 4, 0x12, 0x34}, false},                          // another experiment
        {{254, 2, 1, 1}, false},                                // too short for a magic
        {{254, 3, 0xf9, 1}, false},                             // too short for a magic
        {{253, 4, 0xf9, 0x89}, false},                          // kind 253 is not TFO
    };
    for (const auto& c : cases) {
        const auto p = parse(with_options(Fam::v4, c.opts));
        ASSERT_EQ(p.status, ParseStatus::kOk) << int(c.opts[0]) << "/" << int(c.opts[1]);
        EXPECT_EQ(p.options.has_fastopen, c.fastopen) << int(c.opts[0]) << "/" << int(c.opts[1]);
    }
}

TEST(Parser, UnknownOptionsSkippedByLength) {
    // MD5 (19, len 18), MPTCP (30, len 12), kind 99 len 2 and SACK blocks (5, len 10), then MSS.
    Bytes o = {19, 18};
    for (int i = 0; i < 16; ++i) o.push_back(2);  // bytes that would look like MSS if misread
    o.insert(o.end(), {30, 12, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3});
    o.insert(o.end(), {99, 2});
    o.insert(o.end(), {2, 4, 0x05, 0xb4});
    ASSERT_EQ(o.size(), 36u);
    const auto p = parse(with_options(Fam::v4, o));
    ASSERT_EQ(p.status, ParseStatus::kOk);
    EXPECT_EQ(p.tcp_header_len, 56);
    EXPECT_TRUE(p.options.has_mss);
    EXPECT_EQ(p.options.mss, 1460);
    EXPECT_FALSE(p.options.has_wscale);  // the 3s inside MPTCP were skipped
    EXPECT_FALSE(p.options.has_fastopen);
}

TEST(Parser, KnownOptionsWithWrongLengthIgnored) {
    // Like Linux: a known kind with an unexpected length is skipped, not an error.
    const Bytes o = {2, 6, 0x05, 0xb4, 0, 0,       // MSS len 6
                     3, 4, 7, 0,                   // WS len 4
                     4, 3, 0,                      // SACK-permitted len 3
                     8, 8, 1, 2, 3, 4, 5, 6,       // TS len 8
                     1, 1, 1,                      // NOPs
                     2, 4, 0x02, 0x18};            // a correct MSS last
    ASSERT_EQ(o.size() % 4, 0u);
    const auto p = parse(with_options(Fam::v6, o));
    ASSERT_EQ(p.status, ParseStatus::kOk);
    EXPECT_TRUE(p.options.has_mss);
    EXPECT_EQ(p.options.mss, 536);
    EXPECT_FALSE(p.options.has_wscale);
    EXPECT_FALSE(p.options.sack_permitted);
    EXPECT_FALSE(p.options.has_timestamps);
}

TEST(Parser, EndOfOptionListStopsParsing) {
    // After EOL the rest is padding: even bytes that would be malformed options are ignored.
    const Bytes o = {2, 4, 0x05, 0xb4, 0, 3, 0, 8, 1, 1, 1, 1};
    const auto p = parse(with_options(Fam::v4, o));
    ASSERT_EQ(p.status, ParseStatus::kOk);
    EXPECT_EQ(p.options.mss, 1460);
    EXPECT_FALSE(p.options.has_wscale);
}

TEST(Parser, ASillyOptionEndsTheOptionsAndTheSegmentStands) {
    const std::vector<Bytes> bad = {
        {2, 0, 0x05, 0xb4},                    // length 0
        {1, 1, 2, 0},                          // length 0 at the end
        {3, 1, 7, 1},                          // length 1
        {99, 1, 1, 1},                         // length 1, unknown kind
        {1, 1, 8, 10},                         // TS overrunning the header
        {1, 2, 4, 5},                          // MSS overrunning by one byte
        {2, 4, 5, 0xb4, 30, 9, 1, 1},          // unknown option overrunning
        {1, 1, 1, 2},                          // kind with no room for its length byte
        {2, 4, 5, 0xb4, 1, 1, 1, 34},          // TFO kind without length byte
        {254, 0xff, 0xf9, 0x89},               // experimental overrunning
    };
    // As the kernel's tcp_parse_options: an option of length 0 or 1, or one overrunning the header,
    // stops the walk; what was read before it stands and the segment is processed.
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (const auto& o : bad) {
            ASSERT_EQ(o.size() % 4, 0u);
            SCOPED_TRACE(::testing::Message() << int(o[0]) << " " << int(o[1]) << " " << int(o[2]) << " " << int(o[3]));
            const auto f = with_options(fam, o);
            const auto p = parse(f);
            EXPECT_EQ(p.status, ParseStatus::kOk);
            const bool mss_first = o[0] == 2 && o[1] == 4;
            EXPECT_EQ(p.options.has_mss, mss_first);
            if (mss_first) {
                EXPECT_EQ(p.options.mss, 1460);
            }
            EXPECT_FALSE(p.options.has_timestamps) << "nothing after (or of) the silly option";
            EXPECT_FALSE(p.options.has_fastopen);
            EXPECT_EQ(status_of(f, kRxIpChecksumGood | kRxL4ChecksumGood), ParseStatus::kOk);
        }
    }
    // Boundaries that are fine: options exactly filling the header.
    for (const Bytes& ok : std::vector<Bytes>{{1, 1, 4, 2}, {2, 4, 5, 0xb4}, {1, 1, 1, 1}, {0, 0, 0, 0}}) {
        EXPECT_EQ(status_of(with_options(Fam::v4, ok)), ParseStatus::kOk) << int(ok[2]);
    }
}

TEST(Parser, ParseTcpOptionsDirect) {
    TcpOptions o;
    EXPECT_TRUE(parse_tcp_options({}, o));
    EXPECT_FALSE(o.has_mss);

    const uint8_t good[] = {2, 4, 0x23, 0x28, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 15};
    o = {};
    ASSERT_TRUE(parse_tcp_options(good, o));
    EXPECT_EQ(o.mss, 9000);
    EXPECT_TRUE(o.sack_permitted);
    EXPECT_EQ(o.tsval, 1u);
    EXPECT_EQ(o.tsecr, 2u);
    EXPECT_EQ(o.wscale, 14);

    // On failure `out` holds what was parsed before the bad option.
    const uint8_t bad[] = {2, 4, 0x05, 0xb4, 3, 3, 9, 4, 0};
    o = {};
    EXPECT_FALSE(parse_tcp_options(bad, o));
    EXPECT_TRUE(o.has_mss);
    EXPECT_EQ(o.mss, 1460);
    EXPECT_TRUE(o.has_wscale);
    EXPECT_EQ(o.wscale, 9);

    // Odd-length spans (the function is usable outside a header too).
    const uint8_t odd[] = {1, 4, 2};
    o = {};
    EXPECT_TRUE(parse_tcp_options(odd, o));
    EXPECT_TRUE(o.sack_permitted);
    const uint8_t lone_kind[] = {3};
    EXPECT_FALSE(parse_tcp_options(lone_kind, o));
    const uint8_t lone_nop[] = {1};
    EXPECT_TRUE(parse_tcp_options(lone_nop, o));
}

TEST(Parser, OptionFastPathsAgreeWithGenericWalk) {
    // Linux's SYN layout (MSS, SACK-permitted, TS, NOP, WS) and ACK layout (NOP NOP TS) may be
    // recognised by a shortcut. Four leading NOPs change nothing semantically but defeat any
    // length-keyed shortcut, so both must give identical results, for the layouts and for every
    // single-byte variation of them.
    const Bytes syn = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7};
    const Bytes ack = {1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
    auto same = [](const Bytes& o) {
        Bytes padded = {1, 1, 1, 1};
        padded.insert(padded.end(), o.begin(), o.end());
        TcpOptions a, b;
        const bool ra = parse_tcp_options(o, a);
        const bool rb = parse_tcp_options(padded, b);
        ASSERT_EQ(ra, rb);
        EXPECT_EQ(a.has_mss, b.has_mss);
        EXPECT_EQ(a.mss, b.mss);
        EXPECT_EQ(a.has_wscale, b.has_wscale);
        EXPECT_EQ(a.wscale, b.wscale);
        EXPECT_EQ(a.sack_permitted, b.sack_permitted);
        EXPECT_EQ(a.has_timestamps, b.has_timestamps);
        EXPECT_EQ(a.tsval, b.tsval);
        EXPECT_EQ(a.tsecr, b.tsecr);
        EXPECT_EQ(a.has_fastopen, b.has_fastopen);
    };
    {
        TcpOptions o;
        ASSERT_TRUE(parse_tcp_options(syn, o));
        EXPECT_EQ(o.mss, 1460);
        EXPECT_TRUE(o.sack_permitted);
        EXPECT_EQ(o.tsval, 0x1234u);
        EXPECT_EQ(o.wscale, 7);
        o = {};
        ASSERT_TRUE(parse_tcp_options(ack, o));
        EXPECT_FALSE(o.has_mss);
        EXPECT_EQ(o.tsval, 0xdeadbeefu);
        EXPECT_EQ(o.tsecr, 0x01020304u);
    }
    for (const Bytes* layout : {&syn, &ack}) {
        SCOPED_TRACE(layout == &syn ? "syn layout" : "ack layout");
        same(*layout);
        for (size_t i = 0; i < layout->size(); ++i) {
            for (int v : {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 14, 15, 34, 254, 255}) {
                Bytes o = *layout;
                o[i] = static_cast<uint8_t>(v);
                SCOPED_TRACE(::testing::Message() << "byte " << i << " = " << v);
                same(o);
                if (::testing::Test::HasFatalFailure()) return;
            }
        }
    }
    // Window scale above 14 is clamped on the shortcut too.
    Bytes big_ws = syn;
    big_ws[19] = 200;
    TcpOptions o;
    ASSERT_TRUE(parse_tcp_options(big_ws, o));
    EXPECT_EQ(o.wscale, 14);
}

TEST(Parser, ParseIntoReusedResultMatchesFreshParse) {
    // The worker reuses one ParsedPacket for a whole burst: nothing may leak from the previous
    // frame into the next one.
    std::vector<Bytes> frames;
    {
        auto s = base(Fam::v6);
        s.vlans = {1, 2};
        s.ipv6_ext = {{0, 0}};
        s.tcp_options = pf::tcp_options(full_options());
        s.tcp_options.insert(s.tcp_options.end(), {34, 2, 1, 1});  // + TFO
        s.payload = {1, 2, 3};
        s.ecn = 3;
        frames.push_back(pf::build_frame(s));
    }
    {
        auto s = base(Fam::v4);
        s.flags = tcp_flag::kAck;
        frames.push_back(pf::build_frame(s));  // no options at all
    }
    {
        auto s = base(Fam::v4);
        s.corrupt_tcp_checksum = true;
        frames.push_back(pf::build_frame(s));
    }
    {
        auto s = base(Fam::v6);
        s.tcp_options = {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8};
        frames.push_back(pf::build_frame(s));
    }
    frames.push_back(Bytes(10, 0));
    auto eq = [](const ParsedPacket& a, const ParsedPacket& b) {
        ASSERT_EQ(a.status, b.status);
        if (!a.ok()) return;
        EXPECT_EQ(a.family, b.family);
        EXPECT_EQ(a.vlan_count, b.vlan_count);
        EXPECT_EQ(a.tcp_flags, b.tcp_flags);
        EXPECT_EQ(a.ttl, b.ttl);
        EXPECT_EQ(a.ip_ecn, b.ip_ecn);
        EXPECT_EQ(a.l3_offset, b.l3_offset);
        EXPECT_EQ(a.l4_offset, b.l4_offset);
        EXPECT_EQ(a.tcp_header_len, b.tcp_header_len);
        EXPECT_EQ(a.payload_len, b.payload_len);
        EXPECT_EQ(a.src_port, b.src_port);
        EXPECT_EQ(a.dst_port, b.dst_port);
        EXPECT_EQ(a.window, b.window);
        EXPECT_EQ(a.seq, b.seq);
        EXPECT_EQ(a.ack, b.ack);
        EXPECT_EQ(a.src_addr, b.src_addr);
        EXPECT_EQ(a.dst_addr, b.dst_addr);
        EXPECT_EQ(a.options.has_mss, b.options.has_mss);
        EXPECT_EQ(a.options.mss, b.options.mss);
        EXPECT_EQ(a.options.has_wscale, b.options.has_wscale);
        EXPECT_EQ(a.options.wscale, b.options.wscale);
        EXPECT_EQ(a.options.sack_permitted, b.options.sack_permitted);
        EXPECT_EQ(a.options.has_timestamps, b.options.has_timestamps);
        EXPECT_EQ(a.options.tsval, b.options.tsval);
        EXPECT_EQ(a.options.tsecr, b.options.tsecr);
        EXPECT_EQ(a.options.has_fastopen, b.options.has_fastopen);
    };
    ParsedPacket reused;
    for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < frames.size(); ++i) {
            // Every ordering of consecutive pairs occurs across the rounds.
            const auto& f = frames[(i * (round + 1)) % frames.size()];
            parse_into(f, 0, ParseConfig{}, reused);
            const auto fresh = parse(f);
            SCOPED_TRACE(::testing::Message() << "round " << round << " frame " << i);
            eq(reused, fresh);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Padding
// ---------------------------------------------------------------------------------------------

TEST(Parser, EthernetPaddingExcludedFromPayload) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        // Zero padding up to the 60-byte minimum (the v4 SYN is 54 bytes).
        auto s = base(fam);
        s.pad_to = 60;
        auto f = pf::build_frame(s);
        auto p = parse(f);
        ASSERT_EQ(p.status, ParseStatus::kOk);
        EXPECT_EQ(p.payload_len, 0);

        // Non-zero padding after an odd-length payload: must be excluded from payload_len and
        // from the checksum (including it would change the sum).
        s.pad_to = 0;
        s.payload = {0x11, 0x22, 0x33};
        f = pf::build_frame(s);
        f.insert(f.end(), {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01});
        p = parse(f);
        ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status);
        EXPECT_EQ(p.payload_len, 3);
        EXPECT_EQ(p.tcp_header_len, 20);
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed L2 / L3
// ---------------------------------------------------------------------------------------------

TEST(Parser, TruncatedL2) {
    const auto f = pf::build_frame(base(Fam::v4));
    for (size_t k = 0; k < 14; ++k) {
        ExactBuffer b(f.data(), k);
        EXPECT_EQ(parse(b.span()).status, ParseStatus::kTruncatedL2) << k;
    }
    EXPECT_EQ(parse(std::span<const uint8_t>{}).status, ParseStatus::kTruncatedL2);
    for (size_t tags : {1u, 2u}) {
        auto s = base(Fam::v4);
        s.vlans.assign(tags, 9);
        const auto t = pf::build_frame(s);
        const size_t l2 = 14 + 4 * tags;
        for (size_t k = 0; k < l2; ++k) {
            ExactBuffer b(t.data(), k);
            EXPECT_EQ(parse(b.span()).status, ParseStatus::kTruncatedL2) << tags << " tags, " << k;
        }
        // The Ethernet and VLAN headers complete, the IP header missing: an IP truncation.
        for (size_t k = l2; k < l2 + 20; ++k) {
            ExactBuffer b(t.data(), k);
            EXPECT_EQ(parse(b.span()).status, ParseStatus::kTruncatedIp) << tags << " tags, " << k;
        }
    }
}

TEST(Parser, WrongIpVersion) {
    auto f4 = pf::build_frame(base(Fam::v4));
    for (uint8_t ver : {0, 1, 5, 6, 15}) {
        auto f = f4;
        f[14] = static_cast<uint8_t>(ver << 4 | 5);
        fix_ipv4_checksum(f, 14);
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpVersion) << int(ver);
    }
    auto f6 = pf::build_frame(base(Fam::v6));
    for (uint8_t ver : {0, 4, 7, 15}) {
        auto f = f6;
        f[14] = static_cast<uint8_t>(ver << 4 | (f[14] & 15));
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpVersion) << int(ver);
    }
    // An IPv4 packet behind the IPv6 EtherType and vice versa.
    auto f = f4;
    put16(f, 12, 0x86dd);
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpVersion);
    f = f6;
    put16(f, 12, 0x0800);
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpVersion);
}

TEST(Parser, BadIpv4Ihl) {
    const auto f0 = pf::build_frame(base(Fam::v4));  // 14 + 20 + 20 = 54 bytes
    ASSERT_EQ(f0.size(), 54u);
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
        auto f = f0;
        f[14] = static_cast<uint8_t>(0x40 | ihl);
        fix_ipv4_checksum(f, 14);
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpv4Ihl) << int(ihl);
    }
    // IHL beyond the frame: 11 * 4 = 44 > 40 bytes after the Ethernet header.
    for (uint8_t ihl : {11, 12, 15}) {
        auto f = f0;
        f[14] = static_cast<uint8_t>(0x40 | ihl);
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpv4Ihl) << int(ihl);
    }
    // IHL = 10 fits exactly in the frame and equals the total length: a valid IP header that
    // leaves nothing for TCP.
    auto f = f0;
    f[14] = 0x4a;
    fix_ipv4_checksum(f, 14);
    EXPECT_EQ(status_of(f), ParseStatus::kTruncatedTcp);
    // IHL = 9 with the total length one byte short of it.
    f = f0;
    f[14] = 0x49;
    put16(f, 16, 35);
    fix_ipv4_checksum(f, 14);
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpLength);
}

TEST(Parser, BadIpv4TotalLength) {
    auto s = base(Fam::v4);
    s.ipv4_options.assign(8, 1);
    const auto f0 = pf::build_frame(s);  // IHL 7 (28 bytes), total 48
    ASSERT_EQ(get16(f0, 16), 48);
    for (uint16_t total : {0, 1, 19, 20, 27}) {
        auto f = f0;
        put16(f, 16, total);
        fix_ipv4_checksum(f, 14);
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpLength) << total;
    }
    for (uint16_t total : {49, 100, 0xffff}) {
        auto f = f0;
        put16(f, 16, total);
        fix_ipv4_checksum(f, 14);
        EXPECT_EQ(status_of(f), ParseStatus::kTruncatedIp) << total;
    }
    // Truncated: the frame shorter than the IPv4 header.
    for (size_t k = 14; k < 34; ++k) {
        ExactBuffer b(f0.data(), k);
        EXPECT_EQ(parse(b.span()).status, ParseStatus::kTruncatedIp) << k;
    }
}

TEST(Parser, BadIpv6PayloadLength) {
    const auto f0 = pf::build_frame(base(Fam::v6));
    ASSERT_EQ(get16(f0, 18), 20);
    auto f = f0;
    put16(f, 18, 21);
    EXPECT_EQ(status_of(f), ParseStatus::kTruncatedIp);
    put16(f, 18, 0xffff);
    EXPECT_EQ(status_of(f), ParseStatus::kTruncatedIp);
    for (size_t k = 14; k < 54; ++k) {
        ExactBuffer b(f0.data(), k);
        EXPECT_EQ(parse(b.span()).status, ParseStatus::kTruncatedIp) << k;
    }
}

TEST(Parser, BadIpv4Checksum) {
    for (int tags : {0, 1}) {
        auto s = base(Fam::v4);
        s.vlans.assign(static_cast<size_t>(tags), 3);
        s.corrupt_ip_checksum = true;
        const auto f = pf::build_frame(s);
        EXPECT_EQ(status_of(f), ParseStatus::kBadIpv4Checksum);
        // The NIC says the header checksum is good: not verified again.
        EXPECT_EQ(status_of(f, kRxIpChecksumGood), ParseStatus::kOk);
        // The L4 flag does not cover the IP header.
        EXPECT_EQ(status_of(f, kRxL4ChecksumGood), ParseStatus::kBadIpv4Checksum);
        ParseConfig c;
        c.verify_ipv4_checksum = false;
        EXPECT_EQ(status_of(f, 0, c), ParseStatus::kOk);
    }
    // A header with options and one flipped bit in the options.
    auto s = base(Fam::v4);
    s.ipv4_options = {1, 1, 1, 1};
    auto f = pf::build_frame(s);
    ASSERT_EQ(status_of(f), ParseStatus::kOk);
    f[14 + 21] ^= 0x10;
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpv4Checksum);
}

TEST(Parser, BadIpv6ExtensionChain) {
    // Extension header length pointing beyond the payload.
    auto s = base(Fam::v6);
    s.ipv6_ext = {{0, 0}, {60, 1}};
    const auto f0 = pf::build_frame(s);
    ASSERT_EQ(status_of(f0), ParseStatus::kOk);
    auto f = f0;
    // Payload: 8 (hop-by-hop) + 16 (dest-opts) + 20 (TCP) = 44. Growing the dest-opts header to
    // 32 bytes still fits in the payload but leaves 4 bytes for TCP.
    f[14 + 40 + 8 + 1] = 3;
    EXPECT_EQ(status_of(f), ParseStatus::kTruncatedTcp);
    f[14 + 40 + 8 + 1] = 4;  // 40 bytes > 36 left
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpv6ExtHeader);
    f[14 + 40 + 8 + 1] = 255;
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpv6ExtHeader);
    f = f0;
    f[14 + 40 + 1] = 200;
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpv6ExtHeader);

    // Payload too short for even the 8-byte minimum of an extension header.
    for (uint16_t plen : {0, 1, 7}) {
        auto t = f0;
        put16(t, 18, plen);
        t.resize(54 + plen);
        EXPECT_EQ(status_of(t), ParseStatus::kBadIpv6ExtHeader) << plen;
    }
    // The first header complete, the second one cut by the payload length.
    for (uint16_t plen : {8, 9, 15, 16, 23}) {
        auto t = f0;
        put16(t, 18, plen);
        EXPECT_EQ(status_of(t), ParseStatus::kBadIpv6ExtHeader) << plen;
    }
    // Chain ending exactly at the payload end, no room for TCP.
    auto t = f0;
    put16(t, 18, 24);
    EXPECT_EQ(status_of(t), ParseStatus::kTruncatedTcp);
}

TEST(Parser, BadAddressesIpv4) {
    const char* bad[] = {"224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255",
                         "0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254"};
    const char* good[] = {"1.0.0.0", "126.255.255.255", "128.0.0.1", "223.255.255.255", "10.0.0.1"};
    for (const char* a : bad) {
        for (bool as_src : {true, false}) {
            auto s = base(Fam::v4);
            (as_src ? s.src : s.dst) = pf::v4(a);
            EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadAddress) << a << (as_src ? " src" : " dst");
        }
    }
    for (const char* a : good) {
        for (bool as_src : {true, false}) {
            auto s = base(Fam::v4);
            (as_src ? s.src : s.dst) = pf::v4(a);
            EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kOk) << a;
        }
    }
}

TEST(Parser, BadAddressesIpv6) {
    const char* bad[] = {"ff02::1", "ff05::1:3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                         "::ffff:192.0.2.1", "::ffff:0.0.0.0", "::", "::1"};
    const char* good[] = {"2001:db8::5", "fe80::1", "fd00::1", "::2", "::fffe:1:2", "64:ff9b::c000:201",
                          "fe00::1"};
    for (const char* a : bad) {
        for (bool as_src : {true, false}) {
            auto s = base(Fam::v6);
            (as_src ? s.src : s.dst) = pf::v6(a);
            EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kBadAddress) << a << (as_src ? " src" : " dst");
        }
    }
    for (const char* a : good) {
        auto s = base(Fam::v6);
        s.src = pf::v6(a);
        EXPECT_EQ(status_of(pf::build_frame(s)), ParseStatus::kOk) << a;
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed TCP
// ---------------------------------------------------------------------------------------------

TEST(Parser, TruncatedTcpByIpLength) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.pad_to = 100;  // the frame stays long: only the IP length cuts the segment
        const auto f0 = pf::build_frame(s);
        for (uint16_t tcp_len = 0; tcp_len < 20; ++tcp_len) {
            auto f = f0;
            if (fam == Fam::v4) {
                put16(f, 16, static_cast<uint16_t>(20 + tcp_len));
                fix_ipv4_checksum(f, 14);
            } else {
                put16(f, 18, tcp_len);
            }
            const auto p = parse(f);
            EXPECT_EQ(p.status, ParseStatus::kTruncatedTcp) << tcp_len;
            EXPECT_EQ(p.l4_offset, fam == Fam::v4 ? 34 : 54);
        }
    }
}

TEST(Parser, BadTcpDataOffset) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        const size_t l4 = fam == Fam::v4 ? 34 : 54;
        auto s = base(fam);
        s.payload.assign(8, 0x42);
        s.pad_to = 200;  // padding must not count as TCP bytes
        const auto f0 = pf::build_frame(s);
        const size_t l4_end = l4 + 28;
        for (uint8_t doff = 0; doff < 16; ++doff) {
            auto f = f0;
            f[l4 + 12] = static_cast<uint8_t>(doff << 4);
            // The 8 payload bytes 0x42 would be options "66 66": make them NOPs so that data
            // offsets 6 and 7 stay well-formed.
            std::fill(f.begin() + static_cast<long>(l4 + 20), f.begin() + static_cast<long>(l4_end), 1);
            fix_tcp_checksum(f, 14, fam == Fam::v6, l4, l4_end);
            const auto want = doff < 5 || doff > 7 ? ParseStatus::kBadTcpDataOffset : ParseStatus::kOk;
            EXPECT_EQ(status_of(f), want) << int(doff);
            if (want == ParseStatus::kOk) {
                const auto p = parse(f);
                EXPECT_EQ(p.tcp_header_len, doff * 4);
                EXPECT_EQ(p.payload_len, 28 - doff * 4);
            }
        }
    }
}

TEST(Parser, BadTcpChecksum) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.tcp_options = pf::tcp_options(full_options());
        s.corrupt_tcp_checksum = true;
        const auto f = pf::build_frame(s);
        EXPECT_EQ(status_of(f), ParseStatus::kBadTcpChecksum);
        EXPECT_EQ(status_of(f, kRxL4ChecksumGood), ParseStatus::kOk);
        EXPECT_EQ(status_of(f, kRxIpChecksumGood), ParseStatus::kBadTcpChecksum);
        ParseConfig c;
        c.verify_tcp_checksum = false;
        EXPECT_EQ(status_of(f, 0, c), ParseStatus::kOk);
        c = {};
        c.verify_ipv4_checksum = false;
        EXPECT_EQ(status_of(f, 0, c), ParseStatus::kBadTcpChecksum);
    }
    // Single-bit damage anywhere in the segment or the pseudo-header addresses is detected.
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.payload = {1, 2, 3, 4, 5, 6, 7};
        const auto f0 = pf::build_frame(s);
        const auto l = layout_of(s);
        ASSERT_EQ(status_of(f0), ParseStatus::kOk);
        for (size_t i = l.l4; i < l.l4_end; ++i) {
            auto f = f0;
            f[i] ^= 0x04;
            EXPECT_EQ(status_of(f), ParseStatus::kBadTcpChecksum) << i;
        }
        auto f = f0;
        f[fam == Fam::v4 ? 14 + 15 : 14 + 23] ^= 0x01;  // last byte of the source address
        if (fam == Fam::v4) fix_ipv4_checksum(f, 14);
        EXPECT_EQ(status_of(f), ParseStatus::kBadTcpChecksum);
    }
}

TEST(Parser, ChecksumFlagsAndConfigTogether) {
    auto s = base(Fam::v4);
    s.corrupt_ip_checksum = true;
    s.corrupt_tcp_checksum = true;
    const auto f = pf::build_frame(s);
    EXPECT_EQ(status_of(f), ParseStatus::kBadIpv4Checksum);
    EXPECT_EQ(status_of(f, kRxIpChecksumGood), ParseStatus::kBadTcpChecksum);
    EXPECT_EQ(status_of(f, kRxIpChecksumGood | kRxL4ChecksumGood), ParseStatus::kOk);
    ParseConfig off;
    off.verify_ipv4_checksum = false;
    off.verify_tcp_checksum = false;
    EXPECT_EQ(status_of(f, 0, off), ParseStatus::kOk);
    // Turning verification off does not turn off structural checks.
    auto g = f;
    g[34 + 12] = 0x40;
    EXPECT_EQ(status_of(g, 0, off), ParseStatus::kBadTcpDataOffset);
    EXPECT_EQ(status_of(g, kRxIpChecksumGood | kRxL4ChecksumGood), ParseStatus::kBadTcpDataOffset);
    // IPv6 has no header checksum: the IP flag changes nothing there.
    auto s6 = base(Fam::v6);
    s6.corrupt_tcp_checksum = true;
    const auto f6 = pf::build_frame(s6);
    EXPECT_EQ(status_of(f6, kRxIpChecksumGood), ParseStatus::kBadTcpChecksum);
    EXPECT_EQ(status_of(f6, kRxL4ChecksumGood), ParseStatus::kOk);
}

TEST(Parser, StatusNamesAndPassClasses) {
    EXPECT_EQ(kParseStatusCount, 16);
    std::set<std::string> names;
    for (int i = 0; i < kParseStatusCount; ++i) {
        const auto st = static_cast<ParseStatus>(i);
        const auto name = to_string(st);
        EXPECT_FALSE(name.empty());
        EXPECT_NE(name, "?");
        names.emplace(name);
        const bool pass = st == ParseStatus::kNotIp || st == ParseStatus::kNotTcp || st == ParseStatus::kFragment;
        EXPECT_EQ(is_pass(st), pass) << name;
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(kParseStatusCount));
    EXPECT_EQ(to_string(ParseStatus::kOk), "ParsedTcp");
    EXPECT_EQ(to_string(ParseStatus::kBadTcpChecksum), "DropBadTcpChecksum");
    EXPECT_EQ(to_string(ParseStatus::kTruncatedL2), "DropTruncatedL2");
    EXPECT_FALSE(is_pass(ParseStatus::kOk));
}

// ---------------------------------------------------------------------------------------------
// Robustness: truncation at every length, and random mutation
// ---------------------------------------------------------------------------------------------

namespace {

std::vector<SegmentSpec> robustness_specs() {
    std::vector<SegmentSpec> out;
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            auto s = base(fam);
            s.vlans.assign(static_cast<size_t>(tags), 0x0123);
            s.tcp_options = pf::tcp_options(full_options());
            out.push_back(s);
            s.payload = {1, 2, 3, 4, 5, 6, 7, 8, 9};
            if (fam == Fam::v4) {
                s.ipv4_options = {0x94, 4, 0, 0, 1, 1, 1, 0};  // router alert + NOPs
            } else {
                s.ipv6_ext = {{0, 0}, {43, 1}, {60, 0}};
            }
            out.push_back(s);
            auto t = base(fam);
            t.vlans.assign(static_cast<size_t>(tags), 0x0fff);
            t.pad_to = 80;  // padded, no options
            out.push_back(t);
        }
    }
    return out;
}

// Expected status of the first k bytes of a frame built from `s`.
ParseStatus expected_truncated(const SegmentSpec& s, size_t k) {
    const auto l = layout_of(s);
    if (k < l.l3) return ParseStatus::kTruncatedL2;
    if (k < l.l3 + (l.v6 ? 40 : 20)) return ParseStatus::kTruncatedIp;
    if (!l.v6 && k < l.l4) return ParseStatus::kBadIpv4Ihl;  // IHL beyond the frame
    if (k < l.l4_end) return ParseStatus::kTruncatedIp;      // IP length beyond the frame
    return ParseStatus::kOk;
}

}  // namespace

TEST(ParserRobustness, EveryTruncationLength) {
    for (const auto& s : robustness_specs()) {
        const auto f = pf::build_frame(s);
        const auto l = layout_of(s);
        ASSERT_EQ(status_of(f), ParseStatus::kOk);
        for (size_t k = 0; k <= f.size(); ++k) {
            ExactBuffer b(f.data(), k);
            for (uint16_t rx : {uint16_t{0}, uint16_t{kRxIpChecksumGood | kRxL4ChecksumGood}}) {
                const auto p = parse(b.span(), rx);
                ASSERT_EQ(p.status, expected_truncated(s, k))
                    << "len " << k << "/" << f.size() << " got " << to_string(p.status)
                    << (l.v6 ? " v6" : " v4") << " vlans " << s.vlans.size();
                if (k < l.l4 + l.doff) {
                    ASSERT_NE(p.status, ParseStatus::kOk);
                }
                ASSERT_LE(p.l3_offset, k);
                ASSERT_LE(p.l4_offset, k);
                if (p.ok()) {
                    ASSERT_EQ(p.l4_offset, l.l4);
                    ASSERT_EQ(p.tcp_header_len, l.doff);
                    ASSERT_EQ(p.payload_len, s.payload.size());
                }
            }
        }
    }
}

TEST(ParserRobustness, TcpHeaderCutWithConsistentIpLength) {
    // The IP length agrees with the cut (a well-formed but short packet): the TCP checks fire.
    for (const auto& s : robustness_specs()) {
        const auto f0 = pf::build_frame(s);
        const auto l = layout_of(s);
        for (size_t c = 0; c < l.doff; ++c) {
            Bytes f(f0.begin(), f0.begin() + static_cast<long>(l.l4 + c));
            if (l.v6) {
                put16(f, l.l3 + 4, static_cast<uint16_t>(l.l4 - l.l3 - 40 + c));
            } else {
                put16(f, l.l3 + 2, static_cast<uint16_t>(l.l4 - l.l3 + c));
                fix_ipv4_checksum(f, l.l3);
            }
            ExactBuffer b(f.data(), f.size());
            const auto p = parse(b.span());
            const auto want = c < 20 ? ParseStatus::kTruncatedTcp : ParseStatus::kBadTcpDataOffset;
            ASSERT_EQ(p.status, want) << "cut " << c << " got " << to_string(p.status);
            ASSERT_EQ(p.l4_offset, l.l4);
        }
        // IPv6: the payload length cuts inside the extension headers.
        if (l.v6) {
            for (size_t e = 0; e < l.l4 - l.l3 - 40; ++e) {
                Bytes f(f0.begin(), f0.begin() + static_cast<long>(l.l3 + 40 + e));
                put16(f, l.l3 + 4, static_cast<uint16_t>(e));
                ExactBuffer b(f.data(), f.size());
                ASSERT_EQ(parse(b.span()).status, ParseStatus::kBadIpv6ExtHeader) << "ext cut " << e;
            }
        }
    }
}

namespace {

// Independent re-check of a frame the parser accepted: everything it reports lies in the frame,
// and when it verified the TCP checksum, the reference loop agrees.
void check_accepted(std::span<const uint8_t> f, const ParsedPacket& p, bool verified) {
    const size_t n = f.size();
    const uint8_t* d = f.data();
    ASSERT_LE(p.vlan_count, 2);
    ASSERT_EQ(p.l3_offset, 14u + 4u * p.vlan_count);
    const size_t iphdr = p.family == Family::kIpv4 ? 20 : 40;
    ASSERT_GE(p.l4_offset, p.l3_offset + iphdr);
    ASSERT_GE(p.tcp_header_len, 20);
    ASSERT_LE(p.tcp_header_len, 60);
    ASSERT_EQ(p.tcp_header_len % 4, 0);
    ASSERT_LE(size_t{p.l4_offset} + p.tcp_header_len + p.payload_len, n);
    ASSERT_GE(p.src_addr, d + p.l3_offset);
    ASSERT_LE(p.src_addr + p.addr_len(), d + n);
    ASSERT_GE(p.dst_addr, d + p.l3_offset);
    ASSERT_LE(p.dst_addr + p.addr_len(), d + n);
    ASSERT_LE(p.options.wscale, 14);
    ASSERT_EQ(p.src_port, load_be16(d + p.l4_offset));
    ASSERT_EQ(p.seq, load_be32(d + p.l4_offset + 4));
    if (verified) {
        const size_t tcp_len = p.tcp_header_len + size_t{p.payload_len};
        uint32_t sum = 0;
        for (size_t i = 0; i < p.addr_len(); i += 2) {
            sum += static_cast<uint32_t>(p.src_addr[i] << 8 | p.src_addr[i + 1]);
            sum += static_cast<uint32_t>(p.dst_addr[i] << 8 | p.dst_addr[i + 1]);
        }
        sum += 6 + static_cast<uint32_t>(tcp_len);
        ASSERT_EQ(pf::ref_checksum(d + p.l4_offset, tcp_len, sum), 0);
        if (p.family == Family::kIpv4) {
            ASSERT_EQ(pf::ref_checksum(d + p.l3_offset, (d[p.l3_offset] & 15u) * 4), 0);
        }
    }
}

}  // namespace

TEST(ParserRobustness, RandomMutations) {
    std::vector<Bytes> seeds;
    for (const auto& s : robustness_specs()) seeds.push_back(pf::build_frame(s));
    {
        auto s = base(Fam::v4);
        s.tcp_options = {19, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                         254, 4, 0xf9, 0x89, 34, 2, 3, 3, 20, 1, 1, 1};
        seeds.push_back(pf::build_frame(s));
        auto s6 = base(Fam::v6);
        s6.ipv6_ext = {{60, 4}};
        s6.tcp_options = s.tcp_options;
        seeds.push_back(pf::build_frame(s6));
    }

    std::mt19937_64 rng(0x5eed5eedu);
    const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x0a, 0x0f,
                                   0x11, 0x22, 0x2b, 0x2c, 0x3c, 0x40, 0x45, 0x4f, 0x50, 0x60,
                                   0x7f, 0x80, 0x81, 0x86, 0x88, 0x91, 0xa8, 0xdd, 0xfe, 0xff};
    constexpr int kIterations = 200000;
    int ok = 0, ok_verified = 0;
    int by_status[32] = {};
    for (int it = 0; it < kIterations; ++it) {
        Bytes f = seeds[rng() % seeds.size()];
        const int nmut = 1 + static_cast<int>(rng() % 4);
        for (int m = 0; m < nmut; ++m) {
            const auto op = rng() % 10;
            if (f.empty()) break;
            // Bias positions towards the headers (first ~100 bytes).
            const size_t pos = rng() % 2 ? rng() % std::min<size_t>(f.size(), 100) : rng() % f.size();
            if (op < 4) {
                f[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
            } else if (op < 7) {
                f[pos] = interesting[rng() % sizeof interesting];
            } else if (op < 8) {
                f[pos] = static_cast<uint8_t>(rng());
            } else if (op < 9) {
                f.resize(rng() % (f.size() + 1));
            } else {
                const size_t extra = rng() % 64;
                for (size_t i = 0; i < extra; ++i) f.push_back(static_cast<uint8_t>(rng()));
            }
        }
        const uint16_t rx = rng() % 2 ? uint16_t{kRxIpChecksumGood | kRxL4ChecksumGood} : uint16_t{0};
        ExactBuffer b(f.data(), f.size());
        const auto p = parse(b.span(), rx);
        by_status[static_cast<int>(p.status)]++;
        ASSERT_LE(p.l3_offset, f.size());
        ASSERT_LE(p.l4_offset, f.size());
        if (p.ok()) {
            ++ok;
            ok_verified += rx == 0;
            check_accepted(b.span(), p, rx == 0);
            if (::testing::Test::HasFatalFailure()) {
                FAIL() << "iteration " << it;
            }
        }
    }
    // The loop must actually reach the accepting path and the deep error paths.
    EXPECT_GT(ok, kIterations / 100);
    EXPECT_GT(ok_verified, 100);
    for (auto st : {ParseStatus::kTruncatedL2, ParseStatus::kTooManyVlans, ParseStatus::kTruncatedIp,
                    ParseStatus::kBadIpVersion, ParseStatus::kBadIpv4Ihl, ParseStatus::kBadIpLength,
                    ParseStatus::kBadIpv6ExtHeader, ParseStatus::kBadAddress, ParseStatus::kBadTcpDataOffset,
                    ParseStatus::kBadTcpChecksum, ParseStatus::kBadIpv4Checksum,
                    ParseStatus::kNotIp, ParseStatus::kNotTcp, ParseStatus::kFragment}) {
        EXPECT_GT(by_status[static_cast<int>(st)], 0) << to_string(st);
    }
}
