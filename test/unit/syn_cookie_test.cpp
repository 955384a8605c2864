// SYN cookie codec, the batched PRF and the secret schedule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cookie/prf.hpp"
#include "cookie/secret_schedule.hpp"
#include "cookie/syn_cookie.hpp"

using namespace synwall::cookie;
using synwall::net::Family;

namespace {

const uint16_t* table_of(Family f) { return f == Family::kIpv4 ? kMssTableV4 : kMssTableV6; }

// The largest table index whose MSS is <= mss; 0 when mss is below every entry.
uint8_t reference_index(Family f, uint32_t mss) {
    uint8_t best = 0;
    for (uint8_t i = 0; i < kMssTableSize; ++i)
        if (table_of(f)[i] <= mss) best = i;
    return best;
}

std::vector<PrfKind> available_kinds() {
    std::vector<PrfKind> v;
    for (PrfKind k : {PrfKind::kVaes, PrfKind::kAesNi, PrfKind::kSipHash})
        if (prf_available(k)) v.push_back(k);
    return v;
}

uint32_t direct_v4(const PrfKey& k, const MacMsgV4& m) {
    uint32_t o = 0;
    prf_v4(k, &m, &o, 1);
    return o;
}
uint32_t direct_v6(const PrfKey& k, const MacMsgV6& m) {
    uint32_t o = 0;
    prf_v6(k, &m, &o, 1);
    return o;
}

MacMsgV4 fixed_v4(uint32_t seed) {
    MacMsgV4 m{};
    for (size_t i = 0; i < sizeof m.b; ++i) m.b[i] = static_cast<uint8_t>(seed * 31 + i * 7);
    return m;
}
MacMsgV6 fixed_v6(uint32_t seed) {
    MacMsgV6 m{};
    for (size_t i = 0; i < sizeof m.b; ++i) m.b[i] = static_cast<uint8_t>(seed * 17 + i * 13);
    return m;
}

// A fingerprint of a PrfKey: its outputs on a few fixed messages.
std::vector<uint32_t> fingerprint(const PrfKey& k) {
    std::vector<uint32_t> v;
    for (uint32_t s = 0; s < 4; ++s) {
        v.push_back(direct_v4(k, fixed_v4(s)));
        v.push_back(direct_v6(k, fixed_v6(s)));
    }
    return v;
}

MasterKey master_from(uint8_t first) {
    MasterKey m{};
    for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(first + i);
    return m;
}

SecretConfig config_with(const MasterKey& m, PrfKind prf = PrfKind::kSipHash) {
    SecretConfig c;
    c.master = m;
    c.prf = prf;
    return c;  // 64 s counter periods, 60 per epoch
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MSS table

TEST(MssTable, TablesAreAscending) {
    for (Family f : {Family::kIpv4, Family::kIpv6})
        for (uint8_t i = 1; i < kMssTableSize; ++i) EXPECT_LT(table_of(f)[i - 1], table_of(f)[i]);
}

TEST(MssTable, EveryEntryMapsToItself) {
    for (Family f : {Family::kIpv4, Family::kIpv6}) {
        for (uint8_t i = 0; i < kMssTableSize; ++i) {
            EXPECT_EQ(mss_to_index(f, table_of(f)[i]), i);
            EXPECT_EQ(index_to_mss(f, i), table_of(f)[i]);
            EXPECT_EQ(index_to_mss(f, mss_to_index(f, table_of(f)[i])), table_of(f)[i]);
        }
    }
}

TEST(MssTable, RoundsDownForEveryMss) {
    for (Family f : {Family::kIpv4, Family::kIpv6}) {
        for (uint32_t mss = 0; mss <= 0xffff; ++mss) {
            const uint8_t i = mss_to_index(f, static_cast<uint16_t>(mss));
            ASSERT_EQ(i, reference_index(f, mss)) << "mss " << mss;
            // Never advertise more than the client's MSS, unless it is below the smallest entry.
            if (mss >= table_of(f)[0]) {
                ASSERT_LE(index_to_mss(f, i), mss);
            }
        }
    }
}

TEST(MssTable, SpecificValues) {
    EXPECT_EQ(mss_to_index(Family::kIpv4, 0), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 535), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 536), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 1199), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 1459), 6);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 1460), 7);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 9000), 7);
    EXPECT_EQ(mss_to_index(Family::kIpv4, 65535), 7);
    EXPECT_EQ(mss_to_index(Family::kIpv6, 1219), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv6, 1279), 0);
    EXPECT_EQ(mss_to_index(Family::kIpv6, 1280), 1);
    EXPECT_EQ(mss_to_index(Family::kIpv6, 1460), 7);
    EXPECT_EQ(mss_to_index(Family::kIpv6, 1439), 6);
}

