// Closed flows remembered for a grace period (the role of the kernel's TIME_WAIT): while a flow
// lingers, the worker still maps its tuple to it, so a late retransmitted ACK reaches the
// application, which drops it, instead of validating again as a cookie and opening a second
// connection. A new SYN on the tuple ends the linger early (Disposition::kReprocess), as a SYN
// does in TIME_WAIT.
//
// Every flow lingers for the same time, so expiry order is arrival order: a FIFO ring, O(1) per
// push and pop, no allocation after construction. Each entry carries the owner's `tag` (a
// generation number): a flow closed early and its id reused by a newer connection is recognised
// as stale when its entry comes out. Capacity: when full, push() hands back the oldest entry to
// close early (the table it occupies is bounded; the caller counts the eviction).
// Threading: single owner (the application instance).
#pragma once

#include <cstdint>
#include <vector>

namespace synwall::app {

class Linger {
public:
    struct Entry {
        uint64_t deadline_ns;
        uint32_t flow;
        uint32_t tag;
    };

    Linger(uint32_t capacity, uint64_t grace_ns) : ring_(capacity ? capacity : 1), grace_ns_(grace_ns) {}

    // Remembers `flow` until now + grace. Returns true and sets `evicted` when the oldest entry had
    // to make room (close it now, if its tag is still current).
    bool push(uint32_t flow, uint32_t tag, uint64_t now_ns, Entry& evicted) noexcept {
        const bool full = size_ == ring_.size();
        if (full) {
            evicted = ring_[head_];
            head_ = next(head_);
            --size_;
        }
        ring_[(head_ + size_) % ring_.size()] = Entry{now_ns + grace_ns_, flow, tag};
        ++size_;
        return full;
    }
    // Pops an entry whose grace period ended by `now_ns`.
    bool pop_due(uint64_t now_ns, Entry& e) noexcept {
        if (size_ == 0 || ring_[head_].deadline_ns > now_ns) return false;
        e = ring_[head_];
        head_ = next(head_);
        --size_;
        return true;
    }
    // Pops regardless of time (shutdown).
    bool pop(Entry& e) noexcept { return pop_due(UINT64_MAX, e); }
    uint32_t size() const noexcept { return size_; }
    uint64_t grace_ns() const noexcept { return grace_ns_; }

private:
    uint32_t next(uint32_t i) const noexcept { return i + 1 == ring_.size() ? 0 : i + 1; }
    std::vector<Entry> ring_;
    uint64_t grace_ns_;
    uint32_t head_ = 0;
    uint32_t size_ = 0;
};

}  // namespace synwall::app
