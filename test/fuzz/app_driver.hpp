// Drives one handshake::Worker and one app::Application (absorb or proxy) with a fuzz input
// (format in fuzz_input.hpp: byte 0 the engine's configuration, byte 1 the application's), the
// way a worker lcore runs them with the application inline: each poll mirrors WorkerLoop::poll
// (lib/dpdk/worker_loop.cpp) and the AppIo mirrors AppDriver (lib/dpdk/app_driver.cpp):
//   rx bursts -> Worker::process_burst -> dispatch: tx sent, drop and pass freed (no peer port),
//   connections accepted (on_accept) before the burst's flow packets are delivered (on_packet);
//   the packets the application hands back (kReprocess) -> process_burst again; run_timers ->
//   dispatch; accept; on_tick. At the end: drain, then what the accept queues still hold is freed.
// A record's advance ends the poll with its frames, then one poll with none at the later time.
// Echoes feed the next poll: the client's ACK for every SYN-ACK sent toward a client
// (kCfgEchoAcks), the server's answer to what the proxy sends it (kAppEchoServer).
//
// Buffers are tracked like mbufs: Packet::owner names a record of who holds the buffer (the
// driver, the engine, an accept queue, the application); every hand-over checks the holder, so a
// buffer sent or freed twice, or by a party that does not hold it, is caught where it happens, and
// a freed buffer's bytes are released at once (ASan reports a later use).
//
// Oracles (run_app_input returns the first one that failed, nullptr when all held):
//   1. queues within bounds after every process_burst and run_timers: half-open requests per
//      worker and per listener, accept queue lengths, established flows;
//   2. per 4-tuple, SYN-ACKs sent from the timers <= synack_retries x SYNs received on it;
//   3. every frame sent (engine and application) parses, with correct checksums unless left to
//      the NIC (kTxChecksumsPending, with checksum offload only) or rewritten in place from a
//      frame whose own checksums were wrong and not verified (kCfgNoChecksums);
//   4. no RST answers a RST: none goes back to the sender of a RST it was built in, or sent while
//      that RST was being handled (the engine's replies in a frame's buffer must go back to that
//      frame's sender, which makes "built in" and "caused by" the same for the engine);
//   5. with checksum verification, a frame with a bad checksum is answered with nothing: no frame
//      sent in its buffer, nor while it was being handled;
//   6. every buffer is freed or sent exactly once, by its holder; none is left after the drain;
// and: every packet of a burst gets exactly one disposition; the counters partition the frames;
// connections carry their own ACK's key; flow packets reach the flow of their tuple, one that is
// open (or closed since the burst was classified); close_flow only for open flows; the engine's
// established flows are the application's open ones plus those waiting in accept queues; after
// the drain no flow is open and the proxy holds no buffer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/absorb.hpp"
#include "app/application.hpp"
#include "app/proxy.hpp"
#include "fuzz_config.hpp"
#include "fuzz_input.hpp"
#include "gen/responder.hpp"
#include "handshake/worker.hpp"
#include "net/parser.hpp"
#include "net/syn_writer.hpp"
#include "table/flow_key.hpp"

namespace synwall::fuzz {

class AppRun final : public app::AppIo {
public:
    static constexpr uint16_t kRoom = 2048;          // every buffer, as an mbuf's data room
    static constexpr uint16_t kServerPort = 1;       // the proxy's server side
    static constexpr size_t kMaxEchoes = 4096;       // per input: answers stop there (time bound)
    static constexpr uint64_t kT0 = 1'790'000'000ull * 1'000'000'000ull;

