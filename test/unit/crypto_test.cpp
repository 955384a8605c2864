// AES-128 (AES-NI and VAES), CBC-MAC, SipHash-2-4 and the PRF front end.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cookie/aes128.hpp"
#include "cookie/prf.hpp"
#include "cookie/siphash.hpp"

using namespace synwall::cookie;

namespace {

using Block = std::array<uint8_t, 16>;

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    ADD_FAILURE() << "bad hex digit in test data: " << c;
    return 0;
}

std::vector<uint8_t> from_hex(std::string_view s) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<uint8_t>(nibble(s[i]) << 4 | nibble(s[i + 1])));
    return out;
}

Block block(std::string_view hex) {
    const auto v = from_hex(hex);
    EXPECT_EQ(v.size(), 16u);
    Block b{};
    std::memcpy(b.data(), v.data(), std::min<size_t>(16, v.size()));
    return b;
}

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

Aes128Key expand(const Block& k) {
    Aes128Key out{};
    aes128_expand_key(k.data(), out);
    return out;
}

Block encrypt_one(const Aes128Key& k, const Block& in) {
    Block out{};
    aes128_encrypt_aesni(k, in.data(), out.data(), 1);
    return out;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

#define REQUIRE_AESNI() \
    if (!aes_ni_available()) GTEST_SKIP() << "CPU lacks AES-NI"
#define REQUIRE_VAES() \
    if (!vaes_available()) GTEST_SKIP() << "CPU lacks VAES"

struct Kat {
    const char* key;
    const char* plain;
    const char* cipher;
};

// FIPS-197 Appendix B and C.1, and NIST SP 800-38A F.1.1 (ECB-AES128).
constexpr Kat kKats[] = {
    {"2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734", "3925841d02dc09fbdc118597196a0b32"},
    {"000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"},
    {"2b7e151628aed2a6abf7158809cf4f3c", "6bc1bee22e409f96e93d7e117393172a", "3ad77bb40d7a3660a89ecaf32466ef97"},
    {"2b7e151628aed2a6abf7158809cf4f3c", "ae2d8a571e03ac9c9eb76fac45af8e51", "f5d3d58503b9699de785895a96fdbaaf"},
    {"2b7e151628aed2a6abf7158809cf4f3c", "30c81c46a35ce411e5fbc1191a0a52ef", "43b1cd7f598ece23881b00e3ed030688"},
    {"2b7e151628aed2a6abf7158809cf4f3c", "f69f2445df4f9b17ad2b417be66c3710", "7b0c785e27e8ad3f8223207104725dd4"},
};

using EncryptFn = void (*)(const Aes128Key&, const uint8_t*, uint8_t*, size_t) noexcept;

// Encrypts n blocks (random, with FIPS-197 B plaintexts sprinkled in) through `fn`, checking each
// block against single-block AES-NI encryption and the KAT, and that nothing past block n is
// written. Also checks in-place operation.
void check_batch(EncryptFn fn, size_t n, std::mt19937_64& rng) {
    const Aes128Key key = expand(block(kKats[0].key));
    const Block kat_plain = block(kKats[0].plain), kat_cipher = block(kKats[0].cipher);
    constexpr size_t kCanary = 64;
    std::vector<uint8_t> in = random_bytes(rng, n * 16);
    for (size_t i = 0; i < n; i += 1 + i % 5) std::memcpy(&in[i * 16], kat_plain.data(), 16);
    std::vector<uint8_t> out(n * 16 + kCanary, 0xa5);
    fn(key, in.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
        Block pb{};
        std::memcpy(pb.data(), &in[i * 16], 16);
        const Block want = encrypt_one(key, pb);
        ASSERT_EQ(0, std::memcmp(&out[i * 16], want.data(), 16)) << "n=" << n << " block " << i;
        if (pb == kat_plain) {
            ASSERT_EQ(0, std::memcmp(&out[i * 16], kat_cipher.data(), 16)) << "n=" << n << " block " << i;
        }
    }
    for (size_t i = n * 16; i < out.size(); ++i) ASSERT_EQ(out[i], 0xa5) << "write past block n=" << n;

    std::vector<uint8_t> inplace = in;
    fn(key, inplace.data(), inplace.data(), n);
    ASSERT_EQ(0, std::memcmp(inplace.data(), out.data(), n * 16)) << "in-place n=" << n;
}

// The 64 SipHash-2-4 reference outputs (key 00..0f, message 00..len-1), bytes as printed in the
// reference implementation's vectors.h (little-endian).
constexpr uint8_t kSipVectors[64][8] = {
    {0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72}, {0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
    {0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d}, {0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
    {0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf}, {0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
    {0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb}, {0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
    {0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93}, {0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
    {0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a}, {0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
    {0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75}, {0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14},
    {0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7}, {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
    {0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f}, {0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69},
    {0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b}, {0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb},
    {0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe}, {0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0},
    {0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93}, {0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8},
    {0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8}, {0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc},
    {0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17}, {0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f},
    {0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde}, {0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6},
    {0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad}, {0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32},
    {0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71}, {0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7},
    {0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12}, {0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15},
    {0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31}, {0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02},
    {0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca}, {0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a},
    {0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e}, {0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad},
    {0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18}, {0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4},
    {0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9}, {0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9},
    {0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb}, {0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0},
    {0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6}, {0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7},
    {0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee}, {0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1},
    {0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a}, {0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81},
    {0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f}, {0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24},
    {0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7}, {0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea},
    {0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60}, {0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66},
    {0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c}, {0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f},
    {0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5}, {0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95},
};

// An independent, deliberately naive SipHash-2-4: byte-at-a-time message assembly, the rounds
// written out from the paper's description.
uint64_t naive_siphash24(const uint8_t key[16], const uint8_t* m, size_t len) {
    auto rot = [](uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); };
    uint64_t k0 = 0, k1 = 0;
    for (int i = 7; i >= 0; --i) {
        k0 = k0 << 8 | key[i];
        k1 = k1 << 8 | key[8 + i];
    }
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
                     k1 ^ 0x7465646279746573ULL};
    auto sipround = [&] {
        v[0] += v[1]; v[2] += v[3];
        v[1] = rot(v[1], 13); v[3] = rot(v[3], 16);
        v[1] ^= v[0]; v[3] ^= v[2];
        v[0] = rot(v[0], 32);
        v[2] += v[1]; v[0] += v[3];
        v[1] = rot(v[1], 17); v[3] = rot(v[3], 21);
        v[1] ^= v[2]; v[3] ^= v[0];
        v[2] = rot(v[2], 32);
    };
    // Pad: message, zeros up to 7 mod 8, then len mod 256 as the last byte.
    std::vector<uint8_t> padded(m, m + len);
    while (padded.size() % 8 != 7) padded.push_back(0);
    padded.push_back(static_cast<uint8_t>(len));
    for (size_t i = 0; i < padded.size(); i += 8) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; --j) w = w << 8 | padded[i + static_cast<size_t>(j)];
        v[3] ^= w;
        sipround();
        sipround();
        v[0] ^= w;
    }
    v[2] ^= 0xff;
    for (int r = 0; r < 4; ++r) sipround();
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AES-128

TEST(Aes128, KeyExpansionFips197AppendixA1) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block("2b7e151628aed2a6abf7158809cf4f3c"));
    EXPECT_EQ(to_hex(k.round_keys[0], 16), "2b7e151628aed2a6abf7158809cf4f3c");
    EXPECT_EQ(to_hex(k.round_keys[1], 16), "a0fafe1788542cb123a339392a6c7605");  // w[4..7]
    EXPECT_EQ(to_hex(k.round_keys[10], 16), "d014f9a8c9ee2589e13f0cc8b6630ca6");  // w[40..43]
}

TEST(Aes128, Fips197AppendixB) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block("2b7e151628aed2a6abf7158809cf4f3c"));
    const Block c = encrypt_one(k, block("3243f6a8885a308d313198a2e0370734"));
    EXPECT_EQ(to_hex(c.data(), 16), "3925841d02dc09fbdc118597196a0b32");
}

TEST(Aes128, Fips197AppendixC1) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block("000102030405060708090a0b0c0d0e0f"));
    const Block c = encrypt_one(k, block("00112233445566778899aabbccddeeff"));
    EXPECT_EQ(to_hex(c.data(), 16), "69c4e0d86a7b0430d8cdb78070b4c55a");
}

