#include "packet_factory.hpp"

#include <arpa/inet.h>

#include <stdexcept>

namespace synwall::testing {
namespace {

void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x >> 8));
    v.push_back(static_cast<uint8_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
    put16(v, static_cast<uint16_t>(x >> 16));
    put16(v, static_cast<uint16_t>(x));
}
void add(std::vector<uint8_t>& v, std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) v.push_back(b);  // (vector::insert of a list trips a GCC 12 false warning)
}
void set16(std::vector<uint8_t>& v, size_t off, uint16_t x) {
    v[off] = static_cast<uint8_t>(x >> 8);
    v[off + 1] = static_cast<uint8_t>(x);
}

}  // namespace

std::array<uint8_t, 16> v4(const std::string& dotted) {
    std::array<uint8_t, 16> a{};
    if (inet_pton(AF_INET, dotted.c_str(), a.data()) != 1) throw std::invalid_argument(dotted);
    return a;
}

std::array<uint8_t, 16> v6(const std::string& text) {
    std::array<uint8_t, 16> a{};
    if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1) throw std::invalid_argument(text);
    return a;
}

std::vector<uint8_t> tcp_options(const OptionSpec& o) {
    std::vector<uint8_t> v;
    if (o.mss >= 0) {
        add(v, {2, 4});
        put16(v, static_cast<uint16_t>(o.mss));
    }
    if (o.sack) add(v, {4, 2});
    if (o.ts) {
        add(v, {8, 10});
        put32(v, o.tsval);
        put32(v, o.tsecr);
    }
    if (o.wscale >= 0) add(v, {1, 3, 3, static_cast<uint8_t>(o.wscale)});
    if (o.tfo) add(v, {34, 2});
    return v;
}