    AppRun(uint8_t cfg, uint8_t app_cfg) : cfg_(cfg), app_cfg_(app_cfg), now_(kT0) {
        using namespace handshake;
        const bool tiny = cfg & kCfgTinyTables;
        ec_ = engine_config(cfg);
        retries_ = kAppRetries[(app_cfg & kAppRetriesMask) >> kAppRetriesShift];
        burst_ = app_cfg & kAppSmallBursts ? 4 : 32;
        pool_limit_ = app_cfg & kAppTinyPool ? 3 : 512;
        cookie::SecretConfig sc;
        sc.prf = cookie::best_prf();
        sc.master.fill(7);
        w_ = std::make_unique<Worker>(ec_, listeners(), sc, now_);
        out_ = std::make_unique<BurstOutput>();
        if ((app_cfg & kAppKindMask) < 2) {
            app::AbsorbConfig ac;
            ac.close_with = (app_cfg & kAppKindMask) == 1 ? app::CloseWith::kFin : app::CloseWith::kRst;
            ac.linger_capacity = tiny ? 1 : 64;
            ac.flow_capacity = ec_.established_capacity;
            app_ = std::make_unique<app::Absorb>(ac);
        } else {
            app::ProxyConfig pc;
            pc.server_port = kServerPort;
            pc.flow_capacity = ec_.established_capacity;
            pc.hold_bytes = tiny ? 64 : 65536;
            auto proxy = std::make_unique<app::Proxy>(pc);
            proxy_ = proxy.get();
            app_ = std::move(proxy);
            if (app_cfg & kAppEchoServer) responder_.emplace(0x5eed);
        }
    }

    // A frame received in the next poll.
    void receive(const uint8_t* bytes, size_t len, uint16_t port) {
        rx_.push_back({std::vector<uint8_t>(bytes, bytes + std::min<size_t>(len, kRoom)), port});
    }
    size_t pending() const noexcept { return rx_.size(); }

    // One WorkerLoop::poll at the current time with the frames received since the last one.
    const char* poll() {
        std::vector<Rx> rx = std::move(echoes_);
        echoes_.clear();
        for (Rx& r : rx_) rx.push_back(std::move(r));
        rx_.clear();
        // Per rx burst: frames of one port, at most burst_ of them, as rte_eth_rx_burst returns them.
        for (size_t i = 0; i < rx.size() && !fail_;) {
            std::vector<net::Packet> burst;
            for (size_t j = i; j < rx.size() && burst.size() < burst_ && rx[j].port == rx[i].port; ++j)
                burst.push_back(take_in(rx[j]));
            i += burst.size();
            process(burst);
        }
        // What the application handed back: handled again as new, at most a burst of it per poll.
        if (!fail_ && !reprocess_.empty()) {
            std::vector<net::Packet> again(reprocess_.begin(),
                                           reprocess_.begin() + std::min<size_t>(reprocess_.size(), handshake::kMaxBurst));
            reprocess_.erase(reprocess_.begin(), reprocess_.begin() + static_cast<long>(again.size()));
            process(again, true);
        }
        if (!fail_) timers();
        if (!fail_) {
            accept_inline();
            cause_ = -1;
            app_->on_tick(*this);
        }
        if (!fail_ && !handshake::partition_holds(w_->counters())) fail("the counters do not partition the frames");
        if (!fail_ && w_->counters()[handshake::kRxPackets] != received_)
            fail("RxPackets does not count each received frame once");
        if (!fail_) check_flows();
        return fail_;
    }

    void advance(uint64_t ns) noexcept { now_ += ns; }

    // The loop stops (WorkerLoop's destructor): drain, then free what the accept queues hold.
    const char* finish() {
        if (fail_) return fail_;
        app_now_ = now_;
        cause_ = -1;
        app_->drain(*this);
        for (const net::Packet& p : reprocess_) free_buffer(p, Holder::kDriver);
        reprocess_.clear();
        handshake::Connection c;
        for (uint16_t l = 0, n = w_->listener_count(); l < n; ++l)
            while (w_->accept(l, c)) free_buffer(c.packet, Holder::kQueued);
        if (fail_) return fail_;
        for (const Buffer& b : buffers_)
            if (b.holder != Holder::kGone) return "buffer leaked: neither sent nor freed after the drain";
        if (!open_.empty()) return "flows still open after the application's drain";
        if (w_->established() != 0) return "the engine keeps established flows nobody holds";
        if (proxy_ && (proxy_->active_flows() != 0 || proxy_->held_buffers() != 0))
            return "the proxy holds flows or buffers after its drain";
        return nullptr;
    }

