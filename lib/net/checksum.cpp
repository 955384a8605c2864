#include "net/checksum.hpp"

#include <cstring>

namespace synwall::net {

uint64_t checksum_partial(std::span<const uint8_t> data, uint64_t initial) noexcept {
    // Sum big-endian 16-bit words. Summing native 32-bit loads and byte-swapping the folded
    // result is equivalent (RFC 1071 §2(B), byte-order independence); we stay explicit instead:
    // each 32-bit load is swapped so the running sum is always in network order.
    uint64_t sum = initial;
    const uint8_t* p = data.data();
    size_t n = data.size();
    while (n >= 16) {
        uint32_t w[4];
        std::memcpy(w, p, 16);
        sum += __builtin_bswap32(w[0]);
        sum += __builtin_bswap32(w[1]);
        sum += __builtin_bswap32(w[2]);
        sum += __builtin_bswap32(w[3]);
        p += 16;
        n -= 16;
    }
    while (n >= 4) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        sum += __builtin_bswap32(w);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        sum += static_cast<uint32_t>((p[0] << 8) | p[1]);
        p += 2;
        n -= 2;
    }
    if (n == 1) sum += static_cast<uint32_t>(p[0] << 8);
    return sum;
}

uint64_t pseudo_header_v4(const uint8_t* src4, const uint8_t* dst4, uint32_t l4_len) noexcept {
    uint64_t sum = checksum_partial({src4, 4});
    sum = checksum_partial({dst4, 4}, sum);
    return sum + 6u /* IPPROTO_TCP */ + l4_len;
}

uint64_t pseudo_header_v6(const uint8_t* src16, const uint8_t* dst16, uint32_t l4_len) noexcept {
    uint64_t sum = checksum_partial({src16, 16});
    sum = checksum_partial({dst16, 16}, sum);
    return sum + 6u + l4_len;
}

}  // namespace synwall::net
