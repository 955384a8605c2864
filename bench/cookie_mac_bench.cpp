// What does the cookie MAC cost per packet, in bursts, for each PRF? CRC32C is listed as the cheap,
// forgeable reference that synwall never uses to authenticate.
#include <benchmark/benchmark.h>
#include <nmmintrin.h>

#include <cstring>
#include <random>

#include "cookie/aes128.hpp"
#include "cookie/prf.hpp"
#include "cookie/syn_cookie.hpp"

using namespace synwall::cookie;

namespace {

template <class Msg>
std::vector<Msg> random_msgs(size_t n) {
    std::vector<Msg> v(n);
    std::mt19937_64 rng(1);
    for (auto& m : v)
        for (auto& b : m.b) b = static_cast<uint8_t>(rng());
    return v;
}

void mac_bench(benchmark::State& state, PrfKind kind, bool v6) {
    if (!prf_available(kind)) {
        state.SkipWithError("CPU lacks the feature");
        return;
    }
    const size_t burst = static_cast<size_t>(state.range(0));
    const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const PrfKey k(kind, key);
    std::vector<uint32_t> out(burst);
    if (v6) {
        auto msgs = random_msgs<MacMsgV6>(burst);
        for (auto _ : state) {
            prf_v6(k, msgs.data(), out.data(), burst);
            benchmark::DoNotOptimize(out.data());
            msgs[0].b[0] ^= static_cast<uint8_t>(out[0]);
        }
    } else {
        auto msgs = random_msgs<MacMsgV4>(burst);
        for (auto _ : state) {
            prf_v4(k, msgs.data(), out.data(), burst);
            benchmark::DoNotOptimize(out.data());
            msgs[0].b[0] ^= static_cast<uint8_t>(out[0]);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
}

}  // namespace

static void BM_CookieMac_Vaes_v4(benchmark::State& s) { mac_bench(s, PrfKind::kVaes, false); }
static void BM_CookieMac_AesNi_v4(benchmark::State& s) { mac_bench(s, PrfKind::kAesNi, false); }
static void BM_CookieMac_SipHash_v4(benchmark::State& s) { mac_bench(s, PrfKind::kSipHash, false); }
static void BM_CookieMac_AesNi_v6(benchmark::State& s) { mac_bench(s, PrfKind::kAesNi, true); }
static void BM_CookieMac_SipHash_v6(benchmark::State& s) { mac_bench(s, PrfKind::kSipHash, true); }
BENCHMARK(BM_CookieMac_Vaes_v4)->Arg(1)->Arg(32);

// The two VAES widths alone, 32 blocks: AVX-512 (where the CPU has it) and 256-bit registers (the
// path of CPUs with VAES but no AVX-512).
static void vaes_width_bench(benchmark::State& state, void (*encrypt)(const Aes128Key&, const uint8_t*, uint8_t*, size_t),
                             bool needs_avx512) {
    if (!vaes_available() || (needs_avx512 && !vaes_avx512_available())) return state.SkipWithError("CPU lacks the feature");
    const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    Aes128Key k;
    aes128_expand_key(key, k);
    auto msgs = random_msgs<MacMsgV4>(32);
    alignas(64) uint8_t out[32][16];
    for (auto _ : state) {
        encrypt(k, msgs[0].b, out[0], 32);
        benchmark::DoNotOptimize(out);
        msgs[0].b[0] ^= out[0][0];
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 32));
}
static void BM_Aes_Vaes512_32(benchmark::State& s) { vaes_width_bench(s, aes128_encrypt_vaes512, true); }
static void BM_Aes_Vaes256_32(benchmark::State& s) { vaes_width_bench(s, aes128_encrypt_vaes256, false); }
BENCHMARK(BM_Aes_Vaes512_32);
BENCHMARK(BM_Aes_Vaes256_32);
BENCHMARK(BM_CookieMac_AesNi_v4)->Arg(1)->Arg(32);
BENCHMARK(BM_CookieMac_SipHash_v4)->Arg(1)->Arg(32);
BENCHMARK(BM_CookieMac_AesNi_v6)->Arg(32);
BENCHMARK(BM_CookieMac_SipHash_v6)->Arg(32);

__attribute__((target("sse4.2"))) static void BM_CookieMac_Crc32c_UnsafeReference(benchmark::State& state) {
    const size_t burst = static_cast<size_t>(state.range(0));
    auto msgs = random_msgs<MacMsgV4>(burst);
    std::vector<uint32_t> out(burst);
    for (auto _ : state) {
        for (size_t i = 0; i < burst; ++i) {
            uint64_t a, b;
            std::memcpy(&a, msgs[i].b, 8);
            std::memcpy(&b, msgs[i].b + 8, 8);
            out[i] = static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0x12345678, a), b));
        }
        benchmark::DoNotOptimize(out.data());
        msgs[0].b[0] ^= static_cast<uint8_t>(out[0]);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
}
BENCHMARK(BM_CookieMac_Crc32c_UnsafeReference)->Arg(32);

// A whole batch as the worker runs it: jobs queued one by one, then evaluated together.
static void BM_CookieMac_PrfBatch32(benchmark::State& state) {
    const uint8_t key[16] = {9};
    const PrfKey k(best_prf(), key);
    auto msgs = random_msgs<MacMsgV4>(32);
    PrfBatch batch;
    for (auto _ : state) {
        batch.clear();
        for (auto& m : msgs) batch.add_v4(&k, m);
        batch.run();
        benchmark::DoNotOptimize(batch.result(31));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 32));
    state.SetLabel(std::string(to_string(best_prf())));
}
BENCHMARK(BM_CookieMac_PrfBatch32);

BENCHMARK_MAIN();
