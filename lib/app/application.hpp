// The application interface: what runs on established connections, inline in the worker or on an
// application lcore. EAL-free: it sees connections and packets, never mbufs.
//
// Ownership: every buffer handed to an application (a connection's completing ACK, a flow packet)
// is the application's until its Disposition says otherwise: transmit it out of a port, free it,
// or keep it (then the application later sends or releases it through AppIo). Buffers it takes
// from AppIo::alloc are its own likewise.
// Threading: one Application instance serves one worker's flows (flow ids are that worker's), on
// one thread: the worker's, or the application lcore's that serves the worker.
#pragma once

#include <cstdint>

#include "handshake/connection.hpp"
#include "net/packet.hpp"
#include "net/parser.hpp"

namespace synwall::app {

// What becomes of the buffer an application was handed: a single return value.
struct Disposition {
    enum class Kind : uint8_t {
        kFree,      // done with it
        kTransmit,  // rewritten in place: send it out of `port`
        kKeep,      // the application holds it; it will send or release it through AppIo
        kReprocess, // the application closed the flow (AppIo::close_flow) and the packet opens a
                    // new one (a SYN on a closed flow's tuple): the worker handles it again as new
                    // (freed instead where the application runs on another lcore than the worker)
    };
    Kind kind = Kind::kFree;
    uint16_t port = 0;

    static constexpr Disposition free() noexcept { return {Kind::kFree, 0}; }
    static constexpr Disposition transmit(uint16_t port) noexcept { return {Kind::kTransmit, port}; }
    static constexpr Disposition keep() noexcept { return {Kind::kKeep, 0}; }
    static constexpr Disposition reprocess() noexcept { return {Kind::kReprocess, 0}; }
};

// A packet of an established flow, as the worker classified it.
struct FlowRef {
    uint32_t flow;     // the id its connection carried (Connection::flow)
    bool from_server;  // sent by the protected server (a proxied flow's server leg), not the client
    const net::ParsedPacket* parsed = nullptr;  // the engine's parse of the packet, when the worker
                                                // hands it over itself (nullptr: parse it)
};

// What an application can do besides deciding on the buffer in hand; given with every call.
class AppIo {
public:
    virtual ~AppIo() = default;
    virtual uint64_t now_ns() const noexcept = 0;  // wall-clock nanoseconds (the engine's clock)
    // An empty buffer (len 0, room at least 1500 bytes), or false when none is left.
    virtual bool alloc(net::Packet& out) noexcept = 0;
    // Takes ownership: transmits `p` out of `port` (batched; what TX refuses is freed and counted).
    virtual void send(net::Packet& p, uint16_t port) noexcept = 0;
    virtual void release(net::Packet& p) noexcept = 0;
    // The application is done with the flow: the worker forgets it (later packets of its tuple are
    // new to the engine, and its id may be reused). Once per flow.
    virtual void close_flow(uint32_t flow) noexcept = 0;
};

class Application {
public:
    virtual ~Application() = default;
    // A connection completed its handshake; its completing ACK is in c.packet.
    virtual Disposition on_accept(handshake::Connection& c, AppIo& io) noexcept = 0;
    // A later packet of one of this application's flows. Packets of one flow arrive in order, after
    // its on_accept, until the application closes the flow.
    virtual Disposition on_packet(net::Packet& p, FlowRef f, AppIo& io) noexcept = 0;
    // Called every loop iteration: timers. Cheap when nothing is due.
    virtual void on_tick(AppIo& io) noexcept { (void)io; }
    // The loop stops: release every buffer the application still holds.
    virtual void drain(AppIo& io) noexcept { (void)io; }
};

}  // namespace synwall::app
