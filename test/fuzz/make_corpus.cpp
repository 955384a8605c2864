// Writes the fuzzer's seed corpus: valid handshakes (v4/v6, VLAN/QinQ, option mixes, every cookie
// mode) and malformed frames (each parser error), in the harness's input format (fuzz_input.hpp).
//   make_fuzz_corpus DIR
#include <algorithm>
#include <cstdio>
#include <string>

#include "../unit/packet_factory.hpp"
#include "gen/address_range.hpp"
#include "gen/malformed_writer.hpp"
#include "fuzz_input.hpp"

using namespace synwall;
namespace pf = synwall::testing;

namespace {

int written = 0;

void write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& in) {
    fuzz::write_input(dir, name, in);
    ++written;
}

pf::SegmentSpec syn(pf::Fam fam, const pf::OptionSpec& o) {
    pf::SegmentSpec s;
    s.fam = fam;
    s.src = fam == pf::Fam::v4 ? pf::v4("198.51.100.7") : pf::v6("2001:db8:1::7");
    s.dst = fam == pf::Fam::v4 ? pf::v4("203.0.113.10") : pf::v6("2001:db8:2::10");
    s.tcp_options = pf::tcp_options(o);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    const pf::OptionSpec rich{.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = 100};
    for (uint8_t mode = 0; mode < 3; ++mode)
        for (pf::Fam fam : {pf::Fam::v4, pf::Fam::v6})
            for (int vlans = 0; vlans <= 2; ++vlans) {
                // A few SYNs (one repeated), the echoed ACKs, then a RST and a data ACK.
                std::vector<uint8_t> in{static_cast<uint8_t>(mode | synwall::fuzz::kCfgEchoAcks)};
                auto s = syn(fam, rich);
                for (int v = 0; v < vlans; ++v) s.vlans.push_back(static_cast<uint16_t>(10 + v));
                for (int i = 0; i < 4; ++i) {
                    s.sport = static_cast<uint16_t>(1000 + (i % 3));
                    fuzz::append_record(in, pf::build_frame(s), i == 3);
                }
                auto r = s;
                r.flags = 0x04;
                r.seq += 1;
                fuzz::append_record(in, pf::build_frame(r), false);
                auto a = s;
                a.flags = 0x18;
                a.seq += 1;
                a.ack = 12345;
                a.payload = {'h', 'i'};
                fuzz::append_record(in, pf::build_frame(a), true, 8);
                write(dir, "handshake-m" + std::to_string(mode) + (fam == pf::Fam::v4 ? "-v4" : "-v6") + "-vlan" +
                               std::to_string(vlans),
                      in);
            }
    // Overflow paths: tiny tables, SYN floods from many ports.
    for (uint8_t mode = 0; mode < 3; ++mode) {
        std::vector<uint8_t> in{static_cast<uint8_t>(mode | synwall::fuzz::kCfgTinyTables | synwall::fuzz::kCfgEchoAcks |
                                                     synwall::fuzz::kCfgAbortOnOverflow)};
        auto s = syn(pf::Fam::v4, {.mss = 1400, .ts = true});
        for (int i = 0; i < 12; ++i) {
            s.sport = static_cast<uint16_t>(2000 + i);
            fuzz::append_record(in, pf::build_frame(s), i % 4 == 3, 1);
        }
        write(dir, "overflow-m" + std::to_string(mode), in);
    }
    // Malformed frames, each alone, with checksum verification on and off: the corpus of
    // synwall-pcapgen --kind malformed (gen::MalformedWriter), every sub-case (every variant) of
    // every kind and family, plus two edge cases it does not make.
    std::vector<std::pair<std::string, std::vector<uint8_t>>> bad;
    for (const bool v6 : {false, true}) {
        gen::FloodSpec spec;
        std::string err;
        if (!gen::parse_range(v6 ? "2001:db8:1::/64" : "198.51.100.0/24", spec.src, err)) {
            std::fprintf(stderr, "%s\n", err.c_str());
            return 1;
        }
        const auto dst = v6 ? pf::v6("2001:db8:2::10") : pf::v4("203.0.113.10");
        std::copy(dst.begin(), dst.end(), spec.dst.begin());
        gen::MalformedWriter w(spec, 2024);
        for (size_t k = 0; k < gen::kMalformations; ++k)
            for (uint64_t variant = 0; variant < gen::kMalformedVariants; ++variant) {
                uint8_t frame[gen::kMaxMalformedFrame];
                const auto m = static_cast<gen::Malformation>(k);
                const uint16_t len = w.write(m, frame, sizeof frame, variant);
                if (len == 0) continue;  // not of this family
                bad.push_back({std::string(gen::to_string(m)) + (v6 ? "-v6-" : "-v4-") + std::to_string(variant),
                               {frame, frame + len}});
            }
    }
    auto base = syn(pf::Fam::v4, rich);
    auto o = base;
    o.tcp_options = {1, 1, 1, 3};  // a kind in the last byte, without its length byte
    bad.push_back({"opt-nolen", pf::build_frame(o)});
    auto v6 = syn(pf::Fam::v6, rich);
    v6.ipv6_ext = {{0, 0}, {43, 1}, {60, 0}};  // a valid chain of extension headers
    bad.push_back({"v6-ext", pf::build_frame(v6)});
    for (uint8_t cfg : {uint8_t{0}, uint8_t{synwall::fuzz::kCfgNoChecksums | 2}})
        for (auto& [name, frame] : bad) {
            std::vector<uint8_t> in{cfg};
            fuzz::append_record(in, frame, true);
            write(dir, "bad-" + name + (cfg ? "-nocsum" : ""), in);
        }
    std::printf("wrote %d corpus files to %s\n", written, dir.c_str());
    return 0;
}
