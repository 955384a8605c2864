// synwall-gen's legitimate clients: N closed-loop TCP clients that each, over and over, send a SYN
// (retransmitted after 1 s, then 2 s, 4 s ... like Linux's connect(), up to `max_retries`), answer
// the SYN-ACK with the ACK (carrying the first data, if any), close with a RST or a FIN, and start
// again. Per handshake they record
// success and latency (first SYN sent -> SYN-ACK received, retransmit waits included: what
// connect() would have taken).
//
// Like a real client, each new connection of a client uses the next of its `ports_per_client`
// source ports (cycling), so a new SYN never races the previous connection's close on one tuple.
// Port slot P = (first + i) * ports_per_client + k has address src.at(P / ports_per_addr) and
// port sport_base + P % ports_per_addr: a reply maps back to its client by arithmetic, no table.
// Retransmits wait on a TimerWheel; clients with something to send wait in a FIFO. Single owner;
// time is injected. EAL-free: the tests drive it against the engine on byte spans.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "gen/address_range.hpp"
#include "gen/latency_histogram.hpp"
#include "gen/splitmix64.hpp"
#include "handshake/counters.hpp"
#include "net/packet.hpp"
#include "net/syn_writer.hpp"
#include "timer/timer_wheel.hpp"

namespace synwall::gen {

enum class ClientClose : uint8_t { kRst, kFin };

struct ClientSpec {
    AddressRange src;                 // client addresses (distinct from the flood's)
    std::array<uint8_t, 16> dst{};
    uint16_t dport = 80;
    uint32_t first = 0;               // index of this pool's first client (pools on several lcores)
    uint32_t clients = 0;
    uint16_t sport_base = 10000;
    uint16_t ports_per_addr = 50000;
    uint8_t ports_per_client = 1;     // source ports a client cycles through, one per connection
    net::SynSpec syn;                 // options, MACs, TTL of the SYNs (addresses/ports/seq set per client)
    uint64_t rto_ns = 1'000'000'000;  // first SYN retransmit; doubles after each
    uint8_t max_retries = 5;          // then the attempt counts as failed and the client starts over
    ClientClose close = ClientClose::kRst;
    std::vector<uint8_t> first_data;  // sent with the ACK (a request's first bytes); empty: a bare ACK
};

struct ClientStats {
    uint64_t attempts = 0;            // handshakes started
    uint64_t syns = 0;                // SYNs sent, retransmits included
    uint64_t syn_retransmits = 0;
    uint64_t synacks = 0;             // SYN-ACKs for one of our clients
    uint64_t completed = 0;           // answered with the ACK
    uint64_t failed = 0;              // gave up after max_retries
    uint64_t bad_synacks = 0;         // ours by address/port but wrong ack number, or unexpected
    uint64_t stale = 0;               // for one of a client's earlier ports (an earlier connection)
    uint64_t resets = 0;              // RSTs received for a client waiting for its SYN-ACK
    uint64_t closes = 0;              // RST/FIN segments sent

    void add(const ClientStats& o) noexcept {
        attempts += handshake::stat_load(o.attempts);
        syns += handshake::stat_load(o.syns);
        syn_retransmits += handshake::stat_load(o.syn_retransmits);
        synacks += handshake::stat_load(o.synacks);
        completed += handshake::stat_load(o.completed);
        failed += handshake::stat_load(o.failed);
        bad_synacks += handshake::stat_load(o.bad_synacks);
        stale += handshake::stat_load(o.stale);
        resets += handshake::stat_load(o.resets);
        closes += handshake::stat_load(o.closes);
    }
};

class ClientPool {
public:
    ClientPool(const ClientSpec& spec, uint64_t seed, uint64_t now_ns);

    // Writes the segments due now into bufs (each with room >= net::kMaxSynFrame): closes of
    // finished handshakes, SYNs of clients starting again, due retransmits. Returns how many.
    uint32_t poll(uint64_t now_ns, net::Packet* bufs, uint32_t n) noexcept;

    enum class Rx : uint8_t {
        kNotOurs,   // not addressed to one of our clients
        kReply,     // a SYN-ACK, rewritten in place into the client's ACK: transmit it
        kConsumed,  // ours, nothing to send back: free it
    };
    Rx on_frame(net::Packet& p, uint64_t now_ns) noexcept;
    // The same for a frame the caller parsed already (`in`: parse of p, its flags honoured).
    Rx on_frame(net::Packet& p, const net::ParsedPacket& in, uint64_t now_ns) noexcept;

    const ClientStats& stats() const noexcept { return stats_; }
    // Handshake latencies (first SYN sent -> SYN-ACK received), one per completed handshake.
    const LatencyHistogram& latencies() const noexcept { return latencies_; }
    uint32_t size() const noexcept { return static_cast<uint32_t>(slots_.size()); }
    // The client a reply to (addr, port) belongs to, or -1; `k` (optional): which of its ports.
    int64_t client_of(const uint8_t* addr, uint16_t port, uint32_t* k = nullptr) const noexcept;

private:
    enum class State : uint8_t { kIdle, kSynSent, kCloseDue };
    struct Slot {
        State state = State::kIdle;
        uint8_t retries = 0;
        uint8_t port_k = 0;           // which of its ports the current connection uses
        bool queued = false;
        uint32_t isn = 0;
        uint32_t server_isn = 0;
        uint64_t first_ns = 0;
        timer::TimerWheel::Handle timer = timer::TimerWheel::kInvalid;
    };
    void describe(uint32_t i, net::SynSpec& s) const noexcept;
    void enqueue(uint32_t i) noexcept;

    ClientSpec spec_;
    std::vector<Slot> slots_;
    std::deque<uint32_t> ready_;      // clients with a segment to send
    timer::TimerWheel timers_;
    std::vector<uint32_t> expired_;
    ClientStats stats_;
    LatencyHistogram latencies_;
    SplitMix64 rng_;
};

}  // namespace synwall::gen
