// synwall-gen's EAL-free pieces: address ranges, the flood mix and its frames, the latency
// histogram, the closed-loop client pool driven against the real handshake engine, and the
// command line. Frames are checked with test/unit/packet_factory (independent of lib/net).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <ostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cookie/syn_cookie.hpp"
#include "gen/address_range.hpp"
#include "gen/client_pool.hpp"
#include "gen/flood_writer.hpp"
#include "gen/gen_options.hpp"
#include "gen/latency_histogram.hpp"
#include "gen/malformed_writer.hpp"
#include "gen/responder.hpp"
#include "handshake/worker.hpp"
#include "net/parser.hpp"
#include "packet_factory.hpp"

using namespace synwall;
using namespace synwall::gen;
namespace pf = synwall::testing;
using synwall::testing::FrameView;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'790'000'000ull * kSec;  // a 2026 wall-clock time, in ns (ms-aligned)
constexpr uint8_t SYN = 0x02, ACK = 0x10, RST = 0x04, FIN = 0x01;

AddressRange range(const std::string& text) {
    AddressRange r;
    std::string err;
    EXPECT_TRUE(parse_range(text, r, err)) << text << ": " << err;
    return r;
}

std::vector<uint8_t> addr_at(const AddressRange& r, uint64_t i) {
    std::array<uint8_t, 16> a{};
    r.at(i, a.data());
    return {a.begin(), a.begin() + r.addr_len()};
}

std::vector<uint8_t> bytes_of(const std::array<uint8_t, 16>& a, size_t n) { return {a.begin(), a.begin() + static_cast<long>(n)}; }

// Frame buffers the pool writes into (room 256, len 0) and the engine rewrites in place.
struct Buffers {
    std::vector<std::array<uint8_t, 256>> mem;
    std::vector<net::Packet> pk;
    explicit Buffers(size_t n) : mem(n), pk(n) { reset(); }
    void reset() {
        for (size_t i = 0; i < pk.size(); ++i) {
            pk[i] = net::Packet{};
            pk[i].data = mem[i].data();
            pk[i].room = 256;
            pk[i].len = 0;
        }
    }
    net::Packet* data() { return pk.data(); }
    uint32_t size() const { return static_cast<uint32_t>(pk.size()); }
};

FrameView view(const net::Packet& p) { return FrameView({p.data, p.data + p.len}); }

}  // namespace

// =============================================================================================
// 1. AddressRange / parse_range

TEST(AddressRange, Ipv4PrefixClearsHostBitsAndEnumerates) {
    const AddressRange r = range("198.18.5.7/15");
    EXPECT_EQ(r.family, net::Family::kIpv4);
    EXPECT_EQ(r.prefix_len, 15);
    EXPECT_EQ(r.addr_len(), 4);
    EXPECT_EQ(bytes_of(r.base, 4), (std::vector<uint8_t>{198, 18, 0, 0})) << "host bits cleared";
    EXPECT_EQ(r.host_bits(), 17);
    EXPECT_EQ(r.size(), 131072u);
    EXPECT_EQ(addr_at(r, 0), (std::vector<uint8_t>{198, 18, 0, 0}));
    EXPECT_EQ(addr_at(r, 1), (std::vector<uint8_t>{198, 18, 0, 1}));
    EXPECT_EQ(addr_at(r, 256), (std::vector<uint8_t>{198, 18, 1, 0}));
    EXPECT_EQ(addr_at(r, 65536 + 258), (std::vector<uint8_t>{198, 19, 1, 2}));
    EXPECT_EQ(addr_at(r, 131071), (std::vector<uint8_t>{198, 19, 255, 255}));
    EXPECT_EQ(addr_at(r, 131072), addr_at(r, 0)) << "wraps modulo size()";
    EXPECT_EQ(addr_at(r, 131072 * 5 + 77), addr_at(r, 77));
    EXPECT_EQ(addr_at(r, ~uint64_t{0}), addr_at(r, 131071));
}

TEST(AddressRange, Ipv4IndexOfRoundTripsAndRejectsOutside) {
    const AddressRange r = range("198.18.0.0/15");
    std::mt19937_64 rng(7);
    for (int k = 0; k < 5000; ++k) {
        const uint64_t i = rng() % r.size();
        const auto a = addr_at(r, i);
        ASSERT_EQ(r.index_of(a.data()), static_cast<int64_t>(i)) << i;
    }
    for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{131071}}) {
        const auto a = addr_at(r, i);
        EXPECT_EQ(r.index_of(a.data()), static_cast<int64_t>(i));
    }
    // Each of the 15 prefix bits flipped (the last one, bit 14, is "just outside").
    const uint8_t in[4] = {198, 18, 77, 9};
    ASSERT_GE(r.index_of(in), 0);
    for (int bit = 0; bit < 15; ++bit) {
        uint8_t a[4];
        std::memcpy(a, in, 4);
        a[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
        EXPECT_EQ(r.index_of(a), -1) << "prefix bit " << bit;
    }
    const uint8_t below[4] = {198, 17, 255, 255}, above[4] = {198, 20, 0, 0};
    EXPECT_EQ(r.index_of(below), -1);
    EXPECT_EQ(r.index_of(above), -1);
    // A host bit flipped stays inside.
    uint8_t hb[4] = {198, 18, 77, 9};
    hb[1] ^= 1;  // bit 15: the first host bit
    EXPECT_EQ(r.index_of(hb), int64_t{65536 + 77 * 256 + 9});
}

TEST(AddressRange, Ipv4ByteAlignedAndWholeSpace) {
    const AddressRange r24 = range("10.1.2.200/24");
    EXPECT_EQ(bytes_of(r24.base, 4), (std::vector<uint8_t>{10, 1, 2, 0}));
    EXPECT_EQ(r24.size(), 256u);
    EXPECT_EQ(addr_at(r24, 300), (std::vector<uint8_t>{10, 1, 2, 44}));
    const uint8_t next[4] = {10, 1, 3, 0}, last_bit[4] = {10, 1, 3, 5};
    EXPECT_EQ(r24.index_of(next), -1);
    EXPECT_EQ(r24.index_of(last_bit), -1);

    const AddressRange all = range("1.2.3.4/0");
    EXPECT_EQ(bytes_of(all.base, 4), (std::vector<uint8_t>{0, 0, 0, 0}));
    EXPECT_EQ(all.size(), uint64_t{1} << 32);
    EXPECT_EQ(addr_at(all, 0xc0a80101u), (std::vector<uint8_t>{192, 168, 1, 1}));
    const uint8_t x[4] = {255, 255, 255, 254};
    EXPECT_EQ(all.index_of(x), int64_t{0xfffffffe});
}

TEST(AddressRange, SingleAddress) {
    for (const char* text : {"10.1.2.3/32", "10.1.2.3"}) {
        SCOPED_TRACE(text);
        const AddressRange r = range(text);
        EXPECT_EQ(r.prefix_len, 32);
        EXPECT_EQ(r.host_bits(), 0);
        EXPECT_EQ(r.size(), 1u);
        EXPECT_EQ(addr_at(r, 0), (std::vector<uint8_t>{10, 1, 2, 3}));
        EXPECT_EQ(addr_at(r, 12345), (std::vector<uint8_t>{10, 1, 2, 3}));
        const uint8_t same[4] = {10, 1, 2, 3}, lsb[4] = {10, 1, 2, 2}, other[4] = {10, 1, 2, 7};
        EXPECT_EQ(r.index_of(same), 0);
        EXPECT_EQ(r.index_of(lsb), -1);
        EXPECT_EQ(r.index_of(other), -1);
    }
    const AddressRange r6 = range("2001:db8::42");
    EXPECT_EQ(r6.family, net::Family::kIpv6);
    EXPECT_EQ(r6.prefix_len, 128);
    EXPECT_EQ(r6.size(), 1u);
    EXPECT_EQ(addr_at(r6, 9), bytes_of(pf::v6("2001:db8::42"), 16));
    auto o = pf::v6("2001:db8::43");
    EXPECT_EQ(r6.index_of(o.data()), -1);
}

TEST(AddressRange, Ipv6Prefixes) {
    const AddressRange r = range("2001:db8::abcd/120");
    EXPECT_EQ(r.family, net::Family::kIpv6);
    EXPECT_EQ(r.addr_len(), 16);
    EXPECT_EQ(bytes_of(r.base, 16), bytes_of(pf::v6("2001:db8::ab00"), 16));
    EXPECT_EQ(r.size(), 256u);
    EXPECT_EQ(addr_at(r, 0xff), bytes_of(pf::v6("2001:db8::abff"), 16));
    EXPECT_EQ(addr_at(r, 0x1ff), addr_at(r, 0xff)) << "wraps";
    for (uint64_t i = 0; i < 256; ++i) {
        const auto a = addr_at(r, i);
        ASSERT_EQ(r.index_of(a.data()), static_cast<int64_t>(i));
    }
    auto out1 = pf::v6("2001:db8::aa00");  // bit 119 (last prefix bit) flipped
    auto out2 = pf::v6("2001:db8::ac00");
    auto out3 = pf::v6("2001:db9::ab00");
    EXPECT_EQ(r.index_of(out1.data()), -1);
    EXPECT_EQ(r.index_of(out2.data()), -1);
    EXPECT_EQ(r.index_of(out3.data()), -1);

    const AddressRange r121 = range("2001:db8::ff/121");
    EXPECT_EQ(bytes_of(r121.base, 16), bytes_of(pf::v6("2001:db8::80"), 16));
    EXPECT_EQ(r121.size(), 128u);
    auto in = pf::v6("2001:db8::ff"), just_out = pf::v6("2001:db8::7f");
    EXPECT_EQ(r121.index_of(in.data()), 127);
    EXPECT_EQ(r121.index_of(just_out.data()), -1);

    // Wide prefix: at most the low 63 bits vary.
    const AddressRange r48 = range("2001:db8:ffff:1234::5/48");
    EXPECT_EQ(bytes_of(r48.base, 16), bytes_of(pf::v6("2001:db8:ffff::"), 16));
    EXPECT_EQ(r48.host_bits(), 63);
    EXPECT_EQ(addr_at(r48, 0x0102030405), bytes_of(pf::v6("2001:db8:ffff::1:203:405"), 16));
    std::mt19937_64 rng(3);
    for (int k = 0; k < 2000; ++k) {
        const uint64_t i = rng() & (r48.size() - 1);
        const auto a = addr_at(r48, i);
        ASSERT_TRUE(std::equal(a.begin(), a.begin() + 6, r48.base.begin()));
        ASSERT_EQ(r48.index_of(a.data()), static_cast<int64_t>(i));
    }
    auto flipped = pf::v6("2001:db8:fffe::1");  // bit 47 flipped
    EXPECT_EQ(r48.index_of(flipped.data()), -1);
    auto flipped0 = pf::v6("a001:db8:ffff::1");  // bit 0 flipped
    EXPECT_EQ(r48.index_of(flipped0.data()), -1);
}

TEST(AddressRange, BadInputIsRefusedWithAMessage) {
    for (const char* bad : {"1.2.3.4/33", "foo", "10.0.0.0/x", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                            "2001:db8::/129", "", "1.2.3/8", "/24"}) {
        SCOPED_TRACE(bad);
        AddressRange r;
        std::string err;
        EXPECT_FALSE(parse_range(bad, r, err));
        EXPECT_FALSE(err.empty());
        if (std::strlen(bad)) {
            EXPECT_NE(err.find(bad), std::string::npos) << err;
        }
    }
    std::string err;
    AddressRange r;
    EXPECT_TRUE(parse_range("2001:db8::/128", r, err));
    EXPECT_TRUE(parse_range("2001:db8::/0", r, err));
    EXPECT_TRUE(parse_range("10.0.0.0/32", r, err));
}

