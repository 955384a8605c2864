// Internet checksum (RFC 1071), incremental update (RFC 1624) and the TCP pseudo-headers, checked
// against the independent reference loop in packet_factory (ref_checksum).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "packet_factory.hpp"

using namespace synwall::net;
using synwall::testing::ref_checksum;

namespace {

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

uint16_t lib_checksum(const uint8_t* p, size_t n, uint64_t initial = 0) {
    return checksum_finish(checksum_partial({p, n}, initial));
}

}  // namespace

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_fold(checksum_partial(d)), 0xddf2);
    EXPECT_EQ(checksum_finish(checksum_partial(d)), 0x220d);
    EXPECT_EQ(ref_checksum(d, sizeof d), 0x220d);
}

// The partial sum's representation (word order) is the library's business; these tests only rely
// on what fold/finish make of it: host-order values of the big-endian 16-bit checksum field.
TEST(Checksum, EmptyAndTrivialInputs) {
    EXPECT_EQ(checksum_partial({}), 0u);
    EXPECT_EQ(checksum_partial({}, 1234), 1234u);  // the initial sum passes through
    EXPECT_EQ(checksum_fold(0), 0);
    EXPECT_EQ(checksum_finish(0), 0xffff);
    const uint8_t one[] = {0xab};
    EXPECT_EQ(checksum_fold(checksum_partial(one)), 0xab00);  // odd byte: high half of a word
    const uint8_t two[] = {0xab, 0xcd};
    EXPECT_EQ(checksum_fold(checksum_partial(two)), 0xabcd);
    const uint8_t four[] = {0x12, 0x34, 0x00, 0x01};
    EXPECT_EQ(checksum_fold(checksum_partial(four)), 0x1235);
    EXPECT_EQ(checksum_finish(checksum_partial(four)), 0xedca);
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
    std::mt19937_64 rng(1071);
    const auto buf = random_bytes(rng, 600);
    for (size_t align = 0; align < 8; ++align) {
        for (size_t n = 0; n + align <= 520; ++n) {
            const uint8_t* p = buf.data() + align;
            ASSERT_EQ(lib_checksum(p, n), ref_checksum(p, n)) << "len " << n << " align " << align;
        }
    }
}

TEST(Checksum, OddLengthsPadWithZero) {
    // An odd-length buffer sums like the same buffer with a zero byte appended.
    std::mt19937_64 rng(7);
    for (size_t n = 1; n < 200; n += 2) {
        auto v = random_bytes(rng, n);
        auto padded = v;
        padded.push_back(0);
        ASSERT_EQ(checksum_fold(checksum_partial(v)), checksum_fold(checksum_partial(padded))) << n;
        ASSERT_EQ(lib_checksum(v.data(), n), ref_checksum(v.data(), n)) << n;
    }
}

TEST(Checksum, AllOnesLargeBufferDoesNotOverflow) {
    std::vector<uint8_t> v(65535, 0xff);
    EXPECT_EQ(lib_checksum(v.data(), v.size()), ref_checksum(v.data(), v.size()));
    // 32767 words of 0xffff plus a trailing 0xff00 word.
    EXPECT_EQ(checksum_fold(checksum_partial(v)), 0xff00);
    v.pop_back();
    EXPECT_EQ(checksum_fold(checksum_partial(v)), 0xffff);
    EXPECT_EQ(checksum_partial(v) % 0xffff, 0u);  // raw sum unfolded, but congruent
}

TEST(Checksum, PartialSumsChainOverEvenSplits) {
    std::mt19937_64 rng(99);
    for (int iter = 0; iter < 2000; ++iter) {
        const size_t n = rng() % 300;
        const auto v = random_bytes(rng, n);
        const size_t split = (n == 0 ? 0 : rng() % (n + 1)) & ~size_t{1};  // even prefix
        const uint64_t a = checksum_partial({v.data(), split});
        const uint64_t chained = checksum_partial({v.data() + split, n - split}, a);
        ASSERT_EQ(checksum_fold(chained), checksum_fold(checksum_partial(v)));
    }
}

