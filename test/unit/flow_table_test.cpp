// FlowTable: the fixed-capacity two-choice hash table keyed by FlowKey.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/parser.hpp"
#include "table/flow_key.hpp"
#include "table/flow_table.hpp"

using namespace synwall::table;
using synwall::net::Family;

namespace {

struct Entry {
    FlowKey key;
    uint32_t value;
};
using Table = FlowTable<Entry>;
constexpr uint32_t kNone = Table::kNone;

struct KeyHash {
    size_t operator()(const FlowKey& k) const noexcept { return hash_key(k); }
};

FlowKey v4_key(uint32_t client, uint16_t cport, uint32_t server, uint16_t sport) {
    uint8_t c[4], s[4];
    std::memcpy(c, &client, 4);
    std::memcpy(s, &server, 4);
    FlowKey k;
    store_addr(k.client, Family::kIpv4, c);
    store_addr(k.server, Family::kIpv4, s);
    k.client_port = cport;
    k.server_port = sport;
    return k;
}

FlowKey v6_key(const uint8_t client[16], uint16_t cport, const uint8_t server[16], uint16_t sport) {
    FlowKey k;
    store_addr(k.client, Family::kIpv6, client);
    store_addr(k.server, Family::kIpv6, server);
    k.client_port = cport;
    k.server_port = sport;
    return k;
}

FlowKey random_key(std::mt19937_64& rng) {
    if (rng() & 1) {
        return v4_key(static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()), static_cast<uint32_t>(rng()),
                      static_cast<uint16_t>(rng()));
    }
    uint8_t c[16], s[16];
    for (auto& b : c) b = static_cast<uint8_t>(rng());
    for (auto& b : s) b = static_cast<uint8_t>(rng());
    c[0] = 0x20;  // global unicast: never v4-mapped
    s[0] = 0x20;
    return v6_key(c, static_cast<uint16_t>(rng()), s, static_cast<uint16_t>(rng()));
}

// n distinct random keys.
std::vector<FlowKey> distinct_keys(std::mt19937_64& rng, size_t n) {
    std::unordered_set<FlowKey, KeyHash> seen;
    std::vector<FlowKey> v;
    while (v.size() < n) {
        const FlowKey k = random_key(rng);
        if (seen.insert(k).second) v.push_back(k);
    }
    return v;
}

uint32_t buckets_for(uint32_t capacity) { return std::max<uint32_t>(2, (capacity + 4) / 5); }

}  // namespace

TEST(FlowKey, StoreAddrLayout) {
    const uint8_t a4[4] = {10, 1, 2, 3};
    uint8_t d[16];
    std::memset(d, 0xee, sizeof d);
    store_addr(d, Family::kIpv4, a4);
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
    EXPECT_EQ(0, std::memcmp(d, want, 16));
    uint8_t a6[16];
    for (uint8_t i = 0; i < 16; ++i) a6[i] = static_cast<uint8_t>(0xa0 + i);
    store_addr(d, Family::kIpv6, a6);
    EXPECT_EQ(0, std::memcmp(d, a6, 16));
}

