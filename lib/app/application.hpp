// The application interface: what runs on established connections, inline in the worker or on an
// application lcore. EAL-free: it sees connections and packets, never mbufs.
#pragma once

#include <cstdint>

#include "handshake/connection.hpp"
#include "net/packet.hpp"

namespace synwall::app {

// What to do with a buffer the application was handed.
enum class Verdict : uint8_t {
    kTransmit,  // rewritten in place: send it (out of the port it came in)
    kFree,      // done with it
};

class Application {
public:
    virtual ~Application() = default;
    // A connection completed its handshake; its completing ACK is in c.packet. `closed` tells the
    // caller whether the application is done with the flow (the worker then forgets it and may reuse
    // its id): report it once per flow, never again for a packet that was already in flight.
    virtual Verdict on_accept(handshake::Connection& c, bool& closed) noexcept = 0;
    // A later packet of one of this application's flows (`flow`: the id its connection carried);
    // `closed` as above. Packets of one flow arrive in order, after its on_accept.
    virtual Verdict on_packet(net::Packet& p, uint32_t flow, bool& closed) noexcept = 0;
};

}  // namespace synwall::app
