// TimerWheel with an injected clock: no sleeps anywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "timer/timer_wheel.hpp"

using synwall::timer::TimerWheel;
using Handle = TimerWheel::Handle;

namespace {

constexpr uint64_t kTick = 1000;  // ns
constexpr uint64_t kMs = 1000000, kSec = 1000 * kMs;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Calls expire() with a budget larger than the number of running timers and returns what fired.
std::vector<uint32_t> expire_all(TimerWheel& w, uint64_t now) {
    const uint32_t max = w.size() + 1;
    std::vector<uint32_t> out(max);
    const uint32_t n = w.expire(now, out.data(), max);
    out.resize(n);
    return out;
}

}  // namespace

TEST(TimerWheel, ConstructorValidation) {
    EXPECT_THROW(TimerWheel(0, kTick, 64, 0), std::invalid_argument);
    EXPECT_THROW(TimerWheel(10, 0, 64, 0), std::invalid_argument);
    EXPECT_THROW(TimerWheel(10, kTick, 0, 0), std::invalid_argument);
    EXPECT_THROW(TimerWheel(10, kTick, 48, 0), std::invalid_argument);
    EXPECT_NO_THROW(TimerWheel(10, kTick, 1, 0));
    EXPECT_NO_THROW(TimerWheel(10, kTick, 64, 123456789));
}

TEST(TimerWheel, FiresAtExpiryTickNotBefore) {
    TimerWheel w(100, kTick, 16, 0);
    const Handle h = w.start(0, 5 * kTick, 42);
    ASSERT_NE(h, TimerWheel::kInvalid);
    EXPECT_TRUE(w.active(h));
    EXPECT_EQ(w.size(), 1u);
    for (uint64_t now = 0; now < 5 * kTick; now += 100) ASSERT_TRUE(expire_all(w, now).empty()) << now;
    const auto fired = expire_all(w, 5 * kTick);
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_EQ(fired[0], 42u);
    EXPECT_FALSE(w.active(h));
    EXPECT_EQ(w.size(), 0u);
    EXPECT_TRUE(expire_all(w, 100 * kTick).empty());
}

TEST(TimerWheel, PartialTickDelaysRoundUp) {
    // A timer never fires before now + delay: due times inside a tick round up to its end.
    TimerWheel w(100, kTick, 16, 0);
    w.start(250, 1, 1);         // due 251 -> tick 1
    w.start(250, 750, 2);       // due 1000 -> tick 1
    w.start(250, 751, 3);       // due 1001 -> tick 2
    EXPECT_TRUE(expire_all(w, 999).empty());
    auto f = expire_all(w, 1000);
    std::sort(f.begin(), f.end());
    EXPECT_EQ(f, (std::vector<uint32_t>{1, 2}));
    EXPECT_TRUE(expire_all(w, 1999).empty());
    EXPECT_EQ(expire_all(w, 2000), std::vector<uint32_t>{3});
}

