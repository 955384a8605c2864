// synwall-sim: the handshake engine on an embedded default, no NIC, no EAL.
//
// One worker absorbs a spoofed SYN flood (sources from 198.18.0.0/15, the benchmarking range of
// RFC 2544) while legitimate clients from 192.0.2.0/24 open connections through it. Every period
// it prints the rates and the kernel-named counters, like testpmd's stats; at the end a summary.
// Until the DPDK dataplane lands (apps/synwall), this is what `scripts/run.sh` runs.
//
//   synwall-sim [--seconds N] [--flood-per-burst N] [--clients-per-burst N] [--mode never|auto|always]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "synwall_version.hpp"
#include "handshake/worker.hpp"
#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/syn_writer.hpp"

using namespace synwall;
using namespace synwall::handshake;

namespace {

constexpr uint16_t kRoom = 256;

// A Linux-like client SYN: Ethernet / IPv4 / TCP with MSS, SACK-permitted, TS, WS.
uint16_t write_syn(uint8_t* f, uint32_t src_ip, uint16_t sport, uint32_t isn, uint32_t tsval) {
    net::SynSpec s;
    net::store_be32(s.src.data(), src_ip);
    s.dst = {203, 0, 113, 10};
    s.src_port = sport;
    s.seq = isn;
    s.tsval = tsval;
    return net::write_syn(s, f, kRoom);
}


uint64_t wall_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

constexpr const char* kUsage =
    "usage: synwall-sim [--seconds N] [--flood-per-burst 0..256] [--clients-per-burst 0..32] [--mode never|auto|always]\n"
    "\n"
    "The engine in one process, no DPDK: a SYN flood and closed-loop clients through one worker.\n"
    "  --seconds N              run time (default 5)\n"
    "  --flood-per-burst N      flood SYNs in each burst of 32 or more (default 28)\n"
    "  --clients-per-burst N    client segments in each burst (default 4)\n"
    "  --mode M                 the listener's cookie mode (default auto)\n"
    "  -h, --help               this text; --version: the version\n";

int usage(const char* why) {
    std::fprintf(stderr, "synwall-sim: %s\n%s", why, kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 5;
    unsigned flood = 28, clients = 4;
    CookieMode mode = CookieMode::kAuto;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--version") {
            std::printf("%s %s\n", "synwall-sim", SYNWALL_VERSION);
            return 0;
        }
        if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
        const std::string v = argv[++i];
        try {
            if (a == "--seconds") seconds = std::stod(v);
            else if (a == "--flood-per-burst") flood = static_cast<unsigned>(std::stoul(v));
            else if (a == "--clients-per-burst") clients = static_cast<unsigned>(std::stoul(v));
            else if (a == "--mode") {
                if (v == "never") mode = CookieMode::kNever;
                else if (v == "auto") mode = CookieMode::kAuto;
                else if (v == "always") mode = CookieMode::kAlways;
                else return usage(("bad --mode " + v).c_str());
            } else return usage(("unknown option " + a).c_str());
        } catch (const std::exception&) {
            return usage(("bad value for " + a + ": " + v).c_str());
        }
    }
    if (seconds <= 0 || flood > 256 || clients > 32 || flood + clients == 0 || flood + clients > 256)
        return usage("values out of range");

    ListenerConfig l;
    l.name = "web";
    l.port = 80;
    l.cookie_mode = mode;
    l.max_half_open = 1024;
    EngineConfig ec;
    cookie::SecretConfig sc;
    sc.master = cookie::random_master_key();
    sc.prf = cookie::best_prf();
    const uint64_t t0 = wall_ns();
    Worker w(ec, std::make_shared<ListenerTable>(std::vector<ListenerConfig>{l}), sc, t0);
    std::printf("synwall-sim: one worker, listener 203.0.113.10:80 cookie mode %s, PRF %s\n"
                "  flood: %u spoofed SYNs per burst from 198.18.0.0/15; clients: %u per burst from 192.0.2.0/24\n",
                mode == CookieMode::kNever ? "never" : mode == CookieMode::kAuto ? "auto" : "always",
                std::string(cookie::to_string(sc.prf)).c_str(), flood, clients);

