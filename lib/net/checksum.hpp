// Internet checksum (RFC 1071) with incremental update (RFC 1624), and the TCP pseudo-headers.
//
// Partial sums are kept in the machine's word order: 64-bit little-endian loads added with
// end-around carry, which RFC 1071 §2(B) allows (the ones'-complement sum is byte-order
// independent: swap once at the end). checksum_fold() does that swap, so every 16-bit value these
// functions return is in host order of the big-endian wire field, ready for store_be16().
// Pure functions over byte spans; inline because they sit on the per-packet path.
#pragma once

#include <smmintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace synwall::net {

namespace detail {
inline uint64_t add_carry(uint64_t sum, uint64_t w) noexcept {
    uint64_t r;
    return __builtin_add_overflow(sum, w, &r) ? r + 1 : r;
}
}  // namespace detail

// Ones'-complement sum of `data` added to the partial sum `initial` (not folded, not inverted).
// `data` must start at an even offset of the checksummed region (true of every header).
inline uint64_t checksum_partial(std::span<const uint8_t> data, uint64_t initial = 0) noexcept {
    uint64_t sum = initial;
    const uint8_t* p = data.data();
    size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        sum = detail::add_carry(sum, w);
    }
    if (n >= 4) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        sum = detail::add_carry(sum, w);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum = detail::add_carry(sum, w);
        p += 2;
        n -= 2;
    }
    if (n) sum = detail::add_carry(sum, p[0]);  // odd byte: the high half of a big-endian word
    return sum;
}

// The same for a header (`n` a multiple of 4): 32-bit words added into 64 bits, where no carry
// can be lost (n < 2^34), so there is no end-around carry to chain: the adds run in parallel.
// 16 bytes at a time (SSE4.1): four 32-bit words widened to 64-bit lanes and added.
inline uint64_t checksum_words32(const uint8_t* p, size_t n, uint64_t initial = 0) noexcept {
    __m128i acc = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        acc = _mm_add_epi64(acc, _mm_cvtepu32_epi64(x));
        acc = _mm_add_epi64(acc, _mm_cvtepu32_epi64(_mm_unpackhi_epi64(x, x)));
    }
    uint64_t sum = initial + static_cast<uint64_t>(_mm_cvtsi128_si64(acc)) + static_cast<uint64_t>(_mm_extract_epi64(acc, 1));
    for (; i < n; i += 4) {
        uint32_t w;
        std::memcpy(&w, p + i, 4);
        sum += w;
    }
    return sum;
}

// Fold a partial sum to 16 bits (not inverted), in host order of the big-endian field.
// Folding with end-around carries maps a nonzero sum to the value in [1, 0xffff] congruent to it
// modulo 0xffff (2^16 = 1), and 0 to 0: computed here as such, one multiply instead of four folds.
inline uint16_t checksum_fold(uint64_t sum) noexcept {
    const uint64_t folded = sum == 0 ? 0 : (sum - 1) % 0xffff + 1;
    return __builtin_bswap16(static_cast<uint16_t>(folded));
}

// Final checksum field value: ~fold(sum).
inline uint16_t checksum_finish(uint64_t sum) noexcept {
    return static_cast<uint16_t>(~checksum_fold(sum));
}

// IPv4 header checksum over `header` (IHL*4 bytes, checksum field included as it is).
// A header whose stored checksum is correct yields 0.
inline uint16_t ipv4_header_checksum(std::span<const uint8_t> header) noexcept {
    return checksum_finish(checksum_partial(header));
}

// Pseudo-header partial sums (RFC 9293 §3.1 and RFC 8200 §8.1). `l4_len` is the TCP length
// (at most 65535).
inline uint64_t pseudo_header_v4(const uint8_t* src4, const uint8_t* dst4, uint32_t l4_len) noexcept {
    uint32_t s, d;
    std::memcpy(&s, src4, 4);
    std::memcpy(&d, dst4, 4);
    return uint64_t{s} + d + (6u << 8) + __builtin_bswap16(static_cast<uint16_t>(l4_len));
}
inline uint64_t pseudo_header_v6(const uint8_t* src16, const uint8_t* dst16, uint32_t l4_len) noexcept {
    uint64_t sum = checksum_partial({src16, 16});
    sum = checksum_partial({dst16, 16}, sum);
    return detail::add_carry(sum, (6u << 8) + __builtin_bswap16(static_cast<uint16_t>(l4_len)));
}

// RFC 1624 eqn. 3: new checksum after a 16-bit field changes from `old_field` to `new_field`.
inline uint16_t checksum_update16(uint16_t checksum, uint16_t old_field, uint16_t new_field) noexcept {
    uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_field) + new_field;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// The same for a 32-bit field (sequence numbers, addresses).
inline uint16_t checksum_update32(uint16_t checksum, uint32_t old_field, uint32_t new_field) noexcept {
    checksum = checksum_update16(checksum, static_cast<uint16_t>(old_field >> 16),
                                 static_cast<uint16_t>(new_field >> 16));
    return checksum_update16(checksum, static_cast<uint16_t>(old_field),
                             static_cast<uint16_t>(new_field));
}

}  // namespace synwall::net