TEST(TimerWheel, EveryDelayFiresExactlyOnTimeWhenSteppedTickByTick) {
    // Slots 8: delays up to five turns of the wheel, started at unaligned times. Stepping the clock
    // one tick at a time, each timer fires at the first step >= its due time, never earlier
    // (a delay longer than the wheel span must not fire one turn early).
    constexpr uint32_t kSlots = 8;
    const uint64_t span = kSlots * kTick;
    TimerWheel w(10000, kTick, kSlots, 0);
    std::unordered_map<uint32_t, uint64_t> want;  // user -> step time it must fire at
    uint32_t user = 0;
    uint64_t now = 0;
    std::set<uint32_t> fired;
    for (int step = 0; step < 400; ++step) {
        for (uint32_t u : expire_all(w, now)) {
            ASSERT_TRUE(want.count(u)) << "unknown user " << u;
            ASSERT_EQ(want[u], now) << "user " << u << " fired at " << now << " instead of " << want[u];
            ASSERT_TRUE(fired.insert(u).second) << "fired twice";
        }
        if (step < 100) {
            // Start a timer for a range of delays, from an unaligned instant inside this tick.
            const uint64_t start = now + 137;
            for (uint64_t d : {uint64_t{0}, uint64_t{1}, kTick - 137, kTick - 136, kTick, 3 * kTick + 5, span - 1, span,
                               span + 1, span + kTick, 2 * span - 1, 2 * span + 3 * kTick, 5 * span - 7}) {
                const uint64_t due = start + d;
                // Fires at the first step (multiple of kTick) >= due that comes after this one.
                const uint64_t fire = std::max(ceil_div(due, kTick) * kTick, now + kTick);
                ASSERT_NE(w.start(start, d, user), TimerWheel::kInvalid);
                want[user++] = fire;
            }
        }
        now += kTick;
    }
    EXPECT_EQ(fired.size(), want.size());
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, LongDelayNotOneTurnEarly) {
    TimerWheel w(10, kTick, 4, 0);  // span 4 ticks
    w.start(0, 9 * kTick, 7);         // slot 1, visited at ticks 1 and 5 before tick 9
    for (uint64_t t = 0; t < 9; ++t) ASSERT_TRUE(expire_all(w, t * kTick).empty()) << "tick " << t;
    EXPECT_EQ(expire_all(w, 9 * kTick), std::vector<uint32_t>{7});
}

TEST(TimerWheel, CancelPreventsFiring) {
    TimerWheel w(100, kTick, 16, 0);
    // Five timers in the same slot: cancel head, middle and tail of the list.
    std::vector<Handle> h;
    for (uint32_t u = 0; u < 5; ++u) h.push_back(w.start(0, 3 * kTick, u));
    const Handle other = w.start(0, 4 * kTick, 99);
    w.cancel(h[0]);
    w.cancel(h[2]);
    w.cancel(h[4]);
    EXPECT_FALSE(w.active(h[0]));
    EXPECT_TRUE(w.active(h[1]));
    EXPECT_EQ(w.size(), 3u);
    auto f = expire_all(w, 3 * kTick);
    std::sort(f.begin(), f.end());
    EXPECT_EQ(f, (std::vector<uint32_t>{1, 3}));
    w.cancel(other);
    EXPECT_TRUE(expire_all(w, 100 * kTick).empty());
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, CancelAfterFireIsANoOp) {
    TimerWheel w(100, kTick, 16, 0);
    const Handle a = w.start(0, 2 * kTick, 1);
    const Handle b = w.start(0, 5 * kTick, 2);
    EXPECT_EQ(expire_all(w, 2 * kTick), std::vector<uint32_t>{1});
    EXPECT_FALSE(w.active(a));
    w.cancel(a);  // already fired
    w.cancel(a);
    w.cancel(TimerWheel::kInvalid);
    EXPECT_FALSE(w.active(TimerWheel::kInvalid));
    EXPECT_EQ(w.size(), 1u);
    EXPECT_TRUE(w.active(b));
    EXPECT_EQ(expire_all(w, 5 * kTick), std::vector<uint32_t>{2});
    w.cancel(b);
    EXPECT_EQ(w.size(), 0u);
    // The pool is intact: both handles can be reused.
    const Handle c = w.start(5 * kTick, kTick, 3), d = w.start(5 * kTick, kTick, 4);
    EXPECT_NE(c, TimerWheel::kInvalid);
    EXPECT_NE(d, TimerWheel::kInvalid);
    EXPECT_NE(c, d);
    auto f = expire_all(w, 6 * kTick);
    std::sort(f.begin(), f.end());
    EXPECT_EQ(f, (std::vector<uint32_t>{3, 4}));
}

TEST(TimerWheel, DoubleCancelDoesNotCorruptPool) {
    TimerWheel w(3, kTick, 8, 0);
    const Handle a = w.start(0, kTick, 1);
    w.cancel(a);
    w.cancel(a);  // must not push `a` on the free list twice
    const Handle x = w.start(0, kTick, 2), y = w.start(0, kTick, 3), z = w.start(0, kTick, 4);
    EXPECT_NE(x, TimerWheel::kInvalid);
    EXPECT_NE(y, TimerWheel::kInvalid);
    EXPECT_NE(z, TimerWheel::kInvalid);
    EXPECT_EQ(std::set<Handle>({x, y, z}).size(), 3u);
    EXPECT_EQ(w.start(0, kTick, 5), TimerWheel::kInvalid);
}

