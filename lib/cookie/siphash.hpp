// SipHash-2-4 (Aumasson and Bernstein, 2012): the portable keyed PRF, used where AES-NI is absent
// and for key derivation (so that derivation is the same on every CPU).
#pragma once

#include <cstddef>
#include <cstdint>

namespace synwall::cookie {

struct SipKey {
    uint64_t k0 = 0, k1 = 0;  // the 16 key bytes read little-endian, as in the paper
    static SipKey from_bytes(const uint8_t key[16]) noexcept;
};

uint64_t siphash24(const SipKey& key, const void* data, size_t len) noexcept;

}  // namespace synwall::cookie
