// The built-in `proxy` application: a transparent SYN proxy. synwall completes every client's
// handshake itself (SYN queue, cookies under flood); only a client that completed it gets a
// connection to the real server, which this application opens on the client's behalf and then
// splices to the client's, both directions, until both sides are done.
//
//   on_accept        hold the completing ACK (and any data on it); send the server a SYN from the
//                    client's address, port and ISN with the options the client negotiated with us
//                    (MSS, window scale, SACK-permitted, timestamps with the client's TSval, ECN)
//   server SYN-ACK   derive the Splice (sequence, timestamp and window translation, SACK
//                    stripping), then send the held ACK and held data to the server, translated:
//                    the client's ACK completes the server's handshake
//   spliced          every segment crosses translated (app/splice.hpp); FIN and RST either way
//   timers           server SYN retransmits (bounded, exponential backoff; then RST to the client),
//                    idle timeout
//   closed           after both FINs, a RST, a refusal, a timeout or idleness the flow lingers for
//                    `grace_ns` (late ACKs are dropped, never a second connection; after both FINs
//                    the last ACKs still cross), then the worker forgets it; a new SYN on the
//                    tuple ends the linger and opens a new connection (Disposition::kReprocess)
//
// Frames keep the client's L2 header on the server leg (MACs and VLAN tags: the server sees the
// real client), so synwall needs no address of its own. The server leg leaves by `server_port`;
// the client leg by the port the client's frames came in on.
// State: one slot per flow id of the worker this instance serves (flow ids < flow_capacity), a
// timer wheel, a pool of held buffers. Threading: single owner (see application.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "app/application.hpp"
#include "app/linger.hpp"
#include "app/splice.hpp"
#include "handshake/counters.hpp"
#include "net/parser.hpp"
#include "timer/timer_wheel.hpp"

namespace synwall::app {

struct ProxyConfig {
    uint16_t server_port = 1;                      // port id behind which the servers sit
    uint8_t server_syn_retries = 3;                // SYN retransmits to a silent server, then RST
    uint64_t server_syn_timeout_ns = 1'000'000'000;  // first retransmit; doubles each time
    uint64_t idle_timeout_ns = 300'000'000'000;    // a spliced flow silent this long is dropped
    uint64_t grace_ns = 4'000'000'000;             // a closed flow is remembered this long
    uint32_t hold_bytes = 65536;                   // client bytes held per flow before the server leg is up
    uint32_t flow_capacity = 65536;                // flow ids of the worker (its established_capacity)
    uint8_t ttl = 64;                              // TTL / hop limit of segments the proxy writes itself
};

// X(enum, name, help)
#define SYNWALL_PROXY_COUNTERS(X)                                                                     \
    X(kAccepted, "ProxyAccepted", "connections the proxy took over from the handshake")              \
    X(kServerSynSent, "ServerSynSent", "SYNs sent to a server for a client")                          \
    X(kServerSynRetrans, "ServerSynRetrans", "SYN retransmits to a silent server")                    \
    X(kServerConnected, "ServerConnected", "server legs up (SYN-ACK from the server)")                \
    X(kServerRefused, "ServerRefused", "servers that answered the SYN with a RST (client reset)")      \
    X(kServerTimeout, "ServerTimeout", "servers that never answered the SYN (client reset)")           \
    X(kServerBadSynAck, "ServerBadSynAck", "server SYN-ACKs with the wrong acknowledgment (dropped)") \
    X(kServerSynAckRepeat, "ServerSynAckRepeat", "server SYN-ACKs repeated after the splice (re-ACKed)") \
    X(kHeld, "HeldPackets", "client segments held until the server leg was up")                      \
    X(kHeldDropped, "HeldDropped", "client segments dropped: hold limit reached (the client resends)") \
    X(kToServer, "SplicedToServer", "segments spliced from client to server")                         \
    X(kToClient, "SplicedToClient", "segments spliced from server to client")                         \
    X(kClientFin, "ClientFin", "FINs from clients")                                                   \
    X(kServerFin, "ServerFin", "FINs from servers")                                                   \
    X(kClientRst, "ClientRst", "RSTs from clients")                                                   \
    X(kServerRst, "ServerRst", "RSTs from servers on spliced flows")                                  \
    X(kIdleTimeout, "IdleTimeout", "spliced flows closed for idleness")                                \
    X(kLatePackets, "LatePackets", "segments of closed flows during their grace period (dropped)")     \
    X(kUnexpected, "UnexpectedSegments", "segments the flow's state has no use for (dropped)")         \
    X(kUnknownFlow, "UnknownFlow", "segments of a flow freed in the same burst (dropped)")            \
    X(kNoBuffer, "ProxyNoBuffer", "segments not written: no buffer (retried by timer or peer)")        \
    X(kLingerEvicted, "LingerEvicted", "closed flows forgotten before their grace ended (capacity)")   \
    X(kReopened, "Reopened", "new SYNs on a closed flow's tuple during its grace (handled as new)")   \
    X(kFreed, "ProxyFlowsFreed", "flows whose state was freed")

enum ProxyCounter : uint16_t {
#define SYNWALL_X(e, name, help) e,
    SYNWALL_PROXY_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
    kProxyCounterCount,
};
std::string_view proxy_counter_name(uint32_t c) noexcept;
std::string_view proxy_counter_help(uint32_t c) noexcept;

// Per instance, written by its thread, read by others with relaxed loads (handshake/counters.hpp).
using ProxyCounters = handshake::CounterBlock<kProxyCounterCount>;

class Proxy final : public Application {
public:
    explicit Proxy(const ProxyConfig& config);
    Disposition on_accept(handshake::Connection& c, AppIo& io) noexcept override;
    Disposition on_packet(net::Packet& p, FlowRef f, AppIo& io) noexcept override;
    void on_tick(AppIo& io) noexcept override;
    void drain(AppIo& io) noexcept override;

