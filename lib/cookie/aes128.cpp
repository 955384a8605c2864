#include "cookie/aes128.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#define SYNWALL_AES __attribute__((target("aes,sse4.2")))
#define SYNWALL_VAES __attribute__((target("aes,sse4.2,avx2,avx512f,vaes")))
#define SYNWALL_VAES256 __attribute__((target("aes,sse4.2,avx2,vaes")))

namespace synwall::cookie {
namespace {

SYNWALL_AES inline __m128i expand_step(__m128i key, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

struct RoundKeys {
    __m128i k[11];
};

SYNWALL_AES inline RoundKeys load_keys(const Aes128Key& key) {
    RoundKeys r;
    for (int i = 0; i < 11; ++i)
        r.k[i] = _mm_load_si128(reinterpret_cast<const __m128i*>(key.round_keys[i]));
    return r;
}

SYNWALL_AES inline __m128i encrypt1(const RoundKeys& rk, __m128i x) {
    x = _mm_xor_si128(x, rk.k[0]);
    for (int r = 1; r < 10; ++r) x = _mm_aesenc_si128(x, rk.k[r]);
    return _mm_aesenclast_si128(x, rk.k[10]);
}

// Eight independent blocks in flight: AESENC has a latency of several cycles but a throughput of
// one or two per cycle, so interleaving hides the latency.
SYNWALL_AES inline void encrypt8(const RoundKeys& rk, __m128i* x) {
    for (int j = 0; j < 8; ++j) x[j] = _mm_xor_si128(x[j], rk.k[0]);
    for (int r = 1; r < 10; ++r)
        for (int j = 0; j < 8; ++j) x[j] = _mm_aesenc_si128(x[j], rk.k[r]);
    for (int j = 0; j < 8; ++j) x[j] = _mm_aesenclast_si128(x[j], rk.k[10]);
}

}  // namespace

// CPUID directly (GCC and clang disagree on __builtin_cpu_supports feature names).
bool aes_ni_available() noexcept {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c & bit_AES) && (c & bit_SSE4_2);
}

namespace {

// XCR0: which register state the OS saves (bits 1, 2: SSE, AVX; 5, 6, 7: AVX-512).
unsigned xcr0() noexcept {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo;
}

}  // namespace

bool vaes_available() noexcept {
    unsigned a, b, c, d;
    if (!aes_ni_available() || !__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return false;
    if ((xcr0() & 0x6) != 0x6) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & bit_AVX2) && (c & bit_VAES);
}

bool vaes_avx512_available() noexcept {
    unsigned a, b, c, d;
    if (!vaes_available() || (xcr0() & 0xe6) != 0xe6 || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & bit_AVX512F) != 0;
}

SYNWALL_AES void aes128_expand_key(const uint8_t key[16], Aes128Key& out) noexcept {
    __m128i k[11];
    k[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
    // aeskeygenassist needs an immediate round constant.
    k[1] = expand_step(k[0], _mm_aeskeygenassist_si128(k[0], 0x01));
    k[2] = expand_step(k[1], _mm_aeskeygenassist_si128(k[1], 0x02));
    k[3] = expand_step(k[2], _mm_aeskeygenassist_si128(k[2], 0x04));
    k[4] = expand_step(k[3], _mm_aeskeygenassist_si128(k[3], 0x08));
    k[5] = expand_step(k[4], _mm_aeskeygenassist_si128(k[4], 0x10));
    k[6] = expand_step(k[5], _mm_aeskeygenassist_si128(k[5], 0x20));
    k[7] = expand_step(k[6], _mm_aeskeygenassist_si128(k[6], 0x40));
    k[8] = expand_step(k[7], _mm_aeskeygenassist_si128(k[7], 0x80));
    k[9] = expand_step(k[8], _mm_aeskeygenassist_si128(k[8], 0x1b));
    k[10] = expand_step(k[9], _mm_aeskeygenassist_si128(k[9], 0x36));
    for (int i = 0; i < 11; ++i) _mm_store_si128(reinterpret_cast<__m128i*>(out.round_keys[i]), k[i]);
}

SYNWALL_AES void aes128_encrypt_aesni(const Aes128Key& key, const uint8_t* in, uint8_t* out,
                                      size_t n) noexcept {
    const RoundKeys rk = load_keys(key);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i x[8];
        for (int j = 0; j < 8; ++j) x[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + (i + j) * 16));
        encrypt8(rk, x);
        for (int j = 0; j < 8; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (i + j) * 16), x[j]);
    }
    for (; i < n; ++i) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i * 16));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i * 16), encrypt1(rk, x));
    }
}