TEST(FlowKey, FromClientPacketAndFamilies) {
    const uint8_t src4[4] = {10, 0, 0, 1}, dst4[4] = {10, 0, 0, 2};
    synwall::net::ParsedPacket p4;
    p4.family = Family::kIpv4;
    p4.src_addr = src4;
    p4.dst_addr = dst4;
    p4.src_port = 40000;
    p4.dst_port = 80;
    const FlowKey k4 = key_from_client_packet(p4);
    EXPECT_TRUE(k4.is_v4());
    EXPECT_EQ(k4.family(), Family::kIpv4);
    EXPECT_EQ(0, std::memcmp(k4.client_addr(), src4, 4));
    EXPECT_EQ(0, std::memcmp(k4.server_addr(), dst4, 4));
    EXPECT_EQ(k4.client_port, 40000);
    EXPECT_EQ(k4.server_port, 80);

    // IPv6 addresses that contain the same 4 bytes, at the front and (IPv4-compatible ::a.b.c.d)
    // at the back, must give different keys.
    uint8_t front[16] = {10, 0, 0, 1}, back[16] = {}, dfront[16] = {10, 0, 0, 2}, dback[16] = {};
    std::memcpy(back + 12, src4, 4);
    std::memcpy(dback + 12, dst4, 4);
    synwall::net::ParsedPacket p6 = p4;
    p6.family = Family::kIpv6;
    p6.src_addr = front;
    p6.dst_addr = dfront;
    const FlowKey k6a = key_from_client_packet(p6);
    p6.src_addr = back;
    p6.dst_addr = dback;
    const FlowKey k6b = key_from_client_packet(p6);
    for (const FlowKey* k : {&k6a, &k6b}) {
        EXPECT_FALSE(k->is_v4());
        EXPECT_EQ(k->family(), Family::kIpv6);
        EXPECT_FALSE(*k == k4);
    }
    EXPECT_FALSE(k6a == k6b);
    EXPECT_EQ(0, std::memcmp(k6b.client_addr(), back, 16));
    EXPECT_EQ(0, std::memcmp(k6a.server_addr(), dfront, 16));

    Table t(64);
    const uint32_t i4 = t.insert(k4), ia = t.insert(k6a), ib = t.insert(k6b);
    ASSERT_NE(i4, kNone);
    ASSERT_NE(ia, kNone);
    ASSERT_NE(ib, kNone);
    t.at(i4).value = 4;
    t.at(ia).value = 6;
    t.at(ib).value = 7;
    EXPECT_EQ(t.find(k4), i4);
    EXPECT_EQ(t.find(k6a), ia);
    EXPECT_EQ(t.find(k6b), ib);
    EXPECT_EQ(t.at(t.find(k4)).value, 4u);
    EXPECT_EQ(t.at(t.find(k6a)).value, 6u);
    EXPECT_EQ(t.at(t.find(k6b)).value, 7u);
    t.erase(i4);
    EXPECT_EQ(t.find(k4), kNone);
    EXPECT_EQ(t.find(k6a), ia);
    EXPECT_EQ(t.find(k6b), ib);
}

TEST(FlowKey, HashDependsOnEveryBit) {
    // CRC32C detects every single-bit error: flipping any bit of the 36-byte key changes hash_key.
    std::mt19937_64 rng(21);
    for (int trial = 0; trial < 20; ++trial) {
        const FlowKey k = random_key(rng);
        const uint32_t h = hash_key(k);
        for (size_t bit = 0; bit < sizeof(FlowKey) * 8; ++bit) {
            FlowKey m = k;
            reinterpret_cast<uint8_t*>(&m)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            ASSERT_NE(hash_key(m), h) << "bit " << bit;
        }
    }
}

TEST(FlowKey, MakeKeyV4IsKeyFromClientPacketAndItsHash) {
    std::mt19937 rng(5);
    for (int trial = 0; trial < 1000; ++trial) {
        uint8_t src[4], dst[4];
        for (auto& b : src) b = static_cast<uint8_t>(rng());
        for (auto& b : dst) b = static_cast<uint8_t>(rng());
        synwall::net::ParsedPacket p;
        p.family = synwall::net::Family::kIpv4;
        p.src_addr = src;
        p.dst_addr = dst;
        p.src_port = static_cast<uint16_t>(rng());
        p.dst_port = static_cast<uint16_t>(rng());
        const FlowKey want = key_from_client_packet(p);
        uint32_t s, d;
        std::memcpy(&s, src, 4);
        std::memcpy(&d, dst, 4);
        FlowKey got;
        std::memset(&got, 0xa5, sizeof got);
        const uint32_t crc = make_key_v4(s, d, p.src_port, p.dst_port, got);
        ASSERT_TRUE(got == want);
        ASSERT_EQ(crc, hash_key(want));
    }
}

TEST(FlowTable, ConstructorRejectsBadCapacity) {
    EXPECT_THROW(Table(0), std::invalid_argument);
    EXPECT_THROW(Table(Table::kMaxCapacity + 1), std::invalid_argument);
    EXPECT_NO_THROW(Table(1));
}

