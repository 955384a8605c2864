// synwall-gen's server side (--respond): a stateless TCP responder standing in for the servers
// behind a proxy, so that one generator process measures proxied connections end to end. It
// answers, in the received buffer:
//   SYN            SYN-ACK: ISN from a keyed hash of the tuple (nothing stored), options echoed
//                  the way a Linux server answers (MSS 1460, wscale 7 if offered, SACK-permitted
//                  if offered, timestamps if offered)
//   data           an ACK for it (or, with `reply`, that many bytes of response with the ACK)
//   FIN            FIN-ACK
//   anything else  nothing (a bare ACK, a RST): freed
// Stateless like a SYN-cookie server: any number of connections, no table. EAL-free, single owner.
#pragma once

#include <cstdint>

#include "handshake/counters.hpp"
#include "net/packet.hpp"
#include "net/parser.hpp"

namespace synwall::gen {

struct ResponderStats {
    uint64_t rx = 0;
    uint64_t syns = 0;        // answered with a SYN-ACK
    uint64_t data = 0;        // data segments acknowledged
    uint64_t data_bytes = 0;
    uint64_t fins = 0;        // answered with a FIN-ACK
    uint64_t ignored = 0;     // bare ACKs, RSTs, not TCP
    void add(const ResponderStats& o) noexcept;
};

class Responder {
public:
    explicit Responder(uint64_t key, uint16_t reply_bytes = 0) : key_(key), reply_bytes_(reply_bytes) {}
    // True: `pkt` now holds the answer (transmit it); false: free it.
    bool on_frame(net::Packet& pkt, uint64_t now_ns) noexcept;
    const ResponderStats& stats() const noexcept { return stats_; }

private:
    uint32_t isn(const net::ParsedPacket& p) const noexcept;

    uint64_t key_;
    uint16_t reply_bytes_;
    uint16_t ip_id_ = 0;
    ResponderStats stats_;
};

}  // namespace synwall::gen