// ---------------------------------------------------------------------------------------------
// Options, message word, cookie word

TEST(CookieOpts, RoundTripAllCombinations) {
    std::set<uint8_t> seen;
    for (uint8_t ws = 0; ws <= 15; ++ws) {
        for (bool sack : {false, true}) {
            for (bool ecn : {false, true}) {
                const CookieOptions o{ws, sack, ecn};
                const uint8_t v = encode_opts(o);
                EXPECT_EQ(v & ~kOptsMask, 0) << "opts must fit 6 bits";
                EXPECT_EQ(v, static_cast<uint8_t>(ws << 2 | (sack ? 2 : 0) | (ecn ? 1 : 0)));
                const CookieOptions d = decode_opts(v);
                EXPECT_EQ(d.wscale, ws);
                EXPECT_EQ(d.sack, sack);
                EXPECT_EQ(d.ecn, ecn);
                seen.insert(v);
            }
        }
    }
    EXPECT_EQ(seen.size(), 64u) << "encoding must be injective";
}

TEST(CookieOpts, NoneMeansNoWscaleNoSackNoEcn) {
    const CookieOptions d = decode_opts(kOptsNone);
    EXPECT_EQ(d.wscale, 15);
    EXPECT_FALSE(d.sack);
    EXPECT_FALSE(d.ecn);
    EXPECT_EQ(encode_opts(CookieOptions{}), kOptsNone);
}

TEST(CookieOpts, DecodeIgnoresBitsAboveSix) {
    for (unsigned v = 0; v < 256; ++v) {
        const CookieOptions a = decode_opts(static_cast<uint8_t>(v)), b = decode_opts(static_cast<uint8_t>(v & kOptsMask));
        EXPECT_EQ(a.wscale, b.wscale);
        EXPECT_EQ(a.sack, b.sack);
        EXPECT_EQ(a.ecn, b.ecn);
    }
}

TEST(MessageWord, Layout) {
    EXPECT_EQ(message_word(0, 0, 0), 0u);
    EXPECT_EQ(message_word(0, 0, 1), 1u);
    EXPECT_EQ(message_word(0, 0, 7), 7u);
    EXPECT_EQ(message_word(0, 1, 0), 1u << 3);
    EXPECT_EQ(message_word(0, 0x3f, 0), 0x3fu << 3);
    EXPECT_EQ(message_word(1, 0, 0), 1u << 9);
    EXPECT_EQ(message_word((1u << 23) - 1, 0, 0), 0xfffffe00u);
    EXPECT_EQ(message_word((1u << 23) - 1, 0x3f, 7), 0xffffffffu);
    // Only the low 23 counter bits, 6 opts bits and 3 MSS bits are used.
    EXPECT_EQ(message_word(1u << 23, 0, 0), 0u);
    EXPECT_EQ(message_word(0xffffffffu, 0, 0), 0xfffffe00u);
    EXPECT_EQ(message_word(0, 0xff, 0), 0x3fu << 3);
    EXPECT_EQ(message_word(0, 0, 0xff), 7u);
    EXPECT_EQ(message_word(0x123456, 0x2a, 5), (0x123456u << 9) | (0x2au << 3) | 5u);
}

TEST(MessageWord, FieldsRecoverable) {
    std::mt19937 rng(11);
    for (int i = 0; i < 10000; ++i) {
        const uint32_t c = rng();
        const auto o = static_cast<uint8_t>(rng() & 0x3f);
        const auto m = static_cast<uint8_t>(rng() & 7);
        const uint32_t w = message_word(c, o, m);
        ASSERT_EQ(w >> 9, c & ((1u << kCounterBits) - 1));
        ASSERT_EQ((w >> 3) & 0x3f, o);
        ASSERT_EQ(w & 7, m);
    }
}