TEST(Aes128, AllKnownAnswersBothImplementations) {
    REQUIRE_AESNI();
    for (const Kat& kat : kKats) {
        const Aes128Key k = expand(block(kat.key));
        const Block p = block(kat.plain);
        Block c{};
        aes128_encrypt_aesni(k, p.data(), c.data(), 1);
        EXPECT_EQ(to_hex(c.data(), 16), kat.cipher) << "aesni " << kat.plain;
        if (vaes_available()) {
            c = Block{};
            aes128_encrypt_vaes(k, p.data(), c.data(), 1);
            EXPECT_EQ(to_hex(c.data(), 16), kat.cipher) << "vaes " << kat.plain;
        }
    }
}

TEST(Aes128, Sp80038aEcbFourBlocksInOneCall) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block("2b7e151628aed2a6abf7158809cf4f3c"));
    std::vector<uint8_t> in, want;
    for (size_t i = 2; i < 6; ++i) {
        const auto p = from_hex(kKats[i].plain), c = from_hex(kKats[i].cipher);
        in.insert(in.end(), p.begin(), p.end());
        want.insert(want.end(), c.begin(), c.end());
    }
    std::vector<uint8_t> out(64);
    aes128_encrypt_aesni(k, in.data(), out.data(), 4);
    EXPECT_EQ(out, want);
    if (vaes_available()) {
        std::fill(out.begin(), out.end(), 0);
        aes128_encrypt_vaes(k, in.data(), out.data(), 4);
        EXPECT_EQ(out, want);
    }
}

