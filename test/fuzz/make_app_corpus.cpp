// Writes fuzz_app's seed corpus (input format in fuzz_input.hpp, two configuration bytes):
// connections through absorb and the proxy, over IPv4 and IPv6, stateful and with cookies —
// handshakes with data, closes by FIN and RST from either side, the server's answers to the
// proxy (written out, or by the driver's stateless server), SYN retransmits and expiry, a SYN on a
// closed connection's tuple, bad checksums, RSTs to nothing, and the overflow paths.
//   make_fuzz_app_corpus DIR
#include <cstdio>
#include <string>

#include "../unit/packet_factory.hpp"
#include "fuzz_input.hpp"

using namespace synwall;
namespace pf = synwall::testing;

namespace {

namespace flag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

int written = 0;

void write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& in) {
    fuzz::write_input(dir, name, in);
    ++written;
}

constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kServerIsn = 70000;  // the real server's, in the proxy's written-out answers

// A segment of the connection client:sport -> server:80, from the client (or from the server,
// addresses and ports turned around).
pf::SegmentSpec segment(pf::Fam fam, uint16_t sport, bool from_server, uint8_t flags, uint32_t seq, uint32_t ack,
                        std::vector<uint8_t> payload = {}) {
    pf::SegmentSpec s;
    s.fam = fam;
    const auto client = fam == pf::Fam::v4 ? pf::v4("198.51.100.7") : pf::v6("2001:db8:1::7");
    const auto server = fam == pf::Fam::v4 ? pf::v4("203.0.113.10") : pf::v6("2001:db8:2::10");
    s.src = from_server ? server : client;
    s.dst = from_server ? client : server;
    s.sport = from_server ? 80 : sport;
    s.dport = from_server ? sport : 80;
    if (from_server) std::swap(s.src_mac, s.dst_mac);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.payload = std::move(payload);
    if (flags & flag::kSyn) s.tcp_options = pf::tcp_options({.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = 100});
    return s;
}

std::vector<uint8_t> bytes(const char* s) { return {s, s + std::char_traits<char>::length(s)}; }