TEST(FlowTable, InsertFindErase) {
    Table t(100);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.capacity(), 100u);
    EXPECT_FALSE(t.full());
    const FlowKey a = v4_key(0x01020304, 1000, 0x0a000001, 80);
    const FlowKey b = v4_key(0x01020304, 1001, 0x0a000001, 80);
    EXPECT_EQ(t.find(a), kNone);
    const uint32_t ia = t.insert(a);
    ASSERT_NE(ia, kNone);
    ASSERT_LT(ia, 100u);
    EXPECT_TRUE(t.at(ia).key == a);
    t.at(ia).value = 111;
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.find(a), ia);
    EXPECT_EQ(t.find(b), kNone);
    const uint32_t ib = t.insert(b);
    ASSERT_NE(ib, kNone);
    EXPECT_NE(ia, ib);
    t.at(ib).value = 222;
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.at(t.find(a)).value, 111u);
    EXPECT_EQ(t.at(t.find(b)).value, 222u);
    t.erase(ia);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.find(a), kNone);
    EXPECT_EQ(t.find(b), ib);
    t.erase(ib);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find(b), kNone);
}

// The per-bucket summary: never a false "absent" for a live key, exactly cleared by erases, and
// mostly "absent" for keys that are not there while the table is lightly loaded.
TEST(FlowTable, SummaryNeverHidesALiveKeyAndClearsOnErase) {
    std::mt19937_64 rng(7);
    Table t(8192, Table::Summary::kOn);
    std::vector<FlowKey> live;
    for (uint32_t i = 0; i < 6000; ++i) {
        const FlowKey k = v4_key(static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()), 0x0a000001, 80);
        if (t.find(k) != kNone) continue;
        ASSERT_NE(t.insert(k), kNone);
        live.push_back(k);
    }
    for (const FlowKey& k : live) {
        ASSERT_TRUE(t.may_contain(t.hash(k)));
        ASSERT_NE(t.find(k), kNone);
    }
    // Erase half (interleaved), the rest must still be found; the erased not.
    for (size_t i = 0; i < live.size(); i += 2) t.erase(t.find(live[i]));
    for (size_t i = 0; i < live.size(); ++i) ASSERT_EQ(t.find(live[i]) != kNone, i % 2 == 1) << i;
    for (size_t i = 1; i < live.size(); i += 2) t.erase(t.find(live[i]));
    ASSERT_EQ(t.size(), 0u);
    for (const FlowKey& k : live) ASSERT_FALSE(t.may_contain(t.hash(k))) << "summary cleared with the last erase";
    // Lightly loaded (one entry per ~10 slots): most absent keys are ruled out without a bucket.
    for (uint32_t i = 0; i < 1000; ++i) t.insert(v4_key(static_cast<uint32_t>(rng()), 1, 0x0a000002, 80));
    uint32_t maybe = 0;
    for (uint32_t i = 0; i < 10000; ++i)
        maybe += t.may_contain(t.hash(v4_key(static_cast<uint32_t>(rng()), 2, 0x0a000003, 80)));
    EXPECT_LT(maybe, 4000u) << "a summary that rules out little";
}

TEST(FlowTable, CapacityExhaustion) {
    std::mt19937_64 rng(22);
    constexpr uint32_t kCap = 100;
    Table t(kCap);
    const auto keys = distinct_keys(rng, kCap + 10);
    std::set<uint32_t> idx;
    for (uint32_t i = 0; i < kCap; ++i) {
        const uint32_t x = t.insert(keys[i]);
        ASSERT_NE(x, kNone) << i;
        ASSERT_LT(x, kCap);
        ASSERT_TRUE(idx.insert(x).second) << "index handed out twice";
        t.at(x).value = i;
    }
    EXPECT_EQ(t.size(), kCap);
    EXPECT_TRUE(t.full());
    for (uint32_t i = kCap; i < kCap + 10; ++i) EXPECT_EQ(t.insert(keys[i]), kNone);
    EXPECT_EQ(t.size(), kCap);
    EXPECT_EQ(t.bucket_full_count(), 0u) << "a full slab is not a bucket overflow";
    for (uint32_t i = 0; i < kCap; ++i) {
        const uint32_t x = t.find(keys[i]);
        ASSERT_NE(x, kNone) << i;
        EXPECT_EQ(t.at(x).value, i);
    }
    for (uint32_t i = kCap; i < kCap + 10; ++i) EXPECT_EQ(t.find(keys[i]), kNone);
}

