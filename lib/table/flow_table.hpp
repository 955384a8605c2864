// A fixed-capacity hash table of Entry records keyed by Entry::key: O(1) insert, find and erase,
// everything preallocated at construction, nothing allocated afterwards.
//
// Layout: entries live in a slab indexed by uint32; buckets of eight (16-bit tag, 32-bit entry
// index) slots, one cache line each, are indexed by the key hash. A free entry holds the index of
// the next free one in its first four bytes (an intrusive free list: no array beside the slab).
// Every key has two candidate buckets (two-choice hashing, insert into the emptier one), so a find
// touches at most two bucket lines plus the matching entries, whatever the load. Tags are compared
// eight at a time with SSE2; tag 0 marks an empty slot.
//
// Optionally (Summary::kOn) each bucket also has a one-byte summary: a bit per tag class (three
// bits of the tag) present in it. A lookup reads a bucket line only when the summary says the
// key's class is there, so a miss usually costs a byte from an array 64 times smaller than the
// buckets (16 KiB for 65,536 flows, in L1) instead of two random lines (1 MiB: L2 misses). For a
// table that is mostly asked about keys it does not hold — the established flows, which every flood
// SYN is checked against: pcap replay 3.16 -> 3.51 Mpps. Not for tables whose lookups mostly hit
// (the half-open requests the ACKs complete): there the summary byte is one more dependent miss
// before the bucket (a 1M-entry burst find went 1.8 -> 2.5-3.6 us).
//
// Capacity: `capacity` entries; buckets = ceil(capacity / 5), so a full table fills 62.5 % of the
// slots. Any bucket count works: a hash picks its bucket by multiply-shift (Lemire's range
// reduction), so the buckets cost 64 / 5 = 12.8 bytes per entry whatever the capacity, not up to
// twice that after rounding to a power of two. Filling 1M, 4M and 10M-entry tables to capacity with
// random keys refused no insert at this load; at 75 % (capacity / 6) about 1 in 10^5 was refused
// for want of a bucket slot before the table was full.
// When full (no free entry, or both buckets of the key full) insert() returns kNone: the caller
// counts it and falls back (SYN cookies for the half-open table).
// Threading: single owner (one per worker); not thread-safe.
//
// Entry must be trivially constructible, at least four bytes, with a `key` member whose type has
// == and a hash_key() overload (FlowKey, FlowKeyV4).
#pragma once

#include <emmintrin.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "table/flow_key.hpp"
#include "table/huge_array.hpp"

namespace synwall::table {

// A key's two candidate buckets and its tag in one table.
struct BucketHash {
    uint32_t b1, b2;
    uint16_t tag;
};

template <class Entry>
class FlowTable {
    static_assert(sizeof(Entry) >= sizeof(uint32_t) && std::is_trivially_copyable_v<Entry>);

public:
    using Key = std::remove_cvref_t<decltype(Entry::key)>;
    using Hash = BucketHash;
    static constexpr uint32_t kNone = ~0u;
    static constexpr uint32_t kSlots = 8;
    static constexpr uint32_t kMaxCapacity = 1u << 30;

    enum class Summary : uint8_t { kOff, kOn };

    explicit FlowTable(uint32_t capacity, Summary summary = Summary::kOff) : capacity_(capacity) {
        if (capacity == 0 || capacity > kMaxCapacity) throw std::invalid_argument("flow table capacity out of range");
        n_buckets_ = std::max<uint32_t>(2, (capacity + 4) / 5);
        buckets_ = HugeArray<Bucket>(n_buckets_);
        if (summary == Summary::kOn) summary_ = HugeArray<uint8_t>(n_buckets_);
        entries_ = HugeArray<Entry>(capacity);
    }

    Hash hash(const Key& k) const noexcept { return hash_from_crc(hash_key(k)); }