TEST(AddressRange, ParseAddress) {
    net::Family f{};
    std::array<uint8_t, 16> a{};
    ASSERT_TRUE(parse_address("203.0.113.10", f, a));
    EXPECT_EQ(f, net::Family::kIpv4);
    EXPECT_EQ(bytes_of(a, 4), (std::vector<uint8_t>{203, 0, 113, 10}));
    ASSERT_TRUE(parse_address("2001:db8::1", f, a));
    EXPECT_EQ(f, net::Family::kIpv6);
    EXPECT_EQ(a, pf::v6("2001:db8::1"));
    EXPECT_FALSE(parse_address("203.0.113.10/24", f, a));
    EXPECT_FALSE(parse_address("bogus", f, a));
}

// =============================================================================================
// 2. parse_mix / parse_option_set

TEST(ParseMix, Weights) {
    std::array<uint32_t, kFloodKinds> w{};
    std::string err;
    ASSERT_TRUE(parse_mix("syn=70,ack=20,rst=10", w, err)) << err;
    EXPECT_EQ(w, (std::array<uint32_t, kFloodKinds>{70, 20, 10, 0}));
    ASSERT_TRUE(parse_mix("syn", w, err)) << err;
    EXPECT_EQ(w, (std::array<uint32_t, kFloodKinds>{1, 0, 0, 0}));
    ASSERT_TRUE(parse_mix("synack=5,ack", w, err)) << err;
    EXPECT_EQ(w, (std::array<uint32_t, kFloodKinds>{0, 1, 0, 5}));
    ASSERT_TRUE(parse_mix("syn=0,rst=1000000", w, err)) << err;
    EXPECT_EQ(w, (std::array<uint32_t, kFloodKinds>{0, 0, 1000000, 0}));
}

TEST(ParseMix, ProblemsAreNamed) {
    std::array<uint32_t, kFloodKinds> w{};
    struct Case {
        const char* text;
        std::vector<const char*> mention;
    };
    for (const Case& c : std::vector<Case>{{"bogus=1", {"bogus"}},
                                           {"syn=1,udp=3", {"udp"}},
                                           {"syn=abc", {"abc", "syn"}},
                                           {"ack=", {"ack"}},
                                           {"rst=2000000", {"2000000", "rst"}},
                                           {"syn=-1", {"-1", "syn"}},
                                           {"syn=0,ack=0", {"0"}},
                                           {"", {"0"}}}) {
        SCOPED_TRACE(c.text);
        std::string err;
        EXPECT_FALSE(parse_mix(c.text, w, err));
        EXPECT_FALSE(err.empty());
        for (const char* m : c.mention) EXPECT_NE(err.find(m), std::string::npos) << err;
    }
    std::string err;
    EXPECT_FALSE(parse_mix("syn=0,ack=0", w, err));
    EXPECT_NE(err.find("weight 0"), std::string::npos) << err;
    EXPECT_FALSE(parse_mix("bogus=1", w, err));
    EXPECT_NE(err.find("unknown flood kind"), std::string::npos) << err;
}

TEST(ParseMix, OptionSetsAndKindNames) {
    OptionSet o = OptionSet::kNone;
    ASSERT_TRUE(parse_option_set("linux", o));
    EXPECT_EQ(o, OptionSet::kLinux);
    ASSERT_TRUE(parse_option_set("mss", o));
    EXPECT_EQ(o, OptionSet::kMss);
    ASSERT_TRUE(parse_option_set("none", o));
    EXPECT_EQ(o, OptionSet::kNone);
    ASSERT_TRUE(parse_option_set("mixed", o));
    EXPECT_EQ(o, OptionSet::kMixed);
    EXPECT_FALSE(parse_option_set("windows", o));
    EXPECT_EQ(o, OptionSet::kMixed) << "untouched on failure";
    EXPECT_EQ(to_string(FloodKind::kSyn), "syn");
    EXPECT_EQ(to_string(FloodKind::kAck), "ack");
    EXPECT_EQ(to_string(FloodKind::kRst), "rst");
    EXPECT_EQ(to_string(FloodKind::kSynAck), "synack");
}

// =============================================================================================
// 3. FloodWriter

namespace {

FloodSpec flood_spec(bool v6) {
    FloodSpec s;
    s.src = range(v6 ? "2001:db8:ffff::/48" : "198.18.0.0/15");
    s.dst = v6 ? pf::v6("2001:db8:2::10") : pf::v4("203.0.113.10");
    s.dport = 8443;
    s.sport_lo = 2000;
    s.sport_hi = 2099;
    s.weights = {1, 1, 1, 1};
    return s;
}

bool independent_in_src(bool v6, const std::vector<uint8_t>& a) {
    if (v6) {
        const auto p = pf::v6("2001:db8:ffff::");
        return a.size() == 16 && std::equal(p.begin(), p.begin() + 6, a.begin());
    }
    return a.size() == 4 && a[0] == 198 && (a[1] & 0xfe) == 18;
}

uint8_t expected_flags(FloodKind k) {
    switch (k) {
    case FloodKind::kSyn: return SYN;
    case FloodKind::kAck: return ACK;
    case FloodKind::kRst: return RST;
    case FloodKind::kSynAck: return SYN | ACK;
    case FloodKind::kFrag: return SYN;
    }
    return 0xff;
}

}  // namespace

class FloodWriterFamily : public ::testing::TestWithParam<bool> {};

TEST_P(FloodWriterFamily, MixSharesAndEveryFrameValid) {
    const bool v6 = GetParam();
    const FloodSpec spec = flood_spec(v6);
    FloodWriter w(spec, 12345);
    constexpr int kFrames = 40000;
    std::array<int, kFloodKinds> count{};
    std::set<std::string> sources;
    std::set<uint16_t> sports;
    std::set<uint32_t> seqs;
    const auto dst = bytes_of(spec.dst, v6 ? 16 : 4);
    for (int f = 0; f < kFrames; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        const uint16_t len = w.write(buf, sizeof buf, kind);
        ASSERT_GT(len, 0);
        ASSERT_LE(len, net::kMaxSynFrame);
        ASSERT_LT(static_cast<size_t>(kind), kFloodKinds);
        ++count[static_cast<size_t>(kind)];
        const FrameView v({buf, buf + len});
        ASSERT_EQ(v.v6, v6);
        ASSERT_TRUE(v.ipv4_checksum_ok()) << f;
        ASSERT_TRUE(v.tcp_checksum_ok()) << f;
        ASSERT_EQ(v.flags(), expected_flags(kind)) << f << " " << to_string(kind);
        const auto src = v.src_addr();
        ASSERT_TRUE(independent_in_src(v6, src)) << f;
        ASSERT_GE(spec.src.index_of(src.data()), 0);
        ASSERT_EQ(v.dst_addr(), dst);
        ASSERT_EQ(v.dport(), 8443);
        ASSERT_GE(v.sport(), 2000);
        ASSERT_LE(v.sport(), 2099);
        ASSERT_EQ(len, v.l4 + v.tcp_header_len()) << "no payload";
        ASSERT_EQ(v.tcp_length(), v.tcp_header_len());
        ASSERT_TRUE(std::equal(spec.dst_mac.begin(), spec.dst_mac.end(), buf));
        ASSERT_TRUE(std::equal(spec.src_mac.begin(), spec.src_mac.end(), buf + 6));
        const auto o = v.options();
        if (kind == FloodKind::kSyn || kind == FloodKind::kSynAck) {
            // The default option set is Linux's.
            EXPECT_EQ(o.mss, 1460);
            EXPECT_TRUE(o.sack);
            EXPECT_TRUE(o.ts);
            EXPECT_EQ(o.wscale, 7);
        } else {
            EXPECT_EQ(o.mss, -1);
            EXPECT_FALSE(o.sack);
            EXPECT_EQ(o.wscale, -1);
        }
        if (kind == FloodKind::kRst) {
            EXPECT_FALSE(o.ts);
            EXPECT_EQ(v.tcp_header_len(), 20u);
        }
        const auto p = net::parse({buf, len});
        ASSERT_TRUE(p.ok()) << to_string(p.status);
        sources.insert(std::string(src.begin(), src.end()));
        sports.insert(v.sport());
        seqs.insert(v.seq());
    }
    for (size_t k = 0; k < kFloodKinds; ++k) {
        if (spec.weights[k] == 0) {  // fragments: their own test
            EXPECT_EQ(count[k], 0) << to_string(static_cast<FloodKind>(k));
            continue;
        }
        const double share = static_cast<double>(count[k]) / kFrames;
        EXPECT_GT(share, 0.22) << to_string(static_cast<FloodKind>(k));
        EXPECT_LT(share, 0.28) << to_string(static_cast<FloodKind>(k));
    }
    EXPECT_EQ(sports.size(), 100u) << "every port of [sport_lo, sport_hi] drawn";
    EXPECT_GT(sources.size(), 30000u) << "sources spread over the prefix";
    EXPECT_GT(seqs.size(), 39000u);
}

// The fragment kind: a SYN cut into a fragment of itself, first (offset 0, more fragments) or
// later; IPv4 with a correct header checksum, IPv6 with a Fragment header. The parser stops at it
// (a fragment is passed, never taken for a SYN), and the flood spreads over both kinds.
TEST_P(FloodWriterFamily, FragmentsAreFragmentsOfSyns) {
    const bool v6 = GetParam();
    FloodSpec spec = flood_spec(v6);
    spec.weights = {0, 0, 0, 0, 1};
    FloodWriter w(spec, 777);
    int first = 0, later = 0;
    for (int f = 0; f < 4000; ++f) {
        uint8_t buf[kMaxFloodFrame];
        FloodKind kind{};
        const uint16_t len = w.write(buf, sizeof buf, kind);
        ASSERT_EQ(kind, FloodKind::kFrag);
        ASSERT_GT(len, 0);
        const auto p = net::parse({buf, len});
        ASSERT_EQ(p.status, net::ParseStatus::kFragment) << f;
        uint16_t offset_units = 0;
        bool more = false;
        if (v6) {
            ASSERT_EQ(buf[14 + 6], 44) << "next header: Fragment";
            ASSERT_EQ(buf[14 + 40], 6) << "the Fragment header carries TCP";
            const uint16_t field = static_cast<uint16_t>(buf[14 + 42] << 8 | buf[14 + 43]);
            offset_units = field >> 3;
            more = field & 1;
            ASSERT_EQ(static_cast<size_t>(buf[14 + 4] << 8 | buf[14 + 5]), len - 14u - 40u) << "payload length";
        } else {
            const FrameView v({buf, buf + len});
            ASSERT_TRUE(v.ipv4_checksum_ok()) << f;
            const uint16_t field = static_cast<uint16_t>(buf[14 + 6] << 8 | buf[14 + 7]);
            offset_units = field & 0x1fff;
            more = field & 0x2000;
        }
        ASSERT_TRUE(offset_units != 0 || more) << "never a whole packet";
        (offset_units == 0 ? first : later)++;
    }
    EXPECT_GT(first, 1600);
    EXPECT_GT(later, 1600);
}

INSTANTIATE_TEST_SUITE_P(Families, FloodWriterFamily, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "Ipv6" : "Ipv4"; });

TEST(FloodWriter, WeightsAreFollowed) {
    FloodSpec spec = flood_spec(false);
    spec.weights = {70, 20, 10, 0};
    FloodWriter w(spec, 99);
    std::array<int, kFloodKinds> count{};
    constexpr int kFrames = 40000;
    for (int f = 0; f < kFrames; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        ASSERT_GT(w.write(buf, sizeof buf, kind), 0);
        ++count[static_cast<size_t>(kind)];
    }
    EXPECT_NEAR(count[0] / double(kFrames), 0.70, 0.02);
    EXPECT_NEAR(count[1] / double(kFrames), 0.20, 0.02);
    EXPECT_NEAR(count[2] / double(kFrames), 0.10, 0.02);
    EXPECT_EQ(count[3], 0);

    spec.weights = {0, 0, 0, 3};  // only reflected SYN-ACKs
    FloodWriter only(spec, 5);
    for (int f = 0; f < 1000; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        const uint16_t len = only.write(buf, sizeof buf, kind);
        ASSERT_GT(len, 0);
        ASSERT_EQ(kind, FloodKind::kSynAck);
        ASSERT_EQ(FrameView({buf, buf + len}).flags(), SYN | ACK);
    }
}

