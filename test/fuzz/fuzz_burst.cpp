// libFuzzer target over the burst entry point (Worker::process_burst and run_timers), the same
// function the DPDK layer, the tests and the benchmarks drive. Oracles beyond the sanitizers:
//   - every packet gets exactly one disposition;
//   - every frame we transmit parses as well-formed TCP with correct checksums;
//   - no buffer is handed back twice or lost (each input/allocated buffer is accounted once).
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_input.hpp"
#include "handshake/worker.hpp"
#include "net/parser.hpp"
#include "net/syn_writer.hpp"

using namespace synwall;
using namespace synwall::handshake;

namespace {

constexpr uint16_t kRoom = 2048;
constexpr uint64_t kT0 = 1'790'000'000ull * 1'000'000'000ull;

struct Pool : PacketSource {
    std::vector<std::unique_ptr<uint8_t[]>> bufs;
    bool alloc(net::Packet& out) override {
        if (bufs.size() > 4096) return false;
        bufs.push_back(std::make_unique<uint8_t[]>(kRoom));
        out = net::Packet{bufs.back().get(), 0, kRoom, 0, 0, nullptr};
        return true;
    }
};

[[noreturn]] void fail() { __builtin_trap(); }

void check_tx(const BurstOutput& out, bool offload) {
    net::ParseConfig pc;
    pc.verify_ipv4_checksum = pc.verify_tcp_checksum = !offload;
    for (uint32_t i = 0; i < out.n_tx; ++i) {
        const net::Packet& p = out.tx[i];
        if (p.len > p.room) fail();
        const auto parsed = net::parse({p.data, p.len}, 0, pc);
        if (!parsed.ok()) fail();
    }
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t cfg = data[0];
    EngineConfig ec;
    const bool tiny = cfg & fuzz::kCfgTinyTables;
    ec.half_open_capacity = tiny ? 4 : 1024;
    ec.established_capacity = tiny ? 4 : 1024;
    ec.l2_cache_entries = tiny ? 2 : 64;
    ec.parse.verify_ipv4_checksum = ec.parse.verify_tcp_checksum = !(cfg & fuzz::kCfgNoChecksums);
    ec.checksum_offload = cfg & fuzz::kCfgChecksumOffload;
    ec.timer_budget = 8;
    ec.timer_slots = 256;  // 1 s span: long delays take extra turns, which the wheel must handle
    // Listener tables are immutable and shared, as in the appliance: build each variant once.
    static std::shared_ptr<const ListenerTable> tables[256];
    std::vector<ListenerConfig> ls(2);
    for (int i = 0; i < 2; ++i) {
        ls[i].family = i ? net::Family::kIpv6 : net::Family::kIpv4;
        ls[i].port = 80;
        const uint8_t m = cfg & fuzz::kCfgCookieModeMask;
        ls[i].cookie_mode = m == 0 ? CookieMode::kNever : m == 2 ? CookieMode::kAlways : CookieMode::kAuto;
        ls[i].backlog = tiny ? 2 : 64;
        ls[i].max_half_open = tiny ? 2 : 64;
        ls[i].mss = i ? 1440 : 1460;
        ls[i].rst_on_invalid_ack = cfg & fuzz::kCfgRstOnInvalid;
        ls[i].abort_on_overflow = cfg & fuzz::kCfgAbortOnOverflow;
    }
    cookie::SecretConfig sc;
    sc.prf = cookie::best_prf();
    sc.master.fill(7);
    uint64_t now = kT0;
    if (!tables[cfg]) tables[cfg] = std::make_shared<const ListenerTable>(ls);
    Worker w(ec, tables[cfg], sc, now);
    Pool pool;
    auto out = std::make_unique<BurstOutput>();

    std::vector<std::vector<uint8_t>> frames;  // storage for this burst
    std::vector<net::Packet> burst;
    std::vector<std::vector<uint8_t>> echoes;
    auto run_burst = [&](uint8_t advance) {
        for (auto& e : echoes) {
            frames.push_back(e);
            frames.back().resize(kRoom);
            burst.push_back(net::Packet{frames.back().data(), static_cast<uint16_t>(e.size()), kRoom, 0, 0, nullptr});
        }
        echoes.clear();
        size_t done = 0;
        while (done < burst.size()) {
            out->clear();
            const uint32_t n = w.process_burst({burst.data() + done, burst.size() - done}, now, *out);
            if (n == 0) fail();
            if (out->n_tx + out->n_drop + out->n_pass + out->n_flow + out->n_established != n) fail();
            check_tx(*out, ec.checksum_offload);
            if (cfg & fuzz::kCfgEchoAcks) {
                for (uint32_t i = 0; i < out->n_tx; ++i) {
                    std::vector<uint8_t> f(kRoom);
                    const uint16_t len = net::write_client_ack(out->tx[i], f.data(), kRoom);
                    if (len) {
                        f.resize(len);
                        echoes.push_back(std::move(f));
                    }
                }
            }
            done += n;
        }
        now += uint64_t{advance} * 250'000'000;
        out->clear();
        w.run_timers(now, pool, *out);
        check_tx(*out, ec.checksum_offload);
        Connection c;
        for (uint16_t l = 0; l < 2; ++l)
            while (w.accept(l, c)) {
                if (c.payload_offset + c.payload_len > c.packet.len) fail();
                if (c.flow & 1) w.forget_flow(c.flow);
            }
        if (!partition_holds(w.counters())) fail();  // every frame counted in exactly one outcome
        burst.clear();
        frames.clear();
    };

    size_t i = 1;
    frames.reserve(600);
    while (i + 3 <= size) {
        const uint8_t op = data[i];
        const size_t len = data[i + 1] | static_cast<size_t>(data[i + 2]) << 8;
        i += 3;
        const size_t take = std::min(len, size - i);
        frames.emplace_back(data + i, data + i + take);
        frames.back().resize(kRoom);
        burst.push_back(net::Packet{frames.back().data(), static_cast<uint16_t>(std::min<size_t>(take, kRoom)), kRoom,
                                    static_cast<uint16_t>(op >> 7), 0, nullptr});
        i += take;
        if ((op & 1) || burst.size() >= 512) run_burst(static_cast<uint8_t>(op >> 1));
    }
    run_burst(4);
    run_burst(40);  // let timers retransmit and expire
    for (int k = 0; k < 30; ++k) run_burst(127);
    return 0;
}
