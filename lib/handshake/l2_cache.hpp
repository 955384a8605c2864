// Remembers the L2 headers (MACs, VLAN tags, EtherType) that SYNs arrived with, so a SYN-ACK
// retransmit, built long after the SYN's buffer was reused, goes out exactly as the first one did.
// Headers are interned: a whole flood behind one router costs one entry. 16-bit indices keep
// half-open requests within a cache line. Single owner.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace synwall::handshake {

class L2Cache {
public:
    static constexpr uint16_t kNone = 0xffff;
    static constexpr uint16_t kMaxLen = 22;  // Ethernet + two VLAN tags

    explicit L2Cache(uint32_t capacity) : entries_(capacity), index_(slots_for(capacity), kNone) {}

    // Index of the (port, header) pair, inserting it if new; kNone if too long or full.
    uint16_t intern(uint16_t port, const uint8_t* hdr, uint16_t len) noexcept {
        if (len > kMaxLen) return kNone;
        const size_t mask = index_.size() - 1;
        for (size_t s = hash(port, hdr, len) & mask, probes = 0; probes < index_.size(); s = (s + 1) & mask, ++probes) {
            const uint16_t i = index_[s];
            if (i == kNone) {
                if (used_ == entries_.size()) return kNone;
                Entry& e = entries_[used_];
                e.port = port;
                e.len = len;
                std::memcpy(e.bytes, hdr, len);
                index_[s] = static_cast<uint16_t>(used_);
                return static_cast<uint16_t>(used_++);
            }
            const Entry& e = entries_[i];
            if (e.port == port && e.len == len && std::memcmp(e.bytes, hdr, len) == 0) return i;
        }
        return kNone;
    }

    struct Entry {
        uint16_t port = 0;
        uint16_t len = 0;
        uint8_t bytes[kMaxLen] = {};
    };
    const Entry& operator[](uint16_t i) const noexcept { return entries_[i]; }
    size_t size() const noexcept { return used_; }

private:
    static size_t slots_for(uint32_t capacity) {
        size_t s = 2;
        while (s < 2 * size_t{capacity}) s <<= 1;
        return s;
    }
    static size_t hash(uint16_t port, const uint8_t* p, uint16_t len) noexcept {
        uint64_t h = 0xcbf29ce484222325ull ^ port;  // FNV-1a
        for (uint16_t i = 0; i < len; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
        return static_cast<size_t>(h);
    }

    std::vector<Entry> entries_;
    std::vector<uint16_t> index_;
    size_t used_ = 0;
};

}  // namespace synwall::handshake