uint16_t ref_checksum(const uint8_t* p, size_t n, uint32_t initial) {
    uint32_t sum = initial;
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

namespace {

uint32_t pseudo_sum(bool v6, const uint8_t* src, const uint8_t* dst, size_t tcp_len) {
    uint32_t sum = 0;
    const size_t alen = v6 ? 16 : 4;
    for (size_t i = 0; i < alen; i += 2) sum += static_cast<uint32_t>(src[i] << 8 | src[i + 1]);
    for (size_t i = 0; i < alen; i += 2) sum += static_cast<uint32_t>(dst[i] << 8 | dst[i + 1]);
    sum += 6;
    sum += static_cast<uint32_t>(tcp_len);
    return sum;
}

}  // namespace

std::vector<uint8_t> build_frame(const SegmentSpec& s) {
    std::vector<uint8_t> f;
    f.insert(f.end(), s.dst_mac.begin(), s.dst_mac.end());
    f.insert(f.end(), s.src_mac.begin(), s.src_mac.end());
    for (size_t i = 0; i < s.vlans.size(); ++i) {
        put16(f, s.vlans.size() == 2 && i == 0 ? 0x88a8 : 0x8100);
        put16(f, s.vlans[i]);
    }
    const bool is6 = s.fam == Fam::v6;
    put16(f, is6 ? 0x86dd : 0x0800);
    const size_t l3 = f.size();

    std::vector<uint8_t> tcp;
    std::vector<uint8_t> opts = s.tcp_options;
    while (opts.size() % 4) opts.push_back(0);
    put16(tcp, s.sport);
    put16(tcp, s.dport);
    put32(tcp, s.seq);
    put32(tcp, s.ack);
    tcp.push_back(static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
    tcp.push_back(s.flags);
    put16(tcp, s.window);
    put16(tcp, 0);
    put16(tcp, 0);
    tcp.insert(tcp.end(), opts.begin(), opts.end());
    tcp.insert(tcp.end(), s.payload.begin(), s.payload.end());
    uint16_t c = ref_checksum(tcp.data(), tcp.size(), pseudo_sum(is6, s.src.data(), s.dst.data(), tcp.size()));
    if (s.corrupt_tcp_checksum) c ^= 0x0101;
    set16(tcp, 16, c);

    if (!is6) {
        std::vector<uint8_t> ipo = s.ipv4_options;
        while (ipo.size() % 4) ipo.push_back(0);
        const size_t ihl = 20 + ipo.size();
        f.push_back(static_cast<uint8_t>(0x40 | ihl / 4));
        f.push_back(s.ecn & 3);
        put16(f, static_cast<uint16_t>(ihl + tcp.size()));
        put16(f, 0x1234);
        put16(f, s.ipv4_frag);
        f.push_back(s.ttl);
        f.push_back(6);
        put16(f, 0);
        f.insert(f.end(), s.src.begin(), s.src.begin() + 4);
        f.insert(f.end(), s.dst.begin(), s.dst.begin() + 4);
        f.insert(f.end(), ipo.begin(), ipo.end());
        uint16_t ic = ref_checksum(f.data() + l3, ihl);
        if (s.corrupt_ip_checksum) ic ^= 0x0101;
        set16(f, l3 + 10, ic);
    } else {
        std::vector<uint8_t> ext;
        for (size_t i = 0; i < s.ipv6_ext.size(); ++i) {
            const uint8_t next = i + 1 < s.ipv6_ext.size() ? s.ipv6_ext[i + 1].type : 6;
            const size_t len = s.ipv6_ext[i].type == 44 ? 8 : (s.ipv6_ext[i].len_units + 1u) * 8;
            const size_t at = ext.size();
            ext.resize(at + len, 0);
            ext[at] = next;
            ext[at + 1] = s.ipv6_ext[i].type == 44 ? 0 : s.ipv6_ext[i].len_units;
            if (s.ipv6_ext[i].type == 44) {
                ext[at + 2] = static_cast<uint8_t>(s.ipv6_ext[i].frag >> 8);
                ext[at + 3] = static_cast<uint8_t>(s.ipv6_ext[i].frag);
            }
            if (s.ipv6_ext[i].type == 0 || s.ipv6_ext[i].type == 60) {
                ext[at + 2] = 1;  // PadN covering the rest
                ext[at + 3] = static_cast<uint8_t>(len - 4);
            }
        }
        put32(f, 0x60000000u | uint32_t{s.ecn & 3u} << 20);
        put16(f, static_cast<uint16_t>(ext.size() + tcp.size()));
        f.push_back(s.ipv6_ext.empty() ? 6 : s.ipv6_ext[0].type);
        f.push_back(s.ttl);
        f.insert(f.end(), s.src.begin(), s.src.end());
        f.insert(f.end(), s.dst.begin(), s.dst.end());
        f.insert(f.end(), ext.begin(), ext.end());
    }
    f.insert(f.end(), tcp.begin(), tcp.end());
    if (f.size() < s.pad_to) f.resize(s.pad_to, 0);
    return f;
}

FrameView::FrameView(std::vector<uint8_t> b) : bytes(std::move(b)) {
    size_t off = 12;
    uint16_t et = be16(off);
    while (et == 0x8100 || et == 0x88a8) {
        off += 4;
        ++vlan_count;
        et = be16(off);
    }
    l3 = off + 2;
    v6 = et == 0x86dd;
    l4 = v6 ? l3 + 40 : l3 + (bytes[l3] & 15) * 4u;
}

std::vector<uint8_t> FrameView::src_addr() const {
    const size_t o = v6 ? l3 + 8 : l3 + 12;
    return {bytes.begin() + static_cast<long>(o), bytes.begin() + static_cast<long>(o + (v6 ? 16 : 4))};
}
std::vector<uint8_t> FrameView::dst_addr() const {
    const size_t o = v6 ? l3 + 24 : l3 + 16;
    return {bytes.begin() + static_cast<long>(o), bytes.begin() + static_cast<long>(o + (v6 ? 16 : 4))};
}

size_t FrameView::tcp_length() const {
    return v6 ? be16(l3 + 4) : be16(l3 + 2) - (bytes[l3] & 15) * 4u;
}

bool FrameView::ipv4_checksum_ok() const {
    return v6 || ref_checksum(bytes.data() + l3, (bytes[l3] & 15) * 4u) == 0;
}

bool FrameView::tcp_checksum_ok() const {
    const auto s = src_addr(), d = dst_addr();
    return ref_checksum(bytes.data() + l4, tcp_length(), pseudo_sum(v6, s.data(), d.data(), tcp_length())) == 0;
}

OptionSpec FrameView::options() const {
    OptionSpec o;
    const size_t end = l4 + tcp_header_len();
    for (size_t i = l4 + 20; i < end;) {
        const uint8_t k = bytes[i];
        if (k == 0) break;
        if (k == 1) {
            ++i;
            continue;
        }
        const uint8_t len = bytes[i + 1];
        if (k == 2) o.mss = be16(i + 2);
        if (k == 3) o.wscale = bytes[i + 2];
        if (k == 4) o.sack = true;
        if (k == 8) {
            o.ts = true;
            o.tsval = be32(i + 2);
            o.tsecr = be32(i + 6);
        }
        if (k == 34) o.tfo = true;
        i += len;
    }
    return o;
}

bool FrameView::has_option(uint8_t kind) const {
    const size_t end = l4 + tcp_header_len();
    for (size_t i = l4 + 20; i < end;) {
        const uint8_t k = bytes[i];
        if (k == 0) return false;
        if (k == kind) return true;
        i += k == 1 ? 1 : bytes[i + 1];
    }
    return false;
}

}  // namespace synwall::testing
