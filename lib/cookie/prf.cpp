#include "cookie/prf.hpp"

#include <algorithm>
#include <cstring>

namespace synwall::cookie {
namespace {

constexpr size_t kChunk = 64;

inline uint32_t first32(const uint8_t* block) {
    uint32_t v;
    std::memcpy(&v, block, 4);
    return v;
}

}  // namespace

std::string_view to_string(PrfKind k) noexcept {
    switch (k) {
    case PrfKind::kVaes: return "vaes";
    case PrfKind::kAesNi: return "aesni";
    case PrfKind::kSipHash: return "siphash";
    }
    return "?";
}

std::optional<PrfKind> prf_kind_from_string(std::string_view s) noexcept {
    if (s == "vaes") return PrfKind::kVaes;
    if (s == "aesni") return PrfKind::kAesNi;
    if (s == "siphash") return PrfKind::kSipHash;
    return std::nullopt;
}

bool prf_available(PrfKind k) noexcept {
    switch (k) {
    case PrfKind::kVaes: return vaes_available();
    case PrfKind::kAesNi: return aes_ni_available();
    case PrfKind::kSipHash: return true;
    }
    return false;
}

PrfKind best_prf() noexcept {
    if (vaes_available()) return PrfKind::kVaes;
    if (aes_ni_available()) return PrfKind::kAesNi;
    return PrfKind::kSipHash;
}

PrfKey::PrfKey(PrfKind k, const uint8_t key[16]) noexcept : kind(k), sip(SipKey::from_bytes(key)) {
    if (k != PrfKind::kSipHash) aes128_expand_key(key, aes);
}

void prf_v4(const PrfKey& key, const MacMsgV4* msgs, uint32_t* out, size_t n) noexcept {
    if (key.kind == PrfKind::kSipHash) {
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint32_t>(siphash24(key.sip, msgs[i].b, 16));
        return;
    }
    alignas(64) uint8_t tags[kChunk][16];
    for (size_t base = 0; base < n; base += kChunk) {
        const size_t m = std::min(kChunk, n - base);
        if (key.kind == PrfKind::kVaes)
            aes128_encrypt_vaes(key.aes, msgs[base].b, tags[0], m);
        else
            aes128_encrypt_aesni(key.aes, msgs[base].b, tags[0], m);
        for (size_t i = 0; i < m; ++i) out[base + i] = first32(tags[i]);
    }
}

void prf_v6(const PrfKey& key, const MacMsgV6* msgs, uint32_t* out, size_t n) noexcept {
    if (key.kind == PrfKind::kSipHash) {
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint32_t>(siphash24(key.sip, msgs[i].b, 48));
        return;
    }
    alignas(64) uint8_t tags[kChunk][16];
    for (size_t base = 0; base < n; base += kChunk) {
        const size_t m = std::min(kChunk, n - base);
        aes128_cbcmac_aesni(key.aes, msgs[base].b, 3, tags[0], m);
        for (size_t i = 0; i < m; ++i) out[base + i] = first32(tags[i]);
    }
}

}  // namespace synwall::cookie