TEST(Aes128, AesNiBatchesMatchSingleBlockAndKat) {
    REQUIRE_AESNI();
    std::mt19937_64 rng(1);
    for (size_t n = 1; n <= 70; ++n) {
        check_batch(aes128_encrypt_aesni, n, rng);
        if (HasFatalFailure()) return;
    }
}

TEST(Aes128, VaesBatchesMatchAesNiAndKat) {
    REQUIRE_VAES();
    std::mt19937_64 rng(2);
    for (size_t n = 1; n <= 70; ++n) {
        check_batch(aes128_encrypt_vaes, n, rng);
        if (HasFatalFailure()) return;
    }
}

TEST(Aes128, BothVaesWidthsMatchAesNiAndKat) {
    // The 256-bit path serves CPUs with VAES but no AVX-512; it runs here whenever VAES does.
    REQUIRE_VAES();
    std::mt19937_64 rng(4);
    for (size_t n = 1; n <= 70; ++n) {
        check_batch(aes128_encrypt_vaes256, n, rng);
        if (HasFatalFailure()) return;
        if (vaes_avx512_available()) check_batch(aes128_encrypt_vaes512, n, rng);
        if (HasFatalFailure()) return;
    }
}

TEST(Aes128, VaesEqualsAesNiForRandomKeys) {
    REQUIRE_VAES();
    std::mt19937_64 rng(3);
    for (int trial = 0; trial < 20; ++trial) {
        Block kb{};
        for (auto& b : kb) b = static_cast<uint8_t>(rng());
        const Aes128Key k = expand(kb);
        const size_t n = 1 + rng() % 70;
        const auto in = random_bytes(rng, n * 16);
        std::vector<uint8_t> a(n * 16), v(n * 16);
        aes128_encrypt_aesni(k, in.data(), a.data(), n);
        aes128_encrypt_vaes(k, in.data(), v.data(), n);
        ASSERT_EQ(a, v) << "trial " << trial << " n=" << n;
    }
}

TEST(Aes128, ZeroBlocksWritesNothing) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block(kKats[0].key));
    uint8_t in[16] = {}, out[16];
    std::memset(out, 0x5a, sizeof out);
    aes128_encrypt_aesni(k, in, out, 0);
    for (uint8_t b : out) EXPECT_EQ(b, 0x5a);
    if (vaes_available()) {
        aes128_encrypt_vaes(k, in, out, 0);
        for (uint8_t b : out) EXPECT_EQ(b, 0x5a);
    }
}