TEST(FloodWriter, OptionSets) {
    FloodSpec spec = flood_spec(false);
    spec.weights = {1, 0, 0, 0};
    auto first_syn = [&](OptionSet os) {
        spec.options = os;
        FloodWriter w(spec, 1);
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        const uint16_t len = w.write(buf, sizeof buf, kind);
        EXPECT_EQ(kind, FloodKind::kSyn);
        return FrameView({buf, buf + len});
    };
    {
        const FrameView v = first_syn(OptionSet::kLinux);
        const auto o = v.options();
        EXPECT_EQ(o.mss, 1460);
        EXPECT_TRUE(o.sack);
        EXPECT_TRUE(o.ts);
        EXPECT_EQ(o.wscale, 7);
        EXPECT_TRUE(v.has_option(2) && v.has_option(4) && v.has_option(8) && v.has_option(3));
        EXPECT_TRUE(v.tcp_checksum_ok());
    }
    {
        const FrameView v = first_syn(OptionSet::kNone);
        EXPECT_EQ(v.tcp_header_len(), 20u);
        const auto o = v.options();
        EXPECT_EQ(o.mss, -1);
        EXPECT_FALSE(o.sack);
        EXPECT_FALSE(o.ts);
        EXPECT_EQ(o.wscale, -1);
        EXPECT_TRUE(v.tcp_checksum_ok());
    }
    {
        const FrameView v = first_syn(OptionSet::kMss);
        const auto o = v.options();
        EXPECT_EQ(o.mss, 1460);
        EXPECT_FALSE(o.sack);
        EXPECT_FALSE(o.ts);
        EXPECT_EQ(o.wscale, -1);
        EXPECT_EQ(v.tcp_header_len(), 24u);
    }
    // Mixed: all three layouts appear, nothing else.
    spec.options = OptionSet::kMixed;
    FloodWriter w(spec, 77);
    std::map<size_t, int> by_len;
    for (int f = 0; f < 3000; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        const uint16_t len = w.write(buf, sizeof buf, kind);
        const FrameView v({buf, buf + len});
        ASSERT_TRUE(v.tcp_checksum_ok());
        ++by_len[v.tcp_header_len()];
    }
    EXPECT_EQ(by_len.size(), 3u);
    EXPECT_GT(by_len[20], 800);
    EXPECT_GT(by_len[24], 800);
    EXPECT_GT(by_len[40], 800);
}

TEST(FloodWriter, AcksCarryVaryingAckNumbersAndRstsSeq) {
    FloodSpec spec = flood_spec(false);
    spec.weights = {0, 1, 0, 0};
    FloodWriter w(spec, 4);
    std::set<uint32_t> acks;
    int with_ts = 0;
    for (int f = 0; f < 2000; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        FloodKind kind{};
        const uint16_t len = w.write(buf, sizeof buf, kind);
        const FrameView v({buf, buf + len});
        ASSERT_EQ(v.flags(), ACK);
        acks.insert(v.ack());
        with_ts += v.options().ts;
    }
    EXPECT_GT(acks.size(), 1990u) << "random acknowledgment numbers";
    EXPECT_GT(with_ts, 800);
    EXPECT_LT(with_ts, 1200);
}

TEST(FloodWriter, DeterministicForASeed) {
    const FloodSpec spec = flood_spec(false);
    auto run = [&](uint64_t seed) {
        FloodWriter w(spec, seed);
        std::vector<uint8_t> all;
        for (int f = 0; f < 1000; ++f) {
            uint8_t buf[net::kMaxSynFrame];
            FloodKind kind{};
            const uint16_t len = w.write(buf, sizeof buf, kind);
            all.push_back(static_cast<uint8_t>(kind));
            all.insert(all.end(), buf, buf + len);
        }
        return all;
    };
    const auto a = run(42), b = run(42), c = run(43);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
}

TEST(FloodWriter, RefusesASmallBufferAndSwapsAReversedPortRange) {
    FloodSpec spec = flood_spec(false);
    spec.sport_lo = 5010;
    spec.sport_hi = 5000;
    FloodWriter w(spec, 8);
    uint8_t small[40];
    FloodKind kind{};
    EXPECT_EQ(w.write(small, sizeof small, kind), 0);
    for (int f = 0; f < 500; ++f) {
        uint8_t buf[net::kMaxSynFrame];
        const uint16_t len = w.write(buf, sizeof buf, kind);
        ASSERT_GT(len, 0);
        const FrameView v({buf, buf + len});
        ASSERT_GE(v.sport(), 5000);
        ASSERT_LE(v.sport(), 5010);
    }
}

// =============================================================================================
// 3b. MalformedWriter: each kind gets its parse status, and only its defect

class MalformedWriterFamily : public ::testing::TestWithParam<bool> {};

TEST_P(MalformedWriterFamily, EveryKindGetsItsParseStatusAndNoOtherDefect) {
    const bool v6 = GetParam();
    const net::Family fam = v6 ? net::Family::kIpv6 : net::Family::kIpv4;
    MalformedWriter w(flood_spec(v6), 11);
    const net::ParseConfig no_checksums{.verify_ipv4_checksum = false, .verify_tcp_checksum = false};
    size_t kinds_of_family = 0;
    for (size_t k = 0; k < kMalformations; ++k) {
        const auto kind = static_cast<Malformation>(k);
        SCOPED_TRACE(std::string(to_string(kind)));
        std::array<uint8_t, kMaxMalformedFrame> buf{};
        if (!applies_to(kind, fam)) {
            EXPECT_EQ(w.write(kind, buf.data(), static_cast<uint16_t>(buf.size())), 0u);
            continue;
        }
        ++kinds_of_family;
        EXPECT_EQ(w.write(kind, buf.data(), static_cast<uint16_t>(buf.size() - 1)), 0u) << "room too small";
        for (int i = 0; i < 300; ++i) {
            const uint16_t len = w.write(kind, buf.data(), static_cast<uint16_t>(buf.size()));
            ASSERT_GT(len, 0u);
            ASSERT_LE(len, kMaxMalformedFrame);
            const net::ParsedPacket p = net::parse({buf.data(), len});
            ASSERT_EQ(p.status, expected_status(kind)) << net::to_string(p.status) << " frame " << i;
            // Checksums are right unless they are the defect: without verification those frames parse.
            const net::ParsedPacket q = net::parse({buf.data(), len}, 0, no_checksums);
            if (kind == Malformation::kBadTcpChecksum || kind == Malformation::kBadIpv4Checksum) {
                ASSERT_EQ(q.status, net::ParseStatus::kOk);
                EXPECT_EQ(q.tcp_flags, SYN);
            }
            // No second defect: the IPv4 header checksum (over the 20 bytes there are) is right
            // wherever the header is whole and is not the defect, whatever its fields now say...
            const size_t l3 = kind == Malformation::kThreeVlans ? 26 : 14;
            const bool header_whole = kind != Malformation::kTruncatedL2 && kind != Malformation::kTruncatedVlan &&
                                      kind != Malformation::kTruncatedIpHeader;
            if (!v6 && header_whole && kind != Malformation::kBadIpv4Checksum) {
                ASSERT_GE(len, l3 + 20);
                EXPECT_EQ(pf::ref_checksum(buf.data() + l3, 20), 0) << "IPv4 header checksum";
            }
            // ...and the TCP checksum is right wherever the IP header still describes the whole
            // segment and the TCP checksum is not the defect.
            if (kind == Malformation::kThreeVlans || kind == Malformation::kBadAddress ||
                kind == Malformation::kBadTcpDataOffset ||
                kind == Malformation::kBadIpv4Checksum || kind == Malformation::kBadIpVersion ||
                (kind == Malformation::kFragment && !v6)) {
                FrameView v({buf.data(), buf.data() + len});
                if (kind == Malformation::kBadIpVersion) {  // the view needs the right version to find TCP
                    v.bytes[v.l3] = static_cast<uint8_t>((v6 ? 6 : 4) << 4 | (v.bytes[v.l3] & 0x0f));
                    v = FrameView(v.bytes);
                }
                EXPECT_TRUE(v.tcp_checksum_ok()) << "TCP checksum";
            }
        }
    }
    EXPECT_EQ(kinds_of_family, v6 ? 14u : 16u);
}

TEST_P(MalformedWriterFamily, TheVariantsCoverEverySubCase) {
    const bool v6 = GetParam();
    MalformedWriter w(flood_spec(v6), 1);
    const size_t th = 14 + (v6 ? 40 : 20);
    std::set<uint8_t> doff_low, doff_high;
    std::set<uint16_t> l2_cuts;
    for (uint64_t variant = 0; variant < kMalformedVariants; ++variant) {
        std::array<uint8_t, kMaxMalformedFrame> b{};
        ASSERT_GT(w.write(Malformation::kBadTcpDataOffset, b.data(), static_cast<uint16_t>(b.size()), variant), 0u);
        ((b[th + 12] >> 4) < 5 ? doff_low : doff_high).insert(static_cast<uint8_t>(b[th + 12] >> 4));
        l2_cuts.insert(w.write(Malformation::kTruncatedVlan, b.data(), static_cast<uint16_t>(b.size()), variant));
    }
    EXPECT_FALSE(doff_low.empty()) << "a data offset below 5";
    EXPECT_EQ(doff_high, (std::set<uint8_t>{15})) << "a data offset past the segment";
    EXPECT_EQ(l2_cuts.size(), 4u) << "every cut inside the VLAN tag";
}

TEST_P(MalformedWriterFamily, KindsDrawnEvenlyAndDeterministically) {
    const bool v6 = GetParam();
    const net::Family fam = v6 ? net::Family::kIpv6 : net::Family::kIpv4;
    MalformedWriter a(flood_spec(v6), 5), b(flood_spec(v6), 5), c(flood_spec(v6), 6);
    std::map<Malformation, int> seen;
    bool differs = false;
    const int n = 17000;
    for (int i = 0; i < n; ++i) {
        std::array<uint8_t, kMaxMalformedFrame> fa{}, fb{}, fc{};
        Malformation ka, kb, kc;
        const uint16_t la = a.write(fa.data(), static_cast<uint16_t>(fa.size()), ka);
        const uint16_t lb = b.write(fb.data(), static_cast<uint16_t>(fb.size()), kb);
        const uint16_t lc = c.write(fc.data(), static_cast<uint16_t>(fc.size()), kc);
        ASSERT_EQ(ka, kb);
        ASSERT_EQ(la, lb);
        ASSERT_EQ(0, std::memcmp(fa.data(), fb.data(), la)) << "same seed, same frames";
        differs |= ka != kc || la != lc || std::memcmp(fa.data(), fc.data(), std::min(la, lc)) != 0;
        ASSERT_TRUE(applies_to(ka, fam));
        ASSERT_EQ(net::parse({fa.data(), la}).status, expected_status(ka));
        ++seen[ka];
    }
    EXPECT_TRUE(differs) << "another seed, other frames";
    const double mean = static_cast<double>(n) / static_cast<double>(seen.size());
    EXPECT_EQ(seen.size(), v6 ? 14u : 16u);
    for (const auto& [k, count] : seen) EXPECT_NEAR(count, mean, mean * 0.15) << to_string(k);
}

INSTANTIATE_TEST_SUITE_P(Families, MalformedWriterFamily, ::testing::Bool(),
                         [](const auto& i) { return i.param ? "Ipv6" : "Ipv4"; });

// =============================================================================================
// 4. LatencyHistogram

TEST(LatencyHistogram, EmptyIsZero) {
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.quantile(0.5), 0u);
    EXPECT_EQ(h.quantile(0.99), 0u);
    EXPECT_EQ(h.quantile(1.0), 0u);
}