TEST(CookieWord, Layout) {
    EXPECT_EQ(kMacBits, 28u);
    EXPECT_EQ(kMacMask, 0x0fffffffu);
    EXPECT_EQ(cookie_word(0, 0, 0), 0u);
    EXPECT_EQ(cookie_word(1, 0, 0), 0x80000000u);
    EXPECT_EQ(cookie_word(2, 0, 0), 0u);
    EXPECT_EQ(cookie_word(3, 0, 0), 0x80000000u);
    EXPECT_EQ(cookie_word(0, 1, 0), 0x10000000u);
    EXPECT_EQ(cookie_word(0, 7, 0), 0x70000000u);
    EXPECT_EQ(cookie_word(0, 8, 0), 0u);  // 3 bits only
    EXPECT_EQ(cookie_word(0, 0, 0xffffffffu), 0x0fffffffu);
    EXPECT_EQ(cookie_word(0, 0, 0xf0000000u), 0u);
    EXPECT_EQ(cookie_word(5, 6, 0xabcdef12u), 0x80000000u | (6u << 28) | 0x0bcdef12u);
    std::mt19937 rng(12);
    for (int i = 0; i < 10000; ++i) {
        const uint32_t c = rng(), prf = rng();
        const auto m = static_cast<uint8_t>(rng() & 7);
        const uint32_t w = cookie_word(c, m, prf);
        ASSERT_EQ(w >> 31, c & 1);
        ASSERT_EQ((w >> 28) & 7, m);
        ASSERT_EQ(w & kMacMask, prf & kMacMask);
    }
}

TEST(CookieCounter, ReconstructsNowOrPrevious) {
    for (uint32_t minted : {1u, 2u, 3u, 1000u, 1001u, 0x7fffffu, 0x800000u, 0xfffffffeu}) {
        const uint32_t parity = cookie_word(minted, 0, 0) >> 31;
        EXPECT_EQ(cookie_counter(minted, parity), minted) << minted;      // checked in the same period
        EXPECT_EQ(cookie_counter(minted + 1, parity), minted) << minted;  // checked in the next one
        // Two periods later the parity points at now - 1 = minted + 1: never the minting counter.
        EXPECT_NE(cookie_counter(minted + 2, parity), minted) << minted;
    }
    for (uint32_t now = 1; now < 1000; ++now) {
        EXPECT_EQ(cookie_counter(now, now & 1), now);
        EXPECT_EQ(cookie_counter(now, (now - 1) & 1), now - 1);
    }
}

// ---------------------------------------------------------------------------------------------
// MAC messages

TEST(MacMessage, V4ByteLayout) {
    const uint8_t client[4] = {192, 0, 2, 1}, server[4] = {198, 51, 100, 7};
    FlowTuple t;
    t.family = Family::kIpv4;
    t.client_addr = client;
    t.server_addr = server;
    t.client_port = 0x1234;
    t.server_port = 0xabcd;
    const MacMsgV4 m = mac_message_v4(t, 0xdeadbeef);
    const uint8_t want[16] = {192, 0,    2,    1,    198,  51,   100,  7,
                              0x34, 0x12, 0xcd, 0xab, 0xef, 0xbe, 0xad, 0xde};  // ports, word: little-endian
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(m.b[i], want[i]) << "byte " << i;
}

TEST(MacMessage, V6ByteLayout) {
    uint8_t client[16], server[16];
    for (uint8_t i = 0; i < 16; ++i) {
        client[i] = static_cast<uint8_t>(0x20 + i);
        server[i] = static_cast<uint8_t>(0x80 + i);
    }
    FlowTuple t;
    t.family = Family::kIpv6;
    t.client_addr = client;
    t.server_addr = server;
    t.client_port = 0x0102;
    t.server_port = 0x0304;
    const MacMsgV6 m = mac_message_v6(t, 0x11223344);
    for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(m.b[i], client[i]) << i;
        EXPECT_EQ(m.b[16 + i], server[i]) << i;
    }
    EXPECT_EQ(m.b[32], 0x02);
    EXPECT_EQ(m.b[33], 0x01);
    EXPECT_EQ(m.b[34], 0x04);
    EXPECT_EQ(m.b[35], 0x03);
    EXPECT_EQ(m.b[36], 0x44);
    EXPECT_EQ(m.b[37], 0x33);
    EXPECT_EQ(m.b[38], 0x22);
    EXPECT_EQ(m.b[39], 0x11);
    for (size_t i = 40; i < 48; ++i) EXPECT_EQ(m.b[i], 0) << "padding byte " << i;
}

