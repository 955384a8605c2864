// What does the engine spend per packet, through the same burst entry point as the dataplane?
//   SYN -> cookie SYN-ACK          (cookie mode, the flood path)
//   SYN -> stateful SYN-ACK        (SYN queue, RFC 6528 ISN, timer armed)
//   cookie ACK -> established      (validated, flow indexed, queued for accept; drain included)
//   forged ACK -> rejected         (an ACK flood: validation fails)
// Frames are restored from pristine copies before each burst (what the NIC's DMA does);
// BM_RestoreFramesOnly measures that copy alone so it can be subtracted.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <span>

#include "bench_frames.hpp"
#include "net/checksum.hpp"

using namespace synwall;
using namespace synwall::handshake;

namespace {

constexpr size_t kBurst = 32;
constexpr size_t kDistinct = 4096;

std::shared_ptr<const ListenerTable> one_listener(bool v6, CookieMode mode, uint32_t max_half_open = 4096) {
    ListenerConfig l;
    l.family = v6 ? net::Family::kIpv6 : net::Family::kIpv4;
    l.port = 80;
    l.cookie_mode = mode;
    l.mss = v6 ? 1440 : 1460;
    l.max_half_open = max_half_open;
    return std::make_shared<ListenerTable>(std::vector<ListenerConfig>{l});
}

bench::FrameSet syn_frames(bool v6, size_t n, uint32_t salt = 0) {
    bench::FrameSet fs;
    for (size_t i = 0; i < n; ++i) fs.add(testing::build_frame(bench::linux_syn(v6, static_cast<uint32_t>(i) + salt)));
    return fs;
}

// Moves each untagged IPv4 SYN's source port on by `round`, fixing the TCP checksum incrementally:
// the same frames give new tuples, round after round.
void move_source_ports(std::span<net::Packet> pk, uint32_t round) {
    for (auto& p : pk) {
        const uint16_t old = static_cast<uint16_t>(p.data[34] << 8 | p.data[35]);
        const uint16_t sport = static_cast<uint16_t>(old + round);
        p.data[34] = static_cast<uint8_t>(sport >> 8);
        p.data[35] = static_cast<uint8_t>(sport);
        const uint16_t c = static_cast<uint16_t>(p.data[50] << 8 | p.data[51]);
        const uint16_t nc = net::checksum_update16(c, old, sport);
        p.data[50] = static_cast<uint8_t>(nc >> 8);
        p.data[51] = static_cast<uint8_t>(nc);
    }
}

}  // namespace

