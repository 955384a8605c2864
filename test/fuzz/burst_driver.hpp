// Drives the burst entry point (Worker::process_burst and run_timers) with a fuzz input (format in
// fuzz_input.hpp), on two workers in lockstep: one with the fast path, one with the general path
// only (EngineConfig::fast_path false), which is the reference. Shared by the libFuzzer target and
// the unit test that replays the corpus, so the differential check runs in both.
//
// Oracles (run_input returns the first one that failed, nullptr when all held):
//   - every packet gets exactly one disposition, and every frame we transmit parses as
//     well-formed TCP with correct checksums;
//   - the counters partition the frames (partition_holds);
//   - both paths give the same dispositions, the same transmitted bytes, the same connections in
//     the accept queues and the same counters, burst after burst.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_config.hpp"
#include "fuzz_input.hpp"
#include "handshake/worker.hpp"
#include "net/parser.hpp"
#include "net/syn_writer.hpp"

namespace synwall::fuzz {

inline constexpr uint16_t kRoom = 2048;
inline constexpr uint64_t kDriverT0 = 1'790'000'000ull * 1'000'000'000ull;

struct Pool : handshake::PacketSource {
    std::vector<std::unique_ptr<uint8_t[]>> bufs;
    bool alloc(net::Packet& out) override {
        if (bufs.size() > 4096) return false;
        bufs.push_back(std::make_unique<uint8_t[]>(kRoom));
        out = net::Packet{bufs.back().get(), 0, kRoom, 0, 0, nullptr};
        return true;
    }
};

// One side of the pair: a worker and the storage for the frames it is given.
struct Side {
    std::unique_ptr<handshake::Worker> w;
    Pool pool;
    std::unique_ptr<handshake::BurstOutput> out = std::make_unique<handshake::BurstOutput>();
    std::vector<std::vector<uint8_t>> frames;
    std::vector<net::Packet> burst;