TEST(FlowTable, EraseThenReinsert) {
    std::mt19937_64 rng(23);
    constexpr uint32_t kCap = 200;
    Table t(kCap);
    const auto keys = distinct_keys(rng, kCap + 1);
    std::vector<uint32_t> idx(kCap);
    for (uint32_t i = 0; i < kCap; ++i) ASSERT_NE(idx[i] = t.insert(keys[i]), kNone);
    ASSERT_TRUE(t.full());
    ASSERT_EQ(t.insert(keys[kCap]), kNone);
    t.erase(idx[17]);
    EXPECT_FALSE(t.full());
    EXPECT_EQ(t.find(keys[17]), kNone);
    const uint32_t n = t.insert(keys[kCap]);
    ASSERT_NE(n, kNone);
    EXPECT_EQ(t.find(keys[kCap]), n);
    EXPECT_TRUE(t.full());
    // Erase everything, then the table takes a full load again.
    t.erase(n);
    for (uint32_t i = 0; i < kCap; ++i)
        if (i != 17) t.erase(idx[i]);
    EXPECT_EQ(t.size(), 0u);
    for (uint32_t i = 0; i <= kCap; ++i) EXPECT_EQ(t.find(keys[i]), kNone) << i;
    std::set<uint32_t> seen;
    for (uint32_t i = 0; i < kCap; ++i) {
        const uint32_t x = t.insert(keys[kCap - i]);
        ASSERT_NE(x, kNone);
        ASSERT_TRUE(seen.insert(x).second);
    }
    EXPECT_EQ(t.size(), kCap);
    for (uint32_t i = 0; i < kCap; ++i) EXPECT_NE(t.find(keys[kCap - i]), kNone);
    EXPECT_EQ(t.find(keys[0]), kNone);
}

TEST(FlowTable, HashFromCrcConsistency) {
    std::mt19937_64 rng(24);
    for (uint32_t cap : {1u, 6u, 7u, 100u, 10000u, 65536u}) {
        Table t(cap), u(cap);
        const uint32_t nb = buckets_for(cap);
        for (int i = 0; i < 2000; ++i) {
            const FlowKey k = random_key(rng);
            const Table::Hash h = t.hash(k), g = t.hash_from_crc(hash_key(k)), o = u.hash(k);
            ASSERT_EQ(h.b1, g.b1);
            ASSERT_EQ(h.b2, g.b2);
            ASSERT_EQ(h.tag, g.tag);
            ASSERT_EQ(h.b1, o.b1);  // same capacity, same placement
            ASSERT_EQ(h.b2, o.b2);
            ASSERT_EQ(h.tag, o.tag);
            ASSERT_LT(h.b1, nb) << "cap " << cap;
            ASSERT_LT(h.b2, nb) << "cap " << cap;
            ASSERT_NE(h.b1, h.b2) << "two distinct candidate buckets";
            ASSERT_NE(h.tag, 0) << "tag 0 marks an empty slot";
        }
    }
    // Insert and find with a precomputed hash agree with the hashing overloads.
    Table t(1000);
    const auto keys = distinct_keys(rng, 500);
    for (const auto& k : keys) {
        const Table::Hash h = t.hash_from_crc(hash_key(k));
        t.prefetch(h);
        const uint32_t x = t.insert(k, h);
        ASSERT_NE(x, kNone);
        ASSERT_EQ(t.find(k), x);
        ASSERT_EQ(t.find(k, h), x);
    }
}

