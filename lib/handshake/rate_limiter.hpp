// Token bucket: at most `rate` events per second with bursts of `burst`. Bounds the RSTs and
// challenge ACKs a worker emits, so synwall never becomes a reflection amplifier. Single owner.
#pragma once

#include <cstdint>

namespace synwall::handshake {

class RateLimiter {
public:
    RateLimiter(uint32_t rate_per_s, uint32_t burst) : rate_(rate_per_s), burst_(burst), tokens_(burst) {}

    bool allow(uint64_t now_ns) noexcept { return take(now_ns, 1) == 1; }

    // Takes up to `want` tokens at once (a burst's worth); returns how many it got.
    uint32_t take(uint64_t now_ns, uint32_t want) noexcept {
        if (now_ns > last_ns_) {
            const uint64_t dt = now_ns - last_ns_;
            const uint64_t add = dt >= 1'000'000'000u ? burst_ : dt * rate_ / 1'000'000'000u;
            if (add > 0) {
                tokens_ = tokens_ + add > burst_ ? burst_ : tokens_ + add;
                last_ns_ = now_ns;
            }
        }
        const uint32_t got = tokens_ < want ? static_cast<uint32_t>(tokens_) : want;
        tokens_ -= got;
        return got;
    }

private:
    uint64_t rate_, burst_, tokens_;
    uint64_t last_ns_ = 0;
};

}  // namespace synwall::handshake
