// The half-open requests of one worker (the kernel's SYN queue) and their SYN-ACK retransmit
// timers: 48 bytes per IPv4 request, 60.8 with its share of the buckets (flow_table.hpp), all included.
//
// Requests are kept per address family, each with the key it needs: an IPv4 request is a 12-byte
// FlowKeyV4 and a 36-byte HalfOpen (48), an IPv6 one the 36-byte FlowKey and the same HalfOpen
// (72). One table of 36-byte keys for both would cost every IPv4 request 24 bytes of v4-mapped
// zeros, and keep it from fitting 64 bytes with its bucket slot and timer. The timers are
// intrusive (the links sit in HalfOpen, timer/intrusive_wheel.hpp), so there is no timer pool,
// and free entries are linked through themselves, so there is no free-list array.
//
// A family gets a table only when one of its listeners can queue requests (not all-cookie); the
// other family's is a one-entry stub. `capacity` bounds both together, as the kernel's
// tcp_max_syn_backlog bounds one listener's queue whatever its families.
//
// Ids: an IPv4 request is its index, an IPv6 one its index with kV6 set; the timers carry ids.
// Threading: single owner (the worker).
#pragma once

#include <cstdint>
#include <utility>

#include "handshake/connection.hpp"
#include "table/flow_key.hpp"
#include "table/flow_table.hpp"
#include "timer/intrusive_wheel.hpp"

namespace synwall::handshake {

class RequestTable {
public:
    static constexpr uint32_t kNone = ~0u;

    // Where a key is looked up: its family's table and the buckets there.
    struct Hash {
        table::BucketHash h;
        bool v6;
    };

    RequestTable(uint32_t capacity, bool ipv4, bool ipv6, uint64_t tick_ns, uint32_t slots, uint64_t now_ns)
        : capacity_(capacity),
          ipv4_(ipv4),
          ipv6_(ipv6),
          v4_(ipv4 ? capacity : 1),
          v6_(ipv6 ? capacity : 1),
          wheel_(tick_ns, slots, now_ns, Links{this}) {}
    RequestTable(const RequestTable&) = delete;
    RequestTable& operator=(const RequestTable&) = delete;

    // Whether requests of the family were provided for (a table of `capacity`), as constructed.
    bool queues(net::Family f) const noexcept { return f == net::Family::kIpv6 ? ipv6_ : ipv4_; }

    // The buckets of a key in its family's table, from its hash_key() value (the same for both).
    Hash hash_from_crc(uint32_t crc, net::Family f) const noexcept {
        const bool v6 = f == net::Family::kIpv6;
        return {v6 ? v6_.hash_from_crc(crc) : v4_.hash_from_crc(crc), v6};
    }
    void prefetch(const Hash& h) const noexcept { h.v6 ? v6_.prefetch(h.h) : v4_.prefetch(h.h); }
    void prefetch_entry(const Hash& h) const noexcept { h.v6 ? v6_.prefetch_entry(h.h) : v4_.prefetch_entry(h.h); }

    uint32_t find(const table::FlowKey& k, const Hash& h) const noexcept {
        if (!h.v6) return v4_.find(table::narrow_v4(k), h.h);
        const uint32_t i = v6_.find(k, h.h);
        return i == kNone ? kNone : i | kV6;
    }

    // A new request for k (absent, checked by the caller), its timer not running; kNone when the
    // tables hold `capacity` requests or both of k's buckets are full.
    uint32_t insert(const table::FlowKey& k, const Hash& h) noexcept {
        if (full()) return kNone;
        uint32_t id = h.v6 ? v6_.insert(k, h.h) : v4_.insert(table::narrow_v4(k), h.h);
        if (id == kNone) return kNone;
        if (h.v6) id |= kV6;
        timer::detach(at(id).timer);
        return id;
    }

    // Removes a request, stopping its timer.
    void erase(uint32_t id) noexcept {
        wheel_.cancel(id);
        if (id & kV6)
            v6_.erase(id & ~kV6);
        else
            v4_.erase(id);
    }

    HalfOpen& at(uint32_t id) noexcept { return id & kV6 ? v6_.at(id & ~kV6).r : v4_.at(id).r; }
    const HalfOpen& at(uint32_t id) const noexcept { return id & kV6 ? v6_.at(id & ~kV6).r : v4_.at(id).r; }
    table::FlowKey key(uint32_t id) const noexcept {
        return id & kV6 ? v6_.at(id & ~kV6).key : table::widen(v4_.at(id).key);
    }

    // (Re)starts a request's retransmit timer; it must not be running.
    void start_timer(uint32_t id, uint64_t now_ns, uint64_t delay_ns) noexcept { wheel_.start(id, now_ns, delay_ns); }
    // Stops up to `max` timers due at `now_ns`, calling fired(id) for each request as it fires (it
    // may erase that request or restart its timer); returns how many.
    template <class Fired>
    uint32_t expire(uint64_t now_ns, uint32_t max, Fired&& fired) noexcept {
        return wheel_.expire(now_ns, max, std::forward<Fired>(fired));
    }
    uint32_t expire(uint64_t now_ns, uint32_t* ids_out, uint32_t max) noexcept { return wheel_.expire(now_ns, ids_out, max); }
    uint32_t timers_running() const noexcept { return wheel_.size(); }

    uint32_t size() const noexcept { return v4_.size() + v6_.size(); }
    bool full() const noexcept { return size() >= capacity_; }
    size_t memory_bytes() const noexcept { return v4_.memory_bytes() + v6_.memory_bytes() + wheel_.memory_bytes(); }

    template <class Key>
    struct Entry {
        Key key;
        HalfOpen r;
    };
    using EntryV4 = Entry<table::FlowKeyV4>;
    using EntryV6 = Entry<table::FlowKey>;
    static_assert(sizeof(EntryV4) == 48 && sizeof(EntryV6) == 72);

private:
    static constexpr uint32_t kV6 = 1u << 31;
    static_assert(table::FlowTable<EntryV4>::kMaxCapacity < kV6);

    struct Links {
        RequestTable* t;
        timer::TimerLinks& operator()(uint32_t id) const noexcept { return t->at(id).timer; }
    };

    uint32_t capacity_;
    bool ipv4_, ipv6_;
    table::FlowTable<EntryV4> v4_;
    table::FlowTable<EntryV6> v6_;
    timer::IntrusiveWheel<Links> wheel_;
};

}  // namespace synwall::handshake