TEST(TimerWheel, BudgetDrainsInBoundedSteps) {
    TimerWheel w(2000, kTick, 64, 0);
    for (uint32_t u = 0; u < 1000; ++u) ASSERT_NE(w.start(0, 10 * kTick, u), TimerWheel::kInvalid);
    std::set<uint32_t> all;
    std::vector<uint32_t> out(100);
    for (int call = 0; call < 10; ++call) {
        const uint32_t n = w.expire(10 * kTick, out.data(), 100);
        EXPECT_LE(n, 100u);
        EXPECT_EQ(n, 100u) << "call " << call;
        for (uint32_t i = 0; i < n; ++i) EXPECT_TRUE(all.insert(out[i]).second) << "duplicate " << out[i];
    }
    EXPECT_EQ(all.size(), 1000u);
    EXPECT_EQ(*all.begin(), 0u);
    EXPECT_EQ(*all.rbegin(), 999u);
    EXPECT_EQ(w.expire(10 * kTick, out.data(), 100), 0u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, BudgetAcrossSlotsAndTurns) {
    // 1000 timers spread over 3 turns of a 64-slot wheel, all due by the time we look.
    TimerWheel w(2000, kTick, 64, 0);
    std::mt19937 rng(31);
    for (uint32_t u = 0; u < 1000; ++u) ASSERT_NE(w.start(0, (1 + rng() % 190) * kTick, u), TimerWheel::kInvalid);
    // Also 50 timers that are not due yet and must stay.
    for (uint32_t u = 1000; u < 1050; ++u) ASSERT_NE(w.start(0, (201 + rng() % 500) * kTick, u), TimerWheel::kInvalid);
    std::set<uint32_t> all;
    std::vector<uint32_t> out(37);
    for (int call = 0; call < 100 && all.size() < 1000; ++call) {
        const uint32_t n = w.expire(200 * kTick, out.data(), 37);
        ASSERT_LE(n, 37u);
        for (uint32_t i = 0; i < n; ++i) {
            ASSERT_LT(out[i], 1000u) << "timer fired early";
            ASSERT_TRUE(all.insert(out[i]).second);
        }
    }
    EXPECT_EQ(all.size(), 1000u);
    EXPECT_EQ(w.expire(200 * kTick, out.data(), 37), 0u);
    EXPECT_EQ(w.size(), 50u);
}

TEST(TimerWheel, BigTimeJumpExpiresEverythingDue) {
    // 1 ms ticks, 1024 slots (about a second of span); timers up to an hour away; jump 3 hours.
    TimerWheel w(5000, kMs, 1024, 0);
    std::mt19937_64 rng(32);
    std::map<uint32_t, uint64_t> due;
    for (uint32_t u = 0; u < 3000; ++u) {
        const uint64_t d = rng() % (3600 * kSec);
        ASSERT_NE(w.start(0, d, u), TimerWheel::kInvalid);
        due[u] = d;
    }
    // Timers due after the jump.
    const uint64_t jump = 3 * 3600 * kSec;
    for (uint32_t u = 3000; u < 3010; ++u) {
        const uint64_t d = jump + (u - 2999) * 7 * kSec + 3;
        ASSERT_NE(w.start(0, d, u), TimerWheel::kInvalid);
        due[u] = d;
    }
    const auto fired = expire_all(w, jump);
    EXPECT_EQ(fired.size(), 3000u);
    std::set<uint32_t> s(fired.begin(), fired.end());
    EXPECT_EQ(s.size(), 3000u);
    EXPECT_LT(*s.rbegin(), 3000u);
    EXPECT_EQ(w.size(), 10u);
    // The later timers still fire at their own time, not before.
    for (uint32_t u = 3000; u < 3010; ++u) {
        const uint64_t at = ceil_div(due[u], kMs) * kMs;
        EXPECT_TRUE(expire_all(w, at - 1).empty()) << u;
        EXPECT_EQ(expire_all(w, at), std::vector<uint32_t>{u});
    }
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, BigJumpWithBudget) {
    TimerWheel w(5000, kMs, 256, 0);
    for (uint32_t u = 0; u < 2000; ++u) w.start(0, (u + 1) * 37 * kMs, u);  // up to 74 s, ~290 turns
    std::set<uint32_t> all;
    std::vector<uint32_t> out(64);
    const uint64_t now = 3600 * kSec;
    for (int call = 0; call < 100; ++call) {
        const uint32_t n = w.expire(now, out.data(), 64);
        ASSERT_LE(n, 64u);
        for (uint32_t i = 0; i < n; ++i) ASSERT_TRUE(all.insert(out[i]).second);
        if (n < 64) break;
    }
    EXPECT_EQ(all.size(), 2000u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, ClockGoingBackwardsReturnsZeroAndKeepsTimers) {
    TimerWheel w(100, kTick, 16, 0);
    w.start(0, 20 * kTick, 1);
    w.start(0, 40 * kTick, 2);
    EXPECT_TRUE(expire_all(w, 10 * kTick).empty());
    EXPECT_TRUE(expire_all(w, 5 * kTick).empty());   // backwards
    EXPECT_TRUE(expire_all(w, 0).empty());           // further back
    EXPECT_EQ(w.size(), 2u);
    // A timer started while the clock reads the past still never fires before its due time...
    w.start(3 * kTick, 8 * kTick, 3);  // due at tick 11, clock already at 10: next tick
    EXPECT_TRUE(expire_all(w, 10 * kTick).empty());
    EXPECT_EQ(expire_all(w, 11 * kTick), std::vector<uint32_t>{3});
    // ...and the old ones fire at their time once the clock catches up.
    EXPECT_TRUE(expire_all(w, 19 * kTick).empty());
    EXPECT_EQ(expire_all(w, 20 * kTick), std::vector<uint32_t>{1});
    EXPECT_TRUE(expire_all(w, 15 * kTick).empty());  // backwards again
    EXPECT_EQ(expire_all(w, 40 * kTick), std::vector<uint32_t>{2});
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, TimerDueInThePastFiresOnNextExpire) {
    TimerWheel w(100, kTick, 16, 50 * kTick);
    EXPECT_TRUE(expire_all(w, 50 * kTick).empty());
    w.start(10 * kTick, kTick, 5);  // due long ago (clock went back for the caller)
    EXPECT_EQ(expire_all(w, 51 * kTick), std::vector<uint32_t>{5});
}

TEST(TimerWheel, PoolExhaustion) {
    TimerWheel w(4, kTick, 8, 0);
    std::vector<Handle> h;
    for (uint32_t u = 0; u < 4; ++u) {
        h.push_back(w.start(0, kTick * (u + 1), u));
        ASSERT_NE(h.back(), TimerWheel::kInvalid);
    }
    EXPECT_EQ(std::set<Handle>(h.begin(), h.end()).size(), 4u);
    EXPECT_EQ(w.size(), 4u);
    EXPECT_EQ(w.start(0, kTick, 9), TimerWheel::kInvalid);
    EXPECT_EQ(w.size(), 4u);
    w.cancel(h[3]);
    const Handle again = w.start(0, kTick, 10);
    EXPECT_NE(again, TimerWheel::kInvalid);
    EXPECT_EQ(w.start(0, kTick, 11), TimerWheel::kInvalid);
    auto f = expire_all(w, kTick);
    std::sort(f.begin(), f.end());
    EXPECT_EQ(f, (std::vector<uint32_t>{0, 10}));
    EXPECT_NE(w.start(kTick, kTick, 12), TimerWheel::kInvalid);
    EXPECT_NE(w.start(kTick, kTick, 13), TimerWheel::kInvalid);
    EXPECT_EQ(w.start(kTick, kTick, 14), TimerWheel::kInvalid);
}

TEST(TimerWheel, MemoryBytes) {
    TimerWheel w(1000, kTick, 256, 0);
    EXPECT_GE(w.memory_bytes(), 1000u * 16 + 256u * 4);
}

// Random starts, cancels, clock moves (small, large, backwards) and budgets, checked against a
// reference. The reference knows each timer's due time D: it must never fire in a call whose
// clock is before D (rounded up to a tick), and a call that did not use up its budget must have
// fired every timer due by then. Timers started while the clock reads earlier than the latest
// expire() may be deferred by the wheel to just after that expire() tick, never earlier.
TEST(TimerWheel, RandomizedAgainstReference) {
    constexpr uint32_t kCap = 500;  // small enough that the pool runs dry now and then
    constexpr uint32_t kSlots = 64;
    std::mt19937_64 rng(33);
    uint64_t now = 1234567;
    TimerWheel w(kCap, kTick, kSlots, now);
    struct Ref {
        Handle h;
        uint64_t lo;  // earliest tick it may fire at
        uint64_t hi;  // latest tick by which it must have fired
    };
    std::unordered_map<uint32_t, Ref> live;  // user -> timer
    std::multimap<uint64_t, uint32_t> by_hi;
    uint64_t max_target = now / kTick - 1;  // the wheel starts with nothing visited before now
    uint32_t next_user = 0;
    std::vector<uint32_t> out(kCap);
    uint64_t fired_total = 0, exhausted_calls = 0, backwards = 0, cancels = 0, pool_full = 0;

    auto erase_ref = [&](uint32_t u) {
        const Ref r = live.at(u);
        for (auto it = by_hi.lower_bound(r.hi); it != by_hi.end() && it->first == r.hi; ++it)
            if (it->second == u) {
                by_hi.erase(it);
                break;
            }
        live.erase(u);
    };

    for (int op = 0; op < 1000000; ++op) {
        // Every fourth phase is "quiet": mostly starts of long timers, the clock creeping, so
        // that the pool fills up.
        const bool quiet = (op / 20000) % 4 == 3;
        const unsigned r = static_cast<unsigned>(rng() % 100);
        if (r < (quiet ? 70u : 45u)) {  // start
            uint64_t d;
            switch (quiet ? 3 : rng() % 4) {
            case 0: d = rng() % (2 * kTick); break;
            case 1: d = rng() % (kSlots * kTick); break;
            case 2: d = rng() % (10 * kSlots * kTick); break;
            default: d = rng() % (100 * kSlots * kTick); break;
            }
            const uint32_t u = next_user++;
            const Handle h = w.start(now, d, u);
            if (h == TimerWheel::kInvalid) {
                ASSERT_EQ(live.size(), kCap) << "refused with free timers";
                ++pool_full;
                continue;
            }
            ASSERT_LT(live.size(), kCap);
            const uint64_t due = ceil_div(now + d, kTick);
            const Ref ref{h, due, std::max(due, max_target + 1)};
            live.emplace(u, ref);
            by_hi.emplace(ref.hi, u);
        } else if (r < (quiet ? 72u : 60u)) {  // cancel
            if (live.empty()) continue;
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % std::min<size_t>(live.size(), 16)));
            const uint32_t u = it->first;
            ASSERT_TRUE(w.active(it->second.h));
            w.cancel(it->second.h);
            ASSERT_FALSE(w.active(it->second.h));
            erase_ref(u);
            ++cancels;
        } else {  // move the clock and expire
            switch (quiet ? 9 : rng() % 10) {
            case 0: break;                                                     // same instant
            case 1: now -= std::min<uint64_t>(now, rng() % (5 * kTick)); ++backwards; break;
            case 2: now += rng() % (200 * kSlots * kTick); break;              // many turns
            default: now += rng() % (3 * kTick); break;
            }
            const uint32_t max = rng() % 4 == 0 ? 1 + static_cast<uint32_t>(rng() % 8) : kCap;
            const uint64_t target = now / kTick;
            const uint32_t n = w.expire(now, out.data(), max);
            ASSERT_LE(n, max);
            for (uint32_t i = 0; i < n; ++i) {
                const auto it = live.find(out[i]);
                ASSERT_NE(it, live.end()) << "fired a cancelled, fired or unknown timer " << out[i];
                ASSERT_LE(it->second.lo, target) << "fired early: user " << out[i];
                ASSERT_FALSE(w.active(it->second.h));
                erase_ref(out[i]);
            }
            fired_total += n;
            if (n < max) {
                // Everything whose latest tick has passed must be gone.
                if (!by_hi.empty()) {
                    ASSERT_GT(by_hi.begin()->first, target)
                        << "user " << by_hi.begin()->second << " overdue at op " << op;
                }
            } else {
                ++exhausted_calls;
            }
            max_target = std::max(max_target, target);
        }
        ASSERT_EQ(w.size(), live.size());
    }
    // Drain: jump far ahead; everything fires exactly once.
    now += 1000 * kSlots * kTick * 100;
    const uint32_t n = w.expire(now, out.data(), kCap);
    ASSERT_EQ(n, live.size());
    for (uint32_t i = 0; i < n; ++i) ASSERT_TRUE(live.count(out[i]));
    EXPECT_EQ(w.size(), 0u);
    EXPECT_GT(fired_total, 10000u);
    EXPECT_GT(exhausted_calls, 1000u);
    EXPECT_GT(backwards, 1000u);
    EXPECT_GT(cancels, 10000u);
    EXPECT_GT(pool_full, 0u);
    std::printf("fired %llu, budget-limited calls %llu, backwards %llu, cancels %llu, pool full %llu\n",
                static_cast<unsigned long long>(fired_total), static_cast<unsigned long long>(exhausted_calls),
                static_cast<unsigned long long>(backwards), static_cast<unsigned long long>(cancels),
                static_cast<unsigned long long>(pool_full));
}

