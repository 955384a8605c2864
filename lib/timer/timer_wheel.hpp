// A timer wheel with its own pool of timers and 32-bit handles, for owners that keep a handle
// rather than the links themselves (the proxy's flows, the generator's clients): the pool's
// records carry the links and the owner's `user` value; the wheel is intrusive_wheel.hpp's.
// start() and cancel() are O(1); expire() drains due timers into an output array, at most `max`
// per call. Threading: single owner. Capacity: up to 2^32 - 3 timers.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "table/huge_array.hpp"
#include "timer/intrusive_wheel.hpp"

namespace synwall::timer {

class TimerWheel {
public:
    using Handle = uint32_t;
    static constexpr Handle kInvalid = ~0u;

    TimerWheel(uint32_t capacity, uint64_t tick_ns, uint32_t slots, uint64_t now_ns)
        : nodes_(check(capacity)), wheel_(tick_ns, slots, now_ns, NodeLinks{this}) {
        // Free list through `links.next`.
        for (uint32_t i = 0; i < capacity; ++i) {
            detach(nodes_[i].links);
            nodes_[i].links.next = i + 1 < capacity ? i + 1 : kNil;
        }
        free_ = 0;
    }
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Starts a timer that fires `delay_ns` after `now_ns` carrying `user`. kInvalid when the pool
    // is exhausted.
    Handle start(uint64_t now_ns, uint64_t delay_ns, uint32_t user) noexcept {
        if (free_ == kNil) return kInvalid;
        const Handle h = free_;
        free_ = nodes_[h].links.next;
        nodes_[h].user = user;
        wheel_.start(h, now_ns, delay_ns);
        return h;
    }

    // Cancels a running timer; kInvalid is a no-op. Handles are reused as soon as a timer fires or
    // is cancelled: the owner must forget a handle then (set it to kInvalid), or a late cancel()
    // would stop the timer that reused it.
    void cancel(Handle h) noexcept {
        if (h == kInvalid || !wheel_.running(h)) return;
        wheel_.cancel(h);
        release(h);
    }

    bool active(Handle h) const noexcept { return h != kInvalid && wheel_.running(h); }

    // Moves up to `max` timers due at `now_ns` into `users_out`; returns how many.
    uint32_t expire(uint64_t now_ns, uint32_t* users_out, uint32_t max) noexcept {
        uint32_t k = 0;
        return wheel_.expire(now_ns, max, [&](Handle h) {
            users_out[k++] = nodes_[h].user;
            release(h);
        });
    }

    uint32_t size() const noexcept { return wheel_.size(); }
    size_t memory_bytes() const noexcept { return nodes_.bytes() + wheel_.memory_bytes(); }

private:
    struct Node {
        TimerLinks links;
        uint32_t user;
    };
    struct NodeLinks {
        TimerWheel* w;
        TimerLinks& operator()(uint32_t h) const noexcept { return w->nodes_[h].links; }
    };
    static uint32_t check(uint32_t capacity) {
        if (capacity == 0 || capacity >= kDetached) throw std::invalid_argument("timer wheel: bad capacity");
        return capacity;
    }
    void release(Handle h) noexcept {
        nodes_[h].links.next = free_;
        free_ = h;
    }

    table::HugeArray<Node> nodes_;
    IntrusiveWheel<NodeLinks> wheel_;
    uint32_t free_ = kNil;
};

}  // namespace synwall::timer