// Appends one frame; `end` ends the poll, `steps` (< 64) then advances the clock by 250 ms steps.
void add(std::vector<uint8_t>& in, const pf::SegmentSpec& s, bool end = true, uint8_t steps = 0, bool server_side = false) {
    fuzz::append_record(in, pf::build_frame(s), end, steps, server_side ? 1 : 0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    using fuzz::kCfgEchoAcks;
    const char* fam_name[] = {"v4", "v6"};
    for (const pf::Fam fam : {pf::Fam::v4, pf::Fam::v6}) {
        const std::string f = fam_name[fam == pf::Fam::v6];
        for (const uint8_t mode : {uint8_t{0}, uint8_t{2}}) {  // stateful requests, cookies
            const std::string m = "-m" + std::to_string(mode) + "-" + f;
            for (const uint8_t kind : {uint8_t{0}, uint8_t{1}, uint8_t{2}}) {
                const std::string k = kind == 0 ? "absorb-rst" : kind == 1 ? "absorb-fin" : "proxy";
                // A handshake (the driver echoes the ACK, with data), more data, then the client's FIN.
                {
                    std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks),
                                            static_cast<uint8_t>(kind | fuzz::kAppAckData | fuzz::kAppEchoServer)};
                    add(in, segment(fam, 4000, false, flag::kSyn, kClientIsn, 0));
                    add(in, segment(fam, 4000, false, flag::kAck | flag::kPsh, kClientIsn + 6, 1, bytes("GET / HTTP/1.0\r\n\r\n")),
                        true, 2);
                    add(in, segment(fam, 4000, false, flag::kAck | flag::kFin, kClientIsn + 24, 1), true, 8);
                    write(dir, k + "-data-fin" + m, in);
                }
                // The same closed by the client's RST, then a new SYN on the tuple (a reopened flow).
                {
                    std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks), kind};
                    add(in, segment(fam, 4001, false, flag::kSyn, kClientIsn, 0));
                    add(in, segment(fam, 4001, false, flag::kRst, kClientIsn + 1, 0), true, 1);
                    add(in, segment(fam, 4001, false, flag::kSyn, kClientIsn + 5000, 0), true, 2);
                    add(in, segment(fam, 4001, false, flag::kAck | flag::kFin, kClientIsn + 5001, 1), true, 40);
                    write(dir, k + "-rst-reopen" + m, in);
                }
            }
            // The proxy with the server's answers written out: SYN-ACK, data, FIN; the client's FIN.
            {
                std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks), 2};
                add(in, segment(fam, 4100, false, flag::kSyn, kClientIsn, 0));
                add(in, segment(fam, 4100, false, flag::kAck | flag::kPsh, kClientIsn + 1, 1, bytes("hello")), true);
                add(in, segment(fam, 4100, true, flag::kSyn | flag::kAck, kServerIsn, kClientIsn + 1), true, 0, true);
                add(in, segment(fam, 4100, true, flag::kAck | flag::kPsh, kServerIsn + 1, kClientIsn + 6, bytes("world")), false, 0,
                    true);
                add(in, segment(fam, 4100, true, flag::kAck | flag::kFin, kServerIsn + 6, kClientIsn + 6), true, 1, true);
                add(in, segment(fam, 4100, false, flag::kAck | flag::kFin, kClientIsn + 6, kServerIsn + 7), true, 4);
                add(in, segment(fam, 4100, true, flag::kAck, kServerIsn + 7, kClientIsn + 7), true, 40, true);
                write(dir, "proxy-server-answers" + m, in);
            }
            // The server refuses (RST acknowledging the SYN), and one that repeats its SYN-ACK and resets.
            {
                std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks), 2};
                add(in, segment(fam, 4200, false, flag::kSyn, kClientIsn, 0));
                add(in, segment(fam, 4201, false, flag::kSyn, kClientIsn, 0));
                add(in, segment(fam, 4200, true, flag::kRst | flag::kAck, 0, kClientIsn + 1), true, 0, true);
                add(in, segment(fam, 4201, true, flag::kSyn | flag::kAck, kServerIsn, kClientIsn + 1), true, 0, true);
                add(in, segment(fam, 4201, true, flag::kSyn | flag::kAck, kServerIsn, kClientIsn + 1), true, 1, true);
                add(in, segment(fam, 4201, true, flag::kRst, kServerIsn + 1, 0), true, 40, true);
                write(dir, "proxy-refused-reset" + m, in);
            }
            // A silent server: SYN retransmits, then the client is reset.
            {
                std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks), 2};
                add(in, segment(fam, 4300, false, flag::kSyn, kClientIsn, 0), true, 63);
                write(dir, "proxy-silent-server" + m, in);
            }
        }
        // SYN-ACK retransmits (no ACK comes), for each retries setting, a repeated SYN among them.
        for (uint8_t r = 0; r < 4; ++r) {
            std::vector<uint8_t> in{0, static_cast<uint8_t>(r << fuzz::kAppRetriesShift)};
            add(in, segment(fam, 4400, false, flag::kSyn, kClientIsn, 0), true, 4);
            add(in, segment(fam, 4400, false, flag::kSyn, kClientIsn, 0), true, 12);
            add(in, segment(fam, 4401, false, flag::kSyn, kClientIsn, 0), true, 63);
            write(dir, "retransmit-r" + std::to_string(r) + "-" + f, in);
        }
        // Bad checksums, with verification (answered with nothing) and without (handled).
        for (const uint8_t cfg : {uint8_t{kCfgEchoAcks}, uint8_t{kCfgEchoAcks | fuzz::kCfgNoChecksums}}) {
            std::vector<uint8_t> in{cfg, 2};
            auto s = segment(fam, 4500, false, flag::kSyn, kClientIsn, 0);
            s.corrupt_tcp_checksum = true;
            add(in, s);
            s = segment(fam, 4501, false, flag::kSyn, kClientIsn, 0);
            add(in, s);
            auto d = segment(fam, 4501, false, flag::kAck | flag::kPsh, kClientIsn + 1, 1, bytes("bad"));
            d.corrupt_tcp_checksum = true;
            add(in, d, false);
            auto r = segment(fam, 4501, false, flag::kRst, kClientIsn + 1, 0);
            r.corrupt_ip_checksum = fam == pf::Fam::v4;
            r.corrupt_tcp_checksum = fam == pf::Fam::v6;
            add(in, r, true, 4);
            write(dir, std::string("bad-checksums") + (cfg & fuzz::kCfgNoChecksums ? "-unverified-" : "-") + f, in);
        }
        // RSTs: to no request, in the window of a request (challenge ACK), the exact one; ACKs
        // matching nothing answered with RSTs (rst_on_invalid_ack), some followed by a RST.
        {
            std::vector<uint8_t> in{static_cast<uint8_t>(fuzz::kCfgRstOnInvalid), 0};
            add(in, segment(fam, 4600, false, flag::kRst, 5, 0), false);
            add(in, segment(fam, 4601, false, flag::kSyn, kClientIsn, 0));
            add(in, segment(fam, 4601, false, flag::kRst, kClientIsn + 100, 0), false);
            add(in, segment(fam, 4601, false, flag::kRst, kClientIsn + 1, 0));
            add(in, segment(fam, 4602, false, flag::kAck, 9, 9), false);
            add(in, segment(fam, 4602, false, flag::kRst | flag::kAck, 9, 9), false);
            add(in, segment(fam, 4603, false, flag::kSyn | flag::kAck, 9, 9), true, 2);
            write(dir, "rsts-" + f, in);
        }
    }
    // Overflow: tiny tables and pool, small bursts, a SYN flood with echoed ACKs into each app.
    for (const uint8_t kind : {uint8_t{0}, uint8_t{1}, uint8_t{2}})
        for (const uint8_t mode : {uint8_t{0}, uint8_t{1}, uint8_t{2}}) {
            std::vector<uint8_t> in{static_cast<uint8_t>(mode | kCfgEchoAcks | fuzz::kCfgTinyTables | fuzz::kCfgAbortOnOverflow),
                                    static_cast<uint8_t>(kind | fuzz::kAppTinyPool | fuzz::kAppSmallBursts | fuzz::kAppEchoServer)};
            for (int i = 0; i < 12; ++i)
                add(in, segment(pf::Fam::v4, static_cast<uint16_t>(5000 + i), false, flag::kSyn, kClientIsn, 0), i % 4 == 3, 1);
            write(dir, "overflow-app" + std::to_string(kind) + "-m" + std::to_string(mode), in);
        }
    // Checksum offload: the engine's replies leave their checksums to the NIC.
    {
        std::vector<uint8_t> in{static_cast<uint8_t>(fuzz::kCfgChecksumOffload | kCfgEchoAcks | 1), 2 | fuzz::kAppEchoServer};
        add(in, segment(pf::Fam::v4, 4700, false, flag::kSyn, kClientIsn, 0), true, 8);
        write(dir, "offload-proxy", in);
    }
    std::printf("wrote %d corpus files to %s\n", written, dir.c_str());
    return 0;
}