TEST(FlowTable, MemoryBytes) {
    Table small(10), big(100000);
    EXPECT_GT(small.memory_bytes(), 0u);
    // Entries and buckets only: the free list lives in the free entries themselves, and the bucket
    // count is not rounded up to a power of two (64 / 5 bytes of bucket per entry).
    EXPECT_EQ(big.memory_bytes(), size_t{100000} * sizeof(Entry) + size_t{buckets_for(100000)} * 64);
    EXPECT_GT(big.memory_bytes(), small.memory_bytes());
}

class FlowTableSummary : public ::testing::TestWithParam<Table::Summary> {};

INSTANTIATE_TEST_SUITE_P(SummaryOffAndOn, FlowTableSummary, ::testing::Values(Table::Summary::kOff, Table::Summary::kOn),
                         [](const auto& i) { return i.param == Table::Summary::kOn ? "On" : "Off"; });

TEST_P(FlowTableSummary, RandomizedAgainstUnorderedMap) {
    constexpr uint32_t kCap = 10000;
    constexpr int kOps = 1000000;
    std::mt19937_64 rng(25);
    const auto universe = distinct_keys(rng, 30000);
    Table t(kCap, GetParam());
    struct Val {
        uint32_t idx, value;
    };
    std::unordered_map<FlowKey, Val, KeyHash> model;
    std::vector<size_t> present;                       // universe indices in the table
    std::vector<size_t> pos(universe.size(), SIZE_MAX);  // where in `present`
    uint64_t inserts = 0, refused_full = 0, refused_bucket = 0, finds_hit = 0;
    for (int op = 0; op < kOps; ++op) {
        // Alternate growing and shrinking phases so that the table both fills up and drains.
        const bool grow = (op / 50000) % 2 == 0;
        const unsigned r = static_cast<unsigned>(rng() % 100);
        const unsigned p_insert = grow ? 60 : 25, p_erase = grow ? 15 : 50;
        if (r < p_insert) {  // insert a random absent key
            const size_t u = rng() % universe.size();
            const FlowKey& k = universe[u];
            if (model.count(k)) {
                ASSERT_NE(t.find(k), kNone);
                continue;
            }
            const uint64_t bf = t.bucket_full_count();
            const uint32_t x = t.insert(k);
            if (x == kNone) {
                if (model.size() == kCap) {
                    ASSERT_EQ(t.bucket_full_count(), bf);
                    ++refused_full;
                } else {
                    ASSERT_EQ(t.bucket_full_count(), bf + 1) << "refused with free entries but no bucket overflow";
                    ++refused_bucket;
                }
                ASSERT_EQ(t.find(k), kNone);
                continue;
            }
            ASSERT_LT(x, kCap);
            const auto value = static_cast<uint32_t>(rng());
            t.at(x).value = value;
            model.emplace(k, Val{x, value});
            pos[u] = present.size();
            present.push_back(u);
            ++inserts;
        } else if (r < p_insert + p_erase) {  // erase a random present key
            if (present.empty()) continue;
            const size_t p = rng() % present.size();
            const size_t u = present[p];
            const FlowKey& k = universe[u];
            const uint32_t x = t.find(k);
            ASSERT_NE(x, kNone);
            ASSERT_EQ(x, model.at(k).idx);
            t.erase(x);
            model.erase(k);
            present[p] = present.back();
            pos[present[p]] = p;
            present.pop_back();
            pos[u] = SIZE_MAX;
            ASSERT_EQ(t.find(k), kNone);
        } else {  // find
            const size_t u = rng() % universe.size();
            const FlowKey& k = universe[u];
            const uint32_t x = t.find(k);
            const auto it = model.find(k);
            if (it == model.end()) {
                ASSERT_EQ(x, kNone) << "op " << op;
            } else {
                ASSERT_EQ(x, it->second.idx) << "op " << op;
                ASSERT_TRUE(t.at(x).key == k);
                ASSERT_EQ(t.at(x).value, it->second.value);
                ++finds_hit;
            }
        }
        ASSERT_EQ(t.size(), model.size());
        ASSERT_EQ(t.full(), model.size() == kCap);
    }
    // Full sweep at the end.
    for (const auto& k : universe) {
        const auto it = model.find(k);
        const uint32_t x = t.find(k);
        if (it == model.end())
            ASSERT_EQ(x, kNone);
        else
            ASSERT_EQ(x, it->second.idx);
    }
    // The run must have exercised the interesting paths.
    EXPECT_GT(inserts, 100000u);
    EXPECT_GT(refused_full, 0u);
    EXPECT_GT(finds_hit, 10000u);
    EXPECT_LT(refused_bucket, inserts / 100) << "two-choice buckets overflow far too often";
    RecordProperty("refused_bucket", static_cast<int>(refused_bucket));
    std::printf("inserts %llu, refused (table full) %llu, refused (bucket full) %llu, find hits %llu\n",
                static_cast<unsigned long long>(inserts), static_cast<unsigned long long>(refused_full),
                static_cast<unsigned long long>(refused_bucket), static_cast<unsigned long long>(finds_hit));
}

