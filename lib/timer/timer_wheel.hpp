// A hashed timer wheel with 32-bit handles (after VPP's tw_timer, as a class).
//
// Time is cut into ticks of `tick_ns`; the wheel has `slots` (a power of two) lists of timers, a
// timer expiring at tick T lives in slot T mod slots with its absolute expiry, so delays longer
// than the wheel span cost one extra visit per turn and nothing else. Timers live in a
// preallocated pool; a handle is the pool index. start() and cancel() are O(1) (doubly linked).
//
// expire() drains due timers into an output array, at most `max` per call (the per-loop budget):
// a retransmit storm can never starve the receive path; what is left stays due and comes out on
// the next call. Time is injected (`now_ns`), so tests need no sleeps.
// Threading: single owner. Capacity: up to 2^32 - 2 timers.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "table/huge_array.hpp"

namespace synwall::timer {

class TimerWheel {
public:
    using Handle = uint32_t;
    static constexpr Handle kInvalid = ~0u;

    TimerWheel(uint32_t capacity, uint64_t tick_ns, uint32_t slots, uint64_t now_ns)
        : tick_ns_(tick_ns), mask_(slots - 1), nodes_(capacity + size_t{1}), heads_(slots) {
        if (capacity == 0 || capacity >= kInvalid - 1 || tick_ns == 0 || slots == 0 || (slots & (slots - 1)))
            throw std::invalid_argument("timer wheel: bad capacity, tick or slot count");
        for (uint32_t s = 0; s < slots; ++s) heads_[s] = kNil;
        // Free list through `next`; node index `capacity` is unused padding for kNil checks.
        for (uint32_t i = 0; i < capacity; ++i) nodes_[i].next = i + 1 < capacity ? i + 1 : kNil;
        free_ = 0;
        cursor_ = now_ns / tick_ns_;
    }

    // Starts a timer that fires `delay_ns` after `now_ns` carrying `user`. kInvalid when the pool
    // is exhausted.
    Handle start(uint64_t now_ns, uint64_t delay_ns, uint32_t user) noexcept {
        if (free_ == kNil) return kInvalid;
        const Handle h = free_;
        Node& n = nodes_[h];
        free_ = n.next;
        uint64_t t = (now_ns + delay_ns + tick_ns_ - 1) / tick_ns_;
        if (t < cursor_) t = cursor_;
        n.expiry = t;
        n.user = user;
        n.active = 1;
        link(h, static_cast<uint32_t>(t & mask_));
        ++size_;
        return h;
    }

    // Cancels a running timer; kInvalid is a no-op. Handles are reused as soon as a timer fires or
    // is cancelled: the owner must forget a handle then (set it to kInvalid), or a late cancel()
    // would stop the timer that reused it.
    void cancel(Handle h) noexcept {
        if (h == kInvalid || !nodes_[h].active) return;
        unlink(h);
        release(h);
    }

    bool active(Handle h) const noexcept { return h != kInvalid && nodes_[h].active; }

    // Moves up to `max` timers due at `now_ns` into `users_out`; returns how many.
    uint32_t expire(uint64_t now_ns, uint32_t* users_out, uint32_t max) noexcept {
        const uint64_t target = now_ns / tick_ns_;
        uint32_t out = 0;
        if (target < cursor_) return 0;
        // After one full turn every slot has been checked against `target`.
        const uint64_t last = target - cursor_ > mask_ ? cursor_ + mask_ : target;
        while (cursor_ <= last) {
            uint32_t i = heads_[cursor_ & mask_];
            while (i != kNil) {
                const uint32_t next = nodes_[i].next;
                if (nodes_[i].expiry <= target) {
                    if (out == max) return out;  // budget spent: this slot is revisited next call
                    users_out[out++] = nodes_[i].user;
                    unlink(i);
                    release(i);
                }
                i = next;
            }
            ++cursor_;
        }
        if (cursor_ <= target) cursor_ = target + 1;
        return out;
    }

    uint32_t size() const noexcept { return size_; }
    size_t memory_bytes() const noexcept { return nodes_.bytes() + heads_.bytes(); }

private:
    static constexpr uint32_t kNil = ~0u;
    struct Node {
        uint64_t expiry;  // absolute tick
        uint32_t next, prev;
        uint32_t user;
        uint32_t active;
    };

    void link(uint32_t h, uint32_t slot) noexcept {
        Node& n = nodes_[h];
        n.prev = kNil;
        n.next = heads_[slot];
        if (n.next != kNil) nodes_[n.next].prev = h;
        heads_[slot] = h;
    }
    void unlink(uint32_t h) noexcept {
        Node& n = nodes_[h];
        if (n.prev != kNil)
            nodes_[n.prev].next = n.next;
        else
            heads_[n.expiry & mask_] = n.next;
        if (n.next != kNil) nodes_[n.next].prev = n.prev;
    }
    void release(uint32_t h) noexcept {
        nodes_[h].active = 0;
        nodes_[h].next = free_;
        free_ = h;
        --size_;
    }

    uint64_t tick_ns_;
    uint64_t mask_;
    uint64_t cursor_ = 0;  // next tick to visit
    table::HugeArray<Node> nodes_;
    table::HugeArray<uint32_t> heads_;
    uint32_t free_ = kNil;
    uint32_t size_ = 0;
};

}  // namespace synwall::timer