TEST(MacMessage, EveryFieldChangesTheMac) {
    // Any single-bit change of the tuple or the word changes the message and (whp) the MAC.
    uint8_t c4[4] = {10, 0, 0, 1}, s4[4] = {10, 0, 0, 2};
    FlowTuple t{Family::kIpv4, c4, s4, 40000, 443};
    const PrfKey key(PrfKind::kSipHash, master_from(3).data());
    const uint32_t base = direct_v4(key, mac_message_v4(t, 0x12345678));
    for (int bit = 0; bit < 32; ++bit)
        EXPECT_NE(direct_v4(key, mac_message_v4(t, 0x12345678u ^ (1u << bit))), base) << "word bit " << bit;
    for (int bit = 0; bit < 32; ++bit) {
        uint8_t c[4];
        std::memcpy(c, c4, 4);
        c[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        FlowTuple u = t;
        u.client_addr = c;
        EXPECT_NE(direct_v4(key, mac_message_v4(u, 0x12345678)), base) << "client bit " << bit;
        u = t;
        u.server_addr = c;  // differs from s4
        EXPECT_NE(direct_v4(key, mac_message_v4(u, 0x12345678)), base) << "server " << bit;
    }
    for (int bit = 0; bit < 16; ++bit) {
        FlowTuple u = t;
        u.client_port = static_cast<uint16_t>(u.client_port ^ (1u << bit));
        EXPECT_NE(direct_v4(key, mac_message_v4(u, 0x12345678)), base) << "client port bit " << bit;
        u = t;
        u.server_port = static_cast<uint16_t>(u.server_port ^ (1u << bit));
        EXPECT_NE(direct_v4(key, mac_message_v4(u, 0x12345678)), base) << "server port bit " << bit;
    }
}

// ---------------------------------------------------------------------------------------------
// PrfBatch

TEST(PrfBatch, MixedFamiliesAndKeysMatchDirectCalls) {
    std::mt19937_64 rng(13);
    for (PrfKind kind : available_kinds()) {
        SCOPED_TRACE(std::string(to_string(kind)));
        PrfKey keys[3];
        for (int i = 0; i < 3; ++i) {
            uint8_t kb[16];
            for (auto& b : kb) b = static_cast<uint8_t>(rng());
            keys[i] = PrfKey(kind, kb);
        }
        // Three keys x two families = six groups (kMaxKeys), interleaved at random.
        static PrfBatch batch;  // large: keep it off the stack
        for (int round = 0; round < 20; ++round) {
            batch.clear();
            const size_t n = 1 + rng() % PrfBatch::kMaxJobs;
            struct Job {
                int id;
                int key;
                bool v6;
                MacMsgV4 m4;
                MacMsgV6 m6;
            };
            std::vector<Job> jobs;
            for (size_t j = 0; j < n; ++j) {
                Job job{};
                job.key = static_cast<int>(rng() % 3);
                job.v6 = rng() & 1;
                for (auto& b : job.m4.b) b = static_cast<uint8_t>(rng());
                for (auto& b : job.m6.b) b = static_cast<uint8_t>(rng());
                job.id = job.v6 ? batch.add_v6(&keys[job.key], job.m6) : batch.add_v4(&keys[job.key], job.m4);
                ASSERT_EQ(job.id, static_cast<int>(j)) << "job indices are assigned in submission order";
                jobs.push_back(job);
            }
            ASSERT_EQ(batch.size(), n);
            batch.run();
            for (const Job& job : jobs) {
                const uint32_t want = job.v6 ? direct_v6(keys[job.key], job.m6) : direct_v4(keys[job.key], job.m4);
                ASSERT_EQ(batch.result(job.id), want) << "round " << round << " job " << job.id;
            }
        }
    }
}

TEST(PrfBatch, SingleGroupFastPath) {
    const PrfKey key(PrfKind::kSipHash, master_from(1).data());
    static PrfBatch batch;
    for (bool v6 : {false, true}) {
        batch.clear();
        for (uint32_t j = 0; j < 100; ++j) {
            const int id = v6 ? batch.add_v6(&key, fixed_v6(j)) : batch.add_v4(&key, fixed_v4(j));
            ASSERT_EQ(id, static_cast<int>(j));
        }
        batch.run();
        for (uint32_t j = 0; j < 100; ++j)
            EXPECT_EQ(batch.result(static_cast<int>(j)), v6 ? direct_v6(key, fixed_v6(j)) : direct_v4(key, fixed_v4(j)));
    }
}

TEST(PrfBatch, FullBatchReturnsMinusOne) {
    const PrfKey key(PrfKind::kSipHash, master_from(2).data());
    static PrfBatch batch;
    batch.clear();
    for (size_t j = 0; j < PrfBatch::kMaxJobs; ++j)
        ASSERT_EQ(batch.add_v4(&key, fixed_v4(static_cast<uint32_t>(j))), static_cast<int>(j));
    EXPECT_EQ(batch.size(), PrfBatch::kMaxJobs);
    EXPECT_EQ(batch.add_v4(&key, fixed_v4(0)), -1);
    EXPECT_EQ(batch.add_v6(&key, fixed_v6(0)), -1);
    EXPECT_EQ(batch.size(), PrfBatch::kMaxJobs);
    batch.run();
    for (size_t j = 0; j < PrfBatch::kMaxJobs; ++j)
        ASSERT_EQ(batch.result(static_cast<int>(j)), direct_v4(key, fixed_v4(static_cast<uint32_t>(j))));
    // clear() makes the whole batch available again.
    batch.clear();
    EXPECT_EQ(batch.size(), 0u);
    EXPECT_EQ(batch.add_v6(&key, fixed_v6(9)), 0);
}

TEST(PrfBatch, TooManyKeysReturnsMinusOneWithoutConsumingAJob) {
    static PrfBatch batch;
    batch.clear();
    PrfKey keys[PrfBatch::kMaxKeys + 1];
    for (size_t i = 0; i < PrfBatch::kMaxKeys + 1; ++i) keys[i] = PrfKey(PrfKind::kSipHash, master_from(static_cast<uint8_t>(40 + i)).data());
    for (size_t i = 0; i < PrfBatch::kMaxKeys; ++i) ASSERT_EQ(batch.add_v4(&keys[i], fixed_v4(static_cast<uint32_t>(i))), static_cast<int>(i));
    EXPECT_EQ(batch.add_v4(&keys[PrfBatch::kMaxKeys], fixed_v4(99)), -1);
    EXPECT_EQ(batch.add_v6(&keys[0], fixed_v6(99)), -1) << "(key, v6) is a seventh group";
    EXPECT_EQ(batch.size(), PrfBatch::kMaxKeys);
    // Existing groups still accept jobs, with the next index.
    EXPECT_EQ(batch.add_v4(&keys[2], fixed_v4(77)), static_cast<int>(PrfBatch::kMaxKeys));
    batch.run();
    for (size_t i = 0; i < PrfBatch::kMaxKeys; ++i)
        EXPECT_EQ(batch.result(static_cast<int>(i)), direct_v4(keys[i], fixed_v4(static_cast<uint32_t>(i))));
    EXPECT_EQ(batch.result(static_cast<int>(PrfBatch::kMaxKeys)), direct_v4(keys[2], fixed_v4(77)));
}

// ---------------------------------------------------------------------------------------------
// Master key parsing and loading

TEST(MasterKeyParse, AcceptsThirtyTwoHexDigits) {
    MasterKey k{};
    std::string err;
    ASSERT_TRUE(parse_master_key("000102030405060708090a0b0c0d0e0f", k, err)) << err;
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(k[i], i);
    ASSERT_TRUE(parse_master_key("00112233445566778899AABBCCDDEEFF\n", k, err)) << err;
    EXPECT_EQ(k[0], 0x00);
    EXPECT_EQ(k[1], 0x11);
    EXPECT_EQ(k[10], 0xaa);
    EXPECT_EQ(k[15], 0xff);
    ASSERT_TRUE(parse_master_key("  0011 2233\t4455 6677\r\n8899 aabb ccdd eeff\n\n", k, err)) << err;
    EXPECT_EQ(k[1], 0x11);
    EXPECT_EQ(k[15], 0xff);
    // Nibble order: the first digit is the high half of the first byte.
    ASSERT_TRUE(parse_master_key("f0000000000000000000000000000001", k, err)) << err;
    EXPECT_EQ(k[0], 0xf0);
    EXPECT_EQ(k[15], 0x01);
}

TEST(MasterKeyParse, RejectsBadInputWithAMessage) {
    const MasterKey sentinel = master_from(0x55);
    for (const char* bad : {"", "\n", "000102030405060708090a0b0c0d0e0",      // 31 digits
                            "000102030405060708090a0b0c0d0e0f0",                 // 33 digits
                            "000102030405060708090a0b0c0d0e0f00",                // 34 digits
                            "0x0102030405060708090a0b0c0d0e0f",                  // prefix
                            "000102030405060708090a0b0c0d0e0g",                  // non-hex
                            "00010203-0405060708090a0b0c0d0e0f"}) {              // punctuation
        MasterKey k = sentinel;
        std::string err;
        const std::string_view text(bad);
        EXPECT_FALSE(parse_master_key(text, k, err)) << '"' << text << '"';
        EXPECT_FALSE(err.empty()) << '"' << text << '"';
        EXPECT_EQ(k, sentinel) << "output must be untouched on failure: \"" << text << '"';
    }
    // An embedded NUL is not whitespace.
    MasterKey k{};
    std::string err;
    EXPECT_FALSE(parse_master_key(std::string_view("0001020304050607\0" "08090a0b0c0d0e0f", 33), k, err));
    EXPECT_FALSE(err.empty());
}

TEST(MasterKeyLoad, FromFileAndMissingFile) {
    std::string path = testing::TempDir() + "synwall_key_XXXXXX";
    const int fd = mkstemp(path.data());
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "a0a1a2a3a4a5a6a7 a8a9aaabacadaeaf\n";
    }
    MasterKey k{};
    std::string err;
    EXPECT_TRUE(load_master_key(path, k, err)) << err;
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(k[i], 0xa0 + i);

    {
        std::ofstream f(path, std::ios::trunc);
        f << "not a key\n";
    }
    err.clear();
    const MasterKey before = k;
    EXPECT_FALSE(load_master_key(path, k, err));
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(k, before);

    std::remove(path.c_str());
    err.clear();
    EXPECT_FALSE(load_master_key(path, k, err));
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(k, before);
}