// The wheel may be built at one time and first used much later (the proxy builds its wheel at 0
// and runs on the process clock): delays count from the start call's `now`, not from the wheel's
// cursor, and the first expire catches up.
TEST(TimerWheel, FirstUsedLongAfterConstruction) {
    TimerWheel w(10, kTick, 16, 0);
    const uint64_t now = 5'000'000 * kSec;  // 5e15 ns: 5e12 ticks, past 2^32
    const Handle h = w.start(now, 300 * kSec, 7);
    ASSERT_NE(h, TimerWheel::kInvalid);
    EXPECT_TRUE(expire_all(w, now + 300 * kSec - kTick).empty());
    EXPECT_EQ(expire_all(w, now + 300 * kSec), std::vector<uint32_t>{7});
}

// Expiries are kept modulo 2^32 ticks: timers on either side of a wrap fire in order and on time.
TEST(TimerWheel, ExpiryAcrossTheThirtyTwoBitTickWrap) {
    constexpr uint64_t kWrap = uint64_t{1} << 32;
    const uint64_t t0 = (kWrap - 8) * kTick;
    TimerWheel w(100, kTick, 8, t0);
    for (uint32_t d = 1; d <= 20; ++d) ASSERT_NE(w.start(t0, d * kTick, d), TimerWheel::kInvalid);
    for (uint32_t d = 1; d <= 20; ++d) {
        EXPECT_EQ(expire_all(w, t0 + d * kTick), std::vector<uint32_t>{d}) << "delay " << d;
    }
    EXPECT_EQ(w.size(), 0u);
}

// A delay beyond the wheel's 2^30-tick reach is clamped to it, never wrapped into the past.
TEST(TimerWheel, HugeDelaysAreClampedNotWrapped) {
    TimerWheel w(10, 1, 16, 0);  // 1 ns ticks: 2^30 ticks is about a second
    const Handle h = w.start(0, 100 * kSec, 1);
    ASSERT_NE(h, TimerWheel::kInvalid);
    EXPECT_TRUE(expire_all(w, (uint64_t{1} << 30) - 1).empty());
    EXPECT_EQ(expire_all(w, uint64_t{1} << 30), std::vector<uint32_t>{1});
}
