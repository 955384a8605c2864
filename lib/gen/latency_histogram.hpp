// Handshake latencies in fixed memory: a log-linear histogram (each power of two split into 64
// linear sub-buckets, so a reported percentile is within 1/64 = 1.6 % of the true value) from 1 ns
// to ~18 minutes. Mergeable across lcores. EAL-free.
#pragma once

#include <array>
#include <cstdint>

namespace synwall::gen {

class LatencyHistogram {
public:
    static constexpr unsigned kSubBits = 6;
    static constexpr unsigned kSub = 1u << kSubBits;
    static constexpr unsigned kBuckets = (40 - kSubBits + 1) * kSub + kSub;

    void record(uint64_t ns) noexcept {
        ++counts_[index(ns)];
        ++count_;
        if (ns > max_) max_ = ns;
    }
    void merge(const LatencyHistogram& o) noexcept {
        for (unsigned i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
        count_ += o.count_;
        if (o.max_ > max_) max_ = o.max_;
    }
    uint64_t count() const noexcept { return count_; }
    uint64_t max() const noexcept { return max_; }
    // The value at quantile q (0 < q <= 1): the middle of its bucket, capped at the maximum seen;
    // 0 when empty.
    uint64_t quantile(double q) const noexcept {
        if (count_ == 0) return 0;
        uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
        if (rank < 1) rank = 1;
        if (rank > count_) rank = count_;
        uint64_t seen = 0;
        for (unsigned i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) {
                const uint64_t mid = lower(i) + (lower(i + 1) - lower(i)) / 2;
                return mid < max_ ? mid : max_;
            }
        }
        return max_;
    }

    // Bucket of a value: values below kSub exactly; above, by exponent and the kSubBits bits
    // after the leading one.
    static unsigned index(uint64_t v) noexcept {
        if (v < kSub) return static_cast<unsigned>(v);
        const unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));  // >= kSubBits
        const unsigned i = (e - kSubBits + 1) * kSub + static_cast<unsigned>((v >> (e - kSubBits)) & (kSub - 1));
        return i < kBuckets ? i : kBuckets - 1;
    }
    static uint64_t lower(unsigned i) noexcept {
        if (i < kSub) return i;
        const unsigned e = i / kSub + kSubBits - 1;
        return (uint64_t{1} << e) | (uint64_t{i % kSub} << (e - kSubBits));
    }

private:
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    uint64_t max_ = 0;
};

}  // namespace synwall::gen