    // app::AppIo, as AppDriver: sends and frees go through the ownership records.
    uint64_t now_ns() const noexcept override { return app_now_; }
    bool alloc(net::Packet& out) noexcept override { return alloc_pool(out, Holder::kApp); }
    void send(net::Packet& p, uint16_t port) noexcept override { emit(p, port, Holder::kApp, false); }
    void release(net::Packet& p) noexcept override { free_buffer(p, Holder::kApp); }
    void close_flow(uint32_t flow) noexcept override {
        const auto it = open_.find(flow);
        if (it == open_.end()) return fail("close_flow of a flow that is not open (or closed twice)");
        closed_.emplace(flow, it->second);
        open_.erase(it);
        w_->forget_flow(flow);
    }

private:
    enum class Holder : uint8_t { kDriver, kEngine, kQueued, kApp, kGone };
    // The retransmits' buffers, from the same pool as the application's (as the worker loop's
    // MempoolSource and AppDriver share a mempool unless told otherwise).
    struct EngineSource final : handshake::PacketSource {
        AppRun* run;
        explicit EngineSource(AppRun* r) : run(r) {}
        bool alloc(net::Packet& out) override { return run->alloc_pool(out, Holder::kEngine); }
    };
    struct Buffer {
        std::unique_ptr<uint8_t[]> bytes;  // released when the buffer is freed or sent
        Holder holder;
        int32_t input;  // the frame it was received as (index in inputs_), -1: from the pool
    };
    // What the driver knows of a received frame, for the oracles on what is sent because of it.
    struct Input {
        table::FlowKey key{};       // client = its source (replies: key_from_server_packet equal)
        bool tcp = false;           // parses as a TCP segment (checksums aside)
        bool rst = false;
        bool bad_checksum = false;  // fails IPv4 or TCP checksum verification
    };
    struct Rx {
        std::vector<uint8_t> bytes;
        uint16_t port;
    };
    static std::string tuple(const table::FlowKey& k) { return {reinterpret_cast<const char*>(&k), sizeof k}; }

    void fail(const char* why) noexcept {
        if (!fail_) fail_ = why;
    }

    std::shared_ptr<const handshake::ListenerTable> listeners() const {
        using namespace handshake;
        // Immutable and shared, as in the appliance: one per (engine byte, retries), built once.
        static std::shared_ptr<const ListenerTable> tables[256][4];
        auto& t = tables[cfg_][(app_cfg_ & kAppRetriesMask) >> kAppRetriesShift];
        if (t) return t;
        std::vector<ListenerConfig> ls = listener_configs(cfg_);
        for (ListenerConfig& l : ls) l.synack_retries = retries_;
        t = std::make_shared<const ListenerTable>(ls);
        return t;
    }

    net::Packet new_buffer(Holder h, int32_t input) {
        buffers_.push_back({std::make_unique<uint8_t[]>(kRoom), h, input});
        return net::Packet{buffers_.back().bytes.get(), 0, kRoom, 0, 0, reinterpret_cast<void*>(buffers_.size())};
    }

    // The buffer behind `p` if `from` holds it (else fails and returns nullptr); now held by `to`.
    Buffer* hand(const net::Packet& p, Holder from, Holder to) noexcept {
        const auto id = reinterpret_cast<uintptr_t>(p.owner);
        if (id == 0 || id > buffers_.size()) return fail("a packet that is none of the driver's buffers"), nullptr;
        Buffer& b = buffers_[id - 1];
        if (b.holder == Holder::kGone) return fail("a buffer sent or freed twice"), nullptr;
        if (b.holder != from) return fail("a buffer handed on by a party that does not hold it"), nullptr;
        if (p.data != b.bytes.get() || p.room != kRoom || p.len > p.room)
            return fail("a packet that does not describe its buffer (data, room or length)"), nullptr;
        b.holder = to;
        return &b;
    }

    void free_buffer(const net::Packet& p, Holder from) noexcept {
        Buffer* b = hand(p, from, Holder::kGone);
        if (!b) return;
        b->bytes.reset();
        if (b->input < 0) --pool_live_;
    }

