// RequestTable: the half-open requests of both families with their retransmit timers inside.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "handshake/request_table.hpp"

using namespace synwall;
using handshake::RequestTable;
using table::FlowKey;

namespace {

constexpr uint64_t kTick = 1'000'000;  // 1 ms
constexpr uint64_t kSec = 1'000'000'000;

FlowKey key(net::Family f, uint32_t i) {
    FlowKey k;
    uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8}, s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
    std::memcpy(c + 12, &i, 4);
    if (f == net::Family::kIpv4) {
        const uint8_t c4[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        const uint8_t s4[4] = {192, 0, 2, 1};
        table::store_addr(k.client, f, c4);
        table::store_addr(k.server, f, s4);
    } else {
        table::store_addr(k.client, f, c);
        table::store_addr(k.server, f, s);
    }
    k.client_port = static_cast<uint16_t>(1024 + (i >> 24));
    k.server_port = 443;
    return k;
}

uint32_t insert(RequestTable& t, const FlowKey& k) {
    return t.insert(k, t.hash_from_crc(table::hash_key(k), k.family()));
}
uint32_t find(const RequestTable& t, const FlowKey& k) {
    return t.find(k, t.hash_from_crc(table::hash_key(k), k.family()));
}

}  // namespace

TEST(RequestTable, BothFamiliesKeepTheirKeysAndFields) {
    RequestTable t(1000, true, true, kTick, 256, 0);
    std::vector<std::pair<FlowKey, uint32_t>> live;
    std::set<uint32_t> ids;
    for (uint32_t i = 0; i < 300; ++i) {
        const net::Family f = i % 3 == 0 ? net::Family::kIpv6 : net::Family::kIpv4;
        const FlowKey k = key(f, i);
        ASSERT_EQ(find(t, k), RequestTable::kNone);
        const uint32_t id = insert(t, k);
        ASSERT_NE(id, RequestTable::kNone);
        ASSERT_TRUE(ids.insert(id).second) << "ids are distinct across families";
        t.at(id).client_isn = i * 7919u;
        t.at(id).listener = static_cast<uint16_t>(i);
        live.emplace_back(k, id);
    }
    EXPECT_EQ(t.size(), 300u);
    for (uint32_t i = 0; i < live.size(); ++i) {
        const auto& [k, id] = live[i];
        ASSERT_EQ(find(t, k), id);
        ASSERT_TRUE(t.key(id) == k) << "the key comes back whole, v4-mapped for IPv4";
        ASSERT_EQ(t.at(id).client_isn, i * 7919u);
        ASSERT_EQ(t.at(id).listener, i);
        ASSERT_FALSE(t.timers_running());
    }
    // The same address bytes in the other family are another key.
    const FlowKey v4 = key(net::Family::kIpv4, 1);
    EXPECT_EQ(find(t, key(net::Family::kIpv6, 1)), RequestTable::kNone);
    t.erase(find(t, v4));
    EXPECT_EQ(find(t, v4), RequestTable::kNone);
    EXPECT_EQ(t.size(), 299u);
}

TEST(RequestTable, CapacityBoundsBothFamiliesTogether) {
    RequestTable t(4, true, true, kTick, 256, 0);
    ASSERT_NE(insert(t, key(net::Family::kIpv4, 1)), RequestTable::kNone);
    ASSERT_NE(insert(t, key(net::Family::kIpv6, 2)), RequestTable::kNone);
    ASSERT_NE(insert(t, key(net::Family::kIpv6, 3)), RequestTable::kNone);
    const uint32_t last = insert(t, key(net::Family::kIpv4, 4));
    ASSERT_NE(last, RequestTable::kNone);
    EXPECT_TRUE(t.full());
    EXPECT_EQ(insert(t, key(net::Family::kIpv4, 5)), RequestTable::kNone);
    EXPECT_EQ(insert(t, key(net::Family::kIpv6, 6)), RequestTable::kNone);
    t.erase(last);
    EXPECT_FALSE(t.full());
    EXPECT_NE(insert(t, key(net::Family::kIpv6, 6)), RequestTable::kNone);
}

