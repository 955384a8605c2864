// synwall-pcapgen: writes a SYN-flood pcap (spoofed sources from a prefix, Linux-like options).
//
//   synwall-pcapgen --out FILE [--count N] [--family 4|6] [--src PREFIX] [--dst ADDR] [--dport P]
//                   [--options linux|mss|none] [--seed S]
// Defaults: 65536 IPv4 SYNs from 198.18.0.0/15 (RFC 2544 benchmarking range) to 203.0.113.10:80.
#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "net/byte_order.hpp"
#include "net/syn_writer.hpp"

using namespace synwall;

namespace {

int usage(const std::string& why) {
    std::fprintf(stderr,
                 "synwall-pcapgen: %s\nusage: synwall-pcapgen --out FILE [--count N] [--family 4|6] [--src PREFIX] "
                 "[--dst ADDR] [--dport P] [--options linux|mss|none] [--seed S]\n",
                 why.c_str());
    return 2;
}

void put32(std::ofstream& f, uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); }
void put16(std::ofstream& f, uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); }

}  // namespace

int main(int argc, char** argv) {
    std::string out, src, dst, options = "linux";
    uint64_t count = 65536, seed = 1;
    int family = 4;
    unsigned dport = 80;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage("missing value for " + a);
        const std::string v = argv[++i];
        try {
            if (a == "--out") out = v;
            else if (a == "--count") count = std::stoull(v);
            else if (a == "--family") family = std::stoi(v);
            else if (a == "--src") src = v;
            else if (a == "--dst") dst = v;
            else if (a == "--dport") dport = static_cast<unsigned>(std::stoul(v));
            else if (a == "--options") options = v;
            else if (a == "--seed") seed = std::stoull(v);
            else return usage("unknown option " + a);
        } catch (const std::exception&) {
            return usage("bad value for " + a + ": " + v);
        }
    }
    if (out.empty()) return usage("--out is required");
    if (family != 4 && family != 6) return usage("--family must be 4 or 6");
    if (count == 0 || dport == 0 || dport > 65535) return usage("--count and --dport must be positive (dport <= 65535)");
    if (options != "linux" && options != "mss" && options != "none") return usage("--options must be linux, mss or none");
    const int af = family == 4 ? AF_INET : AF_INET6;
    if (src.empty()) src = family == 4 ? "198.18.0.0/15" : "2001:db8:ffff::/48";
    if (dst.empty()) dst = family == 4 ? "203.0.113.10" : "2001:db8:2::10";
    const auto slash = src.find('/');
    const std::string src_addr = src.substr(0, slash);
    const int plen = slash == std::string::npos ? (family == 4 ? 32 : 128) : std::atoi(src.c_str() + slash + 1);
    net::SynSpec s;
    s.family = family == 4 ? net::Family::kIpv4 : net::Family::kIpv6;
    if (inet_pton(af, src_addr.c_str(), s.src.data()) != 1 || plen < 0 || plen > (family == 4 ? 32 : 128))
        return usage("bad --src " + src);
    if (inet_pton(af, dst.c_str(), s.dst.data()) != 1) return usage("bad --dst " + dst);
    s.dst_port = static_cast<uint16_t>(dport);
    if (options != "linux") {
        s.sack = s.timestamps = false;
        s.wscale = -1;
        if (options == "none") s.mss = 0;
    }
    const std::array<uint8_t, 16> base = s.src;
    const int alen = family == 4 ? 4 : 16;

    std::ofstream f(out, std::ios::binary);
    if (!f) return usage("cannot write " + out);
    put32(f, 0xa1b2c3d4);  // pcap, microsecond timestamps
    put16(f, 2);
    put16(f, 4);
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, 1);  // Ethernet
    std::mt19937_64 rng(seed);
    uint8_t frame[net::kMaxSynFrame];
    for (uint64_t i = 0; i < count; ++i) {
        const uint64_t r = rng();
        // Host bits of the source prefix, the port and the ISN all random.
        s.src = base;
        uint64_t host = rng();
        for (int b = alen * 8 - 1; b >= plen; --b, host >>= 1)
            if (host & 1) s.src[b / 8] = static_cast<uint8_t>(s.src[b / 8] | (0x80 >> (b % 8)));
        s.src_port = static_cast<uint16_t>(1024 + r % 64512);
        s.seq = static_cast<uint32_t>(r >> 16);
        s.tsval = static_cast<uint32_t>(r >> 32);
        const uint16_t len = net::write_syn(s, frame, sizeof frame);
        put32(f, static_cast<uint32_t>(i / 1'000'000));
        put32(f, static_cast<uint32_t>(i % 1'000'000));
        put32(f, len);
        put32(f, len);
        f.write(reinterpret_cast<const char*>(frame), len);
    }
    if (!f.flush()) return usage("write failed: " + out);
    std::printf("synwall-pcapgen: wrote %lu IPv%d SYNs from %s to %s:%u (%s options) to %s\n",
                static_cast<unsigned long>(count), family, src.c_str(), dst.c_str(), dport, options.c_str(), out.c_str());
    return 0;
}
