// The connection key: client address and port, server address and port. IPv4 addresses are stored
// v4-mapped (::ffff:a.b.c.d) so that both families share one 36-byte key and never collide (the
// parser rejects v4-mapped addresses inside IPv6 packets).
#pragma once

#include <nmmintrin.h>

#include <cstdint>
#include <cstring>

#include "net/parser.hpp"

namespace synwall::table {

struct FlowKey {
    uint8_t client[16];
    uint8_t server[16];
    uint16_t client_port;  // host order
    uint16_t server_port;

    friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
        return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
    }
    bool is_v4() const noexcept {
        uint64_t lo;
        uint32_t mid;
        std::memcpy(&lo, client, 8);
        std::memcpy(&mid, client + 8, 4);
        return lo == 0 && mid == 0xffff0000u;
    }
    net::Family family() const noexcept { return is_v4() ? net::Family::kIpv4 : net::Family::kIpv6; }
    // Address bytes as they appear on the wire (4 or 16 bytes).
    const uint8_t* client_addr() const noexcept { return is_v4() ? client + 12 : client; }
    const uint8_t* server_addr() const noexcept { return is_v4() ? server + 12 : server; }
};
static_assert(sizeof(FlowKey) == 36);

inline void store_addr(uint8_t dst[16], net::Family f, const uint8_t* a) noexcept {
    if (f == net::Family::kIpv4) {
        std::memset(dst, 0, 10);
        dst[10] = dst[11] = 0xff;
        std::memcpy(dst + 12, a, 4);
    } else {
        std::memcpy(dst, a, 16);
    }
}

// Key of the connection a packet from the client belongs to (client = the packet's source).
inline FlowKey key_from_client_packet(const net::ParsedPacket& p) noexcept {
    FlowKey k;
    store_addr(k.client, p.family, p.src_addr);
    store_addr(k.server, p.family, p.dst_addr);
    k.client_port = p.src_port;
    k.server_port = p.dst_port;
    return k;
}

// Key of the connection a packet from the server belongs to (server = the packet's source).
inline FlowKey key_from_server_packet(const net::ParsedPacket& p) noexcept {
    FlowKey k;
    store_addr(k.client, p.family, p.dst_addr);
    store_addr(k.server, p.family, p.src_addr);
    k.client_port = p.dst_port;
    k.server_port = p.src_port;
    return k;
}

// The key of an IPv4 client's segment built from registers, with its hash_key(): the same bytes
// and value as key_from_client_packet() and hash_key(), without storing the key narrowly and
// loading it back wide (a store-forwarding stall per packet).
__attribute__((target("sse4.2"))) inline uint32_t make_key_v4(uint32_t client, uint32_t server, uint16_t client_port,
                                                              uint16_t server_port, FlowKey& k) noexcept {
    // Bytes 8..15 of a v4-mapped address (00 00 ff ff a b c d), little-endian; bytes 0..7 are 0.
    const uint64_t c = 0xffff0000ull | uint64_t{client} << 32;
    const uint64_t s = 0xffff0000ull | uint64_t{server} << 32;
    const uint32_t ports = uint32_t{client_port} | uint32_t{server_port} << 16;
    const uint64_t zero = 0;
    std::memcpy(k.client, &zero, 8);
    std::memcpy(k.client + 8, &c, 8);
    std::memcpy(k.server, &zero, 8);
    std::memcpy(k.server + 8, &s, 8);
    std::memcpy(&k.client_port, &ports, 4);
    uint64_t h = _mm_crc32_u64(0xffffffffu, 0);
    h = _mm_crc32_u64(h, c);
    h = _mm_crc32_u64(h, 0);
    h = _mm_crc32_u64(h, s);
    return _mm_crc32_u32(static_cast<uint32_t>(h), ports);
}

// An IPv4 connection key in 12 bytes: what a half-open IPv4 request stores (a FlowKey holds the
// same four fields v4-mapped in 36). Addresses in wire byte order, ports in host order; hash_key()
// of it equals hash_key() of the FlowKey it narrows, so one CRC serves tables of either key.
struct FlowKeyV4 {
    uint32_t client, server;
    uint16_t client_port, server_port;

    friend bool operator==(const FlowKeyV4& a, const FlowKeyV4& b) noexcept {
        return std::memcmp(&a, &b, sizeof(FlowKeyV4)) == 0;
    }
};
static_assert(sizeof(FlowKeyV4) == 12);

// The IPv4 key of a v4-mapped FlowKey (k.is_v4()).
inline FlowKeyV4 narrow_v4(const FlowKey& k) noexcept {
    FlowKeyV4 n;
    std::memcpy(&n.client, k.client + 12, 4);
    std::memcpy(&n.server, k.server + 12, 4);
    n.client_port = k.client_port;
    n.server_port = k.server_port;
    return n;
}

inline FlowKey widen(const FlowKeyV4& n) noexcept {
    FlowKey k;
    store_addr(k.client, net::Family::kIpv4, reinterpret_cast<const uint8_t*>(&n.client));
    store_addr(k.server, net::Family::kIpv4, reinterpret_cast<const uint8_t*>(&n.server));
    k.client_port = n.client_port;
    k.server_port = n.server_port;
    return k;
}

__attribute__((target("sse4.2"))) inline uint32_t hash_key(const FlowKeyV4& n) noexcept {
    FlowKey unused;
    return make_key_v4(n.client, n.server, n.client_port, n.server_port, unused);
}

// CRC32C of the key (SSE4.2). Linear and forgeable: it only spreads keys over buckets; an attacker
// who crafts collisions fills at most two buckets, and the tables bound their probing (see
// flow_table.hpp), so the worst case is a refused insert (cookie fallback), never a long scan.
__attribute__((target("sse4.2"))) inline uint32_t hash_key(const FlowKey& k) noexcept {
    uint64_t w[4];
    uint32_t tail;
    std::memcpy(w, &k, 32);
    std::memcpy(&tail, reinterpret_cast<const uint8_t*>(&k) + 32, 4);
    uint64_t h = 0xffffffffu;
    h = _mm_crc32_u64(h, w[0]);
    h = _mm_crc32_u64(h, w[1]);
    h = _mm_crc32_u64(h, w[2]);
    h = _mm_crc32_u64(h, w[3]);
    return _mm_crc32_u32(static_cast<uint32_t>(h), tail);
}

}  // namespace synwall::table