    // Index of the burst frame `p` lives in; -1 for a buffer from the pool (a retransmit).
    long index_of(const net::Packet& p) const {
        for (size_t i = 0; i < frames.size(); ++i)
            if (p.data == frames[i].data()) return static_cast<long>(i);
        return -1;
    }
};

inline bool tx_well_formed(const handshake::BurstOutput& out, bool offload) {
    net::ParseConfig pc;
    pc.verify_ipv4_checksum = pc.verify_tcp_checksum = !offload;
    for (uint32_t i = 0; i < out.n_tx; ++i) {
        const net::Packet& p = out.tx[i];
        if (p.len > p.room || !net::parse({p.data, p.len}, 0, pc).ok()) return false;
    }
    return true;
}

inline bool same_packet(const Side& a, const net::Packet& pa, const Side& b, const net::Packet& pb) {
    return a.index_of(pa) == b.index_of(pb) && pa.len == pb.len && pa.flags == pb.flags && pa.port == pb.port &&
           std::memcmp(pa.data, pb.data, pa.len) == 0;
}

inline const char* same_output(const Side& a, const Side& b) {
    const auto& x = *a.out;
    const auto& y = *b.out;
    if (x.n_tx != y.n_tx || x.n_drop != y.n_drop || x.n_pass != y.n_pass || x.n_flow != y.n_flow ||
        x.n_established != y.n_established)
        return "the two paths disposed of the burst differently";
    for (uint32_t i = 0; i < x.n_tx; ++i)
        if (!same_packet(a, x.tx[i], b, y.tx[i])) return "the two paths transmitted different frames";
    for (uint32_t i = 0; i < x.n_drop; ++i)
        if (!same_packet(a, x.drop[i], b, y.drop[i])) return "the two paths dropped different frames";
    for (uint32_t i = 0; i < x.n_pass; ++i)
        if (!same_packet(a, x.pass[i], b, y.pass[i])) return "the two paths passed different frames";
    for (uint32_t i = 0; i < x.n_flow; ++i)
        if (!same_packet(a, x.flow[i].packet, b, y.flow[i].packet) || x.flow[i].flow != y.flow[i].flow ||
            x.flow[i].from_server != y.flow[i].from_server)
            return "the two paths delivered different flow packets";
    return nullptr;
}

inline bool same_connection(const Side& a, const handshake::Connection& x, const Side& b, const handshake::Connection& y) {
    return x.key == y.key && x.client_isn == y.client_isn && x.server_isn == y.server_isn && x.ts_recent == y.ts_recent &&
           x.flow == y.flow && x.mss == y.mss && x.listener == y.listener && x.window == y.window &&
           x.snd_wscale == y.snd_wscale && x.rcv_wscale == y.rcv_wscale && x.flags == y.flags &&
           x.payload_offset == y.payload_offset && x.payload_len == y.payload_len && same_packet(a, x.packet, b, y.packet);
}

// Runs one fuzz input through both paths; nullptr when every oracle held, else what failed.
inline const char* run_input(const uint8_t* data, size_t size) {
    using namespace handshake;
    if (size < 1) return nullptr;
    const uint8_t cfg = data[0];
    EngineConfig ec = engine_config(cfg);
    // Listener tables are immutable and shared, as in the appliance: build each variant once.
    static std::shared_ptr<const ListenerTable> tables[256];
    const std::vector<ListenerConfig> ls = listener_configs(cfg);
    if (!tables[cfg]) tables[cfg] = std::make_shared<const ListenerTable>(ls);
    cookie::SecretConfig sc;
    sc.prf = cookie::best_prf();
    sc.master.fill(7);
    uint64_t now = kDriverT0;
    Side fast, general;
    ec.fast_path = true;
    fast.w = std::make_unique<Worker>(ec, tables[cfg], sc, now);
    ec.fast_path = false;
    general.w = std::make_unique<Worker>(ec, tables[cfg], sc, now);
    Side* sides[2] = {&fast, &general};
    for (Side* s : sides) s->frames.reserve(1200);

    std::vector<std::vector<uint8_t>> echoes;
    auto add_frame = [&](const uint8_t* bytes, size_t len, uint16_t port) {
        for (Side* s : sides) {
            s->frames.emplace_back(bytes, bytes + len);
            s->frames.back().resize(kRoom);
            s->burst.push_back(net::Packet{s->frames.back().data(), static_cast<uint16_t>(std::min<size_t>(len, kRoom)),
                                           kRoom, port, 0, nullptr});
        }
    };
    auto run_burst = [&](uint8_t advance) -> const char* {
        for (auto& e : echoes) add_frame(e.data(), e.size(), 0);
        echoes.clear();
        size_t done = 0;
        while (done < fast.burst.size()) {
            uint32_t taken[2];
            for (int k = 0; k < 2; ++k) {
                Side& s = *sides[k];
                s.out->clear();
                taken[k] = s.w->process_burst({s.burst.data() + done, s.burst.size() - done}, now, *s.out);
                const auto& o = *s.out;
                if (taken[k] == 0) return "process_burst took no packet";
                if (o.n_tx + o.n_drop + o.n_pass + o.n_flow + o.n_established != taken[k])
                    return "a packet got no disposition or two";
                if (!tx_well_formed(o, ec.checksum_offload)) return "a transmitted frame does not parse";
            }
            if (taken[0] != taken[1]) return "the two paths took different numbers of packets";
            if (const char* why = same_output(fast, general)) return why;
            if (cfg & kCfgEchoAcks) {
                for (uint32_t i = 0; i < fast.out->n_tx; ++i) {
                    std::vector<uint8_t> f(kRoom);
                    const uint16_t len = net::write_client_ack(fast.out->tx[i], f.data(), kRoom);
                    if (len) {
                        f.resize(len);
                        echoes.push_back(std::move(f));
                    }
                }
            }
            done += taken[0];
        }
        now += uint64_t{advance} * 250'000'000;
        for (Side* s : sides) {
            s->out->clear();
            s->w->run_timers(now, s->pool, *s->out);
            if (!tx_well_formed(*s->out, ec.checksum_offload)) return "a retransmitted frame does not parse";
        }
        if (const char* why = same_output(fast, general)) return why;
        for (uint16_t l = 0; l < 2; ++l) {
            Connection c, d;
            for (;;) {
                const bool got_fast = fast.w->accept(l, c), got_general = general.w->accept(l, d);
                if (got_fast != got_general) return "the two paths queued different numbers of connections";
                if (!got_fast) break;
                if (!same_connection(fast, c, general, d)) return "the two paths queued different connections";
                if (c.payload_offset + c.payload_len > c.packet.len) return "a connection's payload overruns its packet";
                if (c.flow & 1) {
                    fast.w->forget_flow(c.flow);
                    general.w->forget_flow(d.flow);
                }
            }
        }
        for (Side* s : sides)
            if (!partition_holds(s->w->counters())) return "the counters do not partition the frames";
        for (uint32_t c = 0; c < kCounterCount; ++c)
            if (fast.w->counters()[c] != general.w->counters()[c]) return "the two paths counted differently";
        for (Side* s : sides) {
            s->burst.clear();
            s->frames.clear();
        }
        return nullptr;
    };

    const char* failed = nullptr;
    for_each_record(data, size, 1, [&](const uint8_t* frame, size_t len, uint8_t op) {
        add_frame(frame, len, static_cast<uint16_t>(op >> 7));
        if ((op & 1) || fast.burst.size() >= 512) failed = run_burst(static_cast<uint8_t>(op >> 1));
        return failed == nullptr;
    });
    if (failed) return failed;
    for (uint8_t advance : {4, 40})  // then let timers retransmit and expire
        if (const char* why = run_burst(advance)) return why;
    for (int k = 0; k < 30; ++k)
        if (const char* why = run_burst(127)) return why;
    return nullptr;
}

}  // namespace synwall::fuzz
