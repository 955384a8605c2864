// Threads hammering the structures shared across cores: the SPSC accept queue and the counters.
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "handshake/accept_queue.hpp"
#include "handshake/connection.hpp"
#include "handshake/counters.hpp"

using namespace synwall::handshake;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// The sequence number travels in the key (client address bytes and port) and, redundantly, in
// other fields, so that a torn or mixed-up record is detected.
Connection make_conn(uint64_t seq) {
    Connection c{};
    std::memset(c.key.client, 0, sizeof c.key.client);
    std::memset(c.key.server, 0, sizeof c.key.server);
    std::memcpy(c.key.client + 8, &seq, 8);
    c.key.client_port = static_cast<uint16_t>(seq);
    c.key.server_port = static_cast<uint16_t>(seq >> 16);
    c.client_isn = static_cast<uint32_t>(seq * 2654435761u);
    c.server_isn = ~static_cast<uint32_t>(seq);
    c.flow = static_cast<uint32_t>(seq >> 32);
    c.payload_len = static_cast<uint16_t>(seq * 7);
    return c;
}

uint64_t seq_of(const Connection& c) {
    uint64_t s;
    std::memcpy(&s, c.key.client + 8, 8);
    return s;
}

bool consistent(const Connection& c) {
    const Connection want = make_conn(seq_of(c));
    return c.key == want.key && c.client_isn == want.client_isn && c.server_isn == want.server_isn &&
           c.flow == want.flow && c.payload_len == want.payload_len;
}

}  // namespace

// The engine assumes exactly `backlog` connections fit (listen(2) semantics, ListenOverflows).
TEST(AcceptQueue, ExactlyBacklogConnectionsFit) {
    for (uint32_t backlog : {1u, 2u, 3u, 7u, 8u, 64u, 128u, 1000u, 4096u}) {
        AcceptQueue q(backlog);
        EXPECT_EQ(q.backlog(), backlog);
        EXPECT_FALSE(q.full());
        uint32_t pushed = 0;
        while (pushed < 2 * backlog + 2 && q.push(make_conn(pushed))) {
            ++pushed;
            if (pushed < backlog) {
                ASSERT_FALSE(q.full()) << "backlog " << backlog << " after " << pushed;
            }
        }
        EXPECT_EQ(pushed, backlog) << "backlog " << backlog;
        EXPECT_TRUE(q.full());
        EXPECT_EQ(q.size_consumer(), backlog);
        // One pop frees exactly one place.
        Connection c;
        ASSERT_TRUE(q.pop(c));
        EXPECT_EQ(seq_of(c), 0u);
        EXPECT_FALSE(q.full());
        EXPECT_TRUE(q.push(make_conn(pushed)));
        EXPECT_TRUE(q.full());
        EXPECT_FALSE(q.push(make_conn(pushed + 1)));
        // Drain in order.
        for (uint64_t s = 1; s <= backlog; ++s) {
            ASSERT_TRUE(q.pop(c));
            ASSERT_EQ(seq_of(c), s);
        }
        EXPECT_FALSE(q.pop(c));
        EXPECT_EQ(q.size_consumer(), 0u);
    }
}

TEST(AcceptQueue, BatchPop) {
    AcceptQueue q(10);
    for (uint64_t s = 0; s < 10; ++s) ASSERT_TRUE(q.push(make_conn(s)));
    Connection out[4];
    EXPECT_EQ(q.pop(out, 4), 4u);
    for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(seq_of(out[i]), i);
    for (uint64_t s = 10; s < 14; ++s) ASSERT_TRUE(q.push(make_conn(s)));  // wraps the ring
    EXPECT_TRUE(q.full());
    uint64_t next = 4;
    size_t n;
    while ((n = q.pop(out, 4)) > 0)
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(seq_of(out[i]), next++);
    EXPECT_EQ(next, 14u);
}

namespace {

// One producer, one consumer, `total` records through a queue of `backlog`.
void run_spsc(uint32_t backlog, uint64_t total) {
    AcceptQueue q(backlog);
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> full_seen{0};
    std::thread producer([&] {
        uint64_t s = 0;
        uint64_t spins = 0;
        while (s < total && !failed.load(std::memory_order_relaxed)) {
            // Alternate the two producer paths: check full() first, or just try push().
            if ((s & 1) == 0) {
                if (!q.full()) {
                    // Only the producer adds: once not full, the push must succeed.
                    if (!q.push(make_conn(s))) {
                        failed = true;
                        ADD_FAILURE() << "push failed although full() was false, seq " << s;
                        return;
                    }
                    ++s;
                    continue;
                }
            } else if (q.push(make_conn(s))) {
                ++s;
                continue;
            }
            ++full_seen;
            if (++spins % 64 == 0) std::this_thread::yield();
        }
    });
    std::thread consumer([&] {
        uint64_t expect = 0;
        uint64_t spins = 0;
        Connection batch[32];
        while (expect < total && !failed.load(std::memory_order_relaxed)) {
            const size_t avail = q.size_consumer();
            if (avail > backlog) {
                failed = true;
                ADD_FAILURE() << "consumer sees " << avail << " > backlog " << backlog;
                return;
            }
            size_t n;
            if (expect % 3 == 0) {
                n = q.pop(batch[0]) ? 1 : 0;
            } else {
                n = q.pop(batch, 1 + expect % 32);
            }
            if (n == 0) {
                if (++spins % 64 == 0) std::this_thread::yield();
                continue;
            }
            for (size_t i = 0; i < n; ++i) {
                const uint64_t s = seq_of(batch[i]);
                if (s != expect || !consistent(batch[i])) {
                    failed = true;
                    ADD_FAILURE() << "got seq " << s << " expected " << expect
                                  << (consistent(batch[i]) ? "" : " (torn record)");
                    return;
                }
                ++expect;
            }
        }
    });
    producer.join();
    consumer.join();
    ASSERT_FALSE(failed.load());
    Connection c;
    EXPECT_FALSE(q.pop(c)) << "nothing left over: no duplicates";
    EXPECT_EQ(q.size_consumer(), 0u);
    testing::Test::RecordProperty("full_seen", static_cast<int>(full_seen.load()));
}

}  // namespace

