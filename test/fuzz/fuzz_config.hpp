// The engine and listeners a fuzz input's configuration byte (fuzz_input.hpp, kCfg*) asks for,
// shared by both targets' drivers: tiny tables or roomy ones, checksums verified, skipped or left
// to the NIC, and two listeners on port 80 (IPv4 then IPv6) in the byte's cookie mode.
#pragma once

#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "handshake/config.hpp"

namespace synwall::fuzz {

inline handshake::EngineConfig engine_config(uint8_t cfg) {
    handshake::EngineConfig ec;
    const bool tiny = cfg & kCfgTinyTables;
    ec.half_open_capacity = tiny ? 4 : 1024;
    ec.established_capacity = tiny ? 4 : 1024;
    ec.l2_cache_entries = tiny ? 2 : 64;
    ec.parse.verify_ipv4_checksum = ec.parse.verify_tcp_checksum = !(cfg & kCfgNoChecksums);
    ec.checksum_offload = cfg & kCfgChecksumOffload;
    ec.timer_budget = 8;
    ec.timer_slots = 256;  // 1 s span: long delays take extra turns, which the wheel must handle
    return ec;
}

inline std::vector<handshake::ListenerConfig> listener_configs(uint8_t cfg) {
    using handshake::CookieMode;
    const bool tiny = cfg & kCfgTinyTables;
    std::vector<handshake::ListenerConfig> ls(2);
    for (size_t i = 0; i < 2; ++i) {
        ls[i].family = i ? net::Family::kIpv6 : net::Family::kIpv4;
        ls[i].port = 80;
        const uint8_t m = cfg & kCfgCookieModeMask;
        ls[i].cookie_mode = m == 0 ? CookieMode::kNever : m == 2 ? CookieMode::kAlways : CookieMode::kAuto;
        ls[i].backlog = tiny ? 2 : 64;
        ls[i].max_half_open = tiny ? 2 : 64;
        ls[i].mss = i ? 1440 : 1460;
        ls[i].rst_on_invalid_ack = cfg & kCfgRstOnInvalid;
        ls[i].abort_on_overflow = cfg & kCfgAbortOnOverflow;
    }
    return ls;
}

}  // namespace synwall::fuzz
