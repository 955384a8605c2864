// What does parsing one frame cost (Ethernet/IP/TCP/options, checksums verified or offloaded)?
#include <benchmark/benchmark.h>

#include "bench_frames.hpp"
#include "net/parser.hpp"

using namespace synwall;

static void BM_ParseSyn(benchmark::State& state) {
    const bool v6 = state.range(0);
    const bool verify = state.range(1);
    const auto f = testing::build_frame(bench::linux_syn(v6, 1));
    net::ParseConfig pc;
    pc.verify_ipv4_checksum = pc.verify_tcp_checksum = verify;
    for (auto _ : state) {
        auto p = net::parse({f.data(), f.size()}, 0, pc);
        benchmark::DoNotOptimize(p);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(v6 ? "ipv6" : "ipv4") + (verify ? " checksums verified" : " checksums offloaded"));
}
BENCHMARK(BM_ParseSyn)->ArgsProduct({{0, 1}, {0, 1}});

BENCHMARK_MAIN();