    const ProxyCounters& counters() const noexcept { return counters_; }
    // Flows with state (lingering ones too); readable from another thread (telemetry).
    uint32_t active_flows() const noexcept { return std::atomic_ref<const uint32_t>(active_).load(std::memory_order_relaxed); }
    uint32_t held_buffers() const noexcept { return held_in_use_; }

private:
    enum class State : uint8_t { kFree, kServerSyn, kSpliced, kDead };
    enum Fin : uint8_t { kFinClient = 1, kFinServer = 2 };
    struct Flow {
        Splice splice;
        net::Packet ack;            // the client's completing ACK: held until the server leg is up
        uint64_t last_ns = 0;       // last segment either way (idle timeout)
        uint32_t timer = timer::TimerWheel::kInvalid;
        uint32_t held_head = kNil;  // later client segments held (index into held_)
        uint32_t held_tail = kNil;
        uint32_t held_bytes = 0;
        uint32_t client_isn = 0;
        uint32_t our_isn = 0;
        uint32_t our_tsval = 0;     // TSval of our SYN-ACK (the TSecr on the client's ACK)
        uint32_t ts_recent = 0;     // the client's TSval on its ACK
        uint16_t client_port = 0;
        uint16_t mss = 0;
        uint16_t window = 0;        // the client's unscaled receive window
        uint8_t client_wscale = 0;  // handshake::kNoWscale: none
        uint8_t our_wscale = 0;
        uint8_t conn_flags = 0;     // handshake::ConnFlags
        uint8_t retries = 0;
        uint8_t fins = 0;
        State state = State::kFree;
    };
    struct Held {
        net::Packet p;
        uint32_t next;
    };
    static constexpr uint32_t kNil = ~0u;

    Disposition from_client(Flow& f, uint32_t id, net::Packet& p, const net::ParsedPacket& pp, AppIo& io) noexcept;
    Disposition from_server(Flow& f, uint32_t id, net::Packet& p, const net::ParsedPacket& pp, AppIo& io) noexcept;
    void spliced(Flow& f, uint32_t id, const net::ParsedPacket& pp, uint8_t fin_bit, uint32_t fin_counter,
                 uint32_t rst_counter, AppIo& io) noexcept;
    bool send_server_syn(Flow& f, AppIo& io) noexcept;
    void connect(Flow& f, const net::ParsedPacket& synack, AppIo& io) noexcept;
    void reset_client(Flow& f, AppIo& io) noexcept;
    void hold(Flow& f, net::Packet& p) noexcept;
    void release_held(Flow& f, AppIo& io) noexcept;
    void close(Flow& f, uint32_t id, State state, AppIo& io) noexcept;
    void free_flow(uint32_t id, AppIo& io) noexcept;
    void on_timer(uint32_t id, AppIo& io) noexcept;
    void count_active(int delta) noexcept {
        std::atomic_ref<uint32_t>(active_).store(active_ + static_cast<uint32_t>(delta), std::memory_order_relaxed);
    }

    ProxyConfig config_;
    std::vector<Flow> flows_;
    std::vector<Held> held_;
    uint32_t held_free_ = kNil;
    uint32_t held_in_use_ = 0;
    uint32_t active_ = 0;
    timer::TimerWheel timers_;
    Linger linger_;
    std::vector<uint32_t> expired_;
    ProxyCounters counters_;
    uint16_t ip_id_ = 0;
};

}  // namespace synwall::app