TEST(Aes128, CbcMacEqualsManualChaining) {
    REQUIRE_AESNI();
    std::mt19937_64 rng(4);
    Block kb{};
    for (auto& b : kb) b = static_cast<uint8_t>(rng());
    const Aes128Key k = expand(kb);
    for (size_t blocks = 1; blocks <= 4; ++blocks) {
        for (size_t n = 1; n <= 20; ++n) {
            const auto msgs = random_bytes(rng, n * blocks * 16);
            std::vector<uint8_t> tags(n * 16 + 16, 0xcc);
            aes128_cbcmac_aesni(k, msgs.data(), blocks, tags.data(), n);
            for (size_t i = 0; i < n; ++i) {
                Block x{};  // zero IV
                for (size_t b = 0; b < blocks; ++b) {
                    for (size_t j = 0; j < 16; ++j) x[j] ^= msgs[(i * blocks + b) * 16 + j];
                    x = encrypt_one(k, x);
                }
                ASSERT_EQ(0, std::memcmp(&tags[i * 16], x.data(), 16)) << "blocks=" << blocks << " n=" << n << " i=" << i;
            }
            for (size_t j = n * 16; j < tags.size(); ++j) ASSERT_EQ(tags[j], 0xcc) << "write past tag n";
        }
    }
}

TEST(Aes128, CbcMacOfOneBlockIsEcb) {
    REQUIRE_AESNI();
    const Aes128Key k = expand(block(kKats[0].key));
    const Block p = block(kKats[0].plain);
    Block t{};
    aes128_cbcmac_aesni(k, p.data(), 1, t.data(), 1);
    EXPECT_EQ(to_hex(t.data(), 16), kKats[0].cipher);
}

// ---------------------------------------------------------------------------------------------
// SipHash-2-4

TEST(SipHash, KeyFromBytesIsLittleEndian) {
    uint8_t key[16];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
    const SipKey k = SipKey::from_bytes(key);
    EXPECT_EQ(k.k0, 0x0706050403020100ULL);
    EXPECT_EQ(k.k1, 0x0f0e0d0c0b0a0908ULL);
}

TEST(SipHash, PaperAppendixAVector) {
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(siphash24(SipKey::from_bytes(key), msg, sizeof msg), 0xa129ca6149be45e5ULL);
}

TEST(SipHash, ReferenceVectorsAllLengths0To63) {
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
    const SipKey k = SipKey::from_bytes(key);
    for (size_t len = 0; len < 64; ++len) {
        uint64_t want = 0;
        for (int j = 7; j >= 0; --j) want = want << 8 | kSipVectors[len][j];
        EXPECT_EQ(siphash24(k, msg, len), want) << "len " << len;
    }
}

TEST(SipHash, NaiveReimplementationAgreesWithReferenceVectors) {
    // Guards the test's own reference before it is used below.
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
    for (size_t len = 0; len < 64; ++len) {
        uint64_t want = 0;
        for (int j = 7; j >= 0; --j) want = want << 8 | kSipVectors[len][j];
        ASSERT_EQ(naive_siphash24(key, msg, len), want) << "len " << len;
    }
}

TEST(SipHash, MatchesNaiveReimplementationRandomKeysAndLengths) {
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 400; ++trial) {
        uint8_t key[16];
        for (auto& b : key) b = static_cast<uint8_t>(rng());
        const size_t len = trial < 300 ? static_cast<size_t>(trial % 64) : rng() % 1000;
        const auto msg = random_bytes(rng, len + 1);  // +1: never a null pointer
        ASSERT_EQ(siphash24(SipKey::from_bytes(key), msg.data(), len), naive_siphash24(key, msg.data(), len))
            << "trial " << trial << " len " << len;
    }
}

