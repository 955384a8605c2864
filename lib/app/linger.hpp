// Closed flows remembered for a grace period (the role of the kernel's TIME_WAIT): while a flow
// lingers, the worker still maps its tuple to it, so a late retransmitted ACK reaches the
// application, which drops it, instead of validating again as a cookie and opening a second
// connection. A new SYN on the tuple ends the linger early (cancel(), then
// Disposition::kReprocess), as a SYN does in TIME_WAIT.
//
// Every flow lingers for the same time, so expiry order is arrival order: a FIFO ring, O(1) per
// push and pop, no allocation after construction. A flow whose linger ended early leaves a stale
// entry in the ring: each entry carries a generation tag, and a per-flow-id table holds the
// current one, so a stale entry is skipped (its flow id may serve a newer connection by then).
// Capacity: `capacity` entries; when full, push() makes room by ending the oldest linger early
// (the caller closes that flow and counts the eviction). Flow ids: below `flow_capacity`.
// Threading: single owner (the application instance).
#pragma once

#include <cstdint>
#include <vector>

namespace synwall::app {

class Linger {
public:
    Linger(uint32_t flow_capacity, uint32_t capacity, uint64_t grace_ns)
        : ring_(capacity ? capacity : 1), tags_(flow_capacity, 0), grace_ns_(grace_ns) {}

    // Whether `flow` is an id this Linger can remember.
    bool holds(uint32_t flow) const noexcept { return flow < tags_.size(); }
    bool lingering(uint32_t flow) const noexcept { return holds(flow) && tags_[flow] != 0; }

    // Remembers `flow` (holds(flow), not lingering) until now + grace. Returns true and sets
    // `evicted` when a lingering flow had to make room: its linger is over, close it now.
    bool push(uint32_t flow, uint64_t now_ns, uint32_t& evicted) noexcept {
        bool made_room = false;
        if (size_ == ring_.size()) made_room = pop_front(evicted);
        if (++next_tag_ == 0) next_tag_ = 1;
        tags_[flow] = next_tag_;
        ring_[(head_ + size_) % ring_.size()] = Entry{now_ns + grace_ns_, flow, next_tag_};
        ++size_;
        return made_room;
    }
    // Ends `flow`'s linger early (its entry in the ring becomes stale); no-op if not lingering.
    void cancel(uint32_t flow) noexcept {
        if (holds(flow)) tags_[flow] = 0;
    }
    // Pops a flow whose grace period ended by `now_ns` (stale entries are skipped).
    bool pop_due(uint64_t now_ns, uint32_t& flow) noexcept {
        while (size_ != 0 && ring_[head_].deadline_ns <= now_ns)
            if (pop_front(flow)) return true;
        return false;
    }
    // Pops regardless of time (shutdown).
    bool pop(uint32_t& flow) noexcept { return pop_due(UINT64_MAX, flow); }
    uint64_t grace_ns() const noexcept { return grace_ns_; }

private:
    struct Entry {
        uint64_t deadline_ns;
        uint32_t flow;
        uint32_t tag;
    };
    // Removes the oldest entry; true (and `flow`) when it was current, its linger now over.
    bool pop_front(uint32_t& flow) noexcept {
        const Entry e = ring_[head_];
        head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
        --size_;
        if (tags_[e.flow] != e.tag) return false;
        tags_[e.flow] = 0;
        flow = e.flow;
        return true;
    }

    std::vector<Entry> ring_;
    std::vector<uint32_t> tags_;  // per flow id: the tag of its current entry (0: not lingering)
    uint64_t grace_ns_;
    uint32_t head_ = 0;
    uint32_t size_ = 0;
    uint32_t next_tag_ = 0;
};

}  // namespace synwall::app
