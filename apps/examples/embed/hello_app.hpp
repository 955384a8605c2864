// The example's application: a tiny HTTP server on synwall's established connections. It waits
// for the client's request, answers it with "200 OK" and a FIN in the request's own buffer, and
// acknowledges the client's FIN. One instance per synwall worker (flow ids are per worker), run
// on the application lcore through synwall's AppCore.
//
// What it leaves out, as an example may: retransmission (a lost response is not resent: the
// client times out), requests over several segments, flow control beyond one segment.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "app/application.hpp"

namespace embed {

class HelloApp final : public synwall::app::Application {
public:
    explicit HelloApp(uint32_t flow_capacity) : flows_(flow_capacity) {}

    synwall::app::Disposition on_accept(synwall::handshake::Connection& c, synwall::app::AppIo& io) noexcept override;
    synwall::app::Disposition on_packet(synwall::net::Packet& p, synwall::app::FlowRef f,
                                        synwall::app::AppIo& io) noexcept override;

    uint64_t accepted() const noexcept { return accepted_; }
    uint64_t answered() const noexcept { return answered_; }

    static constexpr std::string_view kResponse =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
        "hello from synwall\n";

private:
    struct Flow {
        uint32_t snd_nxt = 0;   // our next sequence number
        uint32_t rcv_nxt = 0;   // the client's next byte we expect
        uint16_t window = 0;    // our receive window, as the header carries it (scaled)
        bool timestamps = false;
        bool answered = false;
        bool open = false;
    };
    // Rewrites `p` (parsed as `in`) into our segment on flow `f` and sends it back out of its port.
    synwall::app::Disposition reply(synwall::net::Packet& p, const synwall::net::ParsedPacket& in, Flow& f,
                                    uint8_t flags, std::string_view payload, synwall::app::AppIo& io) noexcept;

    std::vector<Flow> flows_;
    uint64_t accepted_ = 0, answered_ = 0;
};

}  // namespace embed