void aes128_encrypt_vaes(const Aes128Key& key, const uint8_t* in, uint8_t* out, size_t n) noexcept {
    static const bool zmm = vaes_avx512_available();
    if (zmm)
        aes128_encrypt_vaes512(key, in, out, n);
    else
        aes128_encrypt_vaes256(key, in, out, n);
}

SYNWALL_VAES256 void aes128_encrypt_vaes256(const Aes128Key& key, const uint8_t* in, uint8_t* out,
                                            size_t n) noexcept {
    __m256i rk[11];
    for (int r = 0; r < 11; ++r)
        rk[r] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(key.round_keys[r])));
    size_t i = 0;
    // Eight ymm registers of two blocks each: sixteen blocks in flight, as the AVX-512 path.
    for (; i + 16 <= n; i += 16) {
        __m256i x[8];
        for (int j = 0; j < 8; ++j)
            x[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + (i + 2 * j) * 16)), rk[0]);
        for (int r = 1; r < 10; ++r)
            for (int j = 0; j < 8; ++j) x[j] = _mm256_aesenc_epi128(x[j], rk[r]);
        for (int j = 0; j < 8; ++j)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (i + 2 * j) * 16), _mm256_aesenclast_epi128(x[j], rk[10]));
    }
    for (; i + 2 <= n; i += 2) {
        __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i * 16)), rk[0]);
        for (int r = 1; r < 10; ++r) x = _mm256_aesenc_epi128(x, rk[r]);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i * 16), _mm256_aesenclast_epi128(x, rk[10]));
    }
    if (i < n) aes128_encrypt_aesni(key, in + i * 16, out + i * 16, n - i);
}

SYNWALL_VAES void aes128_encrypt_vaes512(const Aes128Key& key, const uint8_t* in, uint8_t* out,
                                         size_t n) noexcept {
    __m512i rk[11];
    for (int r = 0; r < 11; ++r)
        rk[r] = _mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(key.round_keys[r])));
    size_t i = 0;
    // Four zmm registers of four blocks each: sixteen blocks in flight.
    for (; i + 16 <= n; i += 16) {
        __m512i x[4];
        for (int j = 0; j < 4; ++j) x[j] = _mm512_xor_si512(_mm512_loadu_si512(in + (i + 4 * j) * 16), rk[0]);
        for (int r = 1; r < 10; ++r)
            for (int j = 0; j < 4; ++j) x[j] = _mm512_aesenc_epi128(x[j], rk[r]);
        for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + (i + 4 * j) * 16, _mm512_aesenclast_epi128(x[j], rk[10]));
    }
    for (; i + 4 <= n; i += 4) {
        __m512i x = _mm512_xor_si512(_mm512_loadu_si512(in + i * 16), rk[0]);
        for (int r = 1; r < 10; ++r) x = _mm512_aesenc_epi128(x, rk[r]);
        _mm512_storeu_si512(out + i * 16, _mm512_aesenclast_epi128(x, rk[10]));
    }
    if (i < n) aes128_encrypt_aesni(key, in + i * 16, out + i * 16, n - i);
}

SYNWALL_AES void aes128_cbcmac_aesni(const Aes128Key& key, const uint8_t* msgs, size_t blocks,
                                     uint8_t* tags, size_t n) noexcept {
    const RoundKeys rk = load_keys(key);
    const size_t stride = blocks * 16;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i x[8];
        for (int j = 0; j < 8; ++j) x[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(msgs + (i + j) * stride));
        encrypt8(rk, x);
        for (size_t b = 1; b < blocks; ++b) {
            for (int j = 0; j < 8; ++j)
                x[j] = _mm_xor_si128(x[j], _mm_loadu_si128(reinterpret_cast<const __m128i*>(msgs + (i + j) * stride + b * 16)));
            encrypt8(rk, x);
        }
        for (int j = 0; j < 8; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(tags + (i + j) * 16), x[j]);
    }
    for (; i < n; ++i) {
        __m128i x = encrypt1(rk, _mm_loadu_si128(reinterpret_cast<const __m128i*>(msgs + i * stride)));
        for (size_t b = 1; b < blocks; ++b)
            x = encrypt1(rk, _mm_xor_si128(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(msgs + i * stride + b * 16))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(tags + i * 16), x);
    }
}

}  // namespace synwall::cookie