TEST(MasterKeyRandom, DrawsDifferentKeys) {
    const MasterKey a = random_master_key(), b = random_master_key();
    EXPECT_NE(a, b);  // 2^-128
    EXPECT_NE(a, MasterKey{});
}

// ---------------------------------------------------------------------------------------------
// SecretConfig validation

TEST(SecretConfigValidate, Errors) {
    SecretConfig c;
    EXPECT_EQ(validate(c), "");
    c.counter_period_s = 0;
    EXPECT_NE(validate(c), "");
    c = SecretConfig{};
    c.rotation_period_s = 32;  // shorter than the counter period
    EXPECT_NE(validate(c), "");
    c.rotation_period_s = 0;
    EXPECT_NE(validate(c), "");
    c.rotation_period_s = 100;  // not a multiple of 64
    EXPECT_NE(validate(c), "");
    c.rotation_period_s = 64;   // one counter period per epoch is allowed
    EXPECT_EQ(validate(c), "");
    c.counter_period_s = 1;
    c.rotation_period_s = 7;
    EXPECT_EQ(validate(c), "");
    for (PrfKind k : {PrfKind::kVaes, PrfKind::kAesNi, PrfKind::kSipHash}) {
        c.prf = k;
        if (prf_available(k))
            EXPECT_EQ(validate(c), "") << to_string(k);
        else
            EXPECT_NE(validate(c), "") << to_string(k);
    }
}

