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

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
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

// Reads the records from data[first..size) in order: fn(frame bytes, length, op byte). A record
// whose length runs past the end is cut to what is there.
template <class Fn>
inline void for_each_record(const uint8_t* data, size_t size, size_t first, Fn&& fn) {
    size_t i = first;
    while (i + 3 <= size) {
        const uint8_t op = data[i];
        const size_t len = data[i + 1] | static_cast<size_t>(data[i + 2]) << 8;
        i += 3;
        const size_t take = len < size - i ? len : size - i;
        if (!fn(data + i, take, op)) return;
        i += take;
    }
}

// Writes one input file DIR/NAME (the seed-corpus generators).
inline void write_input(const std::string& dir, const std::string& name, const std::vector<uint8_t>& in) {
    std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(in.data()),
                                                              static_cast<std::streamsize>(in.size()));
}

inline void append_record(std::vector<uint8_t>& in, const std::vector<uint8_t>& frame, bool end_burst,
                          uint8_t advance_steps = 0, uint8_t port = 0) {
    in.push_back(static_cast<uint8_t>((end_burst ? 1 : 0) | (advance_steps << 1) | (port << 7)));
    in.push_back(static_cast<uint8_t>(frame.size()));
    in.push_back(static_cast<uint8_t>(frame.size() >> 8));
    in.insert(in.end(), frame.begin(), frame.end());
}

}  // namespace synwall::fuzz
