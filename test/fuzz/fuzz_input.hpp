// The fuzz input format, shared by the harness and the seed-corpus generator.
//
//   byte 0        configuration bits (kCfg* below)
//   byte 1        fuzz_app only: the application's configuration bits (kApp* below)
//   then records  [op: u8][len: u16 little-endian][len bytes of frame]
//                 op bit 0: the burst ends after this frame; op bits 1..7: the clock then
//                 advances by that many 250 ms steps and the timers run. fuzz_app reads op bit 7
//                 as the port the frame arrives on instead (1: the proxy's server side) and
//                 advances by op bits 1..6 only.
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

// fuzz_app's second configuration byte.
enum : uint8_t {
    kAppKindMask = 0x03,       // 0 absorb closing with a RST, 1 absorb closing with a FIN, 2 and 3 proxy
    kAppEchoServer = 0x04,     // proxy: a stateless server (gen::Responder) answers what it sends
    kAppTinyPool = 0x08,       // a few pool buffers shared by retransmits and the application
    kAppRetriesShift = 4,      // bits 4..5: the listeners' synack_retries, kAppRetries[value]
    kAppRetriesMask = 0x30,
    kAppAckData = 0x40,        // the echoed client ACKs (kCfgEchoAcks) carry data
    kAppSmallBursts = 0x80,    // the loop receives bursts of 4 frames instead of 32
};
inline constexpr uint8_t kAppRetries[4] = {5, 1, 2, 3};

inline void append_record(std::vector<uint8_t>& in, const std::vector<uint8_t>& frame, bool end_burst,
                          uint8_t advance_steps = 0, uint8_t port = 0) {
    in.push_back(static_cast<uint8_t>((end_burst ? 1 : 0) | (advance_steps << 1) | (port << 7)));
    in.push_back(static_cast<uint8_t>(frame.size()));
    in.push_back(static_cast<uint8_t>(frame.size() >> 8));
    in.insert(in.end(), frame.begin(), frame.end());
}

}  // namespace synwall::fuzz
