// A real handshake engine driven frame by frame, for tests of the engine and of the applications
// on top of it (EAL-free): frame storage with room to grow, a retransmit buffer source, the test
// secret and listener, and the client's SYN and third ACK.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cookie/syn_cookie.hpp"
#include "handshake/worker.hpp"
#include "packet_factory.hpp"

namespace synwall::testing {

using handshake::CookieMode;
using handshake::EngineConfig;
using handshake::ListenerConfig;
using handshake::ListenerTable;
using handshake::PacketSource;
using handshake::Worker;
using handshake::BurstOutput;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'790'000'000ull * kSec;  // a 2026 wall-clock time, in ns
constexpr uint8_t SYN = 0x02, ACK = 0x10, RST = 0x04, FIN = 0x01, ECE = 0x40, CWR = 0x80;

// Owns frame storage for the packets it hands to the engine (room for replies to grow).
struct Frames {
    std::deque<std::vector<uint8_t>> store;
    net::Packet make(const std::vector<uint8_t>& bytes, uint16_t port = 0) {
        store.emplace_back(bytes);
        store.back().resize(512);
        net::Packet p;
        p.data = store.back().data();
        p.len = static_cast<uint16_t>(bytes.size());
        p.room = 512;
        p.port = port;
        return p;
    }
    static std::vector<uint8_t> bytes(const net::Packet& p) { return {p.data, p.data + p.len}; }
};

struct VectorSource : PacketSource {
    Frames& frames;
    int budget = 1 << 20;
    explicit VectorSource(Frames& f) : frames(f) {}
    bool alloc(net::Packet& out) override {
        if (budget-- <= 0) return false;
        out = frames.make({});
        return true;
    }
};

inline cookie::SecretConfig test_secrets(cookie::PrfKind prf = cookie::best_prf()) {
    cookie::SecretConfig s;
    std::string err;
    EXPECT_TRUE(cookie::parse_master_key("000102030405060708090a0b0c0d0e0f", s.master, err));
    s.prf = prf;
    return s;
}

inline ListenerConfig listener(Fam fam, uint16_t port, CookieMode mode) {
    ListenerConfig l;
    l.name = "web";
    l.family = fam == Fam::v4 ? net::Family::kIpv4 : net::Family::kIpv6;
    l.prefix_len = 0;
    l.port = port;
    l.cookie_mode = mode;
    l.mss = fam == Fam::v4 ? 1460 : 1440;
    return l;
}

struct Engine {
    Frames frames;
    std::unique_ptr<Worker> worker;
    BurstOutput out;
    uint64_t now = kT0;

    explicit Engine(std::vector<ListenerConfig> ls, EngineConfig ec = {}, cookie::SecretConfig sc = test_secrets()) {
        worker = std::make_unique<Worker>(ec, std::make_shared<ListenerTable>(std::move(ls)), sc, now);
    }
    // Processes one frame; returns the output with the packet's disposition.
    BurstOutput& feed(const std::vector<uint8_t>& frame, uint16_t port = 0) {
        net::Packet p = frames.make(frame, port);
        out.clear();
        EXPECT_EQ(worker->process_burst({&p, 1}, now, out), 1u);
        EXPECT_EQ(out.n_tx + out.n_drop + out.n_pass + out.n_flow + out.n_established, 1u)
            << "every packet gets exactly one disposition";
        return out;
    }
    std::vector<uint8_t> reply(const std::vector<uint8_t>& frame) {
        feed(frame);
        EXPECT_EQ(out.n_tx, 1u);
        return out.n_tx ? Frames::bytes(out.tx[0]) : std::vector<uint8_t>{};
    }
    uint64_t counter(uint32_t c) const { return worker->counters()[c]; }
};

inline SegmentSpec client_syn(Fam fam, const OptionSpec& o = {.mss = 1460}) {
    SegmentSpec s;
    s.fam = fam;
    s.src = fam == Fam::v4 ? v4("198.51.100.7") : v6("2001:db8:1::7");
    s.dst = fam == Fam::v4 ? v4("203.0.113.10") : v6("2001:db8:2::10");
    s.sport = 40001;
    s.dport = 80;
    s.seq = 0x11223344;
    s.flags = SYN;
    s.tcp_options = tcp_options(o);
    return s;
}

// The client's third segment answering `synack`.
inline SegmentSpec client_ack(const SegmentSpec& syn, const FrameView& synack, bool ts, std::vector<uint8_t> payload = {}) {
    SegmentSpec a = syn;
    a.flags = ACK;
    a.seq = syn.seq + 1;
    a.ack = synack.seq() + 1;
    OptionSpec o;
    if (ts) {
        o.ts = true;
        o.tsval = 777;
        o.tsecr = synack.options().tsval;
    }
    a.tcp_options = tcp_options(o);
    a.payload = std::move(payload);
    a.ecn = 0;
    return a;
}

}  // namespace synwall::testing
