// A hashed timer wheel whose timers live inside their owners (after VPP's tw_timer): each owner
// record carries its own TimerLinks (12 bytes), found by a 32-bit id through a `Links` function,
// so a table of requests needs no timer pool, no handle field and no second random access.
//
// Time is cut into ticks of `tick_ns`; the wheel has `slots` (a power of two) lists; a timer due
// at tick T lives in list T mod slots with T kept modulo 2^32, so delays longer than the wheel's
// span cost one extra visit per turn. Due-ness is decided modulo 2^32 ticks: a delay is clamped
// to 2^30 ticks (at the default 3.9 ms tick, 48 days), and expire() must run at least once per
// 2^30 ticks (a worker runs it every loop). start() and cancel() are O(1) (doubly
// linked); expire() hands out at most `max` due ids per call (the per-loop budget: a retransmit
// storm never starves the receive path; what is left stays due for the next call). Time is
// injected (`now_ns`), so tests need no sleeps.
// Threading: single owner. Ids: any uint32 but the two sentinels below.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "table/huge_array.hpp"

namespace synwall::timer {

struct TimerLinks {
    uint32_t next, prev;  // ids in the slot's list; prev == kDetached: not running
    uint32_t expiry;      // absolute tick, modulo 2^32
};

inline constexpr uint32_t kNil = ~0u;            // end of a list
inline constexpr uint32_t kDetached = ~0u - 1;  // TimerLinks::prev of a timer that is not running

// Marks an owner's timer as not running (before the first start(), or cancel() misreads it).
inline void detach(TimerLinks& l) noexcept { l.prev = kDetached; }

template <class Links>  // uint32_t id -> TimerLinks&
class IntrusiveWheel {
public:
    static constexpr uint64_t kMaxDelayTicks = uint64_t{1} << 30;

    IntrusiveWheel(uint64_t tick_ns, uint32_t slots, uint64_t now_ns, Links links)
        : links_(links), tick_ns_(tick_ns), max_delay_ns_(kMaxDelayTicks * tick_ns), mask_(slots - 1), heads_(slots) {
        if (tick_ns == 0 || tick_ns >= (uint64_t{1} << 32) || slots == 0 || (slots & (slots - 1)))
            throw std::invalid_argument("timer wheel: bad tick or slot count");
        reciprocal_ = ~uint64_t{0} / tick_ns;
        for (uint32_t s = 0; s < slots; ++s) heads_[s] = kNil;
        cursor_ = ticks(now_ns);
    }

    // Starts id's timer (which must not be running) to fire `delay_ns` after `now_ns`.
    void start(uint32_t id, uint64_t now_ns, uint64_t delay_ns) noexcept {
        if (delay_ns > max_delay_ns_) delay_ns = max_delay_ns_;
        uint64_t t = ticks(now_ns + delay_ns + tick_ns_ - 1);
        if (t < cursor_) t = cursor_;
        TimerLinks& n = links_(id);
        n.expiry = static_cast<uint32_t>(t);
        const uint32_t slot = static_cast<uint32_t>(t & mask_);
        n.prev = kNil;
        n.next = heads_[slot];
        if (n.next != kNil) links_(n.next).prev = id;
        heads_[slot] = id;
        ++size_;
    }

    // Stops id's timer if it is running.
    void cancel(uint32_t id) noexcept {
        TimerLinks& n = links_(id);
        if (n.prev == kDetached) return;
        unlink(n);
    }

    bool running(uint32_t id) const noexcept { return links_(id).prev != kDetached; }

    // Stops up to `max` timers due at `now_ns` and calls fired(id) for each, while its record is
    // still in cache (a second pass over the ids would miss on each again); returns how many.
    template <class Fired>
    uint32_t expire(uint64_t now_ns, uint32_t max, Fired&& fired) noexcept {
        const uint64_t target = ticks(now_ns);
        uint32_t out = 0;
        if (target < cursor_) return 0;
        // After one full turn every slot has been checked against `target`.
        const uint64_t last = target - cursor_ > mask_ ? cursor_ + mask_ : target;
        const auto target32 = static_cast<uint32_t>(target);
        while (cursor_ <= last) {
            uint32_t i = heads_[cursor_ & mask_];
            while (i != kNil) {
                TimerLinks& n = links_(i);
                const uint32_t next = n.next;
                if (static_cast<int32_t>(n.expiry - target32) <= 0) {
                    if (out == max) return out;  // budget spent: this slot is revisited next call
                    ++out;
                    unlink(n);
                    fired(i);
                }
                i = next;
            }
            ++cursor_;
        }
        if (cursor_ <= target) cursor_ = target + 1;
        return out;
    }

    // The same into an array: up to `max` ids whose timers are due at `now_ns`.
    uint32_t expire(uint64_t now_ns, uint32_t* ids_out, uint32_t max) noexcept {
        uint32_t k = 0;
        return expire(now_ns, max, [&](uint32_t id) { ids_out[k++] = id; });
    }

    uint32_t size() const noexcept { return size_; }
    size_t memory_bytes() const noexcept { return heads_.bytes(); }

private:
    // ns / tick_ns_ without a division (a 64-bit divq per start() was most of its cost): the
    // quotient by the reciprocal floor((2^64 - 1) / tick) is exact or one short, never more.
    uint64_t ticks(uint64_t ns) const noexcept {
        __extension__ using u128 = unsigned __int128;
        uint64_t q = static_cast<uint64_t>((static_cast<u128>(ns) * reciprocal_) >> 64);
        if (ns - q * tick_ns_ >= tick_ns_) ++q;
        return q;
    }

    void unlink(TimerLinks& n) noexcept {
        if (n.prev != kNil)
            links_(n.prev).next = n.next;
        else
            heads_[n.expiry & mask_] = n.next;
        if (n.next != kNil) links_(n.next).prev = n.prev;
        n.prev = kDetached;
        --size_;
    }

    Links links_;
    uint64_t tick_ns_;
    uint64_t reciprocal_ = 0;  // floor((2^64 - 1) / tick_ns_)
    uint64_t max_delay_ns_;
    uint64_t mask_;
    uint64_t cursor_ = 0;  // next tick to visit
    table::HugeArray<uint32_t> heads_;
    uint32_t size_ = 0;
};

}  // namespace synwall::timer
