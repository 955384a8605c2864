// How does the half-open table (IPv4 requests: 12-byte keys, 48-byte entries) behave from 1k to 10M entries? Insert+erase churn at a given fill,
// and lookups of present keys one at a time (dependent on memory latency) and in bursts of 32 with
// the buckets prefetched first (as the worker does).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>

#include "bench_keys.hpp"
#include "handshake/request_table.hpp"
#include "table/flow_table.hpp"

using namespace synwall;
using table::FlowKeyV4;
using Table = table::FlowTable<handshake::RequestTable::EntryV4>;

namespace {

FlowKeyV4 key_of(uint64_t i) { return table::narrow_v4(bench::key_of(i)); }

struct Filled {
    std::unique_ptr<Table> t;
    uint64_t n;
};

// Cached between benchmark runs: filling 10M entries takes seconds.
Filled& filled(uint64_t n) {
    static Filled cache{nullptr, 0};
    if (cache.n != n) {
        cache.t.reset();
        cache.t = std::make_unique<Table>(static_cast<uint32_t>(n + n / 8 + 64));
        for (uint64_t i = 0; i < n; ++i)
            if (cache.t->insert(key_of(i)) == Table::kNone) std::abort();
        cache.n = n;
    }
    return cache;
}

}  // namespace

static void BM_HalfOpenFind(benchmark::State& state) {
    const uint64_t n = static_cast<uint64_t>(state.range(0));
    Table& t = *filled(n).t;
    std::mt19937_64 rng(5);
    std::vector<FlowKeyV4> probe(1 << 16);
    for (auto& k : probe) k = key_of(rng() % n);
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(t.find(probe[i]));
        i = (i + 1) & (probe.size() - 1);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HalfOpenFind)->Arg(1000)->Arg(1'000'000)->Arg(10'000'000);

static void BM_HalfOpenFindBurst32(benchmark::State& state) {
    const uint64_t n = static_cast<uint64_t>(state.range(0));
    Table& t = *filled(n).t;
    std::mt19937_64 rng(6);
    std::vector<FlowKeyV4> probe(1 << 16);
    for (auto& k : probe) k = key_of(rng() % n);
    size_t i = 0;
    Table::Hash h[32];
    for (auto _ : state) {
        // Three stages, as a burst allows: buckets, then entries, then compare.
        for (int j = 0; j < 32; ++j) {
            h[j] = t.hash(probe[i + j]);
            t.prefetch(h[j]);
        }
        for (int j = 0; j < 32; ++j) t.prefetch_entry(h[j]);
        for (int j = 0; j < 32; ++j) benchmark::DoNotOptimize(t.find(probe[i + j], h[j]));
        i = (i + 32) & (probe.size() - 1);
    }
    state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_HalfOpenFindBurst32)->Arg(1000)->Arg(1'000'000)->Arg(10'000'000);

static void BM_HalfOpenInsertErase(benchmark::State& state) {
    const uint64_t n = static_cast<uint64_t>(state.range(0));
    Table& t = *filled(n).t;
    uint64_t next = n, refused = 0;
    for (auto _ : state) {
        const uint32_t idx = t.insert(key_of(next++ + (1ull << 32)));
        benchmark::DoNotOptimize(idx);
        if (idx == Table::kNone) {  // both buckets full (the table is at 2/3 of its slots)
            ++refused;
            continue;
        }
        t.erase(idx);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["refused"] = benchmark::Counter(static_cast<double>(refused), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_HalfOpenInsertErase)->Arg(1000)->Arg(1'000'000)->Arg(10'000'000);

BENCHMARK_MAIN();
