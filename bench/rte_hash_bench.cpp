// Is synwall's FlowTable worth having next to DPDK's rte_hash? The established-flow index must
// answer, for every packet of a SYN flood, "is this 4-tuple a flow?" (almost always no), and for
// an ACK that completes a handshake, insert it; both tables hold the same 36-byte keys, probed in
// bursts of 32 with their batch interfaces (FlowTable: prefetch then find, as the worker does;
// rte_hash: rte_hash_lookup_bulk), from 1k to 1M entries.
//   BM_FlowTable_Miss32 / BM_RteHash_Miss32       absent keys (the flood's SYNs)
//   BM_FlowTable_Hit32  / BM_RteHash_Hit32        present keys (an established flow's packets)
//   BM_FlowTable_InsertErase / BM_RteHash_InsertErase   one connection in, one out
#include <benchmark/benchmark.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <memory>
#include <vector>

#include "bench_eal.hpp"
#include "bench_keys.hpp"
#include "handshake/connection.hpp"
#include "table/flow_table.hpp"

using namespace synwall;
using bench::key_of;
using table::FlowKey;
using Table = table::FlowTable<handshake::Established>;

namespace {

constexpr size_t kBurst = 32;

uint32_t capacity_for(uint64_t n) { return static_cast<uint32_t>(n + n / 8 + 64); }

struct Tables {
    uint64_t n = 0;
    std::unique_ptr<Table> flow;  // established-flow index, bucket summary on (as the worker's)
    rte_hash* rte = nullptr;
};

Tables& tables(uint64_t n) {
    static Tables t;
    if (t.n == n || n == 0) return t;
    t.flow.reset();
    if (t.rte) rte_hash_free(t.rte);
    t.flow = std::make_unique<Table>(capacity_for(n), Table::Summary::kOn);
    rte_hash_parameters p{};
    p.name = "bench_flows";
    p.entries = capacity_for(n);
    p.key_len = sizeof(FlowKey);
    p.hash_func = rte_hash_crc;  // CRC32C, as FlowTable
    p.socket_id = 0;
    t.rte = rte_hash_create(&p);
    if (t.rte == nullptr) std::abort();
    for (uint64_t i = 0; i < n; ++i) {
        const FlowKey k = key_of(i);
        if (t.flow->insert(k) == Table::kNone || rte_hash_add_key(t.rte, &k) < 0) std::abort();
    }
    t.n = n;
    return t;
}

// Keys for the probes: present ones are i < n, absent ones i >= n.
std::vector<FlowKey> probe_keys(uint64_t n, bool present) {
    std::vector<FlowKey> v(4096);
    for (size_t i = 0; i < v.size(); ++i) v[i] = key_of(present ? (i * 2654435761u) % n : n + 1 + i * 7);
    return v;
}

void flow_table_lookup(benchmark::State& s, bool present) {
    const uint64_t n = static_cast<uint64_t>(s.range(0));
    Table& t = *tables(n).flow;
    const auto keys = probe_keys(n, present);
    Table::Hash h[kBurst];
    size_t at = 0, found = 0;
    for (auto _ : s) {
        for (size_t i = 0; i < kBurst; ++i) {
            h[i] = t.hash(keys[at + i]);
            t.prefetch(h[i]);
        }
        for (size_t i = 0; i < kBurst; ++i) found += t.find(keys[at + i], h[i]) != Table::kNone;
        at = (at + kBurst) % keys.size();
    }
    if (found != (present ? s.iterations() * kBurst : 0)) s.SkipWithError("wrong answers");
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * kBurst));
}

void rte_hash_lookup(benchmark::State& s, bool present) {
    const uint64_t n = static_cast<uint64_t>(s.range(0));
    rte_hash* t = tables(n).rte;
    const auto keys = probe_keys(n, present);
    const void* ptrs[kBurst];
    int32_t pos[kBurst];
    size_t at = 0, found = 0;
    for (auto _ : s) {
        for (size_t i = 0; i < kBurst; ++i) ptrs[i] = &keys[at + i];
        rte_hash_lookup_bulk(t, ptrs, kBurst, pos);
        for (size_t i = 0; i < kBurst; ++i) found += pos[i] >= 0;
        at = (at + kBurst) % keys.size();
    }
    if (found != (present ? s.iterations() * kBurst : 0)) s.SkipWithError("wrong answers");
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * kBurst));
}

}  // namespace

static void BM_FlowTable_Miss32(benchmark::State& s) { flow_table_lookup(s, false); }
static void BM_RteHash_Miss32(benchmark::State& s) { rte_hash_lookup(s, false); }
static void BM_FlowTable_Hit32(benchmark::State& s) { flow_table_lookup(s, true); }
static void BM_RteHash_Hit32(benchmark::State& s) { rte_hash_lookup(s, true); }
BENCHMARK(BM_FlowTable_Miss32)->Arg(1000)->Arg(1'000'000);
BENCHMARK(BM_RteHash_Miss32)->Arg(1000)->Arg(1'000'000);
BENCHMARK(BM_FlowTable_Hit32)->Arg(1000)->Arg(1'000'000);
BENCHMARK(BM_RteHash_Hit32)->Arg(1000)->Arg(1'000'000);

static void BM_FlowTable_InsertErase(benchmark::State& s) {
    const uint64_t n = static_cast<uint64_t>(s.range(0));
    Table& t = *tables(n).flow;
    uint64_t i = n + 100'000;
    for (auto _ : s) {
        const uint32_t idx = t.insert(key_of(i++));
        if (idx == Table::kNone) return s.SkipWithError("full");
        t.erase(idx);
    }
}
static void BM_RteHash_InsertErase(benchmark::State& s) {
    const uint64_t n = static_cast<uint64_t>(s.range(0));
    rte_hash* t = tables(n).rte;
    uint64_t i = n + 100'000;
    for (auto _ : s) {
        const FlowKey k = key_of(i++);
        if (rte_hash_add_key(t, &k) < 0) return s.SkipWithError("full");
        rte_hash_del_key(t, &k);
    }
}
BENCHMARK(BM_FlowTable_InsertErase)->Arg(1000)->Arg(1'000'000);
BENCHMARK(BM_RteHash_InsertErase)->Arg(1000)->Arg(1'000'000);

int main(int argc, char** argv) {
    synwall::bench::BenchEal eal("2048");
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    Tables& t = tables(0);  // the rte_hash lives in EAL memory: free it before the EAL goes
    if (t.rte) rte_hash_free(t.rte);
    t.rte = nullptr;
    return 0;
}