    // Buckets and tag from a key's hash_key() value, so that several tables share one CRC.
    Hash hash_from_crc(uint32_t crc) const noexcept {
        const uint64_t x = static_cast<uint64_t>(crc) * 0x9e3779b97f4a7c15ull;
        Hash h;
        h.b1 = bucket_of(x);
        h.tag = static_cast<uint16_t>(x >> 8) | 1;
        h.b2 = bucket_of(x * 0xc2b2ae3d27d4eb4full);
        if (h.b2 == h.b1) h.b2 = h.b1 + 1 < n_buckets_ ? h.b1 + 1 : 0;
        return h;
    }

    // Whether a key of this hash may be in the table (false: certainly absent, no bucket read).
    bool may_contain(const Hash& h) const noexcept { return may_hold(h.b1, h.tag) || may_hold(h.b2, h.tag); }

    void prefetch(const Hash& h) const noexcept {
        if (may_hold(h.b1, h.tag)) __builtin_prefetch(&buckets_[h.b1]);
        if (may_hold(h.b2, h.tag)) __builtin_prefetch(&buckets_[h.b2]);
    }

    // For a key about to be inserted (an ACK that may complete a handshake): both buckets, whatever
    // the summary says, since insert() reads both and writes one.
    void prefetch_for_insert(const Hash& h) const noexcept {
        __builtin_prefetch(&buckets_[h.b1], 1);
        __builtin_prefetch(&buckets_[h.b2], 1);
    }

    // Second stage of a batched lookup: once the buckets are in cache (prefetch() a while ago),
    // prefetch the entry the tag points at, so that find() then hits in cache.
    void prefetch_entry(const Hash& h) const noexcept {
        uint32_t m = may_hold(h.b1, h.tag) ? match_mask(buckets_[h.b1], h.tag) : 0;
        const Bucket* b = &buckets_[h.b1];
        if (m == 0 && may_hold(h.b2, h.tag)) {
            b = &buckets_[h.b2];
            m = match_mask(*b, h.tag);
        }
        if (m != 0) __builtin_prefetch(&entries_[b->idx[std::countr_zero(m)]]);
    }

    uint32_t find(const Key& k, const Hash& h) const noexcept {
        uint32_t i = may_hold(h.b1, h.tag) ? find_in(buckets_[h.b1], k, h.tag) : kNone;
        if (i == kNone && may_hold(h.b2, h.tag)) i = find_in(buckets_[h.b2], k, h.tag);
        return i;
    }
    uint32_t find(const Key& k) const noexcept { return find(k, hash(k)); }

    // Inserts a new entry for k (the caller has checked that k is absent) and returns its index,
    // with only `key` set; kNone when full.
    uint32_t insert(const Key& k, const Hash& h) noexcept {
        if (size_ == capacity_) return kNone;
        Bucket& a = buckets_[h.b1];
        Bucket& b = buckets_[h.b2];
        const uint32_t fa = empty_mask(a), fb = empty_mask(b);
        if ((fa | fb) == 0) {
            ++bucket_full_;
            return kNone;
        }
        const bool in_a = std::popcount(fa) >= std::popcount(fb);
        Bucket& t = in_a ? a : b;
        const uint32_t slot = static_cast<uint32_t>(std::countr_zero(in_a ? fa : fb));
        const uint32_t idx = take_free();
        t.tag[slot] = h.tag;
        if (summarized()) summary_[in_a ? h.b1 : h.b2] |= tag_class(h.tag);
        t.idx[slot] = idx;
        entries_[idx].key = k;
        return idx;
    }
    uint32_t insert(const Key& k) noexcept { return insert(k, hash(k)); }

    // Removes entry `idx` (which must be live).
    void erase(uint32_t idx) noexcept {
        const Hash h = hash(entries_[idx].key);
        uint32_t b = h.b1;
        if (!erase_in(buckets_[b], idx, h.tag)) {
            b = h.b2;
            erase_in(buckets_[b], idx, h.tag);
        }
        if (summarized()) summary_[b] = summarize(buckets_[b]);
        std::memcpy(static_cast<void*>(&entries_[idx]), &free_head_, sizeof free_head_);
        free_head_ = idx;
        --size_;
    }

