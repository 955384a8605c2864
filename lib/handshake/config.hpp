// Engine and listener configuration: plain immutable structs with named defaults. The appliance
// fills them from TOML (apps/synwall, docs/configuration.md) and checks them with validate().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "net/parser.hpp"

namespace synwall::handshake {

// Most packets one process_burst() call takes.
inline constexpr uint32_t kMaxBurst = 256;

// The kernel's net.ipv4.tcp_syncookies 0 | 1 | 2.
enum class CookieMode : uint8_t { kNever = 0, kAuto = 1, kAlways = 2 };

struct ListenerConfig {
    std::string name;
    net::Family family = net::Family::kIpv4;
    std::array<uint8_t, 16> addr{};  // network bytes (first 4 for IPv4)
    uint8_t prefix_len = 0;          // 0: any address of the family
    uint16_t port = 0;
    uint32_t backlog = 4096;         // accept queue length, per worker (listen(2) backlog)
    uint32_t max_half_open = 4096;   // SYN queue length, per worker (tcp_max_syn_backlog)
    CookieMode cookie_mode = CookieMode::kAuto;
    uint16_t mss = 1460;             // our MSS and the clamp on the client's
    uint8_t synack_retries = 5;      // net.ipv4.tcp_synack_retries
    bool abort_on_overflow = false;  // net.ipv4.tcp_abort_on_overflow: RST when the accept queue is full
    bool rst_on_invalid_ack = false; // RST (rate-limited) instead of a silent drop for unmatched ACKs
    bool window_scaling = true;
    uint8_t wscale = 7;              // our shift when the client offers window scaling
    bool sack = true;
    bool timestamps = true;
    bool ecn = true;                 // answer ECN setup SYNs with ECE (RFC 3168)
    uint16_t window = 65535;         // SYN-ACK window (never scaled, RFC 7323 §2.2)
    // Set by ListenerTable::changed on a listener closed at run time: its established flows still
    // reach the application; nothing new is accepted (Worker::update_listeners).
    bool closed = false;

    bool operator==(const ListenerConfig&) const = default;
};

struct EngineConfig {
    uint32_t half_open_capacity = 65536;    // per worker, all listeners
    uint32_t established_capacity = 65536;  // per worker
    uint64_t synack_rto_ns = 1'000'000'000;  // initial SYN-ACK retransmit timeout (RFC 6298)
    uint32_t timer_budget = 256;             // max timers expired per run_timers() call
    uint64_t timer_tick_ns = 1'000'000'000 / 256;
    uint32_t timer_slots = 16384;            // wheel span = slots * tick (64 s)
    uint64_t cookie_window_ns = 120'000'000'000;  // auto mode: cookie ACKs accepted this long after
                                                  // the last cookie was sent (TCP_SYNCOOKIE_VALID)
    uint32_t reply_rate_per_s = 1000;        // RSTs + challenge ACKs, per worker (tcp_challenge_ack_limit)
    uint32_t reply_burst = 100;
    // Per request: at most one answer to out-of-window segments (a SYN-ACK resent for a duplicate
    // SYN, an ACK for a bad segment) per interval (net.ipv4.tcp_invalid_ratelimit; 0: no limit).
    uint32_t invalid_ratelimit_ms = 500;
    uint8_t ttl = 64;                        // TTL / hop limit of our replies
    bool checksum_offload = false;           // leave checksums to the NIC (pseudo-header only)
    net::ParseConfig parse;
    uint32_t l2_cache_entries = 4096;        // distinct L2 headers remembered for retransmits
    uint32_t max_listeners = 1024;           // listeners over a worker's life: configured, then added at run
                                             // time (closed ones keep their slot); at least the configured ones
    // Untagged IPv4 SYNs answered with a cookie and cookie ACKs take a specialised path
    // (worker_fast_path.cpp); false sends every packet through the general one, which stays the
    // reference (the differential test runs both on the same frames).
    bool fast_path = true;
};

// Empty when valid; otherwise "<field>: <reason>".
std::string validate(const EngineConfig& c);
std::string validate(const ListenerConfig& c);

}  // namespace synwall::handshake
