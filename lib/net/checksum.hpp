// Internet checksum (RFC 1071) with incremental update (RFC 1624), and the TCP pseudo-headers.
//
// All functions are pure over byte spans. Sums are carried in 64 bits and folded at the end;
// results are returned in host order, ready for store_be16().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace synwall::net {

// Ones'-complement sum of `data` added to `initial` (not folded, not inverted).
uint64_t checksum_partial(std::span<const uint8_t> data, uint64_t initial = 0) noexcept;

// Fold a partial sum to 16 bits (not inverted).
inline uint16_t checksum_fold(uint64_t sum) noexcept {
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<uint16_t>(sum);
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

// Pseudo-header partial sums (RFC 9293 §3.1 and RFC 8200 §8.1). `l4_len` is the TCP length.
uint64_t pseudo_header_v4(const uint8_t* src4, const uint8_t* dst4, uint32_t l4_len) noexcept;
uint64_t pseudo_header_v6(const uint8_t* src16, const uint8_t* dst16, uint32_t l4_len) noexcept;

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
