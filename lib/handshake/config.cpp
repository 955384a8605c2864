#include "handshake/config.hpp"

namespace synwall::handshake {

std::string validate(const EngineConfig& c) {
    if (c.half_open_capacity == 0 || c.half_open_capacity > (1u << 30)) return "half_open_capacity: must be 1..2^30";
    if (c.established_capacity == 0 || c.established_capacity > (1u << 30)) return "established_capacity: must be 1..2^30";
    if (c.synack_rto_ns < 1'000'000) return "synack_rto: must be at least 1 ms";
    if (c.timer_budget == 0) return "timer_budget: must be positive";
    if (c.timer_tick_ns == 0 || c.timer_tick_ns >= (uint64_t{1} << 32)) return "timer_tick: must be 1 ns to 4.29 s";
    if (c.timer_slots == 0 || (c.timer_slots & (c.timer_slots - 1))) return "timer_slots: must be a power of two";
    if (c.ttl == 0) return "ttl: must be 1..255";
    if (c.l2_cache_entries == 0 || c.l2_cache_entries > 65535) return "l2_cache_entries: must be 1..65535";
    return {};
}

std::string validate(const ListenerConfig& c) {
    const unsigned max_prefix = c.family == net::Family::kIpv4 ? 32 : 128;
    if (c.prefix_len > max_prefix) return "prefix: longer than the address";
    if (c.port == 0) return "port: must be 1..65535";
    if (c.backlog == 0) return "backlog: must be positive";
    if (c.max_half_open == 0) return "max_half_open: must be positive";
    const uint16_t min_mss = c.family == net::Family::kIpv4 ? 536 : 1220;
    if (c.mss < min_mss || c.mss > 9000) return "mss: must be " + std::to_string(min_mss) + "..9000";
    if (c.synack_retries > 15) return "synack_retries: must be 0..15";
    if (c.wscale > 14) return "wscale: must be 0..14";
    return {};
}

}  // namespace synwall::handshake
