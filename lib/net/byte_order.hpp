// Explicit big-endian loads and stores, and the TCP sequence-number type.
//
// Packets are byte spans: every wire field is read and written through these helpers, never by
// casting a buffer to a struct (unaligned access, aliasing and byte order are all handled here).
#pragma once

#include <cstdint>
#include <cstring>

namespace synwall::net {

inline uint16_t load_be16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
inline void store_be16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) noexcept {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
}

// Swaps an Ethernet header's destination and source MACs (bytes 0-5 and 6-11) in registers: one
// 8-byte and one 4-byte load, two stores. Going through a byte array on the stack instead has
// the CPU load 8 bytes over several narrow stores still in flight, which it cannot forward (a
// stall of a dozen cycles, a tenth of a cookie SYN's time in perf).
inline void swap_macs(uint8_t* d) noexcept {
    uint64_t a;
    uint32_t b;
    std::memcpy(&a, d, 8);      // dst0..dst5 src0 src1
    std::memcpy(&b, d + 8, 4);  // src2..src5
    const uint64_t dst = a & 0xffffffffffffull;
    const uint64_t src = a >> 48 | uint64_t{b} << 16;
    const uint64_t lo = src | dst << 48;
    const auto hi = static_cast<uint32_t>(dst >> 16);
    std::memcpy(d, &lo, 8);
    std::memcpy(d + 8, &hi, 4);
}

// A 16-bit field kept in network byte order. Comparing two Be16 needs no conversion; arithmetic
// needs value().
class Be16 {
public:
    constexpr Be16() = default;
    static constexpr Be16 from_host(uint16_t v) noexcept { return Be16(__builtin_bswap16(v)); }
    static Be16 load(const uint8_t* p) noexcept {
        uint16_t raw;
        std::memcpy(&raw, p, 2);
        return Be16(raw);
    }
    void store(uint8_t* p) const noexcept { std::memcpy(p, &raw_, 2); }
    constexpr uint16_t value() const noexcept { return __builtin_bswap16(raw_); }
    constexpr uint16_t raw() const noexcept { return raw_; }
    friend constexpr bool operator==(Be16, Be16) = default;

private:
    constexpr explicit Be16(uint16_t raw) : raw_(raw) {}
    uint16_t raw_ = 0;
};

// A TCP sequence number: modular arithmetic, comparisons that survive wrap-around (RFC 9293 §3.4).
class TcpSeq {
public:
    constexpr TcpSeq() = default;
    constexpr explicit TcpSeq(uint32_t v) : v_(v) {}
    constexpr uint32_t value() const noexcept { return v_; }
    constexpr TcpSeq operator+(uint32_t n) const noexcept { return TcpSeq(v_ + n); }
    constexpr TcpSeq operator-(uint32_t n) const noexcept { return TcpSeq(v_ - n); }
    // Signed distance from b to a.
    friend constexpr int32_t operator-(TcpSeq a, TcpSeq b) noexcept {
        return static_cast<int32_t>(a.v_ - b.v_);
    }
    friend constexpr bool operator==(TcpSeq, TcpSeq) = default;
    friend constexpr bool seq_before(TcpSeq a, TcpSeq b) noexcept { return (a - b) < 0; }
    friend constexpr bool seq_after(TcpSeq a, TcpSeq b) noexcept { return (b - a) < 0; }
    // a lies in [lo, lo + len)
    friend constexpr bool seq_in_window(TcpSeq a, TcpSeq lo, uint32_t len) noexcept {
        return a.v_ - lo.v_ < len;
    }

private:
    uint32_t v_ = 0;
};

}  // namespace synwall::net