TEST(AcceptQueueStress, SpscFifoNoLossNoDuplicates) {
    run_spsc(1024, kSanitized ? 1000000 : 5000000);
}

TEST(AcceptQueueStress, TinyBacklogsWrapConstantly) {
    for (uint32_t backlog : {1u, 2u, 3u, 5u}) {
        SCOPED_TRACE(backlog);
        run_spsc(backlog, kSanitized ? 50000 : 300000);
    }
}

// Counters: one owner thread writes with relaxed stores, telemetry reads from another core.
TEST(CountersStress, ReaderSeesMonotonicValuesAndFinalTotalsAreExact) {
    Counters counters;
    const uint64_t iters = kSanitized ? 2000000 : 20000000;
    const uint32_t watched[] = {kRxPackets, kSynRecv, kSyncookiesSent, kListenOverflows, kCounterCount - 1};
    constexpr size_t kWatched = std::size(watched);
    std::atomic<bool> done{false};
    std::vector<uint64_t> expected(kCounterCount, 0);
    std::thread writer([&] {
        std::mt19937 rng(41);
        for (uint64_t i = 0; i < iters; ++i) {
            const size_t w = i % kWatched;
            const uint64_t n = w == 0 ? 1 : (rng() % 5);  // add(c, 0) included
            counters.add(watched[w], n);
            expected[watched[w]] += n;
        }
        done.store(true, std::memory_order_release);
    });
    uint64_t last[kWatched] = {};
    uint64_t reads = 0;
    bool ok = true;
    while (ok) {
        const bool finished = done.load(std::memory_order_acquire);
        for (size_t w = 0; w < kWatched; ++w) {
            const uint64_t v = counters.get(watched[w]);
            if (v < last[w]) {
                ADD_FAILURE() << counter_name(watched[w]) << " went backwards: " << last[w] << " -> " << v;
                ok = false;
            }
            last[w] = v;
            ++reads;
        }
        if (finished) break;
    }
    writer.join();
    ASSERT_TRUE(ok);
    for (uint32_t c = 0; c < kCounterCount; ++c) EXPECT_EQ(counters.get(c), expected[c]) << counter_name(c);
    EXPECT_EQ(counters.get(kRxPackets), (iters + kWatched - 1) / kWatched);
    for (size_t w = 0; w < kWatched; ++w) EXPECT_EQ(last[w], expected[watched[w]]) << "final read after done";
    EXPECT_GT(reads, 0u);
}

TEST(CountersStress, PerWorkerCountersSumExactly) {
    // Several workers, each writing its own Counters; a telemetry thread sums them while they run
    // (sums are monotonic), and the final accumulate() is exact.
    constexpr int kWorkers = 3;
    const uint64_t iters = kSanitized ? 300000 : 3000000;
    std::vector<Counters> per(kWorkers);
    std::atomic<int> running{kWorkers};
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
        workers.emplace_back([&, w] {
            for (uint64_t i = 0; i < iters; ++i) {
                per[static_cast<size_t>(w)].add(static_cast<uint32_t>(i % 4), 1 + static_cast<uint64_t>(w));
            }
            running.fetch_sub(1, std::memory_order_release);
        });
    }
    uint64_t last_sum = 0;
    bool ok = true;
    while (true) {
        const bool finished = running.load(std::memory_order_acquire) == 0;
        Counters total;
        for (const Counters& c : per) total.accumulate(c);
        uint64_t sum = 0;
        for (uint32_t c = 0; c < 4; ++c) sum += total[c];
        if (sum < last_sum) {
            ADD_FAILURE() << "sum went backwards";
            ok = false;
            break;
        }
        last_sum = sum;
        if (finished) break;
    }
    for (auto& t : workers) t.join();
    ASSERT_TRUE(ok);
    Counters total;
    for (const Counters& c : per) total.accumulate(c);
    for (uint32_t c = 0; c < 4; ++c) {
        uint64_t want = 0;
        for (int w = 0; w < kWorkers; ++w) want += (iters / 4 + (c < iters % 4 ? 1 : 0)) * (1 + static_cast<uint64_t>(w));
        EXPECT_EQ(total[c], want) << c;
    }
    EXPECT_EQ(last_sum, total[0] + total[1] + total[2] + total[3]);
}

TEST(CountersStress, NamesAreUniqueAndComplete) {
    // A parallel model check of the name table: every counter has a distinct non-empty name.
    std::vector<std::string_view> names(kCounterCount);
    tbb::parallel_for(uint32_t{0}, static_cast<uint32_t>(kCounterCount), [&](uint32_t c) { names[c] = counter_name(c); });
    for (uint32_t c = 0; c < kCounterCount; ++c) {
        EXPECT_FALSE(names[c].empty()) << c;
        EXPECT_NE(names[c], "?") << c;
        EXPECT_FALSE(counter_help(c).empty()) << c;
        for (uint32_t d = 0; d < c; ++d) EXPECT_NE(names[c], names[d]) << c << " " << d;
    }
    EXPECT_EQ(counter_name(kCounterCount), "?");
}
