// The built-in `absorb` application: accept every connection, count it, and close it at once with
// a RST (or a FIN) built in the completing ACK's own buffer. What a SYN-flood absorber in front of
// nothing does, and the baseline for benchmarks.
//
// A closed flow lingers for `grace_ns` (Linger): a retransmitted completing ACK in that time is
// dropped and counted, never accepted as a second connection; a new SYN on its tuple ends the
// linger and is handled as new (Disposition::kReprocess), as a SYN in TIME_WAIT.
#pragma once

#include "app/application.hpp"
#include "app/linger.hpp"

namespace synwall::app {

enum class CloseWith : uint8_t { kRst, kFin };

struct AbsorbConfig {
    CloseWith close_with = CloseWith::kRst;
    uint64_t grace_ns = 2'000'000'000;  // how long a closed flow is remembered
    uint32_t linger_capacity = 32768;   // flows remembered at most (older ones are forgotten early)
    uint32_t flow_capacity = 65536;     // flow ids of the worker (its established_capacity)
};

class Absorb final : public Application {
public:
    explicit Absorb(const AbsorbConfig& config)
        : how_(config.close_with), linger_(config.flow_capacity, config.linger_capacity, config.grace_ns) {}
    Disposition on_accept(handshake::Connection& c, AppIo& io) noexcept override;
    Disposition on_packet(net::Packet& p, FlowRef f, AppIo& io) noexcept override;
    void on_tick(AppIo& io) noexcept override;
    void drain(AppIo& io) noexcept override;

    uint64_t accepted() const noexcept { return accepted_; }
    uint64_t closed() const noexcept { return closed_; }
    uint64_t late_packets() const noexcept { return late_; }     // packets of flows already closed
    uint64_t evicted() const noexcept { return evicted_; }       // flows forgotten before their grace ended

private:
    CloseWith how_;
    Linger linger_;
    uint64_t accepted_ = 0;
    uint64_t closed_ = 0;
    uint64_t late_ = 0;
    uint64_t evicted_ = 0;
};

}  // namespace synwall::app
