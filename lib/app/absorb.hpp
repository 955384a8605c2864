// The built-in `absorb` application: accept every connection, count it, and close it at once with
// a RST (or a FIN) built in the completing ACK's own buffer. What a SYN-flood absorber in front of
// nothing does, and the baseline for benchmarks.
#pragma once

#include "app/application.hpp"

namespace synwall::app {

enum class CloseWith : uint8_t { kRst, kFin };

class Absorb final : public Application {
public:
    explicit Absorb(CloseWith how) : how_(how) {}
    Verdict on_accept(handshake::Connection& c, bool& closed) noexcept override;
    Verdict on_packet(net::Packet& p, uint32_t flow, bool& closed) noexcept override;

    uint64_t accepted() const noexcept { return accepted_; }
    uint64_t closed() const noexcept { return closed_; }

private:
    CloseWith how_;
    uint64_t accepted_ = 0;
    uint64_t closed_ = 0;
};

}  // namespace synwall::app