    Entry& at(uint32_t idx) noexcept { return entries_[idx]; }
    const Entry& at(uint32_t idx) const noexcept { return entries_[idx]; }
    uint32_t size() const noexcept { return size_; }
    uint32_t capacity() const noexcept { return capacity_; }
    bool full() const noexcept { return size_ == capacity_; }
    uint64_t bucket_full_count() const noexcept { return bucket_full_; }
    size_t memory_bytes() const noexcept { return buckets_.bytes() + summary_.bytes() + entries_.bytes(); }

private:
    struct alignas(64) Bucket {
        uint16_t tag[kSlots];
        uint32_t idx[kSlots];
    };
    static_assert(sizeof(Bucket) == 64);

    // Multiply-shift range reduction of the hash's top 32 bits onto [0, n_buckets_).
    uint32_t bucket_of(uint64_t x) const noexcept {
        return static_cast<uint32_t>(((x >> 32) * n_buckets_) >> 32);
    }

    // An entry no one has used yet, else the head of the free list.
    uint32_t take_free() noexcept {
        ++size_;
        if (fresh_ < capacity_) return fresh_++;
        const uint32_t idx = free_head_;
        std::memcpy(&free_head_, static_cast<const void*>(&entries_[idx]), sizeof free_head_);
        return idx;
    }

    static uint32_t match_mask(const Bucket& b, uint16_t tag) noexcept {
        const __m128i tags = _mm_load_si128(reinterpret_cast<const __m128i*>(b.tag));
        const __m128i eq = _mm_cmpeq_epi16(tags, _mm_set1_epi16(static_cast<short>(tag)));
        // Pack the eight 16-bit lanes to bytes: one mask bit per slot.
        return static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128())));
    }
    static uint32_t empty_mask(const Bucket& b) noexcept { return match_mask(b, 0); }

    // A tag's class: one of eight bits, from tag bits 1-3 (bit 0 is always set).
    static uint8_t tag_class(uint16_t tag) noexcept { return static_cast<uint8_t>(1u << ((tag >> 1) & 7)); }
    bool summarized() const noexcept { return summary_.size() != 0; }
    bool may_hold(uint32_t bucket, uint16_t tag) const noexcept {
        return !summarized() || (summary_[bucket] & tag_class(tag)) != 0;
    }
    static uint8_t summarize(const Bucket& b) noexcept {
        uint8_t s = 0;
        for (uint32_t i = 0; i < kSlots; ++i)
            if (b.tag[i] != 0) s = static_cast<uint8_t>(s | tag_class(b.tag[i]));
        return s;
    }

    uint32_t find_in(const Bucket& b, const Key& k, uint16_t tag) const noexcept {
        for (uint32_t m = match_mask(b, tag); m != 0; m &= m - 1) {
            const uint32_t idx = b.idx[std::countr_zero(m)];
            if (entries_[idx].key == k) return idx;
        }
        return kNone;
    }
    static bool erase_in(Bucket& b, uint32_t idx, uint16_t tag) noexcept {
        for (uint32_t m = match_mask(b, tag); m != 0; m &= m - 1) {
            const uint32_t s = static_cast<uint32_t>(std::countr_zero(m));
            if (b.idx[s] == idx) {
                b.tag[s] = 0;
                return true;
            }
        }
        return false;
    }

    uint32_t capacity_;
    uint32_t n_buckets_ = 2;
    HugeArray<Bucket> buckets_;
    HugeArray<uint8_t> summary_;  // per bucket: the tag classes it holds (Summary::kOn)
    HugeArray<Entry> entries_;
    uint32_t size_ = 0;
    uint32_t fresh_ = 0;          // entries [fresh_, capacity_) were never used
    uint32_t free_head_ = kNone;  // erased entries, linked through their first four bytes
    uint64_t bucket_full_ = 0;
};

}  // namespace synwall::table