TEST(SipHash, LengthIsPartOfTheInput) {
    // Zero bytes of different lengths must hash differently (length byte in the last word).
    const uint8_t key[16] = {1, 2, 3};
    const uint8_t zeros[32] = {};
    const SipKey k = SipKey::from_bytes(key);
    for (size_t a = 0; a < 32; ++a)
        for (size_t b = a + 1; b < 32; ++b) EXPECT_NE(siphash24(k, zeros, a), siphash24(k, zeros, b)) << a << " " << b;
}

// ---------------------------------------------------------------------------------------------
// PRF

namespace {

std::vector<MacMsgV4> random_v4(std::mt19937_64& rng, size_t n) {
    std::vector<MacMsgV4> v(n);
    for (auto& m : v)
        for (auto& b : m.b) b = static_cast<uint8_t>(rng());
    return v;
}
std::vector<MacMsgV6> random_v6(std::mt19937_64& rng, size_t n) {
    std::vector<MacMsgV6> v(n);
    for (auto& m : v)
        for (auto& b : m.b) b = static_cast<uint8_t>(rng());
    return v;
}

uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24; }

}  // namespace

TEST(Prf, KindStringRoundTrip) {
    for (PrfKind k : {PrfKind::kVaes, PrfKind::kAesNi, PrfKind::kSipHash}) {
        const auto back = prf_kind_from_string(to_string(k));
        ASSERT_TRUE(back.has_value()) << to_string(k);
        EXPECT_EQ(*back, k);
    }
    EXPECT_EQ(to_string(PrfKind::kVaes), "vaes");
    EXPECT_EQ(to_string(PrfKind::kAesNi), "aesni");
    EXPECT_EQ(to_string(PrfKind::kSipHash), "siphash");
    for (const char* bad : {"", "AES", "aes", "VAES", "vaes ", " siphash", "sip", "aesni\n", "siphash24"})
        EXPECT_FALSE(prf_kind_from_string(bad).has_value()) << '"' << bad << '"';
}

TEST(Prf, AvailabilityAndBestChoice) {
    EXPECT_TRUE(prf_available(PrfKind::kSipHash));
    EXPECT_EQ(prf_available(PrfKind::kAesNi), aes_ni_available());
    EXPECT_EQ(prf_available(PrfKind::kVaes), vaes_available());
    const PrfKind best = best_prf();
    EXPECT_TRUE(prf_available(best));
    if (vaes_available())
        EXPECT_EQ(best, PrfKind::kVaes);
    else if (aes_ni_available())
        EXPECT_EQ(best, PrfKind::kAesNi);
    else
        EXPECT_EQ(best, PrfKind::kSipHash);
}

TEST(Prf, V4IsFirst32BitsOfAesBlockOrSipHash) {
    std::mt19937_64 rng(6);
    uint8_t kb[16];
    for (auto& b : kb) b = static_cast<uint8_t>(rng());
    const auto msgs = random_v4(rng, 100);
    std::vector<uint32_t> out(msgs.size());

    const PrfKey sip(PrfKind::kSipHash, kb);
    prf_v4(sip, msgs.data(), out.data(), msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i)
        EXPECT_EQ(out[i], static_cast<uint32_t>(naive_siphash24(kb, msgs[i].b, 16))) << i;

    if (!aes_ni_available()) GTEST_SKIP() << "CPU lacks AES-NI";
    Block key{};
    std::memcpy(key.data(), kb, 16);
    const Aes128Key ak = expand(key);
    const PrfKey aes(PrfKind::kAesNi, kb);
    prf_v4(aes, msgs.data(), out.data(), msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        Block p{};
        std::memcpy(p.data(), msgs[i].b, 16);
        EXPECT_EQ(out[i], le32(encrypt_one(ak, p).data())) << i;
    }
}