TEST(Checksum, FoldDependsOnlyOnResidueModulo0xffff) {
    // Ones'-complement arithmetic is arithmetic modulo 0xffff, with 0xffff (-0) standing for every
    // non-zero multiple. Whatever word order the partial sum uses, fold must map congruent sums
    // to the same value, never fold a non-zero sum to 0, and give 0xffff exactly for multiples.
    EXPECT_EQ(checksum_fold(0), 0);
    const uint16_t one = checksum_fold(1);
    EXPECT_NE(one, 0);
    for (uint64_t x : {0x10000ull, 0x100000000ull, 0x1000000000000ull, 0x1fffeull + 1,
                       0xffffull * 12345 + 1, 0xffffffffffffffffull - 0xfffe}) {
        EXPECT_EQ(checksum_fold(x), one) << std::hex << x;
    }
    for (uint64_t x : {0xffffull, 0x1fffeull, 0x2fffdull, 0xffffffffull, 0xffffffffffffull,
                       0xffffffffffffffffull, 0xffffull * 0x123456789ull}) {
        EXPECT_EQ(checksum_fold(x), 0xffff) << std::hex << x;
        EXPECT_EQ(checksum_finish(x), 0x0000) << std::hex << x;
    }
    std::mt19937_64 rng(5);
    for (int i = 0; i < 200000; ++i) {
        uint64_t x = rng();
        switch (i % 4) {
        case 1: x >>= rng() % 64; break;
        case 2: x |= 0xffff'0000'0000'0000ull; break;
        case 3: x = (x % 8) * 0xffffull + (rng() % 2); break;
        default: break;
        }
        const uint16_t f = checksum_fold(x);
        const uint64_t r = x % 0xffff;
        if (x == 0) {
            ASSERT_EQ(f, 0);
        } else if (r == 0) {
            ASSERT_EQ(f, 0xffff) << std::hex << x;
        } else {
            ASSERT_EQ(f, checksum_fold(r)) << std::hex << x;
            ASSERT_NE(f, 0) << std::hex << x;
            ASSERT_NE(f, 0xffff) << std::hex << x;
        }
        ASSERT_EQ(checksum_finish(x), static_cast<uint16_t>(~f));
    }
}

TEST(Checksum, FoldIsABijectionOnResidues) {
    // Residues 1..0xfffe map to distinct values other than 0 and 0xffff.
    std::vector<bool> seen(0x10000, false);
    for (uint64_t r = 1; r < 0xffff; ++r) {
        const uint16_t f = checksum_fold(r);
        ASSERT_NE(f, 0);
        ASSERT_NE(f, 0xffff);
        ASSERT_FALSE(seen[f]) << r;
        seen[f] = true;
    }
}

TEST(Checksum, FoldOfPartialSumsMatchesReference) {
    // Data chosen to produce long carry chains: all-ones words, alternating, single high bits.
    std::vector<std::vector<uint8_t>> inputs;
    inputs.emplace_back(4096, 0xff);
    inputs.emplace_back(4097, 0xff);
    inputs.emplace_back(4096, 0x80);
    std::vector<uint8_t> alt(2048);
    for (size_t i = 0; i < alt.size(); ++i) alt[i] = i % 2 ? 0x01 : 0xff;
    inputs.push_back(alt);
    std::vector<uint8_t> neg(64, 0);
    neg[0] = 0xff;  // a single -0 word
    neg[1] = 0xff;
    inputs.push_back(neg);
    for (const auto& v : inputs) {
        EXPECT_EQ(checksum_finish(checksum_partial(v)), ref_checksum(v.data(), v.size())) << v.size();
        // And with a large initial sum (a pseudo-header) carried in.
        const uint64_t init = checksum_partial(inputs[0]);
        std::vector<uint8_t> both = inputs[0];
        both.insert(both.end(), v.begin(), v.end());
        EXPECT_EQ(checksum_finish(checksum_partial(v, init)), ref_checksum(both.data(), both.size()));
    }
}

