// Which ring should carry established connections from a worker to an application lcore: the
// Boost.Lockfree SPSC queue the accept queue is (Connection by value), or DPDK's rte_ring in
// single-producer/single-consumer mode with Connection-sized elements (rte_ring_*_elem)?
//   BM_*_PushPop        one push and one pop on one thread: the cost of each side, uncontended
//   BM_*_CrossCore/N    a producer thread pushes N connections while a consumer thread drains them
//                       in bursts of 32 (as an application lcore does): connections per second
#include <benchmark/benchmark.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <thread>

#include "bench_eal.hpp"
#include "handshake/accept_queue.hpp"

using namespace synwall;
using handshake::AcceptQueue;
using handshake::Connection;

namespace {

constexpr unsigned kCapacity = 4096;  // a listen backlog
constexpr unsigned kElem = (sizeof(Connection) + 3) / 4 * 4;
static_assert(kElem == sizeof(Connection), "Connection is a whole number of 4-byte words");

Connection make(uint32_t i) {
    Connection c{};
    c.flow = i;
    c.client_isn = i * 3;
    return c;
}

rte_ring* make_ring() {
    rte_ring* r = rte_ring_create_elem("bench_accept", kElem, kCapacity, 0, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (r == nullptr) std::abort();
    return r;
}

}  // namespace

static void BM_BoostSpsc_PushPop(benchmark::State& s) {
    AcceptQueue q(kCapacity);
    Connection out;
    uint32_t i = 0;
    for (auto _ : s) {
        q.push(make(i++));
        q.pop(out);
        benchmark::DoNotOptimize(out.flow);
    }
}
BENCHMARK(BM_BoostSpsc_PushPop);

static void BM_RteRing_PushPop(benchmark::State& s) {
    rte_ring* r = make_ring();
    Connection out;
    uint32_t i = 0;
    for (auto _ : s) {
        Connection c = make(i++);  // rte_ring_enqueue_elem takes a non-const pointer
        rte_ring_enqueue_elem(r, &c, kElem);
        rte_ring_dequeue_elem(r, &out, kElem);
        benchmark::DoNotOptimize(out.flow);
    }
    rte_ring_free(r);
}
BENCHMARK(BM_RteRing_PushPop);

namespace {

// Producer on this thread, consumer on another; both spin when the ring is full / empty.
template <typename Push, typename PopBurst>
void cross_core(benchmark::State& s, Push push, PopBurst pop_burst) {
    const auto n = static_cast<uint32_t>(s.range(0));
    for (auto _ : s) {
        std::atomic<bool> bad{false};
        std::thread consumer([&] {
            // The EAL pinned this process's main thread (the producer) to CPU 0, and a new thread
            // inherits that: the consumer gets the other CPU, as an application lcore would.
            cpu_set_t cpus;
            CPU_ZERO(&cpus);
            CPU_SET(1, &cpus);
            pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
            Connection buf[32];
            uint32_t expect = 0;
            while (expect < n) {
                const unsigned got = pop_burst(buf, 32u);
                for (unsigned k = 0; k < got; ++k)
                    if (buf[k].flow != expect++) bad = true;
            }
        });
        for (uint32_t i = 0; i < n;) {
            const Connection c = make(i);
            if (push(c)) ++i;
        }
        consumer.join();
        if (bad) s.SkipWithError("connections arrived out of order or corrupted");
    }
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * n));
}

}  // namespace

static void BM_BoostSpsc_CrossCore(benchmark::State& s) {
    AcceptQueue q(kCapacity);
    cross_core(s, [&](const Connection& c) { return q.push(c); },
               [&](Connection* out, unsigned k) { return static_cast<unsigned>(q.pop(out, k)); });
}
BENCHMARK(BM_BoostSpsc_CrossCore)->Arg(1'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);

static void BM_RteRing_CrossCore(benchmark::State& s) {
    rte_ring* r = make_ring();
    cross_core(s, [&](const Connection& c) { return rte_ring_enqueue_elem(r, const_cast<Connection*>(&c), kElem) == 0; },
               [&](Connection* out, unsigned k) { return rte_ring_dequeue_burst_elem(r, out, kElem, k, nullptr); });
    rte_ring_free(r);
}
BENCHMARK(BM_RteRing_CrossCore)->Arg(1'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    synwall::bench::BenchEal eal("256");
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