TEST(Prf, V6IsThreeBlockCbcMacOrSipHash) {
    std::mt19937_64 rng(7);
    uint8_t kb[16];
    for (auto& b : kb) b = static_cast<uint8_t>(rng());
    const auto msgs = random_v6(rng, 100);
    std::vector<uint32_t> out(msgs.size());

    const PrfKey sip(PrfKind::kSipHash, kb);
    prf_v6(sip, msgs.data(), out.data(), msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i)
        EXPECT_EQ(out[i], static_cast<uint32_t>(naive_siphash24(kb, msgs[i].b, 48))) << i;

    if (!aes_ni_available()) GTEST_SKIP() << "CPU lacks AES-NI";
    Block key{};
    std::memcpy(key.data(), kb, 16);
    const Aes128Key ak = expand(key);
    const PrfKey aes(PrfKind::kAesNi, kb);
    prf_v6(aes, msgs.data(), out.data(), msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        Block x{};
        for (size_t b = 0; b < 3; ++b) {
            for (size_t j = 0; j < 16; ++j) x[j] ^= msgs[i].b[b * 16 + j];
            x = encrypt_one(ak, x);
        }
        EXPECT_EQ(out[i], le32(x.data())) << i;
    }
}

TEST(Prf, VaesAndAesNiIdenticalSipHashDifferent) {
    REQUIRE_AESNI();
    std::mt19937_64 rng(8);
    uint8_t kb[16];
    for (auto& b : kb) b = static_cast<uint8_t>(rng());
    const PrfKey ni(PrfKind::kAesNi, kb), sip(PrfKind::kSipHash, kb);
    const bool have_vaes = vaes_available();
    const PrfKey va = have_vaes ? PrfKey(PrfKind::kVaes, kb) : PrfKey();
    // Sizes around the implementation's 8/16-block pipelines and its 64-message chunks.
    for (size_t n : {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{15}, size_t{16}, size_t{17}, size_t{63},
                     size_t{64}, size_t{65}, size_t{128}, size_t{200}, size_t{257}}) {
        const auto m4 = random_v4(rng, n);
        const auto m6 = random_v6(rng, n);
        std::vector<uint32_t> a4(n), v4(n), s4(n), a6(n), v6(n), s6(n);
        prf_v4(ni, m4.data(), a4.data(), n);
        prf_v4(sip, m4.data(), s4.data(), n);
        prf_v6(ni, m6.data(), a6.data(), n);
        prf_v6(sip, m6.data(), s6.data(), n);
        if (have_vaes) {
            prf_v4(va, m4.data(), v4.data(), n);
            prf_v6(va, m6.data(), v6.data(), n);
            EXPECT_EQ(a4, v4) << "n=" << n;
            EXPECT_EQ(a6, v6) << "n=" << n;
        }
        for (size_t i = 0; i < n; ++i) {
            EXPECT_NE(a4[i], s4[i]) << "n=" << n << " i=" << i;
            EXPECT_NE(a6[i], s6[i]) << "n=" << n << " i=" << i;
        }
        // Batched evaluation equals one-at-a-time evaluation.
        for (size_t i = 0; i < n; ++i) {
            uint32_t one = 0;
            prf_v4(ni, &m4[i], &one, 1);
            ASSERT_EQ(one, a4[i]);
            prf_v6(ni, &m6[i], &one, 1);
            ASSERT_EQ(one, a6[i]);
            prf_v4(sip, &m4[i], &one, 1);
            ASSERT_EQ(one, s4[i]);
        }
    }
    if (!have_vaes) GTEST_SKIP() << "VAES half not run: CPU lacks VAES/AVX-512";
}

TEST(Prf, DifferentKeysGiveDifferentOutputs) {
    std::mt19937_64 rng(9);
    uint8_t k1[16], k2[16];
    for (auto& b : k1) b = static_cast<uint8_t>(rng());
    std::memcpy(k2, k1, 16);
    k2[15] ^= 1;
    const auto msgs = random_v4(rng, 32);
    for (PrfKind kind : {PrfKind::kVaes, PrfKind::kAesNi, PrfKind::kSipHash}) {
        if (!prf_available(kind)) continue;
        std::vector<uint32_t> o1(32), o2(32);
        prf_v4(PrfKey(kind, k1), msgs.data(), o1.data(), 32);
        prf_v4(PrfKey(kind, k2), msgs.data(), o2.data(), 32);
        for (size_t i = 0; i < 32; ++i) EXPECT_NE(o1[i], o2[i]) << to_string(kind) << " " << i;
    }
}