TEST(LatencyHistogram, UniformQuantiles) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100000; ++v) h.record(v);
    EXPECT_EQ(h.count(), 100000u);
    EXPECT_EQ(h.max(), 100000u);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 50000.0, 1000.0);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 99000.0, 1980.0);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.9)), 90000.0, 1800.0);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.1)), 10000.0, 200.0);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.001)), 100.0, 2.0);
    EXPECT_LE(h.quantile(1.0), 100000u);
    EXPECT_GE(h.quantile(1.0), 98400u);
    // Monotonic in q.
    uint64_t prev = 0;
    for (double q = 0.01; q <= 1.0; q += 0.01) {
        const uint64_t v = h.quantile(q);
        EXPECT_GE(v, prev) << q;
        prev = v;
    }
}

TEST(LatencyHistogram, SmallValuesAreExactAndSingleValueCappedAtMax) {
    LatencyHistogram h;
    for (uint64_t v = 0; v < 64; ++v) h.record(v);
    EXPECT_EQ(h.quantile(0.5), 31u);
    EXPECT_EQ(h.quantile(1.0), 63u);

    LatencyHistogram one;
    one.record(1'234'567);
    EXPECT_EQ(one.count(), 1u);
    EXPECT_LE(one.quantile(0.5), 1'234'567u) << "capped at the maximum seen";
    EXPECT_NEAR(static_cast<double>(one.quantile(0.5)), 1'234'567.0, 1'234'567.0 / 64);
}

TEST(LatencyHistogram, BimodalDistribution) {
    LatencyHistogram h;
    for (int i = 0; i < 900; ++i) h.record(1'000'000);       // 1 ms
    for (int i = 0; i < 100; ++i) h.record(3'000'000'000);   // 3 s (SYN retransmitted twice)
    EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 1e6, 1e6 / 64);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.9)), 1e6, 1e6 / 64);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.95)), 3e9, 3e9 / 64);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 3e9, 3e9 / 64);
}

TEST(LatencyHistogram, MergeAddsCounts) {
    LatencyHistogram a, b, all;
    for (uint64_t v = 1; v <= 50000; ++v) {
        a.record(v);
        all.record(v);
    }
    for (uint64_t v = 50001; v <= 100000; ++v) {
        b.record(v);
        all.record(v);
    }
    EXPECT_NEAR(static_cast<double>(a.quantile(0.5)), 25000.0, 500.0);
    a.merge(b);
    EXPECT_EQ(a.count(), 100000u);
    EXPECT_EQ(a.max(), 100000u);
    for (double q : {0.01, 0.25, 0.5, 0.75, 0.99, 1.0}) EXPECT_EQ(a.quantile(q), all.quantile(q)) << q;
    EXPECT_NEAR(static_cast<double>(a.quantile(0.5)), 50000.0, 1000.0);
    LatencyHistogram empty;
    a.merge(empty);
    EXPECT_EQ(a.count(), 100000u);
    empty.merge(b);
    EXPECT_EQ(empty.count(), 50000u);
    EXPECT_EQ(empty.max(), 100000u);
    // Every bucket merges, the first (0 ns) and the last (saturated) included.
    LatencyHistogram lo, hi;
    for (int k = 0; k < 3; ++k) lo.record(0);
    lo.record(~uint64_t{0});
    hi.record(1000);
    hi.merge(lo);
    EXPECT_EQ(hi.count(), 5u);
    EXPECT_EQ(hi.quantile(0.2), 0u);
    EXPECT_EQ(hi.quantile(0.6), 0u);
    EXPECT_NEAR(static_cast<double>(hi.quantile(0.8)), 1000.0, 1000.0 / 64);
    EXPECT_GE(hi.quantile(1.0), LatencyHistogram::lower(LatencyHistogram::kBuckets - 1));
    EXPECT_LT(hi.quantile(1.0), uint64_t{1} << 41) << "the middle of the top bucket, not the raw maximum";
}

TEST(LatencyHistogram, IndexLowerRoundTrip) {
    using H = LatencyHistogram;
    auto check = [](uint64_t v) {
        const unsigned i = H::index(v);
        ASSERT_LT(i, H::kBuckets) << v;
        ASSERT_LE(H::lower(i), v) << v;
        ASSERT_LT(v, H::lower(i + 1)) << v;
        // Bucket width is at most 1/64 of its lower bound (or 1 below 64).
        const uint64_t width = H::lower(i + 1) - H::lower(i);
        if (v >= 64) {
            ASSERT_LE(width * 64, H::lower(i)) << v;
        } else {
            ASSERT_EQ(width, 1u);
            ASSERT_EQ(H::lower(i), v);
        }
    };
    for (uint64_t v = 0; v < 200000; ++v) check(v);
    for (unsigned e = 0; e <= 40; ++e) {
        const uint64_t p = uint64_t{1} << e;
        check(p);
        check(p - 1);
        check(p + 1);
        check(p + p / 2);
    }
    const uint64_t top = (uint64_t{1} << 41) - 1;  // the largest value with its own bucket
    check(top);
    EXPECT_EQ(H::index(top), H::kBuckets - 1);
    std::mt19937_64 rng(11);
    for (int k = 0; k < 200000; ++k) check(rng() % (top + 1));
    for (int k = 0; k < 20000; ++k) check((rng() % (top + 1)) >> (rng() % 41));  // every magnitude
    for (unsigned i = 0; i + 1 <= H::kBuckets; ++i) ASSERT_LT(H::lower(i), H::lower(i + 1)) << i;
}

TEST(LatencyHistogram, HugeValuesSaturate) {
    using H = LatencyHistogram;
    EXPECT_EQ(H::index(uint64_t{1} << 41), H::kBuckets - 1);
    EXPECT_EQ(H::index(~uint64_t{0}), H::kBuckets - 1);
    EXPECT_LE(H::lower(H::index(~uint64_t{0})), ~uint64_t{0});
    LatencyHistogram h;
    h.record(~uint64_t{0});
    h.record(uint64_t{1} << 50);
    EXPECT_EQ(h.count(), 2u);
    EXPECT_EQ(h.max(), ~uint64_t{0});
    EXPECT_GE(h.quantile(1.0), H::lower(H::kBuckets - 1));
}

// =============================================================================================
// 5. ClientPool against the real engine

namespace {

struct Server {
    std::unique_ptr<handshake::Worker> worker;
    handshake::BurstOutput out;

    Server(net::Family fam, const std::array<uint8_t, 16>& addr, uint16_t port, handshake::CookieMode mode) {
        handshake::ListenerConfig l;
        l.name = "web";
        l.family = fam;
        l.addr = addr;
        l.prefix_len = fam == net::Family::kIpv4 ? 32 : 128;
        l.port = port;
        l.cookie_mode = mode;
        l.mss = fam == net::Family::kIpv4 ? 1460 : 1440;
        cookie::SecretConfig sc;
        sc.master.fill(0x5a);
        sc.prf = cookie::best_prf();
        worker = std::make_unique<handshake::Worker>(
            handshake::EngineConfig{}, std::make_shared<handshake::ListenerTable>(std::vector{l}), sc, kT0);
    }
    // Feeds packets; returns the replies (copies of out.tx).
    std::vector<net::Packet> feed(std::vector<net::Packet>& pkts, uint64_t now) {
        out.clear();
        EXPECT_EQ(worker->process_burst({pkts.data(), pkts.size()}, now, out), pkts.size());
        return {out.tx, out.tx + out.n_tx};
    }
    uint64_t counter(uint32_t c) const { return worker->counters()[c]; }
};

struct PoolCase {
    bool v6;
    handshake::CookieMode mode;
    ClientClose close;
};

void PrintTo(const PoolCase& c, std::ostream* os) {
    *os << (c.v6 ? "ipv6" : "ipv4") << (c.mode == handshake::CookieMode::kAlways ? " cookies" : " queue")
        << (c.close == ClientClose::kRst ? " rst" : " fin");
}

ClientSpec client_spec(bool v6, uint32_t clients) {
    ClientSpec s;
    s.src = range(v6 ? "fd00:99::/112" : "10.99.0.0/16");
    s.dst = v6 ? pf::v6("2001:db8:2::10") : pf::v4("203.0.113.10");
    s.dport = 80;
    s.clients = clients;
    s.syn.family = s.src.family;
    return s;
}

}  // namespace

// Every malformed frame reaches the engine's counters under its reason; none is answered.
TEST(MalformedWriterEngine, TheEngineCountsEachAndAnswersNone) {
    for (const bool v6 : {false, true}) {
        SCOPED_TRACE(v6 ? "ipv6" : "ipv4");
        const FloodSpec spec = flood_spec(v6);
        MalformedWriter w(spec, 3);
        Server server(v6 ? net::Family::kIpv6 : net::Family::kIpv4, spec.dst, spec.dport, handshake::CookieMode::kAlways);
        std::map<net::ParseStatus, uint64_t> expected;
        std::vector<std::array<uint8_t, kMaxMalformedFrame>> mem(32);
        uint64_t drops = 0, passes = 0;
        for (int burst = 0; burst < 100; ++burst) {
            std::vector<net::Packet> pkts(32);
            for (size_t i = 0; i < pkts.size(); ++i) {
                Malformation k;
                pkts[i] = net::Packet{mem[i].data(), 0, kMaxMalformedFrame, 0, 0, nullptr};
                pkts[i].len = w.write(mem[i].data(), kMaxMalformedFrame, k);
                ++expected[expected_status(k)];
            }
            EXPECT_TRUE(server.feed(pkts, kT0 + static_cast<uint64_t>(burst) * kMs).empty()) << "nothing answered";
            EXPECT_EQ(server.out.n_drop + server.out.n_pass, 32u) << "every frame handed back";
            drops += server.out.n_drop;
            passes += server.out.n_pass;
        }
        uint64_t expected_pass = 0;
        for (const auto& [status, count] : expected) {
            EXPECT_EQ(server.counter(handshake::parse_counter(status)), count) << net::to_string(status);
            if (net::is_pass(status)) expected_pass += count;
        }
        EXPECT_EQ(passes, expected_pass);
        EXPECT_EQ(drops + passes, 3200u);
        EXPECT_EQ(server.counter(handshake::kSyncookiesSent), 0u);
    }
}

class ClientPoolEngine : public ::testing::TestWithParam<PoolCase> {};

