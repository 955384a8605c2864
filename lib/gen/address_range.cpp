#include "gen/address_range.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace synwall::gen {

uint8_t AddressRange::host_bits() const noexcept {
    const int bits = addr_len() * 8 - prefix_len;
    return static_cast<uint8_t>(bits > 63 ? 63 : bits);
}

void AddressRange::at(uint64_t i, uint8_t* out) const noexcept {
    const uint8_t len = addr_len();
    std::memcpy(out, base.data(), len);
    uint64_t v = i & (size() - 1);
    for (int b = len - 1; b >= 0 && v; --b, v >>= 8) out[b] = static_cast<uint8_t>(out[b] | (v & 0xff));
}

int64_t AddressRange::index_of(const uint8_t* addr) const noexcept {
    const uint8_t len = addr_len();
    const int fixed = len * 8 - host_bits();  // leading bits that must equal the base
    for (int bit = 0; bit < fixed; bit += 8) {
        const int n = fixed - bit >= 8 ? 8 : fixed - bit;
        const uint8_t mask = static_cast<uint8_t>(0xff00 >> n);
        if ((addr[bit / 8] & mask) != (base[bit / 8] & mask)) return -1;
    }
    uint64_t v = 0;
    for (int b = 0; b < len; ++b) v = (v << 8) | addr[b];  // the low 64 bits for IPv6
    return static_cast<int64_t>(v & (size() - 1));
}

bool parse_address(std::string_view text, net::Family& family, std::array<uint8_t, 16>& out) {
    const std::string s(text);
    out.fill(0);
    if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        family = net::Family::kIpv4;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
        family = net::Family::kIpv6;
        return true;
    }
    return false;
}

bool parse_range(std::string_view text, AddressRange& out, std::string& error) {
    const size_t slash = text.find('/');
    if (!parse_address(text.substr(0, slash), out.family, out.base)) {
        // (appended, not concatenated: GCC 12's -Wrestrict false positive, bug 105651)
        error.assign("'").append(text).append("' is not an IPv4 or IPv6 address or prefix");
        return false;
    }
    const int max = out.addr_len() * 8;
    int len = max;
    if (slash != std::string_view::npos) {
        const std::string n(text.substr(slash + 1));
        char* end = nullptr;
        const long v = std::strtol(n.c_str(), &end, 10);
        if (n.empty() || *end != '\0' || v < 0 || v > max) {
            error = "bad prefix length in '" + std::string(text) + "' (0.." + std::to_string(max) + ")";
            return false;
        }
        len = static_cast<int>(v);
    }
    out.prefix_len = static_cast<uint8_t>(len);
    for (int bit = len; bit < max; ++bit) out.base[bit / 8] = static_cast<uint8_t>(out.base[bit / 8] & ~(0x80 >> (bit % 8)));
    return true;
}

}  // namespace synwall::gen
