// The one clock of synwall's lcores: wall-clock nanoseconds since the Unix epoch, read from the
// TSC after one calibration at construction (no system call per loop iteration).
//
// Wall time, not a monotonic count from start-up, because the engine's outputs carry it: the
// cookie's counter (several appliances sharing a key file must agree on it, and a restart must not
// reuse a counter of a key still in use) and the TCP timestamps. Everything else (timers, pacing,
// latency, the stats ticker) only takes differences, which wall time gives as well. Each lcore
// constructs its own: they agree to within the calibration's microsecond.
#pragma once

#include <rte_cycles.h>

#include <chrono>
#include <cstdint>

namespace synwall::dpdk {

class WallClock {
public:
    WallClock() noexcept
        : base_ns_(system_ns()), base_tsc_(rte_get_tsc_cycles()), ns_per_tsc_(1e9 / static_cast<double>(rte_get_tsc_hz())) {}

    uint64_t now() const noexcept {
        return base_ns_ + static_cast<uint64_t>(static_cast<double>(rte_get_tsc_cycles() - base_tsc_) * ns_per_tsc_);
    }

    // The system's wall clock (a system call): for start-up values, not per packet.
    static uint64_t system_ns() noexcept {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
    }

private:
    uint64_t base_ns_;
    uint64_t base_tsc_;
    double ns_per_tsc_;
};

}  // namespace synwall::dpdk
