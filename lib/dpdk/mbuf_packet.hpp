// The bridge between rte_mbuf and the core's net::Packet: a view of the mbuf's first segment,
// with the NIC's checksum verdicts carried over, and the length written back after a rewrite.
#pragma once

#include <rte_mbuf.h>

#include "net/packet.hpp"

namespace synwall::dpdk {

inline net::Packet to_packet(rte_mbuf* m) noexcept {
    net::Packet p;
    p.data = rte_pktmbuf_mtod(m, uint8_t*);
    p.len = rte_pktmbuf_data_len(m);
    p.room = static_cast<uint16_t>(m->buf_len - m->data_off);
    p.port = m->port;
    const uint64_t f = m->ol_flags;
    p.rx_flags = static_cast<uint16_t>(
        ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD ? net::kRxIpChecksumGood : 0) |
        ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? net::kRxL4ChecksumGood : 0));
    p.owner = m;
    return p;
}

inline rte_mbuf* mbuf_of(const net::Packet& p) noexcept { return static_cast<rte_mbuf*>(p.owner); }

// After the core rewrote the packet in place: one segment of p.len bytes, rx flags cleared.
inline rte_mbuf* finish_tx(const net::Packet& p) noexcept {
    rte_mbuf* m = mbuf_of(p);
    m->data_len = p.len;
    m->pkt_len = p.len;
    m->ol_flags = 0;
    return m;
}

}  // namespace synwall::dpdk