TEST(Checksum, StoredChecksumVerifiesToZero) {
    std::mt19937_64 rng(11);
    for (int iter = 0; iter < 1000; ++iter) {
        auto hdr = random_bytes(rng, 20 + 4 * (rng() % 11));
        hdr[0] = 0x45;
        store_be16(hdr.data() + 10, 0);
        const uint16_t c = ipv4_header_checksum(hdr);
        ASSERT_EQ(c, ref_checksum(hdr.data(), hdr.size()));
        store_be16(hdr.data() + 10, c);
        ASSERT_EQ(ipv4_header_checksum(hdr), 0);
        hdr[rng() % hdr.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        ASSERT_NE(ipv4_header_checksum(hdr), 0);
    }
}

// RFC 1624: updating a checksum after changing one field agrees with recomputing it.
TEST(Checksum, IncrementalUpdate16MatchesRecomputation) {
    std::mt19937_64 rng(1624);
    for (int iter = 0; iter < 100000; ++iter) {
        const size_t n = 2 * (2 + rng() % 40);
        auto v = random_bytes(rng, n);
        v[0] |= 1;  // never the all-zero buffer (whose checksum is +0 vs -0 ambiguous)
        const size_t at = 2 * (1 + rng() % (n / 2 - 1));
        if (iter % 5 == 0) {  // boundary values for the field
            const uint16_t specials[] = {0x0000, 0xffff, 0x0001, 0xfffe, 0x8000};
            store_be16(v.data() + at, specials[rng() % 5]);
        }
        const uint16_t before = ref_checksum(v.data(), n);
        const uint16_t old_field = load_be16(v.data() + at);
        uint16_t new_field = static_cast<uint16_t>(rng());
        if (iter % 7 == 0) new_field = static_cast<uint16_t>(iter % 14 == 0 ? 0 : 0xffff);
        store_be16(v.data() + at, new_field);
        const uint16_t after = ref_checksum(v.data(), n);
        ASSERT_EQ(checksum_update16(before, old_field, new_field), after)
            << "iter " << iter << " old " << old_field << " new " << new_field;
    }
}

TEST(Checksum, IncrementalUpdate32MatchesRecomputation) {
    std::mt19937_64 rng(16241);
    for (int iter = 0; iter < 100000; ++iter) {
        const size_t n = 2 * (4 + rng() % 40);
        auto v = random_bytes(rng, n);
        v[0] |= 0x80;
        const size_t at = 2 * (1 + rng() % (n / 2 - 2));  // 16-bit aligned, not necessarily 32
        if (iter % 5 == 0) store_be32(v.data() + at, iter % 10 == 0 ? 0u : 0xffffffffu);
        const uint16_t before = ref_checksum(v.data(), n);
        const uint32_t old_field = load_be32(v.data() + at);
        uint32_t new_field = static_cast<uint32_t>(rng());
        if (iter % 3 == 0) new_field = old_field + 1;  // sequence-number style bumps
        store_be32(v.data() + at, new_field);
        const uint16_t after = ref_checksum(v.data(), n);
        ASSERT_EQ(checksum_update32(before, old_field, new_field), after) << "iter " << iter;
    }
}

TEST(Checksum, IncrementalUpdateOfFieldInsideRealHeader) {
    // TCP-style: the checksum field itself lives in the summed data; update the sequence number
    // and the port and check the result still verifies.
    std::mt19937_64 rng(3);
    for (int iter = 0; iter < 10000; ++iter) {
        auto seg = random_bytes(rng, 20 + (rng() % 64));
        store_be16(seg.data() + 16, 0);
        store_be16(seg.data() + 16, ref_checksum(seg.data(), seg.size()));
        ASSERT_EQ(ref_checksum(seg.data(), seg.size()), 0);
        uint16_t c = load_be16(seg.data() + 16);
        const uint32_t old_seq = load_be32(seg.data() + 4);
        const uint32_t new_seq = static_cast<uint32_t>(rng());
        store_be32(seg.data() + 4, new_seq);
        c = checksum_update32(c, old_seq, new_seq);
        const uint16_t old_port = load_be16(seg.data());
        const uint16_t new_port = static_cast<uint16_t>(rng());
        store_be16(seg.data(), new_port);
        c = checksum_update16(c, old_port, new_port);
        store_be16(seg.data() + 16, c);
        ASSERT_EQ(ref_checksum(seg.data(), seg.size()), 0) << "iter " << iter;
    }
}

TEST(Checksum, IncrementalUpdateNoChangeIsIdentity) {
    for (uint32_t c = 0; c < 0x10000; c += 0x101) {
        for (uint16_t f : {uint16_t{0x0000}, uint16_t{0x1234}, uint16_t{0xffff}}) {
            // Changing a field to itself must not alter a non-degenerate checksum.
            if (c == 0xffff) continue;  // only the all-zero buffer has checksum 0xffff
            EXPECT_EQ(checksum_update16(static_cast<uint16_t>(c), f, f), c) << c << " " << f;
        }
    }
}

namespace {

std::vector<uint8_t> pseudo_v4_bytes(const uint8_t* s, const uint8_t* d, uint16_t len) {
    std::vector<uint8_t> p(s, s + 4);
    p.insert(p.end(), d, d + 4);
    p.push_back(0);
    p.push_back(6);
    p.push_back(static_cast<uint8_t>(len >> 8));
    p.push_back(static_cast<uint8_t>(len));
    return p;
}

std::vector<uint8_t> pseudo_v6_bytes(const uint8_t* s, const uint8_t* d, uint32_t len) {
    std::vector<uint8_t> p(s, s + 16);
    p.insert(p.end(), d, d + 16);
    for (int sh = 24; sh >= 0; sh -= 8) p.push_back(static_cast<uint8_t>(len >> sh));
    p.insert(p.end(), {0, 0, 0, 6});
    return p;
}

}  // namespace

TEST(Checksum, PseudoHeaderV4MatchesReference) {
    std::mt19937_64 rng(793);
    for (int iter = 0; iter < 5000; ++iter) {
        const auto src = random_bytes(rng, 4), dst = random_bytes(rng, 4);
        const auto seg = random_bytes(rng, 20 + rng() % 1500);
        const uint16_t len = static_cast<uint16_t>(seg.size());
        auto bytes = pseudo_v4_bytes(src.data(), dst.data(), len);
        ASSERT_EQ(checksum_finish(pseudo_header_v4(src.data(), dst.data(), len)),
                  ref_checksum(bytes.data(), bytes.size()));
        bytes.insert(bytes.end(), seg.begin(), seg.end());
        ASSERT_EQ(checksum_finish(checksum_partial(seg, pseudo_header_v4(src.data(), dst.data(), len))),
                  ref_checksum(bytes.data(), bytes.size()));
    }
}

TEST(Checksum, PseudoHeaderV6MatchesReference) {
    std::mt19937_64 rng(8200);
    for (int iter = 0; iter < 5000; ++iter) {
        const auto src = random_bytes(rng, 16), dst = random_bytes(rng, 16);
        const auto seg = random_bytes(rng, 20 + rng() % 1500);
        const uint32_t len = static_cast<uint32_t>(seg.size());
        auto bytes = pseudo_v6_bytes(src.data(), dst.data(), len);
        ASSERT_EQ(checksum_finish(pseudo_header_v6(src.data(), dst.data(), len)),
                  ref_checksum(bytes.data(), bytes.size()));
        bytes.insert(bytes.end(), seg.begin(), seg.end());
        ASSERT_EQ(checksum_finish(checksum_partial(seg, pseudo_header_v6(src.data(), dst.data(), len))),
                  ref_checksum(bytes.data(), bytes.size()));
    }
}

TEST(Checksum, PseudoHeaderLengthBoundaries) {
    namespace pf = synwall::testing;
    const auto s6 = pf::v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), d6 = pf::v6("::");
    const auto s4 = pf::v4("255.255.255.255"), d4 = pf::v4("0.0.0.0");
    const auto a6 = pf::v6("2001:db8::1"), b6 = pf::v6("fe80::abcd:1");
    const auto a4 = pf::v4("192.0.2.1"), b4 = pf::v4("203.0.113.200");
    for (uint32_t len : {0u, 1u, 20u, 0xffu, 0x100u, 0xfff9u, 0xfffeu, 0xffffu}) {
        for (const auto* pair : {&s6, &a6}) {
            const auto& src = *pair;
            const auto& dst = pair == &s6 ? d6 : b6;
            const auto bytes = pseudo_v6_bytes(src.data(), dst.data(), len);
            EXPECT_EQ(checksum_finish(pseudo_header_v6(src.data(), dst.data(), len)),
                      ref_checksum(bytes.data(), bytes.size()))
                << len;
        }
        for (const auto* pair : {&s4, &a4}) {
            const auto& src = *pair;
            const auto& dst = pair == &s4 ? d4 : b4;
            const auto bytes = pseudo_v4_bytes(src.data(), dst.data(), static_cast<uint16_t>(len));
            EXPECT_EQ(checksum_finish(pseudo_header_v4(src.data(), dst.data(), len)),
                      ref_checksum(bytes.data(), bytes.size()))
                << len;
        }
    }
}