// ---------------------------------------------------------------------------------------------
// SecretSchedule

TEST(SecretSchedule, CounterAndEpochArithmetic) {
    SecretSchedule s(config_with(master_from(1)));
    EXPECT_EQ(s.counter(0), 0u);
    EXPECT_EQ(s.counter(63), 0u);
    EXPECT_EQ(s.counter(64), 1u);
    EXPECT_EQ(s.counter(64 * 1000 + 5), 1000u);
    EXPECT_EQ(s.epoch_of_counter(0), 0u);
    EXPECT_EQ(s.epoch_of_counter(59), 0u);
    EXPECT_EQ(s.epoch_of_counter(60), 1u);
    EXPECT_EQ(s.epoch_of_counter(600), 10u);
}

TEST(SecretSchedule, NoKeysBeforeAdvance) {
    SecretSchedule s(config_with(master_from(1)));
    for (uint32_t c : {0u, 1u, 59u, 60u, 1000u}) EXPECT_EQ(s.keys_for_counter(c), nullptr) << c;
}

TEST(SecretSchedule, KeysForCurrentAndPreviousEpochOnly) {
    SecretSchedule s(config_with(master_from(1)));
    const uint64_t epoch_s = 3840;
    const uint64_t now = 10 * epoch_s + 1234;  // epoch 10
    s.advance(now);
    const uint32_t now_c = s.counter(now);
    ASSERT_EQ(s.epoch_of_counter(now_c), 10u);
    for (uint32_t c = 0; c < 20 * 60; ++c) {
        const auto* k = s.keys_for_counter(c);
        const uint64_t e = c / 60;
        if (e == 10 || e == 9) {
            ASSERT_NE(k, nullptr) << c;
            EXPECT_EQ(k->epoch, e) << c;
        } else {
            EXPECT_EQ(k, nullptr) << c;
        }
    }
    // The two epochs have different keys.
    EXPECT_NE(fingerprint(s.keys_for_counter(600)->v4), fingerprint(s.keys_for_counter(599)->v4));
    EXPECT_NE(fingerprint(s.keys_for_counter(600)->v6), fingerprint(s.keys_for_counter(599)->v6));
    // And per family keys differ.
    EXPECT_NE(fingerprint(s.keys_for_counter(600)->v4), fingerprint(s.keys_for_counter(600)->v6));
}

