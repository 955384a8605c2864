// The keyed PRF behind SYN cookies and ISNs, chosen once at start-up:
//   kVaes    AES-128, sixteen blocks in flight with VAES (on AVX-512 registers, or on AVX2 ones
//            where the CPU has VAES without AVX-512)
//   kAesNi   AES-128, eight blocks in flight with AES-NI
//   kSipHash SipHash-2-4, portable fallback
// kVaes and kAesNi compute the same function; kSipHash a different one, so appliances that must
// agree on cookies (docs/scale-out.md) pin `cookie.prf` in their configuration.
//
// Messages are fixed-size: 16 bytes for IPv4 tuples (one AES block), 48 bytes for IPv6 tuples
// (three-block CBC-MAC with its own key, so the two lengths never share a key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "cookie/aes128.hpp"
#include "cookie/siphash.hpp"

namespace synwall::cookie {

enum class PrfKind : uint8_t { kVaes, kAesNi, kSipHash };

std::string_view to_string(PrfKind k) noexcept;
std::optional<PrfKind> prf_kind_from_string(std::string_view s) noexcept;  // vaes|aesni|siphash
bool prf_available(PrfKind k) noexcept;
PrfKind best_prf() noexcept;  // VAES, else AES-NI, else SipHash

struct PrfKey {
    PrfKind kind = PrfKind::kSipHash;
    Aes128Key aes{};  // expanded only for the AES kinds
    SipKey sip{};

    PrfKey() = default;
    PrfKey(PrfKind k, const uint8_t key[16]) noexcept;
};

struct alignas(16) MacMsgV4 {
    uint8_t b[16];
};
struct alignas(16) MacMsgV6 {
    uint8_t b[48];
};

// out[i] = first 32 bits (little-endian) of PRF(key, msgs[i]).
void prf_v4(const PrfKey& key, const MacMsgV4* msgs, uint32_t* out, size_t n) noexcept;
void prf_v6(const PrfKey& key, const MacMsgV6* msgs, uint32_t* out, size_t n) noexcept;

}  // namespace synwall::cookie