TEST(Checksum, FactoryFramesVerifyWithLibrarySums) {
    // Frames built by the independent factory verify to zero with the library's sums.
    namespace pf = synwall::testing;
    for (bool is6 : {false, true}) {
        pf::SegmentSpec s;
        s.fam = is6 ? pf::Fam::v6 : pf::Fam::v4;
        s.src = is6 ? pf::v6("2001:db8::10") : pf::v4("192.0.2.10");
        s.dst = is6 ? pf::v6("2001:db8::20") : pf::v4("198.51.100.20");
        s.tcp_options = pf::tcp_options({.mss = 1460, .wscale = 7, .sack = true, .ts = true,
                                         .tsval = 0xdeadbeef, .tsecr = 0, .tfo = false});
        s.payload = {1, 2, 3, 4, 5};  // odd TCP length
        const auto f = pf::build_frame(s);
        const pf::FrameView fv(f);
        const size_t tcp_len = fv.tcp_length();
        ASSERT_EQ(fv.l4 + tcp_len, f.size());
        const uint64_t ph = is6 ? pseudo_header_v6(f.data() + fv.l3 + 8, f.data() + fv.l3 + 24,
                                                   static_cast<uint32_t>(tcp_len))
                                : pseudo_header_v4(f.data() + fv.l3 + 12, f.data() + fv.l3 + 16,
                                                   static_cast<uint32_t>(tcp_len));
        EXPECT_EQ(checksum_fold(checksum_partial({f.data() + fv.l4, tcp_len}, ph)), 0xffff);
        if (!is6) {
            EXPECT_EQ(ipv4_header_checksum({f.data() + fv.l3, 20}), 0);
        }
    }
}