TEST(RequestTable, TimersFireByIdAndStopOnErase) {
    RequestTable t(100, true, true, kTick, 64, 0);
    const uint32_t a = insert(t, key(net::Family::kIpv4, 1));
    const uint32_t b = insert(t, key(net::Family::kIpv6, 2));
    const uint32_t c = insert(t, key(net::Family::kIpv4, 3));
    t.start_timer(a, 0, 1 * kSec);
    t.start_timer(b, 0, 2 * kSec);
    t.start_timer(c, 0, 3 * kSec);
    EXPECT_EQ(t.timers_running(), 3u);
    t.erase(c);  // its timer stops with it
    EXPECT_EQ(t.timers_running(), 2u);
    uint32_t out[8];
    EXPECT_EQ(t.expire(kSec - kTick, out, 8), 0u);
    ASSERT_EQ(t.expire(kSec, out, 8), 1u);
    EXPECT_EQ(out[0], a);
    // Restarted after firing (a retransmit's backoff), then due again.
    t.start_timer(a, kSec, 4 * kSec);
    ASSERT_EQ(t.expire(2 * kSec, out, 8), 1u);
    EXPECT_EQ(out[0], b);
    EXPECT_EQ(t.expire(4 * kSec, out, 8), 0u) << "the erased request never fires";
    ASSERT_EQ(t.expire(5 * kSec, out, 8), 1u);
    EXPECT_EQ(out[0], a);
    // An entry reused after erase starts with its timer stopped.
    t.erase(a);
    const uint32_t d = insert(t, key(net::Family::kIpv4, 4));
    EXPECT_EQ(t.timers_running(), 0u);
    t.erase(d);  // erasing a request whose timer never ran is fine
    EXPECT_EQ(t.size(), 1u);
}

// Randomised churn of both families with timers against a model: every live request is found
// with its fields, every running timer fires once at its time, erased ones never.
TEST(RequestTable, RandomizedChurnWithTimers) {
    constexpr uint32_t kCap = 2000;
    RequestTable t(kCap, true, true, kTick, 128, 0);
    std::mt19937_64 rng(41);
    struct Live {
        uint32_t id;
        uint64_t due;  // 0: no timer
    };
    std::map<uint32_t, Live> model;  // key number -> request
    uint64_t now = 0, fired = 0;
    std::vector<uint32_t> out(kCap);
    for (int op = 0; op < 200000; ++op) {
        const uint32_t n = static_cast<uint32_t>(rng() % 5000);
        const FlowKey k = key(n & 1 ? net::Family::kIpv6 : net::Family::kIpv4, n);
        const auto it = model.find(n);
        switch (rng() % 4) {
        case 0:
            if (it == model.end()) {
                const uint32_t id = insert(t, k);
                if (id == RequestTable::kNone) {
                    ASSERT_EQ(model.size(), kCap);
                    break;
                }
                t.at(id).server_isn = n;
                const uint64_t delay = (1 + rng() % 5000) * kTick;
                t.start_timer(id, now, delay);
                model[n] = {id, (now + delay + kTick - 1) / kTick * kTick};
            }
            break;
        case 1:
            if (it != model.end()) {
                ASSERT_EQ(find(t, k), it->second.id);
                t.erase(it->second.id);
                model.erase(it);
            }
            break;
        case 2: {
            now += (rng() % 50) * kTick;
            const uint32_t m = t.expire(now, out.data(), kCap);
            for (uint32_t i = 0; i < m; ++i) {
                const uint32_t n2 = t.at(out[i]).server_isn;
                auto& l = model.at(n2);
                ASSERT_EQ(l.id, out[i]);
                ASSERT_NE(l.due, 0u) << "fired twice";
                ASSERT_LE(l.due, now) << "fired early";
                l.due = 0;
                ++fired;
            }
            for (const auto& [kn, l] : model) ASSERT_TRUE(l.due == 0 || l.due > now) << "overdue " << kn;
            break;
        }
        default:
            if (it != model.end()) {
                ASSERT_EQ(find(t, k), it->second.id);
                ASSERT_EQ(t.at(it->second.id).server_isn, n);
            } else {
                ASSERT_EQ(find(t, k), RequestTable::kNone);
            }
        }
        ASSERT_EQ(t.size(), model.size());
    }
    EXPECT_GT(fired, 1000u);
}

// The layout the table exists for: an IPv4 request is 48 bytes plus its share of the buckets,
// with no timer pool or free-list array beside it.
TEST(RequestTable, Ipv4RequestsCostUnderSixtyFourBytesAllIncluded) {
    constexpr uint32_t kCap = 600000;
    const RequestTable v4_only(kCap, true, false, kTick, 16384, 0);
    const RequestTable both(kCap, true, true, kTick, 16384, 0);
    const double per_v4 = static_cast<double>(v4_only.memory_bytes()) / kCap;
    EXPECT_LT(per_v4, 62.0);
    EXPECT_GT(per_v4, 60.0);
    // A family without a queueing listener costs a stub; with one, 72 bytes plus buckets.
    const double per_v6 = static_cast<double>(both.memory_bytes() - v4_only.memory_bytes()) / kCap;
    EXPECT_GT(per_v6, 84.0);
    EXPECT_LT(per_v6, 86.0);
}
