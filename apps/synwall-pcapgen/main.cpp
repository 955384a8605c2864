// synwall-pcapgen: writes flood pcaps for net_pcap replay and testpmd (spoofed sources from a
// prefix; SYN, ACK, RST and SYN-ACK floods mixed by weight; Linux-like, MSS-only, no or mixed
// options; IPv4 or IPv6), and the malformed-traffic corpus (--kind malformed: every frame broken
// in one way, gen/malformed_writer.hpp). Large files are generated in parallel (oneTBB) in fixed
// chunks, each from its own seed, so the output is the same whatever the thread count.
// --manifest writes what the file holds as JSON: frames per kind and, for the malformed corpus,
// per synwall counter that must count them (what a replay test compares with synwall's counters).
//
//   synwall-pcapgen --out FILE [--kind flood|malformed] [--count N] [--family 4|6] [--src PREFIX]
//                   [--dst ADDR] [--dport P] [--mix syn=70,ack=20,rst=10,synack=0,frag=0]
//                   [--options linux|mss|none|mixed] [--seed S] [--manifest FILE]
// Defaults: 65536 IPv4 SYNs from 198.18.0.0/15 (RFC 2544 benchmarking range) to 203.0.113.10:80.
#include <tbb/parallel_for.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "synwall_version.hpp"
#include "gen/flood_writer.hpp"
#include "gen/malformed_writer.hpp"
#include "gen/splitmix64.hpp"
#include "net/parser.hpp"
#include "net/syn_writer.hpp"

using namespace synwall;

namespace {

constexpr const char* kUsage =
    "usage: synwall-pcapgen --out FILE [--kind flood|malformed] [--count N] [--family 4|6] [--src PREFIX] [--dst ADDR]\n"
    "                       [--dport P] [--mix syn=70,ack=20,rst=10,synack=0,frag=0] [--options linux|mss|none|mixed]\n"
    "                       [--seed S] [--manifest FILE]\n"
    "\n"
    "Writes a pcap of flood frames (for net_pcap replay) or of the malformed-frame corpus.\n"
    "  -h, --help   this text; --version: the version\n";

int usage(const std::string& why) {
    std::fprintf(stderr, "synwall-pcapgen: %s\n%s", why.c_str(), kUsage);
    return 2;
}

void put32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void put16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }

constexpr uint64_t kChunk = 65536;  // frames per parallel task (and per seed)
static_assert(gen::kFloodKinds <= gen::kMalformations, "per-chunk counts are kept in one array for both kinds");