TEST(SecretSchedule, EpochZeroHasNoPrevious) {
    SecretSchedule s(config_with(master_from(1)));
    s.advance(5);
    ASSERT_NE(s.keys_for_counter(0), nullptr);
    EXPECT_EQ(s.keys_for_counter(0)->epoch, 0u);
    EXPECT_EQ(s.keys_for_counter(59)->epoch, 0u);
    EXPECT_EQ(s.keys_for_counter(60), nullptr);
    EXPECT_EQ(s.keys_for_counter(0xffffffffu), nullptr);
}

TEST(SecretSchedule, SameMasterSameKeysDifferentMasterDifferentKeys) {
    for (PrfKind kind : available_kinds()) {
        SCOPED_TRACE(std::string(to_string(kind)));
        SecretSchedule a(config_with(master_from(7), kind)), b(config_with(master_from(7), kind));
        MasterKey other = master_from(7);
        other[15] ^= 0x80;
        SecretSchedule c(config_with(other, kind));
        const uint64_t now = 123456789;
        a.advance(now);
        b.advance(now);
        c.advance(now);
        const uint32_t ctr = a.counter(now);
        for (uint32_t cc : {ctr, ctr - 60}) {
            const auto *ka = a.keys_for_counter(cc), *kb = b.keys_for_counter(cc), *kc = c.keys_for_counter(cc);
            ASSERT_TRUE(ka && kb && kc);
            EXPECT_EQ(fingerprint(ka->v4), fingerprint(kb->v4));
            EXPECT_EQ(fingerprint(ka->v6), fingerprint(kb->v6));
            EXPECT_NE(fingerprint(ka->v4), fingerprint(kc->v4));
            EXPECT_NE(fingerprint(ka->v6), fingerprint(kc->v6));
        }
        EXPECT_EQ(fingerprint(a.isn_key()), fingerprint(b.isn_key()));
        EXPECT_NE(fingerprint(a.isn_key()), fingerprint(c.isn_key()));
        EXPECT_NE(fingerprint(a.isn_key()), fingerprint(a.keys_for_counter(ctr)->v4));
    }
}

TEST(SecretSchedule, AesKindsDeriveTheSameFunction) {
    if (!prf_available(PrfKind::kVaes) || !prf_available(PrfKind::kAesNi)) GTEST_SKIP() << "needs VAES and AES-NI";
    SecretSchedule a(config_with(master_from(9), PrfKind::kVaes)), b(config_with(master_from(9), PrfKind::kAesNi));
    a.advance(99999);
    b.advance(99999);
    const uint32_t c = a.counter(99999);
    EXPECT_EQ(fingerprint(a.keys_for_counter(c)->v4), fingerprint(b.keys_for_counter(c)->v4));
    EXPECT_EQ(fingerprint(a.keys_for_counter(c)->v6), fingerprint(b.keys_for_counter(c)->v6));
    EXPECT_EQ(fingerprint(a.isn_key()), fingerprint(b.isn_key()));
}

TEST(SecretSchedule, RotationKeepsPreviousKeysValid) {
    SecretConfig cfg = config_with(master_from(5));
    cfg.counter_period_s = 2;
    cfg.rotation_period_s = 10;  // 5 counters per epoch
    SecretSchedule s(cfg);
    const auto isn = fingerprint(s.isn_key());
    // Walk the clock second by second across many epochs; at each step a cookie minted one counter
    // period ago must find the key it was minted with.
    std::vector<std::vector<uint32_t>> key_of_counter;  // fingerprint of the v4 key used to mint at counter c
    for (uint64_t now = 0; now < 200; ++now) {
        s.advance(now);
        const uint32_t c = s.counter(now);
        const auto* cur = s.keys_for_counter(c);
        ASSERT_NE(cur, nullptr) << now;
        ASSERT_EQ(cur->epoch, c / 5);
        if (key_of_counter.size() <= c) key_of_counter.push_back(fingerprint(cur->v4));
        ASSERT_EQ(fingerprint(cur->v4), key_of_counter[c]) << "minting key changed within a counter period";
        if (c >= 1) {
            const auto* prev = s.keys_for_counter(c - 1);
            ASSERT_NE(prev, nullptr) << "cookie from the previous counter rejected at now=" << now;
            EXPECT_EQ(prev->epoch, (c - 1) / 5);
            EXPECT_EQ(fingerprint(prev->v4), key_of_counter[c - 1]) << now;
        }
        if (c >= 10) {
            EXPECT_EQ(s.keys_for_counter(c - 10), nullptr) << now;
        }
    }
    EXPECT_EQ(fingerprint(s.isn_key()), isn) << "the ISN key never rotates";
}