    bool alloc_pool(net::Packet& out, Holder h) {
        if (pool_live_ >= pool_limit_) return false;
        ++pool_live_;
        out = new_buffer(h, -1);
        if (h == Holder::kEngine) engine_pool_.push_back(out);
        return true;
    }

    // A received frame becomes a buffer the driver holds, its Input noted.
    net::Packet take_in(const Rx& r) {
        ++received_;
        Input in;
        const std::span<const uint8_t> f{r.bytes.data(), r.bytes.size()};
        const net::ParsedPacket p = net::parse(f, 0, net::ParseConfig{false, false});
        if (p.ok()) {
            in.tcp = true;
            in.key = table::key_from_client_packet(p);
            in.rst = p.has(net::tcp_flag::kRst);
            const net::ParseStatus s = net::parse(f).status;
            in.bad_checksum = s == net::ParseStatus::kBadIpv4Checksum || s == net::ParseStatus::kBadTcpChecksum;
        }
        inputs_.push_back(in);
        net::Packet pkt = new_buffer(Holder::kDriver, static_cast<int32_t>(inputs_.size() - 1));
        if (!r.bytes.empty()) std::memcpy(pkt.data, r.bytes.data(), r.bytes.size());
        pkt.len = static_cast<uint16_t>(r.bytes.size());
        pkt.port = r.port;
        return pkt;
    }

    const Input* input_of(const net::Packet& p) const noexcept {
        const auto id = reinterpret_cast<uintptr_t>(p.owner);
        if (id == 0 || id > buffers_.size() || buffers_[id - 1].input < 0) return nullptr;
        return &inputs_[static_cast<size_t>(buffers_[id - 1].input)];
    }

    // Oracle 1, after every process_burst and run_timers.
    void check_bounds() noexcept {
        uint32_t sum = 0;
        for (uint16_t l = 0, n = w_->listener_count(); l < n; ++l) {
            sum += w_->half_open(l);
            if (w_->half_open(l) > w_->listeners()[l].max_half_open) fail("a listener holds more half-open requests than max_half_open");
            if (w_->accept_queue(l).size_consumer() > w_->listeners()[l].backlog) fail("an accept queue is longer than its backlog");
        }
        if (w_->half_open() > ec_.half_open_capacity) fail("more half-open requests than half_open_capacity");
        if (sum != w_->half_open()) fail("the listeners' half-open counts do not add up to the worker's");
        if (w_->established() > ec_.established_capacity) fail("more established flows than established_capacity");
    }

