// The fuzz input format, shared by the harness and the seed-corpus generator.
//
//   byte 0        configuration bits (kCfg* below)
//   then records  [op: u8][len: u16 little-endian][len bytes of frame]
//                 op bit 0: the burst ends after this frame; op bits 1..7: the clock then
//                 advances by that many 250 ms steps and the timers run.
#pragma once

#include <cstdint>
#include <vector>

namespace synwall::fuzz {

enum : uint8_t {
    kCfgCookieModeMask = 0x03,  // 0 never, 1 auto, 2 always, 3 auto
    kCfgNoChecksums = 0x04,     // skip IPv4/TCP checksum verification (reach deeper)
    kCfgEchoAcks = 0x08,        // answer every SYN-ACK we send with the client's ACK
    kCfgRstOnInvalid = 0x10,
    kCfgAbortOnOverflow = 0x20,
    kCfgTinyTables = 0x40,      // capacities of a few entries: overflow paths
    kCfgChecksumOffload = 0x80,
};

inline void append_record(std::vector<uint8_t>& in, const std::vector<uint8_t>& frame, bool end_burst,
                          uint8_t advance_steps = 0) {
    in.push_back(static_cast<uint8_t>((end_burst ? 1 : 0) | (advance_steps << 1)));
    in.push_back(static_cast<uint8_t>(frame.size()));
    in.push_back(static_cast<uint8_t>(frame.size() >> 8));
    in.insert(in.end(), frame.begin(), frame.end());
}

}  // namespace synwall::fuzz
