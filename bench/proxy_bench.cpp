// What does a proxied connection cost synwall's worker, and a spliced segment? The engine and the
// proxy on byte spans, one core, no I/O: per connection the client's SYN (answered), its ACK
// (accepted; the proxy writes the server's SYN), the server's SYN-ACK (the held ACK crosses), the
// client's FIN and the server's FIN-ACK (spliced, the flow lingers, is forgotten). The client's and
// the server's frames are written outside the timed region (manual timing around synwall's calls
// only), in bursts of 32 connections.
#include <benchmark/benchmark.h>

#include <chrono>
#include <deque>

#include "app/proxy.hpp"
#include "app/splice.hpp"
#include "bench_frames.hpp"
#include "gen/responder.hpp"
#include "net/syn_writer.hpp"

using namespace synwall;
namespace pf = synwall::testing;

namespace {

constexpr uint16_t kRoom = 2048;

// Buffers recycled through a free list; what the proxy sends is collected per step.
struct BenchIo final : app::AppIo {
    std::deque<std::vector<uint8_t>> store;
    std::vector<uint8_t*> free_list;
    std::vector<net::Packet> sent;
    std::vector<uint32_t> closed;
    uint64_t now = bench::kBenchT0;

    net::Packet take() {
        if (free_list.empty()) {
            store.emplace_back(kRoom);
            free_list.push_back(store.back().data());
        }
        net::Packet p{free_list.back(), 0, kRoom, 0, 0, nullptr};
        free_list.pop_back();
        return p;
    }
    uint64_t now_ns() const noexcept override { return now; }
    bool alloc(net::Packet& out) noexcept override {
        out = take();
        return true;
    }
    void send(net::Packet& p, uint16_t port) noexcept override {
        p.port = port;
        sent.push_back(p);
    }
    void release(net::Packet& p) noexcept override { free_list.push_back(p.data); }
    void close_flow(uint32_t flow) noexcept override { closed.push_back(flow); }
};

struct Rig {
    handshake::Worker engine;
    app::Proxy proxy;
    BenchIo io;
    gen::Responder server{42};
    handshake::BurstOutput out;
    std::vector<net::Packet> batch;

    static app::ProxyConfig proxy_config() {
        app::ProxyConfig c;
        c.server_port = 1;
        c.grace_ns = 0;  // forgotten at the next tick: the table never fills
        c.flow_capacity = handshake::EngineConfig{}.established_capacity;
        return c;
    }
    static std::vector<handshake::ListenerConfig> listeners() {
        handshake::ListenerConfig l;
        l.port = 80;
        l.cookie_mode = handshake::CookieMode::kAlways;
        return {l};
    }
    Rig()
        : engine(handshake::EngineConfig{}, std::make_shared<handshake::ListenerTable>(listeners()),
                 bench::bench_secrets(cookie::best_prf()), bench::kBenchT0),
          proxy(proxy_config()) {}

