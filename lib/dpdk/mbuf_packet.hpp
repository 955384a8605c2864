// The bridge between rte_mbuf and the core's net::Packet: a view of the mbuf's first segment,
// with the NIC's checksum verdicts carried over, and the length written back after a rewrite.
#pragma once

#include <rte_ether.h>
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
    p.flags = static_cast<uint16_t>(
        ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD ? net::kRxIpChecksumGood : 0) |
        ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? net::kRxL4ChecksumGood : 0));
    p.owner = m;
    return p;
}

inline rte_mbuf* mbuf_of(const net::Packet& p) noexcept { return static_cast<rte_mbuf*>(p.owner); }

// After the core rewrote the packet in place: one segment of p.len bytes, rx flags cleared, and
// when the core left the checksums to the NIC, the TX offload request with the header lengths the
// NIC needs (l2_len counts a VLAN tag; replies carry no IP options or extension headers).
inline rte_mbuf* finish_tx(const net::Packet& p) noexcept {
    rte_mbuf* m = mbuf_of(p);
    m->data_len = p.len;
    m->pkt_len = p.len;
    m->ol_flags = 0;
    if (p.flags & net::kTxChecksumsPending) {
        const uint8_t* d = p.data;
        uint16_t l2 = 14;
        uint16_t type = static_cast<uint16_t>(d[12] << 8 | d[13]);
        while ((type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) && l2 + 4u <= p.len) {
            type = static_cast<uint16_t>(d[l2 + 2] << 8 | d[l2 + 3]);
            l2 = static_cast<uint16_t>(l2 + 4);
        }
        m->l2_len = l2;
        if (type == RTE_ETHER_TYPE_IPV4) {
            m->l3_len = 20;
            m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
        } else {
            m->l3_len = 40;
            m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
        }
    }
    return m;
}

}  // namespace synwall::dpdk
