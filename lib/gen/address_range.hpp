// An address prefix the generator draws addresses from ("198.18.0.0/15", "2001:db8:ffff::/48"):
// address i is the prefix with i in its host bits (at most the low 63 bits of the address vary).
// The same arithmetic maps an address back to its index, which is how synwall-gen recognises the
// replies to its own clients. EAL-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/parser.hpp"

namespace synwall::gen {

struct AddressRange {
    net::Family family = net::Family::kIpv4;
    std::array<uint8_t, 16> base{};  // host bits cleared; first 4 bytes for IPv4
    uint8_t prefix_len = 32;

    uint8_t addr_len() const noexcept { return family == net::Family::kIpv4 ? 4 : 16; }
    uint8_t host_bits() const noexcept;  // varying bits, at most 63
    uint64_t size() const noexcept { return uint64_t{1} << host_bits(); }
    // Address number i (taken modulo size()) into out[0, addr_len()).
    void at(uint64_t i, uint8_t* out) const noexcept;
    // The index of `addr` in this range, or -1 if it is outside.
    int64_t index_of(const uint8_t* addr) const noexcept;
};

// "A.B.C.D[/N]" or "IPV6[/N]" (no length: a single address). Returns false with `error` set.
bool parse_range(std::string_view text, AddressRange& out, std::string& error);
// A single address of either family.
bool parse_address(std::string_view text, net::Family& family, std::array<uint8_t, 16>& out);

}  // namespace synwall::gen