TEST_P(ClientPoolEngine, FiftyClientsCompleteAgainstTheEngineAndLoop) {
    const PoolCase pc = GetParam();
    const net::Family fam = pc.v6 ? net::Family::kIpv6 : net::Family::kIpv4;
    ClientSpec spec = client_spec(pc.v6, 50);
    spec.close = pc.close;
    Server server(fam, spec.dst, spec.dport, pc.mode);
    ClientPool pool(spec, 2024, kT0);
    ASSERT_EQ(pool.size(), 50u);

    // The SYNs.
    Buffers bufs(64);
    const uint64_t t_syn = kT0 + 5 * kMs;
    ASSERT_EQ(pool.poll(t_syn, bufs.data(), bufs.size()), 50u);
    EXPECT_EQ(pool.stats().attempts, 50u);
    EXPECT_EQ(pool.stats().syns, 50u);
    std::map<uint16_t, uint32_t> isn_by_port;
    std::vector<net::Packet> syns(bufs.pk.begin(), bufs.pk.begin() + 50);
    for (uint32_t i = 0; i < 50; ++i) {
        const FrameView v = view(syns[i]);
        ASSERT_EQ(v.v6, pc.v6);
        EXPECT_EQ(v.flags(), SYN);
        EXPECT_TRUE(v.ipv4_checksum_ok());
        EXPECT_TRUE(v.tcp_checksum_ok());
        EXPECT_EQ(v.dport(), 80);
        EXPECT_EQ(v.dst_addr(), bytes_of(spec.dst, pc.v6 ? 16 : 4));
        const int64_t c = pool.client_of(v.src_addr().data(), v.sport());
        ASSERT_GE(c, 0);
        EXPECT_EQ(v.src_addr(), addr_at(spec.src, static_cast<uint64_t>(c) / spec.ports_per_addr));
        EXPECT_EQ(v.sport(), spec.sport_base + c % spec.ports_per_addr);
        isn_by_port[v.sport()] = v.seq();
    }
    EXPECT_EQ(isn_by_port.size(), 50u) << "50 distinct clients";

    // SYN -> engine -> SYN-ACKs.
    std::vector<net::Packet> synacks = server.feed(syns, t_syn + 10'000);
    ASSERT_EQ(synacks.size(), 50u);
    if (pc.mode == handshake::CookieMode::kAlways) {
        EXPECT_EQ(server.counter(handshake::kSyncookiesSent), 50u);
    } else {
        EXPECT_EQ(server.worker->half_open(), 50u);
    }

    // SYN-ACKs -> pool -> ACKs, at distinct times so each latency is known.
    const uint64_t t_rx = t_syn + 1'234'567;
    std::map<uint16_t, uint32_t> server_isn_by_port;
    std::vector<net::Packet> acks;
    for (size_t j = 0; j < synacks.size(); ++j) {
        const FrameView sa = view(synacks[j]);
        ASSERT_EQ(sa.flags() & (SYN | ACK), SYN | ACK);
        server_isn_by_port[sa.dport()] = sa.seq();
        net::Packet p = synacks[j];
        ASSERT_EQ(pool.on_frame(p, t_rx + j * 1000), ClientPool::Rx::kReply) << j;
        const FrameView a = view(p);
        EXPECT_EQ(a.flags(), ACK);
        EXPECT_EQ(a.seq(), isn_by_port[a.sport()] + 1);
        EXPECT_EQ(a.ack(), sa.seq() + 1);
        EXPECT_TRUE(a.ipv4_checksum_ok());
        EXPECT_TRUE(a.tcp_checksum_ok());
        acks.push_back(p);
    }
    EXPECT_EQ(pool.stats().synacks, 50u);
    EXPECT_EQ(pool.stats().completed, 50u);
    EXPECT_EQ(pool.stats().bad_synacks, 0u);
    EXPECT_EQ(pool.latencies().count(), 50u);
    const uint64_t lat_min = t_rx - t_syn, lat_max = t_rx + 49 * 1000 - t_syn;
    EXPECT_EQ(pool.latencies().max(), lat_max) << "latency = injected SYN-ACK time - SYN time";
    EXPECT_NEAR(static_cast<double>(pool.latencies().quantile(0.01)), static_cast<double>(lat_min), lat_min / 64.0);
    EXPECT_NEAR(static_cast<double>(pool.latencies().quantile(0.5)), static_cast<double>(lat_min + 24'500),
                lat_min / 64.0);

    // ACKs -> engine -> 50 established connections.
    server.feed(acks, t_rx + kMs);
    EXPECT_EQ(server.out.n_established, 50u);
    EXPECT_EQ(server.counter(handshake::kEstablished), 50u);
    std::set<uint32_t> client_isns;
    handshake::Connection conn;
    while (server.worker->accept(0, conn)) client_isns.insert(conn.client_isn);
    EXPECT_EQ(client_isns.size(), 50u);
    for (const auto& [port, isn] : isn_by_port) EXPECT_TRUE(client_isns.count(isn)) << port;

    // Next poll: the 50 closes, then (closed loop) 50 new SYNs.
    const uint64_t t_next = t_rx + 2 * kMs;
    Buffers big(128);
    ASSERT_EQ(pool.poll(t_next, big.data(), big.size()), 100u);
    EXPECT_EQ(pool.stats().closes, 50u);
    EXPECT_EQ(pool.stats().attempts, 100u);
    EXPECT_EQ(pool.stats().syns, 100u);
    std::set<uint16_t> closed, restarted;
    for (uint32_t k = 0; k < 100; ++k) {
        const FrameView v = view(big.pk[k]);
        EXPECT_TRUE(v.ipv4_checksum_ok());
        EXPECT_TRUE(v.tcp_checksum_ok());
        if (k < 50) {
            if (pc.close == ClientClose::kRst) {
                EXPECT_EQ(v.flags(), RST) << k;
            } else {
                EXPECT_EQ(v.flags(), FIN | ACK) << k;
                EXPECT_EQ(v.ack(), server_isn_by_port[v.sport()] + 1);
            }
            EXPECT_EQ(v.seq(), isn_by_port[v.sport()] + 1);
            EXPECT_EQ(v.tcp_header_len(), 20u) << "no options on the close";
            closed.insert(v.sport());
        } else {
            EXPECT_EQ(v.flags(), SYN) << k;
            EXPECT_NE(v.seq(), isn_by_port[v.sport()]) << "a new ISN";
            restarted.insert(v.sport());
        }
    }
    EXPECT_EQ(closed.size(), 50u);
    EXPECT_EQ(restarted.size(), 50u);
    // The closes reach the engine's established flows.
    std::vector<net::Packet> closes(big.pk.begin(), big.pk.begin() + 50);
    server.feed(closes, t_next + 1000);
    EXPECT_EQ(server.out.n_flow, 50u);
    // Nothing more is due until the new SYNs time out.
    EXPECT_EQ(pool.poll(t_next + 500 * kMs, big.data(), big.size()), 0u);
    EXPECT_EQ(pool.stats().completed, 50u);
    EXPECT_EQ(pool.stats().failed, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ClientPoolEngine,
    ::testing::Values(PoolCase{false, handshake::CookieMode::kAlways, ClientClose::kRst},
                      PoolCase{false, handshake::CookieMode::kNever, ClientClose::kRst},
                      PoolCase{false, handshake::CookieMode::kAlways, ClientClose::kFin},
                      PoolCase{false, handshake::CookieMode::kNever, ClientClose::kFin},
                      PoolCase{true, handshake::CookieMode::kAlways, ClientClose::kRst},
                      PoolCase{true, handshake::CookieMode::kNever, ClientClose::kFin}),
    [](const auto& i) {
        return std::string(i.param.v6 ? "Ipv6" : "Ipv4") +
               (i.param.mode == handshake::CookieMode::kAlways ? "Cookies" : "Queue") +
               (i.param.close == ClientClose::kRst ? "Rst" : "Fin");
    });

// The first data rides on the ACK: the engine establishes with it (in both modes), hands the bytes
// to the application unchanged, and the close comes after them in sequence space.
TEST(ClientPoolEngine, FirstDataRidesOnTheAckAndReachesTheApplication) {
    const std::string request = "GET / HTTP/1.1\r\nHost: synwall\r\n\r\n";
    for (const bool v6 : {false, true})
        for (const auto close : {ClientClose::kRst, ClientClose::kFin})
            for (const auto mode : {handshake::CookieMode::kAlways, handshake::CookieMode::kNever}) {
                SCOPED_TRACE(::testing::Message() << (v6 ? "v6" : "v4") << (close == ClientClose::kRst ? " rst" : " fin")
                                                << (mode == handshake::CookieMode::kAlways ? " cookies" : " queue"));
                ClientSpec spec = client_spec(v6, 8);
                spec.close = close;
                spec.first_data.assign(request.begin(), request.end());
                Server server(v6 ? net::Family::kIpv6 : net::Family::kIpv4, spec.dst, spec.dport, mode);
                ClientPool pool(spec, 7, kT0);
                Buffers bufs(16);
                ASSERT_EQ(pool.poll(kT0 + kMs, bufs.data(), bufs.size()), 8u);
                std::vector<net::Packet> syns(bufs.pk.begin(), bufs.pk.begin() + 8);
                std::map<uint16_t, uint32_t> isn_by_port, server_isn_by_port;
                for (const auto& sy : syns) {
                    const FrameView v = view(sy);
                    EXPECT_TRUE(v.payload().empty()) << "no data on the SYN";
                    isn_by_port[v.sport()] = v.seq();
                }
                std::vector<net::Packet> synacks = server.feed(syns, kT0 + 2 * kMs);
                ASSERT_EQ(synacks.size(), 8u);
                std::vector<net::Packet> acks;
                for (auto& sa : synacks) {
                    server_isn_by_port[view(sa).dport()] = view(sa).seq();
                    net::Packet p = sa;
                    ASSERT_EQ(pool.on_frame(p, kT0 + 3 * kMs), ClientPool::Rx::kReply);
                    const FrameView a = view(p);
                    EXPECT_EQ(a.flags(), ACK);
                    EXPECT_EQ(a.seq(), isn_by_port[a.sport()] + 1);
                    const std::vector<uint8_t> data = a.payload();
                    EXPECT_EQ(std::string(data.begin(), data.end()), request);
                    EXPECT_EQ(a.tcp_length(), a.tcp_header_len() + request.size());
                    EXPECT_TRUE(a.ipv4_checksum_ok());
                    EXPECT_TRUE(a.tcp_checksum_ok());
                    acks.push_back(p);
                }
                server.feed(acks, kT0 + 4 * kMs);
                EXPECT_EQ(server.counter(handshake::kEstablished), 8u);
                EXPECT_EQ(server.counter(handshake::kEstablishedWithData), 8u);
                handshake::Connection conn;
                uint32_t accepted = 0;
                while (server.worker->accept(0, conn)) {
                    ++accepted;
                    ASSERT_EQ(conn.payload_len, request.size());
                    EXPECT_EQ(std::string(reinterpret_cast<const char*>(conn.packet.data) + conn.payload_offset,
                                          conn.payload_len),
                              request);
                }
                EXPECT_EQ(accepted, 8u);
                // The closes come after the data: seq = ISN + 1 + its length (RCV.NXT); a FIN also
                // acknowledges the server's SYN.
                Buffers next(32);
                ASSERT_EQ(pool.poll(kT0 + 5 * kMs, next.data(), next.size()), 16u);
                std::vector<net::Packet> closes;
                for (uint32_t k = 0; k < 8; ++k) {
                    const FrameView v = view(next.pk[k]);
                    EXPECT_EQ(v.flags(), close == ClientClose::kRst ? RST : FIN | ACK);
                    EXPECT_EQ(v.seq(), static_cast<uint32_t>(isn_by_port[v.sport()] + 1 + request.size()));
                    if (close == ClientClose::kFin) {
                        EXPECT_EQ(v.ack(), server_isn_by_port[v.sport()] + 1);
                    }
                    closes.push_back(next.pk[k]);
                }
                server.feed(closes, kT0 + 6 * kMs);
                EXPECT_EQ(server.out.n_flow, 8u) << "the closes reach the established flows";
            }
}

// =============================================================================================
// 6. ClientPool: retransmits, failures, foreign frames, client_of

namespace {

// A SYN-ACK (or other segment) from the server to (client address, client port).
std::vector<uint8_t> server_segment(const ClientSpec& spec, const std::vector<uint8_t>& client_addr, uint16_t client_port,
                                    uint8_t flags, uint32_t seq, uint32_t ack) {
    pf::SegmentSpec s;
    s.fam = spec.src.family == net::Family::kIpv4 ? pf::Fam::v4 : pf::Fam::v6;
    std::copy(spec.dst.begin(), spec.dst.end(), s.src.begin());
    s.dst = {};
    std::copy(client_addr.begin(), client_addr.end(), s.dst.begin());
    s.sport = spec.dport;
    s.dport = client_port;
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    if (flags & SYN) s.tcp_options = pf::tcp_options({.mss = 1460, .ts = true, .tsval = 5, .tsecr = 6});
    return pf::build_frame(s);
}

struct Frame {
    std::vector<uint8_t> bytes;
    net::Packet pkt;
    explicit Frame(std::vector<uint8_t> b) : bytes(std::move(b)) {
        const uint16_t len = static_cast<uint16_t>(bytes.size());
        bytes.resize(256);
        pkt.data = bytes.data();
        pkt.len = len;
        pkt.room = 256;
    }
};

}  // namespace

// An ACK with its data that does not fit the buffer is not sent, and the handshake does not count
// as completed: the client keeps waiting on its SYN timer.
TEST(ClientPool, AckThatDoesNotFitIsNotACompletion) {
    ClientSpec spec = client_spec(false, 1);
    spec.first_data.assign(200, 'x');
    ClientPool pool(spec, 7, kT0);
    Buffers bufs(1);
    ASSERT_EQ(pool.poll(kT0, bufs.data(), 1), 1u);
    const FrameView syn = view(bufs.pk[0]);
    Frame sa(server_segment(spec, syn.src_addr(), syn.sport(), SYN | ACK, 5000, syn.seq() + 1));
    // The ACK: 14 + 20 + 32 (timestamps echoed) + 200 bytes > the 256-byte buffer.
    const std::vector<uint8_t> before(sa.bytes.begin(), sa.bytes.begin() + sa.pkt.len);
    EXPECT_EQ(pool.on_frame(sa.pkt, kT0 + kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(std::vector<uint8_t>(sa.bytes.begin(), sa.bytes.begin() + sa.pkt.len), before) << "frame untouched";
    EXPECT_EQ(pool.stats().completed, 0u);
    EXPECT_EQ(pool.latencies().count(), 0u);
    // With room for it, the same SYN-ACK completes the handshake.
    spec.first_data.assign(100, 'x');
    ClientPool fits(spec, 7, kT0);
    ASSERT_EQ(fits.poll(kT0, bufs.data(), 1), 1u);
    Frame sa2(server_segment(spec, syn.src_addr(), syn.sport(), SYN | ACK, 5000, view(bufs.pk[0]).seq() + 1));
    EXPECT_EQ(fits.on_frame(sa2.pkt, kT0 + kMs), ClientPool::Rx::kReply);
    EXPECT_EQ(fits.stats().completed, 1u);
}

TEST(ClientPool, RetransmitBackoffAndGiveUp) {
    ClientSpec spec = client_spec(false, 3);
    spec.max_retries = 2;
    ClientPool pool(spec, 1, kT0);
    Buffers bufs(16);
    ASSERT_EQ(pool.poll(kT0, bufs.data(), bufs.size()), 3u);
    std::map<uint16_t, uint32_t> isn;
    for (int k = 0; k < 3; ++k) isn[view(bufs.pk[k]).sport()] = view(bufs.pk[k]).seq();
    ASSERT_EQ(isn.size(), 3u);

    auto poll_at = [&](uint64_t t) {
        bufs.reset();
        return pool.poll(t, bufs.data(), bufs.size());
    };
    EXPECT_EQ(poll_at(kT0 + 500 * kMs), 0u);
    EXPECT_EQ(poll_at(kT0 + kSec - kMs), 0u);
    const uint64_t t1 = kT0 + kSec + kMs;
    ASSERT_EQ(poll_at(t1), 3u) << "first retransmit after 1 s";
    for (int k = 0; k < 3; ++k) {
        const FrameView v = view(bufs.pk[k]);
        EXPECT_EQ(v.flags(), SYN);
        EXPECT_EQ(v.seq(), isn[v.sport()]) << "same ISN";
        EXPECT_TRUE(v.tcp_checksum_ok());
    }
    EXPECT_EQ(pool.stats().syn_retransmits, 3u);
    EXPECT_EQ(pool.stats().syns, 6u);
    EXPECT_EQ(pool.stats().attempts, 3u);

    EXPECT_EQ(poll_at(t1 + kSec + kMs), 0u) << "backoff: the second waits 2 s";
    EXPECT_EQ(poll_at(t1 + 2 * kSec - kMs), 0u);
    const uint64_t t2 = t1 + 2 * kSec + kMs;
    ASSERT_EQ(poll_at(t2), 3u) << "second retransmit after 2 s more";
    for (int k = 0; k < 3; ++k) EXPECT_EQ(view(bufs.pk[k]).seq(), isn[view(bufs.pk[k]).sport()]);
    EXPECT_EQ(pool.stats().syn_retransmits, 6u);
    EXPECT_EQ(pool.stats().failed, 0u);

    // max_retries = 2 spent: after 4 s more the attempt fails and the client starts over.
    EXPECT_EQ(poll_at(t2 + 4 * kSec - kMs), 0u);
    const uint64_t t3 = t2 + 4 * kSec + kMs;
    ASSERT_EQ(poll_at(t3), 3u);
    EXPECT_EQ(pool.stats().failed, 3u);
    EXPECT_EQ(pool.stats().attempts, 6u);
    EXPECT_EQ(pool.stats().syn_retransmits, 6u) << "a new attempt, not a retransmit";
    EXPECT_EQ(pool.stats().syns, 12u);
    for (int k = 0; k < 3; ++k) {
        const FrameView v = view(bufs.pk[k]);
        EXPECT_EQ(v.flags(), SYN);
        EXPECT_NE(v.seq(), isn[v.sport()]) << "new ISN";
    }
    // The new attempt's first retransmit is 1 s again.
    EXPECT_EQ(poll_at(t3 + kSec - kMs), 0u);
    EXPECT_EQ(poll_at(t3 + kSec + kMs), 3u);
    EXPECT_EQ(pool.stats().syn_retransmits, 9u);
    EXPECT_EQ(pool.latencies().count(), 0u);
}

TEST(ClientPool, LatencyIncludesRetransmitWaits) {
    ClientSpec spec = client_spec(false, 1);
    ClientPool pool(spec, 9, kT0);
    Buffers bufs(4);
    ASSERT_EQ(pool.poll(kT0, bufs.data(), bufs.size()), 1u);
    const FrameView syn = view(bufs.pk[0]);
    bufs.reset();
    ASSERT_EQ(pool.poll(kT0 + kSec + kMs, bufs.data(), bufs.size()), 1u);
    EXPECT_EQ(view(bufs.pk[0]).seq(), syn.seq());
    Frame sa(server_segment(spec, syn.src_addr(), syn.sport(), SYN | ACK, 777, syn.seq() + 1));
    const uint64_t t = kT0 + kSec + 300 * kMs;
    ASSERT_EQ(pool.on_frame(sa.pkt, t), ClientPool::Rx::kReply);
    EXPECT_EQ(pool.stats().completed, 1u);
    EXPECT_EQ(pool.latencies().max(), t - kT0) << "from the first SYN";
    // The retransmit timer was cancelled: nothing at +2 s except the close.
    bufs.reset();
    ASSERT_EQ(pool.poll(kT0 + 10 * kSec, bufs.data(), 1), 1u);
    EXPECT_EQ(view(bufs.pk[0]).flags(), RST);
    EXPECT_EQ(pool.stats().syn_retransmits, 1u);
}

TEST(ClientPool, ServerRstWrongAckAndForeignFrames) {
    ClientSpec spec = client_spec(false, 4);
    ClientPool pool(spec, 5, kT0);
    Buffers bufs(8);
    ASSERT_EQ(pool.poll(kT0, bufs.data(), bufs.size()), 4u);
    std::vector<FrameView> syn;
    for (int k = 0; k < 4; ++k) syn.push_back(view(bufs.pk[k]));

    // RSTs that do not acknowledge the SYN (RFC 9293 3.10.7.3) are ignored in SYN-sent.
    Frame bare_rst(server_segment(spec, syn[0].src_addr(), syn[0].sport(), RST, 12345, 0));
    EXPECT_EQ(pool.on_frame(bare_rst.pkt, kT0 + kMs), ClientPool::Rx::kConsumed);
    Frame wrong_rst(server_segment(spec, syn[0].src_addr(), syn[0].sport(), RST | ACK, 0, syn[0].seq() + 2));
    EXPECT_EQ(pool.on_frame(wrong_rst.pkt, kT0 + kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(pool.stats().resets, 0u);
    EXPECT_EQ(pool.stats().failed, 0u);
    {
        Buffers none(8);
        EXPECT_EQ(pool.poll(kT0 + kMs, none.data(), none.size()), 0u) << "no restart after an ignored RST";
    }

    // RST|ACK to client 0 in SYN-sent acknowledging its SYN: refused, counted, it starts over.
    Frame rst(server_segment(spec, syn[0].src_addr(), syn[0].sport(), RST | ACK, 0, syn[0].seq() + 1));
    EXPECT_EQ(pool.on_frame(rst.pkt, kT0 + kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(pool.stats().resets, 1u);
    EXPECT_EQ(pool.stats().failed, 1u);
    bufs.reset();
    ASSERT_EQ(pool.poll(kT0 + 2 * kMs, bufs.data(), bufs.size()), 1u) << "the reset client tries again";
    const FrameView again = view(bufs.pk[0]);
    EXPECT_EQ(again.flags(), SYN);
    EXPECT_EQ(again.sport(), syn[0].sport());
    EXPECT_NE(again.seq(), syn[0].seq());
    EXPECT_EQ(pool.stats().attempts, 5u);

    // SYN-ACK with a wrong ack number: bad, consumed, no completion.
    Frame wrong(server_segment(spec, syn[1].src_addr(), syn[1].sport(), SYN | ACK, 1000, syn[1].seq() + 2));
    const auto before = std::vector<uint8_t>(wrong.bytes.begin(), wrong.bytes.begin() + wrong.pkt.len);
    EXPECT_EQ(pool.on_frame(wrong.pkt, kT0 + 3 * kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(pool.stats().bad_synacks, 1u);
    EXPECT_EQ(pool.stats().synacks, 1u);
    EXPECT_EQ(pool.stats().completed, 0u);
    EXPECT_EQ(std::vector<uint8_t>(wrong.bytes.begin(), wrong.bytes.begin() + wrong.pkt.len), before)
        << "left untouched";

    // A plain ACK from the server: ours but nothing to do.
    Frame ack(server_segment(spec, syn[2].src_addr(), syn[2].sport(), ACK, 5, syn[2].seq() + 1));
    EXPECT_EQ(pool.on_frame(ack.pkt, kT0 + 3 * kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(pool.stats().completed, 0u);

    // Not ours: outside the client range, a port outside the pool, from another server port or
    // address, or not a TCP frame.
    Frame outside(server_segment(spec, {10, 98, 0, 1}, syn[2].sport(), SYN | ACK, 1, syn[2].seq() + 1));
    EXPECT_EQ(pool.on_frame(outside.pkt, kT0), ClientPool::Rx::kNotOurs);
    Frame bit_out(server_segment(spec, {10, 99 ^ 1, 0, 0}, syn[2].sport(), SYN | ACK, 1, syn[2].seq() + 1));
    EXPECT_EQ(pool.on_frame(bit_out.pkt, kT0), ClientPool::Rx::kNotOurs);
    Frame port_out(server_segment(spec, syn[2].src_addr(), static_cast<uint16_t>(spec.sport_base + 4), SYN | ACK, 1, 1));
    EXPECT_EQ(pool.on_frame(port_out.pkt, kT0), ClientPool::Rx::kNotOurs) << "client 4 is beyond the pool";
    Frame low_port(server_segment(spec, syn[2].src_addr(), static_cast<uint16_t>(spec.sport_base - 1), SYN | ACK, 1, 1));
    EXPECT_EQ(pool.on_frame(low_port.pkt, kT0), ClientPool::Rx::kNotOurs);
    ClientSpec other = spec;
    other.dport = 81;
    Frame other_port(server_segment(other, syn[2].src_addr(), syn[2].sport(), SYN | ACK, 1, syn[2].seq() + 1));
    EXPECT_EQ(pool.on_frame(other_port.pkt, kT0), ClientPool::Rx::kNotOurs);
    other = spec;
    other.dst = pf::v4("203.0.113.11");
    Frame other_server(server_segment(other, syn[2].src_addr(), syn[2].sport(), SYN | ACK, 1, syn[2].seq() + 1));
    EXPECT_EQ(pool.on_frame(other_server.pkt, kT0), ClientPool::Rx::kNotOurs);
    Frame junk(std::vector<uint8_t>(60, 0xab));
    EXPECT_EQ(pool.on_frame(junk.pkt, kT0), ClientPool::Rx::kNotOurs);
    EXPECT_EQ(pool.stats().synacks, 1u) << "foreign frames are not counted";
    EXPECT_EQ(pool.stats().bad_synacks, 1u);

    // The right SYN-ACK for client 1 still completes after the wrong one.
    Frame right(server_segment(spec, syn[1].src_addr(), syn[1].sport(), SYN | ACK, 1000, syn[1].seq() + 1));
    EXPECT_EQ(pool.on_frame(right.pkt, kT0 + 4 * kMs), ClientPool::Rx::kReply);
    EXPECT_EQ(pool.stats().completed, 1u);
    EXPECT_EQ(view(right.pkt).flags(), ACK);
    EXPECT_EQ(view(right.pkt).ack(), 1001u);
    // Its duplicate: the ACK again, no second completion.
    Frame dup(server_segment(spec, syn[1].src_addr(), syn[1].sport(), SYN | ACK, 1000, syn[1].seq() + 1));
    EXPECT_EQ(pool.on_frame(dup.pkt, kT0 + 5 * kMs), ClientPool::Rx::kReply);
    EXPECT_EQ(pool.stats().completed, 1u);
    EXPECT_EQ(pool.latencies().count(), 1u);
    // A RST after completion does not count as a reset.
    Frame late_rst(server_segment(spec, syn[1].src_addr(), syn[1].sport(), RST, syn[1].seq() + 1, 0));
    EXPECT_EQ(pool.on_frame(late_rst.pkt, kT0 + 6 * kMs), ClientPool::Rx::kConsumed);
    EXPECT_EQ(pool.stats().resets, 1u);
}

TEST(ClientPool, ClientOfMapsBackWithSeveralPools) {
    ClientSpec a = client_spec(false, 120);
    a.src = range("10.50.0.0/24");
    a.sport_base = 20000;
    a.ports_per_addr = 50;
    ClientSpec b = a;
    b.first = 120;
    b.clients = 100;
    ClientPool pa(a, 1, kT0), pb(b, 2, kT0);
    for (uint32_t i = 0; i < 120; ++i) {
        const auto addr = addr_at(a.src, i / 50);
        EXPECT_EQ(pa.client_of(addr.data(), static_cast<uint16_t>(20000 + i % 50)), int64_t{i});
        EXPECT_EQ(pb.client_of(addr.data(), static_cast<uint16_t>(20000 + i % 50)), -1) << "pool a's client";
    }
    for (uint32_t i = 0; i < 100; ++i) {
        const uint32_t g = 120 + i;
        const auto addr = addr_at(b.src, g / 50);
        EXPECT_EQ(pb.client_of(addr.data(), static_cast<uint16_t>(20000 + g % 50)), int64_t{i});
        EXPECT_EQ(pa.client_of(addr.data(), static_cast<uint16_t>(20000 + g % 50)), -1);
    }
    const auto a0 = addr_at(a.src, 0);
    EXPECT_EQ(pa.client_of(a0.data(), 19999), -1);
    EXPECT_EQ(pa.client_of(a0.data(), 20050), -1);
    const auto beyond = addr_at(b.src, 220 / 50);  // g = 220: past pool b
    EXPECT_EQ(pb.client_of(beyond.data(), static_cast<uint16_t>(20000 + 220 % 50)), -1);
    const uint8_t foreign[4] = {10, 51, 0, 0};
    EXPECT_EQ(pa.client_of(foreign, 20000), -1);

    // The frames pool b writes come from its clients' (address, port).
    Buffers bufs(128);
    ASSERT_EQ(pb.poll(kT0, bufs.data(), bufs.size()), 100u);
    std::set<int64_t> seen;
    for (uint32_t k = 0; k < 100; ++k) {
        const FrameView v = view(bufs.pk[k]);
        const int64_t c = pb.client_of(v.src_addr().data(), v.sport());
        ASSERT_GE(c, 0);
        const uint32_t g = 120 + static_cast<uint32_t>(c);
        EXPECT_EQ(v.src_addr(), addr_at(b.src, g / 50));
        EXPECT_EQ(v.sport(), 20000 + g % 50);
        seen.insert(c);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(ClientPool, PollRespectsTheBufferCount) {
    ClientSpec spec = client_spec(false, 10);
    ClientPool pool(spec, 3, kT0);
    Buffers bufs(4);
    EXPECT_EQ(pool.poll(kT0, bufs.data(), 4), 4u);
    bufs.reset();
    EXPECT_EQ(pool.poll(kT0, bufs.data(), 4), 4u);
    bufs.reset();
    EXPECT_EQ(pool.poll(kT0, bufs.data(), 4), 2u);
    EXPECT_EQ(pool.poll(kT0, bufs.data(), 4), 0u);
    EXPECT_EQ(pool.stats().attempts, 10u);
    EXPECT_EQ(pool.stats().syns, 10u);
}

// =============================================================================================
// 7. parse_gen_options

namespace {

std::optional<GenOptions> parse(std::vector<std::string> args, std::string& err) {
    err.clear();
    return parse_gen_options(args, err);
}

}  // namespace

// --json is checked with the other arguments: a path that cannot be written is a start-up error,
// not a summary lost at the end of the run.
TEST(GenOptions, AnUnwritableJsonPathIsRefusedWithTheArguments) {
    std::string err;
    EXPECT_FALSE(parse({"--port", "p", "--json", "/nonexistent-synwall-dir/out.json"}, err));
    EXPECT_EQ(err, "--json: cannot write '/nonexistent-synwall-dir/out.json': No such file or directory");
    EXPECT_FALSE(parse({"--port", "p", "--json", "/tmp"}, err));
    EXPECT_EQ(err, "--json: cannot write '/tmp': Is a directory");
}

TEST(GenOptions, FullCommandLine) {
    std::string err;
    const auto o = parse({"--port", "net_memif0,role=client,socket=/tmp/s", "--dst", "203.0.113.5", "--dport", "8080",
                          "--flood", "syn=70,ack=20,rst=10", "--rate", "1000000", "--flood-src", "198.18.0.0/16",
                          "--options", "mss", "--flood-replies", "nearmiss", "--clients", "100", "--client-src",
                          "10.1.0.0/24", "--client-close", "fin", "--client-rto-ms", "250", "--client-retries", "3",
                          "--duration", "30", "--flood-count", "10000000", "--stats-period", "0.5", "--linger", "2.5",
                          "--json", "/dev/null", "--burst", "64", "--seed", "42"},
                         err);
    ASSERT_TRUE(o) << err;
    EXPECT_EQ(o->port, "net_memif0,role=client,socket=/tmp/s");
    EXPECT_EQ(bytes_of(o->flood.dst, 4), (std::vector<uint8_t>{203, 0, 113, 5}));
    EXPECT_EQ(bytes_of(o->clients.dst, 4), (std::vector<uint8_t>{203, 0, 113, 5}));
    EXPECT_EQ(o->flood.dport, 8080);
    EXPECT_EQ(o->clients.dport, 8080);
    EXPECT_TRUE(o->flood_on);
    EXPECT_EQ(o->flood.weights, (std::array<uint32_t, kFloodKinds>{70, 20, 10, 0}));
    EXPECT_EQ(o->flood_pps, 1000000u);
    EXPECT_EQ(o->flood_count, 10000000u);
    EXPECT_EQ(o->flood.src.family, net::Family::kIpv4);
    EXPECT_EQ(o->flood.src.prefix_len, 16);
    EXPECT_EQ(bytes_of(o->flood.src.base, 4), (std::vector<uint8_t>{198, 18, 0, 0}));
    EXPECT_EQ(o->flood.options, OptionSet::kMss);
    EXPECT_EQ(o->flood_replies, FloodReplies::kNearMissAck);
    EXPECT_EQ(o->clients.clients, 100u);
    EXPECT_EQ(o->clients.src.prefix_len, 24);
    EXPECT_EQ(bytes_of(o->clients.src.base, 4), (std::vector<uint8_t>{10, 1, 0, 0}));
    EXPECT_EQ(o->clients.close, ClientClose::kFin);
    EXPECT_EQ(o->clients.rto_ns, 250'000'000u);
    EXPECT_EQ(o->clients.max_retries, 3);
    EXPECT_EQ(o->clients.syn.family, net::Family::kIpv4);
    EXPECT_DOUBLE_EQ(o->duration_s, 30);
    EXPECT_DOUBLE_EQ(o->stats_period_s, 0.5);
    EXPECT_DOUBLE_EQ(o->linger_s, 2.5);
    EXPECT_EQ(o->json, "/dev/null");
    EXPECT_EQ(o->burst, 64);
    EXPECT_EQ(o->seed, 42u);
}

TEST(GenOptions, Defaults) {
    std::string err;
    const auto o = parse({"--port", "net_tap0"}, err);
    ASSERT_TRUE(o) << err;
    EXPECT_TRUE(o->flood_on);
    EXPECT_EQ(o->flood.weights, (std::array<uint32_t, kFloodKinds>{1, 0, 0, 0}));
    EXPECT_EQ(o->flood_pps, 0u);
    EXPECT_EQ(bytes_of(o->flood.dst, 4), (std::vector<uint8_t>{203, 0, 113, 10}));
    EXPECT_EQ(o->flood.dport, 80);
    EXPECT_EQ(o->flood.src.prefix_len, 15);
    EXPECT_EQ(bytes_of(o->clients.src.base, 4), (std::vector<uint8_t>{10, 99, 0, 0}));
    EXPECT_EQ(o->clients.clients, 0u);
    EXPECT_EQ(o->flood_replies, FloodReplies::kDrop);
    EXPECT_EQ(o->burst, 32);
    EXPECT_EQ(o->seed, 1u);

    const auto r = parse({"--port", "p", "--rate", "max", "--flood", "off", "--clients", "5"}, err);
    ASSERT_TRUE(r) << err;
    EXPECT_FALSE(r->flood_on);
    EXPECT_EQ(r->flood_pps, 0u);
    EXPECT_EQ(r->clients.clients, 5u);
}

TEST(GenOptions, Ipv6TargetGetsIpv6DefaultRanges) {
    std::string err;
    const auto o = parse({"--port", "p", "--dst", "2001:db8::1"}, err);
    ASSERT_TRUE(o) << err;
    EXPECT_EQ(o->flood.src.family, net::Family::kIpv6);
    EXPECT_EQ(o->clients.src.family, net::Family::kIpv6);
    EXPECT_EQ(o->flood.dst, pf::v6("2001:db8::1"));
    EXPECT_EQ(o->clients.syn.family, net::Family::kIpv6);
}

// The IPv6 default client range (fd00:99::/64) with clients: the capacity check
// src.size() * ports_per_addr = 2^63 * 50000 overflows uint64_t (to 0).
TEST(GenOptions, Ipv6ClientsFitTheDefaultRange) {
    std::string err;
    const auto o = parse({"--port", "p", "--dst", "2001:db8::1", "--clients", "10"}, err);
    EXPECT_TRUE(o) << err;
    const auto w = parse({"--port", "p", "--dst", "2001:db8::1", "--clients", "10", "--client-src", "fd00:1::/48"}, err);
    EXPECT_TRUE(w) << err;
    const auto n = parse({"--port", "p", "--dst", "2001:db8::1", "--clients", "10", "--client-src", "fd00:1::/100"}, err);
    EXPECT_TRUE(n) << err;
}

TEST(GenOptions, ClientData) {
    std::string err;
    auto n = parse_gen_options({"--port", "p", "--client-data", "100"}, err);
    ASSERT_TRUE(n) << err;
    EXPECT_EQ(n->clients.first_data, std::vector<uint8_t>(100, 'x'));
    n = parse_gen_options({"--port", "p", "--client-data", "http"}, err);
    ASSERT_TRUE(n) << err;
    const std::string req(n->clients.first_data.begin(), n->clients.first_data.end());
    EXPECT_EQ(req.rfind("GET / HTTP/1.1\r\n", 0), 0u);
    EXPECT_EQ(req.substr(req.size() - 4), "\r\n\r\n");
    n = parse_gen_options({"--port", "p", "--client-data", "1200"}, err);
    ASSERT_TRUE(n) << err;
    EXPECT_EQ(n->clients.first_data.size(), 1200u);
    n = parse_gen_options({"--port", "p"}, err);
    ASSERT_TRUE(n) << err;
    EXPECT_TRUE(n->clients.first_data.empty()) << "a bare ACK by default";
}

TEST(GenOptions, ErrorsNameTheFlag) {
    struct Case {
        std::vector<std::string> args;
        std::string flag;
    };
    const std::vector<Case> cases = {
        {{"--dst", "203.0.113.1"}, "--port"},
        {{"--port", "p", "--bogus", "1"}, "--bogus"},
        {{"--port", "p", "--rate", "fast"}, "--rate"},
        {{"--port", "p", "--rate", "0"}, "--rate"},
        {{"--port", "p", "--dport", "0"}, "--dport"},
        {{"--port", "p", "--dport", "65536"}, "--dport"},
        {{"--port", "p", "--flood", "bogus=1"}, "--flood"},
        {{"--port", "p", "--dst", "2001:db8::1", "--flood-src", "198.18.0.0/15"}, "--flood-src/--client-src"},
        {{"--port", "p", "--flood-src", "2001:db8:ffff::/48"}, "--flood-src/--client-src"},
        {{"--port", "p", "--client-src", "fd00::/64"}, "--flood-src/--client-src"},
        {{"--port", "p", "--flood", "off"}, "--flood"},
        {{"--port", "p", "--clients", "200001", "--client-src", "10.0.0.0/30"}, "--clients"},
        {{"--port", "p", "--clients", "many"}, "--clients"},
        {{"--port", "p", "--client-data", "1201"}, "--client-data"},
        {{"--port", "p", "--client-data", "-1"}, "--client-data"},
        {{"--port", "p", "--client-data", "1.5"}, "--client-data"},
        {{"--port", "p", "--client-data", "https"}, "--client-data"},
        {{"--port", "p", "--client-data", "1e3"}, "--client-data"},
        {{"--port", "p", "--client-data", "0x10"}, "--client-data"},
        {{"--port", "p", "--client-data", " 12"}, "--client-data"},
        {{"--port"}, "--port"},
        {{"--port", "p", "--dst"}, "--dst"},
        {{"--port", "p", "--dst", "host.example"}, "--dst"},
        {{"--port", "p", "--flood-src", "198.18.0.0/40"}, "--flood-src"},
        {{"--port", "p", "--client-src", "nope"}, "--client-src"},
        {{"--port", "p", "--options", "bsd"}, "--options"},
        {{"--port", "p", "--flood-replies", "echo"}, "--flood-replies"},
        {{"--port", "p", "--client-close", "linger"}, "--client-close"},
        {{"--port", "p", "--client-rto-ms", "0"}, "--client-rto-ms"},
        {{"--port", "p", "--client-retries", "11"}, "--client-retries"},
        {{"--port", "p", "--duration", "-1"}, "--duration"},
        {{"--port", "p", "--flood-count", "0"}, "--flood-count"},
        {{"--port", "p", "--flood-count", "1e6"}, "--flood-count"},
        {{"--port", "p", "--stats-period", "0"}, "--stats-period"},
        {{"--port", "p", "--burst", "513"}, "--burst"},
        {{"--port", "p", "--linger", "61"}, "--linger"},
        {{"--port", "p", "--seed", "x"}, "--seed"},
        {{"--port", "p", "stray"}, "stray"},
    };
    for (const Case& c : cases) {
        std::string joined;
        for (const auto& a : c.args) joined += a + " ";
        SCOPED_TRACE(joined);
        std::string err;
        EXPECT_FALSE(parse(c.args, err));
        EXPECT_EQ(err.rfind(c.flag + ":", 0), 0u) << err;
    }
    // The limit is exact: 4 addresses x 50000 ports, 8 ports per client by default.
    std::string err;
    EXPECT_TRUE(parse({"--port", "p", "--clients", "25000", "--client-src", "10.0.0.0/30"}, err)) << err;
    EXPECT_FALSE(parse({"--port", "p", "--clients", "25001", "--client-src", "10.0.0.0/30"}, err));
    EXPECT_EQ(err.rfind("--clients:", 0), 0u) << err;
    EXPECT_TRUE(parse({"--port", "p", "--clients", "200000", "--client-ports", "1", "--client-src", "10.0.0.0/30"}, err))
        << err;
    EXPECT_FALSE(parse({"--port", "p", "--client-ports", "0"}, err));
    EXPECT_EQ(err.rfind("--client-ports:", 0), 0u) << err;
    // The family mismatch names the family problem.
    EXPECT_FALSE(parse({"--port", "p", "--dst", "2001:db8::1", "--flood-src", "198.18.0.0/15"}, err));
    EXPECT_NE(err.find("family"), std::string::npos) << err;
    EXPECT_FALSE(parse({"--port", "p", "--flood", "syn=0"}, err));
    EXPECT_NE(err.find("weight 0"), std::string::npos) << err;
}

TEST(GenOptions, UsageMentionsEveryFlag) {
    const std::string u = gen_usage();
    for (const char* f : {"--port", "--dst", "--dport", "--flood", "--rate", "--flood-src", "--options", "--flood-replies",
                          "--clients", "--client-src", "--client-close", "--client-rto-ms", "--client-retries",
                          "--duration", "--flood-count", "--stats-period", "--json", "--burst", "--seed", "--linger"})
        EXPECT_NE(u.find(f), std::string::npos) << f;
}

// Each new connection of a client takes the next of its ports; replies to an earlier port are
// stale (consumed, counted), never mistaken for the current connection's.
TEST(ClientPool, ConnectionsCycleThroughTheClientsPorts) {
    gen::ClientSpec spec;
    std::string err;
    ASSERT_TRUE(gen::parse_range("10.99.0.0/16", spec.src, err));
    spec.dst = synwall::testing::v4("203.0.113.10");
    spec.clients = 3;
    spec.ports_per_client = 4;
    spec.sport_base = 10000;
    gen::ClientPool pool(spec, 1, 0);
    std::vector<std::array<uint8_t, 256>> mem(8);
    auto bufs = [&] {
        std::vector<net::Packet> b(mem.size());
        for (size_t i = 0; i < mem.size(); ++i) b[i] = net::Packet{mem[i].data(), 0, 256, 0, 0, nullptr};
        return b;
    };
    std::vector<uint16_t> ports_of_client1;
    uint64_t now = 0;
    std::vector<uint8_t> first_synack_client1;
    for (int round = 0; round < 6; ++round, now += 1000) {
        auto b = bufs();
        const uint32_t n = pool.poll(now, b.data(), static_cast<uint32_t>(b.size()));
        for (uint32_t i = 0; i < n; ++i) {
            const synwall::testing::FrameView f({b[i].data, b[i].data + b[i].len});
            if (f.flags() != 0x02) continue;  // closes
            const int64_t c = pool.client_of(f.src_addr().data(), f.sport());
            ASSERT_GE(c, 0);
            EXPECT_EQ(f.sport(), 10000 + c * 4 + round % 4) << "client " << c << " round " << round;
            if (c == 1) ports_of_client1.push_back(f.sport());
            // The server's SYN-ACK, built by turning the SYN around.
            synwall::testing::SegmentSpec r;
            r.src = spec.dst;
            r.dst = synwall::testing::v4("10.99.0.0");
            std::memcpy(r.dst.data(), f.src_addr().data(), 4);
            r.sport = 80;
            r.dport = f.sport();
            r.flags = 0x12;
            r.seq = 777;
            r.ack = f.seq() + 1;
            auto synack = synwall::testing::build_frame(r);
            if (c == 1 && round == 0) first_synack_client1 = synack;
            std::vector<uint8_t> room(256);
            std::memcpy(room.data(), synack.data(), synack.size());
            net::Packet p{room.data(), static_cast<uint16_t>(synack.size()), 256, 0, 0, nullptr};
            EXPECT_EQ(pool.on_frame(p, now + 10), gen::ClientPool::Rx::kReply);
        }
    }
    EXPECT_EQ(pool.stats().completed, 18u);
    ASSERT_EQ(ports_of_client1.size(), 6u);
    EXPECT_EQ(ports_of_client1[0], 10004);
    EXPECT_EQ(ports_of_client1[4], 10004) << "after 4 connections the first port again";
    // A late SYN-ACK for client 1's round-0 port, while its current connection is on another port.
    {
        auto b = bufs();
        pool.poll(now, b.data(), static_cast<uint32_t>(b.size()));  // closes, then new SYNs (port 10006)
        std::vector<uint8_t> room(256);
        std::memcpy(room.data(), first_synack_client1.data(), first_synack_client1.size());
        net::Packet p{room.data(), static_cast<uint16_t>(first_synack_client1.size()), 256, 0, 0, nullptr};
        EXPECT_EQ(pool.on_frame(p, now + 20), gen::ClientPool::Rx::kConsumed);
        EXPECT_EQ(pool.stats().stale, 1u);
        EXPECT_EQ(pool.stats().bad_synacks, 0u);
    }
}

namespace {

// The stateless server of --respond: what a Linux server would answer, checksums valid, nothing kept.
TEST(Responder, AnswersSynsDataAndFinsAndIgnoresTheRest) {
    for (const pf::Fam fam : {pf::Fam::v4, pf::Fam::v6}) {
        gen::Responder r(7, /*reply_bytes*/ 10);
        pf::SegmentSpec s;
        s.fam = fam;
        s.src = fam == pf::Fam::v4 ? pf::v4("10.99.0.1") : pf::v6("2001:db8:1::1");
        s.dst = fam == pf::Fam::v4 ? pf::v4("203.0.113.10") : pf::v6("2001:db8:2::10");
        s.seq = 5000;
        s.tcp_options = pf::tcp_options({.mss = 1400, .wscale = 6, .sack = true, .ts = true, .tsval = 42});
        auto answer = [&](const pf::SegmentSpec& in) -> std::optional<FrameView> {
            std::vector<uint8_t> b = pf::build_frame(in);
            const size_t len = b.size();
            b.resize(2048);
            net::Packet p{b.data(), static_cast<uint16_t>(len), 2048, 0, 0, nullptr};
            if (!r.on_frame(p, kT0)) return std::nullopt;
            return FrameView({b.begin(), b.begin() + p.len});
        };
        const auto sa = answer(s);
        ASSERT_TRUE(sa);
        EXPECT_EQ(sa->flags(), SYN | ACK);
        EXPECT_EQ(sa->ack(), 5001u);
        EXPECT_EQ(sa->src_addr(), FrameView(pf::build_frame(s)).dst_addr());
        EXPECT_TRUE(sa->tcp_checksum_ok());
        const pf::OptionSpec o = sa->options();
        EXPECT_EQ(o.mss, 1460);
        EXPECT_EQ(o.wscale, 7);
        EXPECT_TRUE(o.sack);
        EXPECT_TRUE(o.ts);
        EXPECT_EQ(o.tsecr, 42u);
        EXPECT_EQ(answer(s)->seq(), sa->seq()) << "stateless: the same tuple gets the same ISN";

        pf::SegmentSpec d = s;
        d.flags = ACK;
        d.seq = 5001;
        d.ack = sa->seq() + 1;
        d.tcp_options.clear();
        d.payload.assign(30, 'q');
        const auto ack = answer(d);
        ASSERT_TRUE(ack);
        EXPECT_EQ(ack->flags() & ACK, ACK);
        EXPECT_EQ(ack->seq(), sa->seq() + 1);
        EXPECT_EQ(ack->ack(), 5031u);
        EXPECT_EQ(ack->payload().size(), 10u) << "reply_bytes of response";
        EXPECT_TRUE(ack->tcp_checksum_ok());

        pf::SegmentSpec fin = d;
        fin.flags = FIN | ACK;
        fin.seq = 5031;
        fin.payload.clear();
        const auto fa = answer(fin);
        ASSERT_TRUE(fa);
        EXPECT_EQ(fa->flags(), FIN | ACK);
        EXPECT_EQ(fa->ack(), 5032u);

        pf::SegmentSpec bare = d;
        bare.payload.clear();
        EXPECT_FALSE(answer(bare)) << "a bare ACK needs no answer";
        pf::SegmentSpec rst = d;
        rst.flags = RST;
        rst.payload.clear();
        EXPECT_FALSE(answer(rst));
        EXPECT_EQ(r.stats().syns, 2u);
        EXPECT_EQ(r.stats().data, 1u);
        EXPECT_EQ(r.stats().data_bytes, 30u);
        EXPECT_EQ(r.stats().fins, 1u);
        EXPECT_EQ(r.stats().ignored, 2u);
    }
}

}  // namespace
