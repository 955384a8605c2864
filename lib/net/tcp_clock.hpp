// The clock of synwall's own TCP timestamps (TSval), shared by the engine and the applications so
// that every segment of a connection reads one clock: 1 ms per tick (RFC 7323 §5.4 allows 1 ms to
// 1 s), from the engine's wall-clock nanoseconds.
#pragma once

#include <cstdint>

namespace synwall::net {

inline uint32_t tcp_ts_clock(uint64_t now_ns) noexcept { return static_cast<uint32_t>(now_ns / 1'000'000); }

}  // namespace synwall::net