    // synwall's part of one step: the engine on the burst, then the application as the loop runs it.
    // Returns the frames that left (engine replies and the proxy's sends), in io.sent.
    void step(std::vector<net::Packet>& in) {
        out.clear();
        io.sent.clear();
        engine.process_burst(in, io.now, out);
        for (uint32_t i = 0; i < out.n_tx; ++i) io.sent.push_back(out.tx[i]);
        for (uint32_t i = 0; i < out.n_drop; ++i) io.release(out.drop[i]);
        for (uint32_t i = 0; i < out.n_pass; ++i) io.release(out.pass[i]);
        handshake::Connection c;
        while (engine.accept(0, c)) dispose(c.packet, proxy.on_accept(c, io));
        for (uint32_t i = 0; i < out.n_flow; ++i)
            dispose(out.flow[i].packet,
                    proxy.on_packet(out.flow[i].packet, {out.flow[i].flow, out.flow[i].from_server, out.flow[i].parsed}, io));
        proxy.on_tick(io);
        for (uint32_t f : io.closed) engine.forget_flow(f);
        io.closed.clear();
    }
    void dispose(net::Packet& p, app::Disposition d) {
        if (d.kind == app::Disposition::Kind::kTransmit) io.send(p, d.port);
        else if (d.kind == app::Disposition::Kind::kFree) io.release(p);
    }
};

// Client `i`'s SYN, or its FIN (from the client's side of the handshake: seq after the SYN), in a
// buffer of the rig's.
net::Packet client_segment(Rig& rig, uint32_t i, bool fin) {
    const pf::SegmentSpec spec = bench::linux_syn(false, i);
    net::SynSpec s;
    std::copy(spec.src.begin(), spec.src.end(), s.src.begin());
    std::copy(spec.dst.begin(), spec.dst.end(), s.dst.begin());
    s.src_port = spec.sport;
    s.seq = spec.seq;
    s.tsval = i;
    if (fin) {
        s.seq += 1;
        s.ack = 0;  // not checked by the splice; the server's answer takes its seq from it
        s.flags = net::tcp_flag::kFin | net::tcp_flag::kAck;
        s.mss = 0;
        s.sack = false;
        s.wscale = -1;
    }
    net::Packet p = rig.io.take();
    p.len = net::write_syn(s, p.data, p.room);
    return p;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

void BM_ProxiedConnection(benchmark::State& state) {
    Rig rig;
    constexpr uint32_t kBurst = 32;
    uint32_t next = 0;
    std::vector<net::Packet> frames;
    uint64_t connected = 0;
    for (auto _ : state) {
        std::chrono::steady_clock::duration spent{};
        auto timed = [&](std::vector<net::Packet>& in) {
            const auto t0 = std::chrono::steady_clock::now();
            rig.step(in);
            spent += std::chrono::steady_clock::now() - t0;
            return rig.io.sent;  // a copy: the next step reuses io.sent
        };
        // 1. Client SYNs.
        frames.clear();
        for (uint32_t i = 0; i < kBurst; ++i) frames.push_back(client_segment(rig, next + i, false));
        auto synacks = timed(frames);
        // 2. The clients' ACKs (in the SYN-ACKs' buffers).
        for (auto& p : synacks) {
            const net::ParsedPacket sa = net::parse({p.data, p.len});
            net::answer_synack(p, sa, 1);
            p.port = 0;
        }
        auto server_syns = timed(synacks);
        // 3. The server answers the proxy's SYNs.
        for (auto& p : server_syns) {
            rig.server.on_frame(p, rig.io.now);
            p.port = 1;
        }
        auto held_acks = timed(server_syns);
        for (auto& p : held_acks) rig.io.release(p);  // the server ignores bare ACKs
        connected += held_acks.size();
        // 4. The clients' FINs (from the clients' side of the handshake: seq after the SYN).
        frames.clear();
        for (uint32_t i = 0; i < kBurst; ++i) frames.push_back(client_segment(rig, next + i, true));
        next += kBurst;
        auto fins = timed(frames);
        // 5. The server's FIN-ACKs.
        for (auto& p : fins) {
            rig.server.on_frame(p, rig.io.now);
            p.port = 1;
        }
        auto to_clients = timed(fins);
        for (auto& p : to_clients) rig.io.release(p);
        state.SetIterationTime(seconds(spent));
    }
    state.SetItemsProcessed(static_cast<int64_t>(connected));
    state.counters["connections"] = static_cast<double>(connected);
    state.counters["flows_left"] = rig.engine.established();
    state.SetLabel("ipv4, cookies, 32 connections per burst; ns per burst of 32");
}
BENCHMARK(BM_ProxiedConnection)->UseManualTime();

// One spliced data segment each way (TS + SACK options, 100 bytes of data), incremental checksums.
void BM_Splice(benchmark::State& state) {
    const bool to_server = state.range(0) == 0;
    pf::SegmentSpec s = bench::linux_syn(false, 1);
    s.flags = 0x18;
    s.ack = 12345;
    s.payload.assign(100, 'x');
    s.tcp_options = {1, 1, 8, 10, 0, 0, 0, 50, 0, 0, 0, 60, 1, 1, 5, 10, 0, 0, 0x30, 0x39, 0, 0, 0x40, 0};
    const std::vector<uint8_t> frame = pf::build_frame(s);
    std::vector<uint8_t> work = frame;
    const net::ParsedPacket p = net::parse(frame);
    app::Splice sp;
    sp.seq_offset = 0x12345678;
    sp.ts_offset = 77;
    sp.timestamps = true;
    sp.to_client_from = 9;
    sp.to_client_to = 7;
    for (auto _ : state) {
        if (to_server)
            app::splice_to_server(work.data(), p, sp);
        else
            app::splice_to_client(work.data(), p, sp);
        benchmark::DoNotOptimize(work.data());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(to_server ? "client -> server (ack, SACK, TSecr)" : "server -> client (seq, TSval, window)");
}
BENCHMARK(BM_Splice)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