TEST(FlowTable, AbsentKeysAfterHeavyChurn) {
    constexpr uint32_t kCap = 4096;
    std::mt19937_64 rng(26);
    Table t(kCap);
    const auto keys = distinct_keys(rng, 3 * kCap);
    const std::vector<FlowKey> never(keys.begin() + 2 * kCap, keys.end());
    // Many rounds: fill with half the first 2*kCap keys, erase them all.
    for (int round = 0; round < 50; ++round) {
        std::vector<uint32_t> idx;
        std::vector<size_t> which;
        for (size_t i = static_cast<size_t>(round % 2); i < 2 * kCap; i += 2) {
            const uint32_t x = t.insert(keys[i]);
            if (x == kNone) continue;  // only bucket overflow can refuse below capacity
            idx.push_back(x);
            which.push_back(i);
        }
        ASSERT_GT(idx.size(), kCap * 99 / 100);
        for (size_t j = 0; j < idx.size(); ++j) ASSERT_EQ(t.find(keys[which[j]]), idx[j]);
        for (const auto& k : never) ASSERT_EQ(t.find(k), kNone);
        // Erase in a shuffled order.
        std::vector<size_t> order(idx.size());
        for (size_t j = 0; j < order.size(); ++j) order[j] = j;
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t j : order) t.erase(idx[j]);
        ASSERT_EQ(t.size(), 0u);
    }
    for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(t.find(keys[i]), kNone) << i;
}

// Keys with identical CRC32C. CRC is affine over GF(2): hash_key(k ^ d) = hash_key(k) ^ L(d) for a
// linear L. Varying the 32 address bits and 16 port bits of an IPv4 client gives 48 unknowns for
// 32 equations, so at least 16 independent differences d with L(d) = 0: 2^16 colliding keys.
namespace {

void flip(FlowKey& k, int var) {
    if (var < 32)
        k.client[12 + var / 8] ^= static_cast<uint8_t>(1u << (var % 8));
    else
        k.client_port = static_cast<uint16_t>(k.client_port ^ (1u << (var - 32)));
}

std::vector<FlowKey> colliding_keys(const FlowKey& base, size_t n) {
    const uint32_t h0 = hash_key(base);
    struct Row {
        uint32_t v;
        uint64_t combo;
    };
    std::vector<Row> basis;  // reduced rows, one per pivot
    std::vector<uint64_t> kernel;
    for (int var = 0; var < 48; ++var) {
        FlowKey k = base;
        flip(k, var);
        Row r{hash_key(k) ^ h0, uint64_t{1} << var};
        for (const Row& b : basis)
            if (r.v & (1u << std::countr_zero(b.v))) {
                r.v ^= b.v;
                r.combo ^= b.combo;
            }
        if (r.v == 0) {
            kernel.push_back(r.combo);
            continue;
        }
        // Keep the basis fully reduced on its pivots.
        const uint32_t pivot = 1u << std::countr_zero(r.v);
        for (Row& b : basis)
            if (b.v & pivot) {
                b.v ^= r.v;
                b.combo ^= r.combo;
            }
        basis.push_back(r);
    }
    std::vector<FlowKey> out;
    for (uint64_t j = 1; out.size() < n && j < (uint64_t{1} << kernel.size()); ++j) {
        FlowKey k = base;
        for (size_t b = 0; b < kernel.size(); ++b)
            if (j >> b & 1)
                for (int var = 0; var < 48; ++var)
                    if (kernel[b] >> var & 1) flip(k, var);
        out.push_back(k);
    }
    return out;
}

}  // namespace