TEST(Checksum, FoldEqualsEndAroundCarryFolding) {
    // The reference: fold 64 -> 16 bits with end-around carries, step by step.
    auto reference = [](uint64_t sum) {
        sum = (sum & 0xffffffffu) + (sum >> 32);
        sum = (sum & 0xffffffffu) + (sum >> 32);
        sum = (sum & 0xffffu) + (sum >> 16);
        sum = (sum & 0xffffu) + (sum >> 16);
        return __builtin_bswap16(static_cast<uint16_t>(sum));
    };
    std::mt19937_64 rng(9);
    for (int i = 0; i < 200000; ++i) {
        const uint64_t x = rng() >> (rng() % 64);
        ASSERT_EQ(checksum_fold(x), reference(x)) << std::hex << x;
    }
    for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{0xffff}, uint64_t{0x10000}, ~uint64_t{0}, ~uint64_t{0} - 1,
                       uint64_t{0xffffffff}, uint64_t{0xffff} * 0xffff})
        EXPECT_EQ(checksum_fold(x), reference(x)) << std::hex << x;
}

TEST(Checksum, HeaderWordSumsAgreeWithThePartialSum) {
    std::mt19937 rng(17);
    for (size_t n = 0; n <= 80; n += 4)
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<uint8_t> v(n);
            for (auto& b : v) b = trial % 3 == 0 ? 0xff : static_cast<uint8_t>(rng());
            const uint64_t init = rng() % 3 == 0 ? 0 : rng();
            ASSERT_EQ(checksum_fold(checksum_words32(v.data(), n, init)), checksum_fold(checksum_partial(v, init))) << n;
        }
}