    // Engine::process_burst over one burst, then dispatch (WorkerLoop::poll and dispatch).
    // again: packets the application handed back (kReprocess), received once already.
    void process(std::vector<net::Packet>& pkts, bool again = false) {
        if (pkts.empty()) return;
        cause_ = -1;      // the engine's replies are told apart by the buffer they are built in
        closed_.clear();  // flows closed from now on may still have packets in this burst's output
        for (const net::Packet& p : pkts) {
            hand(p, Holder::kDriver, Holder::kEngine);
            const Input* in = input_of(p);
            if (in && in->tcp) {
                const net::ParsedPacket pp = net::parse({p.data, p.len}, 0, net::ParseConfig{false, false});
                if ((pp.tcp_flags & (net::tcp_flag::kSyn | net::tcp_flag::kAck | net::tcp_flag::kRst | net::tcp_flag::kFin)) ==
                    net::tcp_flag::kSyn)
                    ++syns_[tuple(in->key)];
            }
        }
        if (fail_) return;
        out_->clear();
        const uint32_t n = again ? w_->process_again(pkts, now_, *out_) : w_->process_burst(pkts, now_, *out_);
        if (n != pkts.size()) return fail("process_burst left packets of a burst that fits its output");
        check_bounds();
        const handshake::BurstOutput& o = *out_;
        if (o.n_tx + o.n_drop + o.n_pass + o.n_flow + o.n_established != n) return fail("a packet got no disposition or two");
        for (uint32_t i = 0; i < o.n_tx && !fail_; ++i) {
            const net::Packet& p = o.tx[i];
            const Input* in = input_of(p);
            const net::ParsedPacket r = net::parse({p.data, p.len}, 0, net::ParseConfig{false, false});
            if (in && r.ok() && !(in->tcp && table::key_from_server_packet(r) == in->key))
                fail("an engine reply does not go back to the sender of the frame it was built in");
            emit(p, p.port, Holder::kEngine, false);
        }
        for (uint32_t i = 0; i < o.n_drop; ++i) free_buffer(o.drop[i], Holder::kEngine);
        for (uint32_t i = 0; i < o.n_pass; ++i) free_buffer(o.pass[i], Holder::kEngine);  // no peer port
        for (uint32_t i = 0; i < o.n_flow; ++i) hand(o.flow[i].packet, Holder::kEngine, Holder::kDriver);
        // What is left of the burst completed handshakes: in the accept queues now.
        uint32_t queued = 0;
        for (const net::Packet& p : pkts) {
            const auto id = reinterpret_cast<uintptr_t>(p.owner);
            if (buffers_[id - 1].holder == Holder::kEngine) {
                buffers_[id - 1].holder = Holder::kQueued;
                ++queued;
            }
        }
        if (queued != o.n_established) return fail("a packet got no disposition or two");
        if (fail_) return;
        // A connection's accept comes before its flow packets: they may sit in the same burst.
        if (o.n_flow) accept_inline();
        for (uint32_t i = 0; i < o.n_flow && !fail_; ++i) {
            handshake::FlowPacket f = o.flow[i];
            deliver(f);
        }
    }

    void deliver(handshake::FlowPacket& f) {
        const Input* in = input_of(f.packet);
        cause_ = in ? static_cast<int>(in - inputs_.data()) : -1;
        const table::FlowKey* key = nullptr;
        if (const auto it = open_.find(f.flow); it != open_.end())
            key = &it->second;
        else if (const auto jt = closed_.find(f.flow); jt != closed_.end())
            key = &jt->second;
        if (!key) return fail("a flow packet for a flow that is not open");
        if (!f.parsed || !f.parsed->ok()) return fail("a flow packet without the engine's parse");
        const table::FlowKey k =
            f.from_server ? table::key_from_server_packet(*f.parsed) : table::key_from_client_packet(*f.parsed);
        if (!(k == *key)) return fail("a flow packet delivered to another flow than its tuple's");
        hand(f.packet, Holder::kDriver, Holder::kApp);
        if (fail_) return;
        dispose(f.packet, app_->on_packet(f.packet, {f.flow, f.from_server, f.parsed}, *this));
        cause_ = -1;
    }

    // AppDriver::dispose.
    void dispose(net::Packet& p, app::Disposition d) {
        switch (d.kind) {
        case app::Disposition::Kind::kTransmit: emit(p, d.port, Holder::kApp, false); return;
        case app::Disposition::Kind::kFree: free_buffer(p, Holder::kApp); return;
        case app::Disposition::Kind::kKeep: hand(p, Holder::kApp, Holder::kApp); return;  // still the application's
        case app::Disposition::Kind::kReprocess:
            if (reprocess_.size() < handshake::kMaxBurst) {
                if (hand(p, Holder::kApp, Holder::kDriver)) reprocess_.push_back(p);
            } else {
                free_buffer(p, Holder::kApp);
            }
            return;
        }
        fail("a disposition of no known kind");
    }

    // WorkerLoop::accept_inline and AppDriver::accept.
    void accept_inline() {
        app_now_ = now_;
        if (w_->connections_queued() == accepted_) return;  // every accept queue is empty
        handshake::Connection c;
        for (uint16_t l = 0, n = w_->listener_count(); l < n && !fail_; ++l)
            while (!fail_ && w_->accept(l, c)) {
                ++accepted_;
                on_accept(c);
            }
    }