TEST(SecretSchedule, JumpsForwardAndBackMatchAFreshSchedule) {
    const SecretConfig cfg = config_with(master_from(6));
    SecretSchedule s(cfg);
    std::mt19937_64 rng(14);
    uint64_t now = 1000000;
    for (int i = 0; i < 200; ++i) {
        switch (rng() % 4) {
        case 0: now += rng() % 100; break;                     // usually same epoch
        case 1: now += 3840; break;                            // next epoch
        case 2: now += 3840 * (2 + rng() % 5); break;          // skip epochs
        default: now -= std::min<uint64_t>(now, rng() % 8000); break;  // clock stepped back
        }
        s.advance(now);
        SecretSchedule fresh(cfg);
        fresh.advance(now);
        const uint32_t c = s.counter(now);
        for (uint32_t cc : {c, c - 60}) {
            const auto *a = s.keys_for_counter(cc), *b = fresh.keys_for_counter(cc);
            if (s.epoch_of_counter(c) == 0 && cc != c) {
                EXPECT_EQ(a, nullptr);
                EXPECT_EQ(b, nullptr);
                continue;
            }
            ASSERT_TRUE(a && b) << "now=" << now << " counter " << cc;
            EXPECT_EQ(a->epoch, b->epoch);
            EXPECT_EQ(fingerprint(a->v4), fingerprint(b->v4)) << "now=" << now;
            EXPECT_EQ(fingerprint(a->v6), fingerprint(b->v6)) << "now=" << now;
        }
    }
}

TEST(SynCookie, MintAndCheckAcrossARotation) {
    // End to end: a cookie minted in the last counter of an epoch validates in the first counter
    // of the next one, and fails when any input changes or it is two counters old.
    SecretSchedule s(config_with(master_from(8)));
    const uint8_t client[4] = {203, 0, 113, 9}, server[4] = {192, 0, 2, 80};
    const FlowTuple t{Family::kIpv4, client, server, 51000, 80};
    const uint64_t mint_s = 3840 * 5 - 1;  // the last second of epoch 4
    s.advance(mint_s);
    const uint32_t mint_c = s.counter(mint_s);
    const uint8_t opts = encode_opts({7, true, false});
    const uint8_t mss = mss_to_index(Family::kIpv4, 1460);
    const PrfKey& k = s.keys_for_counter(mint_c)->v4;
    const uint32_t w = cookie_word(mint_c, mss, direct_v4(k, mac_message_v4(t, message_word(mint_c, opts, mss))));

    auto check = [&](uint64_t now, const FlowTuple& tt, uint32_t word, uint8_t o) {
        s.advance(now);
        const uint32_t c = cookie_counter(s.counter(now), word >> 31);
        const auto* keys = s.keys_for_counter(c);
        if (!keys) return false;
        const uint8_t m = static_cast<uint8_t>((word >> 28) & 7);
        return (direct_v4(keys->v4, mac_message_v4(tt, message_word(c, o, m))) & kMacMask) == (word & kMacMask);
    };
    EXPECT_TRUE(check(mint_s, t, w, opts));
    EXPECT_TRUE(check(mint_s + 1, t, w, opts));       // next counter, next epoch
    EXPECT_TRUE(check(mint_s + 64, t, w, opts));
    EXPECT_FALSE(check(mint_s + 65, t, w, opts));     // two counters later
    s.advance(mint_s);
    FlowTuple other = t;
    other.client_port = 51001;
    EXPECT_FALSE(check(mint_s + 1, other, w, opts));
    EXPECT_FALSE(check(mint_s + 1, t, w, static_cast<uint8_t>(opts ^ 1)));
    EXPECT_FALSE(check(mint_s + 1, t, w ^ (1u << 28), opts));  // MSS index bit
    EXPECT_FALSE(check(mint_s + 1, t, w ^ 1u, opts));          // MAC bit
}

TEST(CookieTsval, CarriesTheOptionsAndIsNeverAheadOfTheClock) {
    // As cookie_init_timestamp: the connection's later segments use the plain clock, so a TSval
    // ahead of it would make them look older to the client (PAWS).
    for (uint32_t clock : {0u, 1u, 63u, 64u, 100u, 1000u, 123456789u, 0xffffffc0u, 0xffffffffu})
        for (uint32_t opts = 0; opts < 64; ++opts) {
            const uint32_t ts = synwall::cookie::cookie_tsval(clock, static_cast<uint8_t>(opts));
            EXPECT_EQ(ts & synwall::cookie::kOptsMask, opts) << clock;
            EXPECT_LT(static_cast<int32_t>(ts - clock), 1) << clock << " " << opts;
            EXPECT_LT(clock - ts, 64u) << clock << " " << opts;
        }
}
