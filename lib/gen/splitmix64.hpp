// The generator's random numbers: splitmix64 (Steele, Lea and Flood, 2014), fast, 64-bit state,
// every seed a good one. Deterministic for a seed, which the generator's tests and the pcap tool's
// thread-count-independent output rely on. Not for anything secret (cookies use cookie/).
#pragma once

#include <cstdint>

namespace synwall::gen {

class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) noexcept : state_(seed) {}
    uint64_t next() noexcept {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    uint64_t state_;
};

}  // namespace synwall::gen
