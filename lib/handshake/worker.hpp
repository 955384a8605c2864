// The handshake engine of one worker: the kernel's tcp_conn_request / tcp_check_req /
// cookie_v4_check / inet_csk_accept, for bursts of packets, in user space.
//
// One Worker per poll-mode lcore (share nothing): it owns its half-open table, timer wheel,
// established-flow index, accept queues (one per listener), L2 cache, cookie secret schedule and
// counters. The DPDK layer, the tests, the fuzzer and the benchmarks all drive it through the same
// two calls:
//   process_burst(packets, now, out)  every received packet gets exactly one disposition in `out`:
//       tx    rewritten in place into our reply (SYN-ACK, RST, challenge ACK): transmit it
//       drop  counted and to be freed
//       pass  not for the handshake (not TCP, no listener, fragment): bridge or free it
//       flow  a packet of an established flow, or the completing ACK: it now belongs to the
//             connection in an accept queue (Connection::packet) or to the flow (FlowPacket);
//             a flow's packets come from its client, and, once an application (the proxy) opened
//             a leg to the server, from the server too: a segment from a listener's address and
//             port is looked up with the roles reversed (FlowPacket::from_server)
//   run_timers(now, source, out)       SYN-ACK retransmits and request expiry, with a budget;
//       retransmits are built in buffers taken from `source`.
// Established connections wait in accept queues: accept(listener, conn) pops them (from the
// application's thread: the queue is SPSC).
//
// `now_ns` is wall-clock nanoseconds (Unix epoch): cookie counters must agree across appliances.
// Decisions cite RFC 9293 §3.10.7 (SEGMENT ARRIVES) and RFC 5961; docs/handshake.md has the table.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cookie/secret_schedule.hpp"
#include "cookie/syn_cookie.hpp"
#include "handshake/accept_queue.hpp"
#include "handshake/config.hpp"
#include "handshake/connection.hpp"
#include "handshake/counters.hpp"
#include "handshake/l2_cache.hpp"
#include "handshake/listener_table.hpp"
#include "handshake/rate_limiter.hpp"
#include "handshake/request_table.hpp"
#include "net/packet.hpp"
#include "net/parser.hpp"
#include "net/reply_builder.hpp"
#include "table/flow_table.hpp"