static void BM_RestoreFramesOnly(benchmark::State& state) {
    auto fs = syn_frames(state.range(0), kDistinct);
    size_t at = 0;
    for (auto _ : state) {
        auto pk = fs.reset(at, kBurst);
        benchmark::DoNotOptimize(pk.data());
        at = (at + kBurst) % kDistinct;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_RestoreFramesOnly)->Arg(0)->Arg(1);

// range(2) = 1: the NIC verifies received checksums and completes ours (rx flags, tx offload).
static void BM_SynToCookieSynAck(benchmark::State& state) {
    const bool v6 = state.range(0);
    const auto prf = static_cast<cookie::PrfKind>(state.range(1));
    const bool offload = state.range(2);
    if (!cookie::prf_available(prf)) return state.SkipWithError("CPU lacks the feature");
    EngineConfig ec;
    ec.checksum_offload = offload;
    Worker w(ec, one_listener(v6, CookieMode::kAlways), bench::bench_secrets(prf), bench::kBenchT0);
    auto fs = syn_frames(v6, kDistinct);
    auto out = std::make_unique<BurstOutput>();
    size_t at = 0;
    const uint16_t rx_flags = offload ? net::kRxIpChecksumGood | net::kRxL4ChecksumGood : 0;
    for (auto _ : state) {
        out->clear();
        auto pk = fs.reset(at, kBurst);
        for (auto& p : pk) p.flags = rx_flags;
        bench::timed_burst(w, pk, bench::kBenchT0, *out);
        benchmark::DoNotOptimize(out->tx[0].data);
        at = (at + kBurst) % kDistinct;
    }
    if (w.counters()[kSyncookiesSent] != state.iterations() * kBurst) state.SkipWithError("not every SYN got a cookie");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
    state.SetLabel(std::string(v6 ? "ipv6 " : "ipv4 ") + std::string(cookie::to_string(prf)) +
                   (offload ? ", checksums offloaded" : ", checksums in software"));
}
BENCHMARK(BM_SynToCookieSynAck)
    ->Args({0, static_cast<int>(cookie::PrfKind::kVaes), 0})
    ->Args({0, static_cast<int>(cookie::PrfKind::kVaes), 1})
    ->Args({0, static_cast<int>(cookie::PrfKind::kAesNi), 0})
    ->Args({0, static_cast<int>(cookie::PrfKind::kAesNi), 1})
    ->Args({0, static_cast<int>(cookie::PrfKind::kSipHash), 0})
    ->Args({1, static_cast<int>(cookie::PrfKind::kVaes), 0})
    ->Args({1, static_cast<int>(cookie::PrfKind::kVaes), 1});

static void BM_SynToStatefulSynAck(benchmark::State& state) {
    // Every SYN is new: 2^21 distinct tuples, a table that holds them all, fixed iterations.
    constexpr uint32_t kCap = 1u << 21;
    EngineConfig ec;
    ec.half_open_capacity = kCap;
    Worker w(ec, one_listener(false, CookieMode::kNever, kCap), bench::bench_secrets(cookie::best_prf()), bench::kBenchT0);
    bench::FrameSet fs;
    for (uint32_t i = 0; i < kDistinct; ++i) fs.add(testing::build_frame(bench::linux_syn(false, i)));
    auto out = std::make_unique<BurstOutput>();
    uint32_t round = 0;
    size_t at = 0;
    for (auto _ : state) {
        auto pk = fs.reset(at, kBurst);
        move_source_ports(pk, round);  // a new client port per round keeps every tuple fresh
        out->clear();
        bench::timed_burst(w, pk, bench::kBenchT0, *out);
        benchmark::DoNotOptimize(out->tx[0].data);
        at += kBurst;
        if (at == kDistinct) {
            at = 0;
            ++round;
        }
    }
    if (w.counters()[kSynAckSent] != state.iterations() * kBurst) {
        static std::string why;
        why = "SYNs were not all queued: sent " + std::to_string(w.counters()[kSynAckSent]) + " of " +
              std::to_string(state.iterations() * kBurst) + ", ReqQFullDrop " + std::to_string(w.counters()[kReqQFullDrop]) +
              ", resent " + std::to_string(w.counters()[kSynAckResent]) + ", challenge " +
              std::to_string(w.counters()[kChallengeAcks]) + ", bad csum " +
              std::to_string(w.counters()[parse_counter(net::ParseStatus::kBadTcpChecksum)]);
        state.SkipWithError(why.c_str());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_SynToStatefulSynAck)->Iterations((1u << 21) / kBurst - 64);

namespace {

// Feeds SYNs with tuples new to one worker: kDistinct client addresses, the source port moved on
// by one per pass over them, as BM_SynToStatefulSynAck does.
struct FreshSyns {
    bench::FrameSet fs = syn_frames(false, kDistinct);
    uint32_t round = 0;
    size_t at = 0;

    // n SYNs (a multiple of kBurst) through w; returns the nanoseconds spent in the engine.
    uint64_t feed(Worker& w, size_t n, BurstOutput& out) {
        uint64_t ns = 0;
        for (size_t done = 0; done < n; done += kBurst) {
            auto pk = fs.reset(at, kBurst);
            move_source_ports(pk, round);
            out.clear();
            const auto t0 = std::chrono::steady_clock::now();
            bench::timed_burst(w, pk, bench::kBenchT0, out);
            ns += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
            at += kBurst;
            if (at == kDistinct) {
                at = 0;
                ++round;
            }
        }
        return ns;
    }
};

}  // namespace

// Does a full SYN queue slow the stateful SYN path? SYN -> stateful SYN-ACK into a table of 2^24
// requests' capacity (scripts/bench.sh's fill run) that holds under 2M requests ("empty") and one
// that holds 9.4M-10.7M, in alternating blocks of 64k SYNs: the machine's drift hits both sides of
// each pair alike, and the ratio is taken per adjacent pair. Counters: ns per SYN on each side
// (medians) and the rate ratio full / empty (median, min, max over the pairs).
static void BM_StatefulSynFillRatio(benchmark::State& state) {
    constexpr uint32_t kCap = 1u << 24;
    constexpr size_t kBlock = 65536, kPairs = 20, kEmptyMax = 2'000'000;
    constexpr size_t kFill = 9'400'000 / kBurst * kBurst;
    EngineConfig ec;
    ec.half_open_capacity = kCap;
    const auto listeners = one_listener(false, CookieMode::kNever, kCap);
    const auto secrets = bench::bench_secrets(cookie::best_prf());
    auto out = std::make_unique<BurstOutput>();
    std::vector<double> empty_ns, full_ns, ratio;
    for (auto _ : state) {
        auto full = std::make_unique<Worker>(ec, listeners, secrets, bench::kBenchT0);
        FreshSyns full_syns;
        full_syns.feed(*full, kFill, *out);
        std::unique_ptr<Worker> empty;
        FreshSyns empty_syns;
        for (size_t p = 0; p < kPairs; ++p) {
            if (!empty || empty->half_open() + kBlock > kEmptyMax) {
                empty.reset();
                empty = std::make_unique<Worker>(ec, listeners, secrets, bench::kBenchT0);
                empty_syns = FreshSyns{};
            }
            uint64_t e, f;
            if (p % 2 == 0) {
                e = empty_syns.feed(*empty, kBlock, *out);
                f = full_syns.feed(*full, kBlock, *out);
            } else {
                f = full_syns.feed(*full, kBlock, *out);
                e = empty_syns.feed(*empty, kBlock, *out);
            }
            empty_ns.push_back(static_cast<double>(e) / kBlock);
            full_ns.push_back(static_cast<double>(f) / kBlock);
            ratio.push_back(static_cast<double>(e) / static_cast<double>(f));
        }
        const uint64_t want = kFill + kPairs * kBlock;
        if (full->half_open() != want || full->counters()[kSynAckSent] != want)
            return state.SkipWithError("the full table refused SYNs");
        state.counters["fill_at_end"] = full->half_open();
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    state.counters["ns_per_syn_empty"] = median(empty_ns);
    state.counters["ns_per_syn_full"] = median(full_ns);
    state.counters["rate_ratio_full_to_empty"] = median(ratio);
    state.counters["ratio_min"] = *std::min_element(ratio.begin(), ratio.end());
    state.counters["ratio_max"] = *std::max_element(ratio.begin(), ratio.end());
}
BENCHMARK(BM_StatefulSynFillRatio)->Iterations(1)->Unit(benchmark::kMillisecond);

namespace {

// Valid cookie ACKs, as clients would send them, minted by a worker with the same secrets.
std::vector<std::vector<uint8_t>> cookie_acks(bool v6, cookie::PrfKind prf, size_t n) {
    Worker minter(EngineConfig{}, one_listener(v6, CookieMode::kAlways), bench::bench_secrets(prf), bench::kBenchT0);
    std::vector<std::vector<uint8_t>> acks;
    auto out = std::make_unique<BurstOutput>();
    for (size_t i = 0; i < n; ++i) {
        auto s = bench::linux_syn(v6, static_cast<uint32_t>(i));
        auto f = testing::build_frame(s);
        f.resize(256);
        net::Packet p{f.data(), static_cast<uint16_t>(f.size()), 256, 0, 0, nullptr};
        p.len = static_cast<uint16_t>(testing::build_frame(s).size());
        out->clear();
        minter.process_burst({&p, 1}, bench::kBenchT0, *out);
        const testing::FrameView r({out->tx[0].data, out->tx[0].data + out->tx[0].len});
        s.flags = 0x10;
        s.seq += 1;
        s.ack = r.seq() + 1;
        s.tcp_options = bench::linux_ack_options(5, r.options().tsval);
        acks.push_back(testing::build_frame(s));
    }
    return acks;
}

}  // namespace

static void BM_CookieAckToEstablished(benchmark::State& state) {
    const bool v6 = state.range(0);
    const auto prf = cookie::best_prf();
    Worker w(EngineConfig{}, one_listener(v6, CookieMode::kAlways), bench::bench_secrets(prf), bench::kBenchT0);
    bench::FrameSet fs;
    for (auto& a : cookie_acks(v6, prf, kDistinct)) fs.add(a);
    auto pk = fs.reset(0, kDistinct);
    std::vector<net::Packet> all(pk.begin(), pk.end());
    auto out = std::make_unique<BurstOutput>();
    size_t at = 0;
    Connection c;
    for (auto _ : state) {
        out->clear();
        bench::timed_burst(w, {all.data() + at, kBurst}, bench::kBenchT0, *out);
        while (w.accept(0, c)) w.forget_flow(c.flow);  // the application's side, included
        at = (at + kBurst) % kDistinct;
    }
    if (w.counters()[kSyncookiesRecv] != state.iterations() * kBurst) state.SkipWithError("not every ACK validated");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
    state.SetLabel(std::string(v6 ? "ipv6 " : "ipv4 ") + std::string(cookie::to_string(prf)) + ", accept+forget included");
}
BENCHMARK(BM_CookieAckToEstablished)->Arg(0)->Arg(1);

static void BM_ForgedAckRejected(benchmark::State& state) {
    const auto prf = cookie::best_prf();
    Worker w(EngineConfig{}, one_listener(false, CookieMode::kAlways), bench::bench_secrets(prf), bench::kBenchT0);
    bench::FrameSet fs;
    std::mt19937 rng(3);
    for (size_t i = 0; i < kDistinct; ++i) {
        auto s = bench::linux_syn(false, static_cast<uint32_t>(i));
        s.flags = 0x10;
        s.ack = static_cast<uint32_t>(rng());
        s.tcp_options.clear();
        fs.add(testing::build_frame(s));
    }
    auto pk = fs.reset(0, kDistinct);
    std::vector<net::Packet> all(pk.begin(), pk.end());
    auto out = std::make_unique<BurstOutput>();
    size_t at = 0;
    for (auto _ : state) {
        out->clear();
        bench::timed_burst(w, {all.data() + at, kBurst}, bench::kBenchT0, *out);
        at = (at + kBurst) % kDistinct;
    }
    if (w.counters()[kSyncookiesFailed] != state.iterations() * kBurst) state.SkipWithError("forgeries validated");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_ForgedAckRejected);

BENCHMARK_MAIN();