TEST(FlowTable, AdversarialCrcCollisionsAreBounded) {
    const FlowKey base = v4_key(0x0100007f, 1234, 0x0200000a, 443);
    const auto evil = colliding_keys(base, 40);
    ASSERT_EQ(evil.size(), 40u);
    std::unordered_set<FlowKey, KeyHash> distinct(evil.begin(), evil.end());
    ASSERT_EQ(distinct.size(), evil.size());
    for (const auto& k : evil) {
        ASSERT_EQ(hash_key(k), hash_key(evil[0])) << "construction must give equal CRCs";
        ASSERT_TRUE(k.is_v4());
    }

    constexpr uint32_t kCap = 10000;
    Table t(kCap);
    const Table::Hash he = t.hash(evil[0]);
    // Two buckets of eight slots: exactly 16 of the colliding keys fit, the rest are refused.
    std::vector<uint32_t> idx;
    for (size_t i = 0; i < 16; ++i) {
        const uint32_t x = t.insert(evil[i]);
        ASSERT_NE(x, kNone) << i;
        t.at(x).value = static_cast<uint32_t>(i);
        idx.push_back(x);
    }
    EXPECT_EQ(t.bucket_full_count(), 0u);
    for (size_t i = 16; i < evil.size(); ++i) {
        EXPECT_EQ(t.insert(evil[i]), kNone) << i;
        EXPECT_EQ(t.bucket_full_count(), i - 15);
        EXPECT_EQ(t.find(evil[i]), kNone) << "same tag, different key: must not match";
    }
    EXPECT_EQ(t.size(), 16u);
    for (size_t i = 0; i < 16; ++i) {
        ASSERT_EQ(t.find(evil[i]), idx[i]);
        EXPECT_EQ(t.at(idx[i]).value, i);
    }

    // Everyone else is unaffected: insert thousands of ordinary keys; only keys whose both
    // candidate buckets are the attacked pair could be refused.
    std::mt19937_64 rng(27);
    const auto normal = distinct_keys(rng, 5000);
    std::vector<uint32_t> nidx;
    for (const auto& k : normal) {
        const Table::Hash h = t.hash(k);
        const uint32_t x = t.insert(k, h);
        if (x == kNone) {
            const std::set<uint32_t> mine{h.b1, h.b2}, attacked{he.b1, he.b2};
            EXPECT_EQ(mine, attacked) << "an ordinary key was refused";
        }
        nidx.push_back(x);
    }
    for (size_t i = 0; i < normal.size(); ++i)
        if (nidx[i] != kNone) {
            ASSERT_EQ(t.find(normal[i]), nidx[i]);
        }
    for (size_t i = 0; i < 16; ++i) ASSERT_EQ(t.find(evil[i]), idx[i]);

    // Freeing one attacked slot lets exactly one more colliding key in.
    t.erase(idx[3]);
    EXPECT_EQ(t.find(evil[3]), kNone);
    const uint32_t x = t.insert(evil[16]);
    ASSERT_NE(x, kNone);
    EXPECT_EQ(t.find(evil[16]), x);
    const uint64_t bf = t.bucket_full_count();
    EXPECT_EQ(t.insert(evil[17]), kNone);
    EXPECT_EQ(t.bucket_full_count(), bf + 1);
}