    void on_accept(handshake::Connection& c) {
        if (!hand(c.packet, Holder::kQueued, Holder::kApp)) return;
        const Input* in = input_of(c.packet);
        cause_ = in ? static_cast<int>(in - inputs_.data()) : -1;
        const net::ParsedPacket p = net::parse({c.packet.data, c.packet.len}, 0, net::ParseConfig{false, false});
        if (!p.ok() || !(table::key_from_client_packet(p) == c.key))
            return fail("a connection whose packet is not its completing ACK");
        if (c.payload_offset + c.payload_len > c.packet.len) return fail("a connection's payload overruns its packet");
        if (c.flow >= ec_.established_capacity) return fail("a connection with a flow id beyond established_capacity");
        if (!open_.emplace(c.flow, c.key).second) return fail("a flow id given to two open connections");
        closed_.erase(c.flow);
        dispose(c.packet, app_->on_accept(c, *this));
        cause_ = -1;
    }

    void timers() {
        out_->clear();
        engine_pool_.clear();
        w_->run_timers(now_, source_, *out_);
        check_bounds();
        const handshake::BurstOutput& o = *out_;
        if (o.n_pass || o.n_flow || o.n_established) return fail("run_timers gave other dispositions than tx and drop");
        cause_ = -1;
        for (uint32_t i = 0; i < o.n_tx && !fail_; ++i) emit(o.tx[i], o.tx[i].port, Holder::kEngine, true);
        for (uint32_t i = 0; i < o.n_drop; ++i) free_buffer(o.drop[i], Holder::kEngine);
        for (const net::Packet& p : engine_pool_)
            if (buffers_[reinterpret_cast<uintptr_t>(p.owner) - 1].holder == Holder::kEngine)
                fail("run_timers kept a buffer it took from the pool");
    }

    // A frame goes out of `port` (and its buffer is gone): oracles 2 to 5, then the echoes.
    void emit(const net::Packet& p, uint16_t port, Holder from, bool by_timer) {
        if (fail_) return;
        const Input* mine = input_of(p);
        const Input* cause = cause_ >= 0 ? &inputs_[static_cast<size_t>(cause_)] : nullptr;
        const auto id = reinterpret_cast<uintptr_t>(p.owner);
        if (id == 0 || id > buffers_.size() || buffers_[id - 1].holder != from) {
            hand(p, from, Holder::kGone);  // names the failure
            return;
        }
        if (port > kServerPort) return fail("a frame sent out of a port that does not exist");
        const bool offloaded = p.flags & net::kTxChecksumsPending;
        if (offloaded && !ec_.checksum_offload) return fail("checksums left to the NIC without checksum offload");
        // Oracle 3. A frame rewritten in place keeps a wrong checksum the engine was told not to verify.
        const bool verify_rx = !(cfg_ & kCfgNoChecksums);
        const bool inherited_bad = !verify_rx && mine && mine->bad_checksum;
        const bool verify = !offloaded && !inherited_bad;
        const net::ParsedPacket r = net::parse({p.data, p.len}, 0, net::ParseConfig{verify, verify});
        if (!r.ok()) return fail("a transmitted frame does not parse, or its checksums are wrong");
        // Oracle 5.
        if (verify_rx && ((mine && mine->bad_checksum) || (cause && cause->bad_checksum)))
            return fail("a frame with a bad checksum was answered");
        const table::FlowKey back = table::key_from_server_packet(r);  // the frame it would answer
        // Oracle 4.
        if (r.has(net::tcp_flag::kRst))
            for (const Input* in : {mine, cause})
                if (in && in->rst && in->key == back) return fail("a RST was answered with a RST");
        // Oracle 2.
        if (by_timer && r.has(net::tcp_flag::kSyn) && r.has(net::tcp_flag::kAck)) {
            const std::string t = tuple(back);
            if (++timer_synacks_[t] > uint64_t{retries_} * syns_[t])
                return fail("more SYN-ACK retransmits for a tuple than synack_retries per SYN");
        }
        echo(p, port, r);
        free_buffer(p, from);
    }

