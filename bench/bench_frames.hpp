// Frames shared by the micro-benchmarks: a typical Linux client SYN (MSS, SACK, TS, WS) and friends.
#pragma once

#include <cstring>
#include <vector>

#include "handshake/worker.hpp"
#include "packet_factory.hpp"

namespace synwall::bench {

namespace pf = synwall::testing;

inline pf::SegmentSpec linux_syn(bool v6, uint32_t i) {
    pf::SegmentSpec s;
    s.fam = v6 ? pf::Fam::v6 : pf::Fam::v4;
    s.src = v6 ? pf::v6("2001:db8:1::7") : pf::v4("198.51.100.7");
    s.src[v6 ? 14 : 2] = static_cast<uint8_t>(i >> 8);
    s.src[v6 ? 15 : 3] = static_cast<uint8_t>(i);
    s.dst = v6 ? pf::v6("2001:db8:2::10") : pf::v4("203.0.113.10");
    s.sport = static_cast<uint16_t>(1024 + i % 60000);
    s.dport = 80;
    s.seq = 0x9e3779b9u * (i + 1);
    s.tcp_options = pf::tcp_options({.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = i});
    return s;
}

// Linux's options on an ACK: NOP, NOP, timestamps.
inline std::vector<uint8_t> linux_ack_options(uint32_t tsval, uint32_t tsecr) {
    return {1, 1, 8, 10, static_cast<uint8_t>(tsval >> 24), static_cast<uint8_t>(tsval >> 16),
            static_cast<uint8_t>(tsval >> 8), static_cast<uint8_t>(tsval), static_cast<uint8_t>(tsecr >> 24),
            static_cast<uint8_t>(tsecr >> 16), static_cast<uint8_t>(tsecr >> 8), static_cast<uint8_t>(tsecr)};
}

// A burst's worth of frames kept pristine, and working buffers the engine rewrites.
struct FrameSet {
    std::vector<std::vector<uint8_t>> pristine;
    std::vector<std::vector<uint8_t>> work;
    std::vector<net::Packet> pkts;

    void add(const std::vector<uint8_t>& f) {
        pristine.push_back(f);
        work.push_back(f);
        work.back().resize(256);
    }
    // Restores the frames (the NIC's DMA, in real life) and returns the packet handles.
    std::span<net::Packet> reset(size_t first, size_t n) {
        pkts.resize(n);
        for (size_t i = 0; i < n; ++i) {
            auto& w = work[first + i];
            std::memcpy(w.data(), pristine[first + i].data(), pristine[first + i].size());
            pkts[i] = net::Packet{w.data(), static_cast<uint16_t>(pristine[first + i].size()), 256, 0, 0, nullptr};
        }
        return pkts;
    }
};

inline cookie::SecretConfig bench_secrets(cookie::PrfKind prf) {
    cookie::SecretConfig s;
    s.master.fill(0x5a);
    s.prf = prf;
    return s;
}

// The benchmarks' timed call into the engine, kept out of line so that callgrind can count exactly
// these calls (bench/callgrind_per_packet.sh toggles collection on this symbol).
__attribute__((noinline)) inline uint32_t timed_burst(handshake::Worker& w, std::span<net::Packet> pkts, uint64_t now_ns,
                                                      handshake::BurstOutput& out) noexcept {
    return w.process_burst(pkts, now_ns, out);
}

inline constexpr uint64_t kBenchT0 = 1'790'000'000ull * 1'000'000'000ull;

}  // namespace synwall::bench
