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
    uint16_t flags = 0;       // PacketFlags below: rx verdicts from the driver layer, tx requests from the core
    void* owner = nullptr;    // opaque to the core (the rte_mbuf)
};

enum PacketFlags : uint16_t {
    kRxIpChecksumGood = 1u << 0,   // the NIC verified the IPv4 header checksum
    kRxL4ChecksumGood = 1u << 1,   // the NIC verified the TCP checksum
    // Set by the reply builder (rx bits cleared): the IPv4 header checksum is 0 and the TCP one holds
    // only the pseudo-header sum; the NIC must finish both (RTE_MBUF_F_TX_IP_CKSUM / _TCP_CKSUM).
    kTxChecksumsPending = 1u << 8,
};

}  // namespace synwall::net