namespace synwall::handshake {

struct FlowPacket {
    net::Packet packet;
    uint32_t flow;     // established-flow index
    bool from_server;  // sent by the protected server to the client (a proxied flow's server leg)
    const net::ParsedPacket* parsed;  // the engine's parse of it: valid until the next process_burst
};

struct BurstOutput {
    uint32_t n_tx = 0, n_drop = 0, n_pass = 0, n_flow = 0, n_established = 0;
    net::Packet tx[2 * kMaxBurst];  // replies to this burst plus retransmits
    net::Packet drop[2 * kMaxBurst];
    net::Packet pass[kMaxBurst];
    FlowPacket flow[kMaxBurst];
    void clear() noexcept { n_tx = n_drop = n_pass = n_flow = n_established = 0; }
};

// Where retransmitted SYN-ACKs get their buffers (an rte_mempool in the DPDK layer).
class PacketSource {
public:
    virtual ~PacketSource() = default;
    virtual bool alloc(net::Packet& out) = 0;  // room >= 128 bytes
};

class Worker {
public:
    Worker(const EngineConfig& engine, std::shared_ptr<const ListenerTable> listeners,
           const cookie::SecretConfig& secrets, uint64_t now_ns);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Handles up to kMaxBurst packets (fewer if `out` is already partly filled); returns how
    // many, the first ones of `pkts`. Clear `out` between bursts.
    uint32_t process_burst(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept;
    // The same for packets an application handed back to be handled as new (Disposition
    // kReprocess: a SYN that reopens a closed flow's tuple). They were received and counted once
    // already: RxPackets and ParsedTcp do not count them again, as the kernel's InSegs counts a
    // SYN to a TIME-WAIT socket once; SynReopenedFlow counts them, being a second outcome of one
    // segment (FlowPackets, then SynRecv). Always on the general path (rare).
    uint32_t process_again(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept;

    // Expires due timers (at most engine.timer_budget); retransmits go to out.tx. Returns the
    // number of timers handled.
    uint32_t run_timers(uint64_t now_ns, PacketSource& source, BurstOutput& out) noexcept;

    // Pops an established connection: the accept queue's consumer side (any one thread).
    bool accept(uint16_t listener, Connection& out) noexcept { return accept_[listener]->pop(out); }
    AcceptQueue& accept_queue(uint16_t listener) noexcept { return *accept_[listener]; }
    // Connections ever pushed to the accept queues (release/acquire: a consumer that has popped as
    // many knows every queue is empty without visiting them all — thousands of listeners).
    uint64_t connections_queued() const noexcept { return __atomic_load_n(&queued_total_, __ATOMIC_ACQUIRE); }

    // The application closed the flow: forget it (later packets are no longer delivered).
    // Worker thread only: an application on another core sends the request over a ring.
    void forget_flow(uint32_t flow) noexcept;

    const Counters& counters() const noexcept { return counters_; }
    uint32_t half_open() const noexcept { return half_open_.size(); }
    // Readable from another thread (telemetry): a relaxed, possibly slightly stale count.
    uint32_t half_open(uint16_t listener) const noexcept {
        return __atomic_load_n(&listener_state_[listener].half_open, __ATOMIC_RELAXED);
    }
    uint32_t established() const noexcept { return established_.size(); }
    // One listener's own figures on this worker, readable from another thread (relaxed loads):
    // what the worker-wide counters of the same names count, for this listener only.
    struct ListenerFigures {
        uint64_t syns = 0;              // SYNs taken (SynRecv)
        uint64_t syncookies_sent = 0;   // answered with a cookie (SyncookiesSent)
        uint64_t passive_opens = 0;     // connections to its accept queue (PassiveOpens)
        uint64_t overflow_drops = 0;    // SYNs and completing ACKs dropped: SYN or accept queue full
    };
    ListenerFigures listener_figures(uint16_t listener) const noexcept;
    // The listener table: worker thread only (another thread iterates listener_count()).
    const ListenerTable& listeners() const noexcept { return *listeners_; }
    // Listeners at run time, on the worker thread between bursts: `next` keeps every listener of
    // the current table at its index and may close some and append new ones
    // (ListenerTable::changed builds it), up to EngineConfig::max_listeners. A closed listener's
    // established flows still reach the application; its half-open requests expire without
    // retransmits; everything else sent to it passes as to no listener. Returns "" or why `next`
    // was refused (the current table stays).
    std::string update_listeners(std::shared_ptr<const ListenerTable> next);
    // Listener indices in use (accept queues, half_open(l), listener_figures(l) below it): from any
    // thread (acquire: an index below it has its accept queue).
    uint16_t listener_count() const noexcept { return __atomic_load_n(&listener_count_, __ATOMIC_ACQUIRE); }
    const cookie::SecretSchedule& secrets() const noexcept { return secrets_; }
    // A new cookie master key (a reloaded key file), on the worker thread between bursts: cookies
    // are minted under it from now on, and those the previous key minted keep validating for as
    // long as they would have (their counter period and the next): no false rejects at the change.
    // The RFC 6528 ISN key follows the new master too.
    void change_master_key(const cookie::MasterKey& key, uint64_t now_ns);
    size_t memory_bytes() const noexcept;

private:
    enum class Action : uint8_t;
    enum class Admission : uint8_t;
    enum class FastKind : uint8_t;
    struct PacketState;
    struct FastState;
    struct Arrival;
    // Written by the worker, read by telemetry on another lcore: one cache line per listener.
    struct alignas(64) ListenerState {
        uint32_t half_open = 0;
        uint64_t last_cookie_sent_ns = 0;
        bool cookies_sent = false;
        // ListenerFigures, written with stat_add (relaxed atomic stores: one writer).
        uint64_t syns = 0, syncookies_sent = 0, passive_opens = 0, overflow_drops = 0;
    };
    static_assert(sizeof(ListenerState) == 64);

    uint32_t process_chunk(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept;
    // The general path over pkts[first, last), in arrival order (state_ indexed like pkts).
    void general_run(std::span<net::Packet> pkts, uint32_t first, uint32_t last, uint64_t now_ns,
                     BurstOutput& out) noexcept;
    // The fast path (worker_fast_path.cpp): screens the chunk, handles what it can in stages and
    // hands everything else, in order, to general_run.
    void fast_chunk(std::span<net::Packet> pkts, uint64_t now_ns, BurstOutput& out) noexcept;
    void fast_screen(FastState& st, net::Packet& pkt) noexcept;
    void fast_prepare(FastState& st, uint64_t now_ns) noexcept;
    bool fast_syn(FastState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    bool fast_ack(FastState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    bool fast_key_taken(const FastState& st) const noexcept;
    // How a SYN to listener `l` is admitted now: queued, or answered with a cookie, or dropped.
    // prepare_prf predicts with it, on_syn and the fast path decide with it.
    Admission admit(const ListenerConfig& l, uint16_t listener) const noexcept;
    void classify(PacketState& st, net::Packet& pkt) noexcept;
    void prepare_prf(PacketState& st, uint64_t now_ns) noexcept;
    void execute(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;

    void on_syn(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    void on_ack(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    void on_rst(PacketState& st, net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    void establish(const PacketState& st, net::Packet& pkt, const Connection& proto, uint32_t req,
                   uint64_t now_ns, BurstOutput& out) noexcept;
    // The connection into the flow index and its accept queue (the caller checked the queue has room).
    void enqueue(const Arrival& a, net::Packet& pkt, const Connection& proto, uint32_t req, BurstOutput& out) noexcept;
    // Auto mode: cookies were sent now (cookie ACKs are accepted for cookie_window_ns).
    void mark_cookie_sent(uint16_t listener, uint64_t now_ns) noexcept {
        ListenerState& ls = listener_state_[listener];
        ls.cookies_sent = true;
        ls.last_cookie_sent_ns = now_ns;
        stat_add(ls.syncookies_sent, 1);
    }
    // Answers a SYN with a cookie SYN-ACK built in its own buffer.
    void send_cookie_synack(uint16_t listener, const net::SegmentEnds& ends, uint32_t client_seq,
                            const net::TcpOptions& o, cookie::SynCookieInputs in, uint32_t counter, uint32_t mac,
                            net::Packet& pkt, uint64_t now_ns, BurstOutput& out) noexcept;
    void send_rst_or_drop(const PacketState& st, net::Packet& pkt, bool rst, uint32_t drop_counter,
                          uint64_t now_ns, BurstOutput& out) noexcept;
    // The request's ACK for a segment it does not accept (tcp_v4_reqsk_send_ack): SND.NXT, RCV.NXT,
    // our window scaled as negotiated, timestamps if negotiated; limited per request and per worker.
    void send_request_ack(const PacketState& st, net::Packet& pkt, HalfOpen& r, uint64_t now_ns,
                          BurstOutput& out) noexcept;
    // tcp_oow_rate_limited for a request: true when it answered one too recently (else notes now).
    bool oow_rate_limited(HalfOpen& r, uint64_t now_ns) noexcept;
    bool transmit(net::Packet& pkt, const net::SegmentEnds& in, const net::ReplySegment& seg,
                  BurstOutput& out) noexcept;
    bool transmit(net::Packet& pkt, const net::ParsedPacket& in, const net::ReplySegment& seg,
                  BurstOutput& out) noexcept {
        return transmit(pkt, net::ends_of(in), seg, out);
    }
    void drop(net::Packet& pkt, uint32_t counter, BurstOutput& out) noexcept;

    uint32_t stateful_isn(const PacketState& st, uint64_t now_ns) noexcept;
    // PRF of the packet's tuple with `word`, under k4 or k6 by family: queued in the burst's batch
    // (job index, -1 if full) or computed at once.
    int queue_prf(const net::ParsedPacket& p, const cookie::PrfKey& k4, const cookie::PrfKey& k6, uint32_t word) noexcept;
    uint32_t prf_now(const net::ParsedPacket& p, const cookie::PrfKey& k4, const cookie::PrfKey& k6, uint32_t word) noexcept;
    bool cookie_eligible(uint16_t listener, uint64_t now_ns) const noexcept;
    uint32_t cookie_prf(const PacketState& st, uint32_t counter, uint8_t opts, uint8_t mss_index) noexcept;
    // A cookie ACK that the current key rejects, checked against the retiring key's (after a key change).
    bool retired_key_validates(const PacketState& st, const cookie::CookieClaim& claim) noexcept;
    void erase_request(uint32_t req) noexcept;
    net::ReplySegment request_synack(const HalfOpen& r, uint64_t now_ns) const noexcept;
    bool retransmit(uint32_t req, uint64_t now_ns, PacketSource& source, BurstOutput& out) noexcept;
    void touch(uint32_t crc) noexcept { touched_ |= uint64_t{1} << (crc & 63); }
    bool touched(uint32_t crc) const noexcept { return (touched_ >> (crc & 63)) & 1; }

    EngineConfig config_;
    std::shared_ptr<const ListenerTable> listeners_;
    cookie::SecretSchedule secrets_;
    // The schedule of the master key in use before change_master_key, frozen at the change, while
    // its cookies are still valid (through counter retiring_last_counter_); then dropped.
    std::unique_ptr<cookie::SecretSchedule> retiring_;
    uint32_t retiring_last_counter_ = 0;
    bool counting_input_ = true;  // false inside process_again: the packets were counted when received
    RequestTable half_open_;  // and the SYN-ACK retransmit timers
    table::FlowTable<Established> established_;
    std::vector<std::unique_ptr<AcceptQueue>> accept_;  // max_listeners slots, filled as listeners come
    std::vector<ListenerState> listener_state_;         // likewise: never reallocated (other threads read)
    uint16_t listener_count_ = 0;
    L2Cache l2_;
    RateLimiter reply_limit_;
    Counters counters_;
    cookie::PrfBatch prf_;
    uint16_t ip_id_ = 0;
    // The fast path's last IPv4 listener lookup (address 0 never passes the screen: empty).
    struct {
        uint32_t addr = 0;
        uint16_t port = 0;
        uint16_t listener = ListenerTable::kNone;
    } last_listener_;
    // What the fast path handled in this chunk, counted once at its end.
    struct Tally {
        uint64_t cookie_syns = 0, overflows = 0, cookie_acks = 0, forged_acks = 0;
    } tally_;
    uint64_t touched_ = 0;  // crc bits of keys whose table state changed during this chunk
    std::unique_ptr<PacketState[]> state_;
    std::unique_ptr<FastState[]> fast_;
    // Cookie SYN-ACK templates of the fast path, direct-mapped by (listener, option variant).
    static constexpr uint32_t kSynAckTemplates = 64;
    struct SynAckTemplate;
    std::unique_ptr<SynAckTemplate[]> synack_templates_;
    // The last SYN shape the fast path worked out (fast_prepare): listener, options, ECN, and
    // what they give, the cookie inputs and the reply template's variant.
    struct SynShape {
        uint64_t options = ~uint64_t{0};  // the first 8 bytes of its TcpOptions: MSS, WS, presence flags
        uint16_t listener = ListenerTable::kNone;
        bool ecn = false;
        cookie::SynCookieInputs in{};
        uint8_t variant = 0;
    } syn_shape_;
    // Read by application lcores while the worker writes its other fields every chunk: a line of
    // its own (the last member, so alignas also rounds the object's size up to the line's end).
    alignas(64) uint64_t queued_total_ = 0;
};

}  // namespace synwall::handshake
