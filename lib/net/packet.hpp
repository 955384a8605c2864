// The packet handle the core works on: a mutable byte span inside a buffer owned by the caller
// (an rte_mbuf in the DPDK layer, a plain array in tests). The core never allocates or frees a
// packet; it reads, rewrites in place and tells the caller what to do with each one.
#pragma once

#include <cstdint>

namespace synwall::net {

struct Packet {
    uint8_t* data = nullptr;  // first byte of the Ethernet header
    uint16_t len = 0;         // bytes of frame
    uint16_t room = 0;        // bytes writable from `data` (len <= room); a reply may grow up to it
    uint16_t port = 0;        // receiving port; replies go out on the same port
    uint16_t rx_flags = 0;    // RxFlags below, set by the driver layer
    void* owner = nullptr;    // opaque to the core (the rte_mbuf)
};

enum RxFlags : uint16_t {
    kRxIpChecksumGood = 1u << 0,   // the NIC verified the IPv4 header checksum
    kRxL4ChecksumGood = 1u << 1,   // the NIC verified the TCP checksum
};

}  // namespace synwall::net