TEST(FlowKeyV4, NarrowWidenAndTheSameHash) {
    std::mt19937_64 rng(31);
    for (int i = 0; i < 5000; ++i) {
        const FlowKey k = v4_key(static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                                 static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()));
        const FlowKeyV4 n = narrow_v4(k);
        ASSERT_TRUE(widen(n) == k);
        ASSERT_EQ(hash_key(n), hash_key(k)) << "tables of either key share one CRC";
        ASSERT_EQ(0, std::memcmp(&n.client, k.client_addr(), 4));
        ASSERT_EQ(0, std::memcmp(&n.server, k.server_addr(), 4));
    }
}

// A table of 12-byte IPv4 keys against a model, through fills, drains and the free list's reuse.
TEST(FlowTable, V4KeysRandomizedAgainstUnorderedMap) {
    struct V4Entry {
        FlowKeyV4 key;
        uint32_t value;
    };
    struct V4Hash {
        size_t operator()(const FlowKeyV4& k) const noexcept { return hash_key(k); }
    };
    constexpr uint32_t kCap = 3000;
    std::mt19937_64 rng(32);
    std::vector<FlowKeyV4> universe;
    {
        std::unordered_set<FlowKeyV4, V4Hash> seen;
        while (universe.size() < 9000) {
            const FlowKeyV4 k = narrow_v4(v4_key(static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng() % 64),
                                                 static_cast<uint32_t>(rng() % 4), 80));
            if (seen.insert(k).second) universe.push_back(k);
        }
    }
    FlowTable<V4Entry> t(kCap);
    std::unordered_map<FlowKeyV4, std::pair<uint32_t, uint32_t>, V4Hash> model;  // key -> (idx, value)
    uint64_t refused_full = 0, reused = 0;
    std::set<uint32_t> ever;
    for (int op = 0; op < 300000; ++op) {
        const bool grow = (op / 20000) % 2 == 0;
        const FlowKeyV4& k = universe[rng() % universe.size()];
        const auto it = model.find(k);
        const unsigned r = static_cast<unsigned>(rng() % 100);
        if (it == model.end() && r < (grow ? 70u : 30u)) {
            const uint32_t x = t.insert(k);
            if (x == kNone) {
                ASSERT_TRUE(model.size() == kCap || t.bucket_full_count() > 0);
                refused_full += model.size() == kCap;
                continue;
            }
            ASSERT_LT(x, kCap);
            if (!ever.insert(x).second) ++reused;
            const auto v = static_cast<uint32_t>(rng());
            t.at(x).value = v;
            model.emplace(k, std::make_pair(x, v));
        } else if (it != model.end() && r < 60) {
            ASSERT_EQ(t.find(k), it->second.first);
            t.erase(it->second.first);
            model.erase(it);
            ASSERT_EQ(t.find(k), kNone);
        } else {
            const uint32_t x = t.find(k);
            if (it == model.end()) {
                ASSERT_EQ(x, kNone);
            } else {
                ASSERT_EQ(x, it->second.first);
                ASSERT_TRUE(t.at(x).key == k);
                ASSERT_EQ(t.at(x).value, it->second.second) << "a free-list link overwrote a live entry";
            }
        }
        ASSERT_EQ(t.size(), model.size());
    }
    EXPECT_GT(refused_full, 0u);
    EXPECT_GT(reused, 10000u) << "erased entries must come back through the free list";
    EXPECT_EQ(ever.size(), kCap) << "every entry handed out, none twice at once";
}

// A table takes its whole capacity: random keys up to full are never refused for want of a bucket
// slot (a half-open table at its configured size must not drop SYNs in never mode before it is full).
TEST(FlowTable, FillsToCapacityWithoutBucketRefusals) {
    struct V4Entry {
        FlowKeyV4 key;
        uint32_t value;
    };
    constexpr uint32_t kCap = 500000;
    FlowTable<V4Entry> t(kCap);
    std::mt19937_64 rng(33);
    uint32_t refused = 0;
    while (t.size() < kCap) {
        const FlowKeyV4 k{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()), 443};
        if (t.find(k) != kNone) continue;
        refused += t.insert(k) == kNone;
    }
    EXPECT_EQ(refused, 0u);
    EXPECT_EQ(t.bucket_full_count(), 0u);
    EXPECT_TRUE(t.full());
}