    const unsigned n = flood + clients;
    std::vector<uint8_t> mem(size_t{n} * 2 * kRoom);
    std::vector<net::Packet> burst(n), acks;
    auto out = std::make_unique<BurstOutput>();
    uint64_t seq = 1, client_syns = 0, prev_rx = 0, prev_est = 0, prev_t = t0;
    uint32_t rng = 2463534242u;
    auto next = [&] { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; };
    const uint64_t end = t0 + static_cast<uint64_t>(seconds * 1e9);
    uint64_t now = t0, next_print = t0 + 1'000'000'000;
    Connection c;
    while (now < end) {
        now = wall_ns();
        // Legitimate clients first (their ACKs from the previous round ride in this burst too).
        unsigned k = 0;
        for (; k < clients; ++k, ++seq, ++client_syns) {
            const uint16_t len = write_syn(mem.data() + k * kRoom, 0xc0000200u | (seq % 250 + 1),
                                           static_cast<uint16_t>(1024 + seq % 60000),
                                           static_cast<uint32_t>(seq * 2654435761u), static_cast<uint32_t>(seq));
            burst[k] = net::Packet{mem.data() + k * kRoom, len, kRoom, 0, 0, nullptr};
        }
        for (; k < n; ++k) {
            const uint32_t r = next();
            const uint16_t len =
                write_syn(mem.data() + k * kRoom, 0xc6120000u | (r & 0x1ffff), static_cast<uint16_t>(r >> 17 | 1024), r, r);
            burst[k] = net::Packet{mem.data() + k * kRoom, len, kRoom, 0, 0, nullptr};
        }
        for (unsigned i = 0; i < acks.size(); ++i) burst.push_back(acks[i]);
        out->clear();
        w.process_burst(burst, now, *out);
        burst.resize(n);
        // The clients answer their SYN-ACKs (sources in 192.0.2.0/24); the flood never does.
        acks.clear();
        for (uint32_t i = 0; i < out->n_tx; ++i) {
            const uint8_t* d = out->tx[i].data;
            if (d[30] == 192 && d[31] == 0 && d[32] == 2) {
                uint8_t* f = mem.data() + (n + acks.size()) * kRoom;
                const uint16_t len = acks.size() < n ? net::write_client_ack(out->tx[i], f, kRoom) : 0;
                if (len) acks.push_back(net::Packet{f, len, kRoom, 0, 0, nullptr});
            }
        }
        while (w.accept(0, c)) w.forget_flow(c.flow);  // the "absorb" application: accept and close
        if (now >= next_print) {
            const Counters& k2 = w.counters();
            const double dt = static_cast<double>(now - prev_t) / 1e9;
            std::printf("  rx %7.2f Mpps  established %8.0f/s  SyncookiesSent %10lu  SyncookiesRecv %8lu  "
                        "SynAckSent %8lu  ReqQFullDoCookies %10lu  half-open %5u\n",
                        static_cast<double>(k2[kRxPackets] - prev_rx) / dt / 1e6,
                        static_cast<double>(k2[kEstablished] - prev_est) / dt, k2[kSyncookiesSent], k2[kSyncookiesRecv],
                        k2[kSynAckSent], k2[kReqQFullDoCookies], w.half_open());
            prev_rx = k2[kRxPackets];
            prev_est = k2[kEstablished];
            prev_t = now;
            next_print += 1'000'000'000;
        }
    }
    const Counters& k = w.counters();
    const double dt = static_cast<double>(now - t0) / 1e9;
    std::printf("summary: %.1f s, %lu packets (%.2f Mpps on one core, in-process, no I/O)\n", dt, k[kRxPackets],
                static_cast<double>(k[kRxPackets]) / dt / 1e6);
    for (uint32_t i = 0; i < kCounterCount; ++i)
        if (k[i]) std::printf("  %-24s %12lu  %s\n", std::string(counter_name(i)).c_str(), k[i], std::string(counter_help(i)).c_str());
    const uint64_t completed = k[kEstablished];
    std::printf("legitimate clients: %lu SYNs sent, %lu connections established (%.2f %%)\n", client_syns, completed,
                client_syns ? 100.0 * static_cast<double>(completed) / static_cast<double>(client_syns) : 0.0);
    return completed + clients * 2 >= client_syns ? 0 : 1;  // the last round's ACKs are still in flight
}
