// What do timer start, cancel and expire cost, with 1M timers running?
#include <benchmark/benchmark.h>

#include <vector>

#include "timer/timer_wheel.hpp"

using synwall::timer::TimerWheel;

// The tick comes from the configuration at run time, as in the worker: hidden from the optimiser
// here, or it turns the wheel's divisions by the tick into multiplications the worker never gets.
uint64_t runtime_tick() {
    uint64_t tick = 1'000'000'000 / 256;
    benchmark::DoNotOptimize(tick);
    return tick;
}
const uint64_t kTick = runtime_tick();

static void BM_TimerStartCancel(benchmark::State& state) {
    TimerWheel w(2'000'000, kTick, 16384, 0);
    for (uint32_t i = 0; i < 1'000'000; ++i) w.start(0, (1 + i % 60) * 1'000'000'000ull, i);
    uint64_t i = 0;
    for (auto _ : state) {
        const auto h = w.start(0, 1'000'000'000ull + (i++ & 0xffff) * kTick, 7);
        w.cancel(h);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerStartCancel);

static void BM_TimerExpire(benchmark::State& state) {
    // 1M timers spread over 4 s; expire them in steps of one tick, budget 256.
    std::vector<uint32_t> out(256);
    uint64_t expired = 0;
    for (auto _ : state) {
        state.PauseTiming();
        TimerWheel w(1'000'000, kTick, 16384, 0);
        for (uint32_t i = 0; i < 1'000'000; ++i) w.start(0, (i % 1024) * kTick, i);
        state.ResumeTiming();
        for (uint64_t t = 0; t <= 1024 * kTick; t += kTick)
            while (uint32_t n = w.expire(t, out.data(), 256)) expired += n;
    }
    state.SetItemsProcessed(static_cast<int64_t>(expired));
}
BENCHMARK(BM_TimerExpire)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