    void echo(const net::Packet& p, uint16_t port, const net::ParsedPacket& r) {
        if (echoes_.size() >= kMaxEchoes || echoed_ >= kMaxEchoes) return;
        std::vector<uint8_t> copy(p.data, p.data + kRoom);
        net::Packet q{copy.data(), p.len, kRoom, port, 0, nullptr};
        bool answered = false;
        const bool to_server = responder_ && port == kServerPort;
        if (!to_server && (cfg_ & kCfgEchoAcks) && r.has(net::tcp_flag::kSyn) && r.has(net::tcp_flag::kAck)) {
            static constexpr uint8_t kData[] = {'h', 'e', 'l', 'l', 'o'};
            std::span<const uint8_t> data;
            if (app_cfg_ & kAppAckData) data = kData;
            // TSval past the one our SYN-ACK echoes: PAWS would drop an older one.
            answered = net::answer_synack(q, r, r.options.tsecr + 1, 1, data);
        } else if (to_server) {
            answered = responder_->on_frame(q, now_);
        }
        if (!answered) return;
        copy.resize(q.len);
        echoes_.push_back({std::move(copy), port});
        ++echoed_;
    }

    // At the end of a poll: the engine's flows are the application's open ones and the queued ones.
    void check_flows() noexcept {
        size_t queued = 0;
        for (uint16_t l = 0, n = w_->listener_count(); l < n; ++l) queued += w_->accept_queue(l).size_consumer();
        if (w_->established() != open_.size() + queued)
            fail("the engine's established flows are not the application's open ones plus the queued ones");
    }

    uint8_t cfg_, app_cfg_;
    handshake::EngineConfig ec_;
    uint8_t retries_ = 5;
    size_t burst_ = 32;
    uint32_t pool_live_ = 0, pool_limit_ = 512;
    uint64_t now_;
    uint64_t received_ = 0;  // frames handed to the engine as received (not the reprocessed ones)
    uint64_t app_now_ = 0;  // AppDriver's clock: set when it accepts
    uint64_t accepted_ = 0;
    size_t echoed_ = 0;
    int cause_ = -1;  // the input frame being handled (index in inputs_), -1: timers
    const char* fail_ = nullptr;
    EngineSource source_{this};
    std::unique_ptr<handshake::Worker> w_;
    std::unique_ptr<handshake::BurstOutput> out_;
    std::unique_ptr<app::Application> app_;
    app::Proxy* proxy_ = nullptr;
    std::optional<gen::Responder> responder_;
    std::vector<Buffer> buffers_;
    std::vector<Input> inputs_;
    std::vector<Rx> rx_, echoes_;
    std::vector<net::Packet> reprocess_;
    std::vector<net::Packet> engine_pool_;  // taken by the current run_timers
    std::unordered_map<std::string, uint64_t> syns_, timer_synacks_;  // per tuple (oracle 2)
    std::unordered_map<uint32_t, table::FlowKey> open_;    // flows accepted and not closed
    std::unordered_map<uint32_t, table::FlowKey> closed_;  // closed since the last process_burst
};

// Runs one fuzz input; nullptr when every oracle held, else the one that failed.
inline const char* run_app_input(const uint8_t* data, size_t size) {
    if (size < 2) return nullptr;
    AppRun run(data[0], data[1]);
    const char* failed = nullptr;
    for_each_record(data, size, 2, [&](const uint8_t* frame, size_t len, uint8_t op) {
        run.receive(frame, len, static_cast<uint16_t>(op >> 7));
        if ((op & 1) || run.pending() >= 512) {
            failed = run.poll();
            if (const uint8_t steps = (op >> 1) & 0x3f; !failed && steps) {
                run.advance(uint64_t{steps} * 250'000'000);
                failed = run.poll();
            }
        }
        return failed == nullptr;
    });
    if (failed) return failed;
    if (const char* why = run.poll()) return why;
    // Then let retransmits, expiries, the proxy's timers and lingers run out.
    for (uint64_t steps : {4, 40}) {
        run.advance(steps * 250'000'000);
        if (const char* why = run.poll()) return why;
    }
    for (int k = 0; k < 30; ++k) {
        run.advance(127 * 250'000'000ull);
        if (const char* why = run.poll()) return why;
    }
    return run.finish();
}

}  // namespace synwall::fuzz