// A frame from the first and from the last source address to the target parses as TCP: the
// malformed corpus promises one defect per frame, so the addresses must not be a second one.
bool addresses_taken(const gen::FloodSpec& spec) {
    for (const uint64_t i : {uint64_t{0}, spec.src.size() - 1}) {
        net::SynSpec s;
        s.family = spec.src.family;
        spec.src.at(i, s.src.data());
        s.dst = spec.dst;
        s.dst_port = spec.dport;
        uint8_t f[net::kMaxSynFrame];
        const uint16_t n = net::write_syn(s, f, sizeof f);
        if (n == 0 || !net::parse({f, n}).ok()) return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string out, src, dst, options, mix, kind = "flood", manifest;
    uint64_t count = 65536, seed = 1;
    int family = 4;
    unsigned long dport = 80;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--version") {
            std::printf("%s %s\n", "synwall-pcapgen", SYNWALL_VERSION);
            return 0;
        }
        if (i + 1 >= argc) return usage("missing value for " + a);
        const std::string v = argv[++i];
        try {
            if (a == "--out") out = v;
            else if (a == "--count") count = std::stoull(v);
            else if (a == "--family") family = std::stoi(v);
            else if (a == "--src") src = v;
            else if (a == "--dst") dst = v;
            else if (a == "--dport") dport = std::stoul(v);
            else if (a == "--mix") mix = v;
            else if (a == "--options") options = v;
            else if (a == "--seed") seed = std::stoull(v);
            else if (a == "--kind") kind = v;
            else if (a == "--manifest") manifest = v;
            else return usage("unknown option " + a);
        } catch (const std::exception&) {
            return usage("bad value for " + a + ": " + v);
        }
    }
    if (out.empty()) return usage("--out is required");
    if (family != 4 && family != 6) return usage("--family must be 4 or 6");
    if (kind != "flood" && kind != "malformed") return usage("--kind must be flood or malformed");
    const bool malformed = kind == "malformed";
    if (malformed && (!mix.empty() || !options.empty()))
        return usage("--mix and --options are for floods: malformed frames are SYNs with Linux's options");
    if (mix.empty()) mix = "syn";
    if (options.empty()) options = "linux";
    if (count == 0 || dport == 0 || dport > 65535) return usage("--count and --dport must be positive (dport <= 65535)");
    gen::FloodSpec spec;
    if (!gen::parse_option_set(options, spec.options)) return usage("--options must be linux, mss, none or mixed");
    std::string err;
    if (!gen::parse_mix(mix, spec.weights, err)) return usage("--mix: " + err);
    if (src.empty()) src = family == 4 ? "198.18.0.0/15" : "2001:db8:ffff::/48";
    if (dst.empty()) dst = family == 4 ? "203.0.113.10" : "2001:db8:2::10";
    if (!gen::parse_range(src, spec.src, err)) return usage("--src: " + err);
    net::Family dfam;
    if (!gen::parse_address(dst, dfam, spec.dst)) return usage("bad --dst " + dst);
    if (spec.src.family != dfam || (family == 4) != (dfam == net::Family::kIpv4))
        return usage("--src, --dst and --family must be of one family");
    spec.dport = static_cast<uint16_t>(dport);
    if (malformed && !addresses_taken(spec))
        return usage("--src/--dst: synwall refuses these addresses (multicast, broadcast, loopback...), so the "
                     "frames would not have one defect each");

    // Each chunk of kChunk frames is rendered (pcap record headers included) by its own task, and
    // counts its frames by kind.
    const uint64_t chunks = (count + kChunk - 1) / kChunk;
    std::vector<std::string> parts(chunks);
    std::vector<std::array<uint64_t, gen::kMalformations>> kinds(chunks);
    tbb::parallel_for(uint64_t{0}, chunks, [&](uint64_t c) {
        // Seeds of distinct (seed, chunk) pairs are unrelated (a plain seed * k + c would make
        // --seed S + 2 the frames of --seed S shifted by one).
        const uint64_t chunk_seed = gen::SplitMix64(gen::SplitMix64(seed).next() ^ c).next();
        gen::FloodWriter flood(spec, chunk_seed);
        gen::MalformedWriter broken(spec, chunk_seed);
        std::string& b = parts[c];
        const uint64_t first = c * kChunk, last = std::min(count, first + kChunk);
        b.reserve((last - first) * (16 + gen::kMaxMalformedFrame));
        uint8_t frame[gen::kMaxMalformedFrame];
        for (uint64_t i = first; i < last; ++i) {
            uint16_t len;
            if (malformed) {
                gen::Malformation m;
                len = broken.write(frame, sizeof frame, m);
                ++kinds[c][static_cast<size_t>(m)];
            } else {
                gen::FloodKind k;
                len = flood.write(frame, sizeof frame, k);
                ++kinds[c][static_cast<size_t>(k)];
            }
            put32(b, static_cast<uint32_t>(i / 1'000'000));
            put32(b, static_cast<uint32_t>(i % 1'000'000));
            put32(b, len);
            put32(b, len);
            b.append(reinterpret_cast<const char*>(frame), len);
        }
    });
    std::ofstream f(out, std::ios::binary);
    if (!f) return usage("cannot write " + out);
    std::string header;
    put32(header, 0xa1b2c3d4);  // pcap, microsecond timestamps
    put16(header, 2);
    put16(header, 4);
    put32(header, 0);
    put32(header, 0);
    put32(header, 65535);
    put32(header, 1);  // Ethernet
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const std::string& p : parts) f.write(p.data(), static_cast<std::streamsize>(p.size()));
    if (!f.flush()) return usage("write failed: " + out);
    if (!manifest.empty()) {
        std::array<uint64_t, gen::kMalformations> total{};
        for (const auto& k : kinds)
            for (size_t i = 0; i < total.size(); ++i) total[i] += k[i];
        std::map<std::string, uint64_t> by_kind, by_counter;
        for (size_t i = 0; i < (malformed ? gen::kMalformations : gen::kFloodKinds); ++i) {
            if (total[i] == 0) continue;
            if (malformed) {
                const auto m = static_cast<gen::Malformation>(i);
                by_kind[std::string(gen::to_string(m))] += total[i];
                by_counter[std::string(net::to_string(gen::expected_status(m)))] += total[i];
            } else {
                by_kind[std::string(gen::to_string(static_cast<gen::FloodKind>(i)))] += total[i];
            }
        }
        auto object = [](const std::map<std::string, uint64_t>& m) {
            std::string j = "{";
            for (const auto& [k, v] : m) j += (j.size() > 1 ? ", \"" : "\"") + k + "\": " + std::to_string(v);
            return j + "}";
        };
        std::ofstream mf(manifest);
        mf << "{\n  \"kind\": \"" << kind << "\",\n  \"family\": " << family << ",\n  \"frames\": " << count
           << ",\n  \"by_kind\": " << object(by_kind) << ",\n  \"by_counter\": " << object(by_counter) << "\n}\n";
        if (!mf.flush()) return usage("write failed: " + manifest);
    }
    std::printf("synwall-pcapgen: wrote %lu IPv%d frames (%s) from %s to %s:%lu (%s options) to %s\n",
                static_cast<unsigned long>(count), family, malformed ? "malformed" : mix.c_str(), src.c_str(), dst.c_str(), dport,
                malformed ? "linux" : options.c_str(), out.c_str());
    return 0;
}
