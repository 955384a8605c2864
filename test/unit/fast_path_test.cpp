// The engine's fast path against its general path, which stays the reference.
//
// 1. The plain-IPv4 screen (net/plain_ipv4) accepts a frame exactly when the general parser
//    accepts it as untagged IPv4 without options, and reads the same fields.
// 2. Whole workers, one with the fast path and one without, in lockstep on the same frames (the
//    fuzz driver's differential oracles: dispositions, transmitted bytes, queued connections and
//    counters identical burst after burst), over: the option matrix, the malformed corpus, valid,
//    forged and near-miss cookie ACKs, ACKs of an old or expired counter, duplicates inside one
//    burst, in every cookie mode, with and without checksum verification or offload, resets on
//    bad ACKs, tiny tables (overflows); and over the fuzzer's whole corpus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "burst_driver.hpp"
#include "gen/malformed_writer.hpp"
#include "net/plain_ipv4.hpp"
#include "packet_factory.hpp"

using namespace synwall;
namespace pf = synwall::testing;

namespace {

constexpr uint8_t SYN = 0x02, ACK = 0x10, RST = 0x04, FIN = 0x01, PSH = 0x08, ECE = 0x40, CWR = 0x80;

pf::SegmentSpec client_syn(bool v6, uint32_t i) {
    pf::SegmentSpec s;
    s.fam = v6 ? pf::Fam::v6 : pf::Fam::v4;
    s.src = v6 ? pf::v6("2001:db8:1::7") : pf::v4("198.51.100.7");
    s.src[v6 ? 14 : 2] = static_cast<uint8_t>(i >> 8);
    s.src[v6 ? 15 : 3] = static_cast<uint8_t>(i);
    s.dst = v6 ? pf::v6("2001:db8:2::10") : pf::v4("203.0.113.10");
    s.sport = static_cast<uint16_t>(20000 + i);
    s.dport = 80;
    s.seq = 0x9e3779b9u * (i + 1);
    s.tcp_options = pf::tcp_options({.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = 1000 + i});
    return s;
}

std::vector<uint8_t> raw(std::initializer_list<uint8_t> b) { return b; }

// SYNs in the layouts clients send, and the odd ones, each with its own 4-tuple.
std::vector<pf::SegmentSpec> option_matrix(bool v6) {
    std::vector<std::vector<uint8_t>> layouts = {
        pf::tcp_options({.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = 77}),  // Linux
        raw({2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}),                                       // Windows
        raw({2, 4, 5, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 4, 2, 0, 0}),  // macOS
        pf::tcp_options({.mss = 1460}),
        {},
        pf::tcp_options({.ts = true, .tsval = 5}),
        pf::tcp_options({.sack = true}),
        pf::tcp_options({.mss = 536, .wscale = 14, .ts = true, .tsval = 9}),
        pf::tcp_options({.mss = 1200, .wscale = 15, .sack = true, .ts = true}),  // wscale clamped
        pf::tcp_options({.mss = 100, .ts = true}),
        pf::tcp_options({.mss = 1460, .ts = true, .tfo = true}),
        raw({2, 4, 5, 0xb4, 8, 0, 1, 1}),        // a silly option ends the walk
        raw({2, 4, 5, 0xb4, 8, 10, 0, 0}),       // timestamps overrunning the header
        raw({1, 1, 1, 1, 2, 4, 5, 0xb4, 0, 9, 9, 9}),  // EOL, then garbage
    };
    std::vector<pf::SegmentSpec> out;
    uint32_t i = 0;
    for (const auto& o : layouts) {
        auto s = client_syn(v6, i++);
        s.tcp_options = o;
        out.push_back(s);
    }
    const std::pair<uint8_t, uint8_t> flags_ecn[] = {{SYN | ECE | CWR, 0}, {SYN | ECE | CWR, 1}, {SYN | ECE, 0},
                                                     {SYN | ACK, 0},       {SYN | FIN, 0},       {SYN | RST, 0},
                                                     {SYN | PSH, 0},       {SYN | 0x20, 0}};
    for (auto [f, ecn] : flags_ecn) {
        auto s = client_syn(v6, i++);
        s.flags = f;
        s.ecn = ecn;
        out.push_back(s);
    }
    auto data = client_syn(v6, i++);
    data.payload = {'G', 'E', 'T'};
    out.push_back(data);
    auto tagged = client_syn(v6, i++);
    tagged.vlans = {7};
    out.push_back(tagged);
    auto padded = client_syn(v6, i++);
    padded.tcp_options.clear();
    padded.pad_to = 64;
    out.push_back(padded);
    if (!v6) {
        auto ipopt = client_syn(v6, i++);
        ipopt.ipv4_options = {1, 1, 1, 0};
        out.push_back(ipopt);
        auto frag = client_syn(v6, i++);
        frag.ipv4_frag = 0x2000;
        out.push_back(frag);
        auto land = client_syn(v6, i++);
        land.dst = land.src;
        out.push_back(land);
        auto bad = client_syn(v6, i++);
        bad.corrupt_tcp_checksum = true;
        out.push_back(bad);
        auto badip = client_syn(v6, i++);
        badip.corrupt_ip_checksum = true;
        out.push_back(badip);
    }
    return out;
}

// Every kind and sub-case of the malformed corpus, both families.
std::vector<std::vector<uint8_t>> malformed_corpus() {
    std::vector<std::vector<uint8_t>> out;
    for (bool v6 : {false, true}) {
        gen::FloodSpec spec;
        std::string err;
        EXPECT_TRUE(gen::parse_range(v6 ? "2001:db8:1::/112" : "198.51.100.0/24", spec.src, err)) << err;
        net::Family fam;
        EXPECT_TRUE(gen::parse_address(v6 ? "2001:db8:2::10" : "203.0.113.10", fam, spec.dst));
        gen::MalformedWriter w(spec, 11);
        for (size_t k = 0; k < gen::kMalformations; ++k)
            for (uint64_t v = 0; v < gen::kMalformedVariants; ++v) {
                std::vector<uint8_t> f(gen::kMaxMalformedFrame);
                const uint16_t n = w.write(static_cast<gen::Malformation>(k), f.data(), static_cast<uint16_t>(f.size()), v);
                if (n == 0) continue;
                f.resize(n);
                out.push_back(f);
            }
    }
    return out;
}

// The SYN-ACK a cookie listener answers `syn` with (the driver's secrets and time), so that ACKs
// to it carry a real cookie.
std::vector<uint8_t> cookie_synack(const pf::SegmentSpec& syn) {
    using namespace handshake;
    ListenerConfig l;
    l.family = syn.fam == pf::Fam::v6 ? net::Family::kIpv6 : net::Family::kIpv4;
    l.port = 80;
    l.cookie_mode = CookieMode::kAlways;
    l.mss = l.family == net::Family::kIpv6 ? 1440 : 1460;
    cookie::SecretConfig sc;
    sc.prf = cookie::best_prf();
    sc.master.fill(7);
    Worker minter(EngineConfig{}, std::make_shared<const ListenerTable>(std::vector<ListenerConfig>{l}), sc,
                  fuzz::kDriverT0);
    auto f = pf::build_frame(syn);
    const auto len = static_cast<uint16_t>(f.size());
    f.resize(512);
    net::Packet p{f.data(), len, 512, 0, 0, nullptr};
    auto out = std::make_unique<BurstOutput>();
    minter.process_burst({&p, 1}, fuzz::kDriverT0, *out);
    if (out->n_tx != 1) return {};
    return {out->tx[0].data, out->tx[0].data + out->tx[0].len};
}

// The client's third ACK to `synack`, then variants: near misses of every field the cookie covers.
std::vector<std::vector<uint8_t>> acks_for(const pf::SegmentSpec& syn, const std::vector<uint8_t>& synack) {
    const pf::FrameView r(synack);
    pf::SegmentSpec a = syn;
    a.flags = ACK;
    a.seq = syn.seq + 1;
    a.ack = r.seq() + 1;
    const auto opts = r.options();
    a.tcp_options = opts.ts ? pf::tcp_options({.ts = true, .tsval = 2000, .tsecr = opts.tsval})
                                        : std::vector<uint8_t>{};
    std::vector<std::vector<uint8_t>> out{pf::build_frame(a)};
    for (uint32_t bit : {0u, 27u, 28u, 31u}) {
        auto m = a;
        m.ack ^= 1u << bit;
        out.push_back(pf::build_frame(m));
    }
    auto seq = a;
    seq.seq += 1;
    out.push_back(pf::build_frame(seq));
    auto port = a;
    port.sport ^= 1;
    out.push_back(pf::build_frame(port));
    if (opts.ts) {
        auto ts = a;
        ts.tcp_options = pf::tcp_options({.ts = true, .tsval = 2000, .tsecr = opts.tsval ^ 4});
        out.push_back(pf::build_frame(ts));
    }
    auto notts = a;
    notts.tcp_options.clear();
    out.push_back(pf::build_frame(notts));
    auto psh = a;
    psh.flags = ACK | PSH;
    out.push_back(pf::build_frame(psh));
    auto data = a;
    data.payload = {'G', 'E', 'T', ' ', '/'};
    out.push_back(pf::build_frame(data));
    auto rst = a;
    rst.flags = RST;
    out.push_back(pf::build_frame(rst));
    auto fin = a;
    fin.flags = ACK | FIN;
    out.push_back(pf::build_frame(fin));
    return out;
}

struct Input {
    std::vector<uint8_t> bytes;
    explicit Input(uint8_t cfg) : bytes{cfg} {}
    void frame(const std::vector<uint8_t>& f, bool end = false, uint8_t advance = 0) {
        fuzz::append_record(bytes, f, end, advance);
    }
    void end_burst(uint8_t advance = 0) {  // an empty frame closing the burst (passed as not IP)
        frame(std::vector<uint8_t>(60, 0), true, advance);
    }
};

// The scenario, for one engine configuration.
std::vector<uint8_t> scenario(uint8_t cfg) {
    Input in(cfg);
    std::vector<pf::SegmentSpec> syns;
    for (bool v6 : {false, true})
        for (auto& s : option_matrix(v6)) syns.push_back(s);
    std::vector<std::vector<std::vector<uint8_t>>> acks;
    for (auto& s : syns) {
        const auto synack = cookie_synack(s);
        acks.push_back(synack.empty() ? std::vector<std::vector<uint8_t>>{} : acks_for(s, synack));
    }
    // A flood first (fills an auto listener's SYN queue: cookies from then on), the matrix's SYNs
    // and the malformed corpus in the same bursts.
    for (uint32_t i = 0; i < 160; ++i) in.frame(pf::build_frame(client_syn(i & 1, 500 + i)), i % 40 == 39);
    for (auto& s : syns) in.frame(pf::build_frame(s));
    for (auto& m : malformed_corpus()) in.frame(m);
    in.end_burst();
    // Their ACKs: each valid one twice in the same burst (the second is the new flow's packet),
    // then the near misses.
    for (auto& a : acks)
        for (size_t k = 0; k < a.size(); ++k) {
            in.frame(a[k]);
            if (k == 0) in.frame(a[k]);
        }
    in.end_burst();
    // The same SYNs again, their valid ACKs 95 s later (the previous counter period) and 190 s
    // later (expired), each after a SYN of the same tuple in the same burst.
    for (auto& s : syns) in.frame(pf::build_frame(s));
    in.end_burst(127);
    in.end_burst(127);
    in.end_burst(127);
    for (size_t i = 0; i < syns.size(); ++i)
        if (!acks[i].empty()) {
            auto s = syns[i];
            s.sport ^= 0x4000;  // another tuple: a SYN between the ACKs
            in.frame(pf::build_frame(s));
            in.frame(acks[i][0]);
        }
    in.end_burst(127);
    in.end_burst(127);
    in.end_burst(127);
    for (auto& a : acks)
        if (!a.empty()) in.frame(a[0]);
    in.end_burst();
    return in.bytes;
}

}  // namespace

TEST(PlainIpv4, AcceptsExactlyWhatTheParserAcceptsAsUntaggedPlainIpv4) {
    std::vector<std::vector<uint8_t>> frames = malformed_corpus();
    for (bool v6 : {false, true})
        for (auto& s : option_matrix(v6)) {
            frames.push_back(pf::build_frame(s));
            for (auto& a : acks_for(s, cookie_synack(s).empty() ? pf::build_frame(s) : cookie_synack(s)))
                frames.push_back(a);
        }
    int plain = 0;
    for (const auto& f : frames)
        for (uint16_t rx : {0, net::kRxIpChecksumGood | net::kRxL4ChecksumGood})
            for (bool verify : {true, false}) {
                net::ParseConfig pc;
                pc.verify_ipv4_checksum = pc.verify_tcp_checksum = verify;
                const net::ParsedPacket p = net::parse({f.data(), f.size()}, rx, pc);
                net::PlainIpv4Segment s;
                const bool fast = net::parse_plain_ipv4({f.data(), f.size()}, rx, pc, s);
                const bool expect = p.ok() && p.family == net::Family::kIpv4 && p.vlan_count == 0 && p.l4_offset == 34;
                ASSERT_EQ(fast, expect) << "frame of " << f.size() << " bytes, status " << net::to_string(p.status);
                net::PlainIpv4Segment no_data;
                ASSERT_EQ(net::parse_plain_ipv4({f.data(), f.size()}, rx, pc, no_data, 0), expect && p.payload_len == 0);
                if (!fast) continue;
                ++plain;
                EXPECT_EQ(0, std::memcmp(s.src(), p.src_addr, 4));
                EXPECT_EQ(0, std::memcmp(s.dst(), p.dst_addr, 4));
                EXPECT_EQ(s.src_port, p.src_port);
                EXPECT_EQ(s.dst_port, p.dst_port);
                EXPECT_EQ(s.seq, p.seq);
                EXPECT_EQ(s.ack, p.ack);
                EXPECT_EQ(s.window, p.window);
                EXPECT_EQ(s.payload_len, p.payload_len);
                EXPECT_EQ(s.tcp_flags, p.tcp_flags);
                EXPECT_EQ(s.tcp_header_len, p.tcp_header_len);
                EXPECT_EQ(s.ip_ecn, p.ip_ecn);
                EXPECT_EQ(s.ttl, p.ttl);
                const net::TcpOptions &a = s.options, &b = p.options;
                EXPECT_TRUE(a.mss == b.mss && a.wscale == b.wscale && a.has_mss == b.has_mss &&
                            a.has_wscale == b.has_wscale && a.sack_permitted == b.sack_permitted &&
                            a.has_timestamps == b.has_timestamps && a.has_fastopen == b.has_fastopen &&
                            a.tsval == b.tsval && a.tsecr == b.tsecr);
            }
    EXPECT_GT(plain, 100);  // the comparison above ran on real accepted frames
}

class FastPathDifferential : public ::testing::TestWithParam<uint8_t> {};

TEST_P(FastPathDifferential, SameBytesDispositionsConnectionsAndCountersAsTheGeneralPath) {
    const auto input = scenario(GetParam());
    const char* why = fuzz::run_input(input.data(), input.size());
    EXPECT_EQ(why, nullptr) << why;
}

// Cookie mode (never, auto, always) x checksums (verified, not verified, offloaded) x resets on
// bad ACKs x tiny tables, plus the echo of every SYN-ACK with its client's ACK.
static std::vector<uint8_t> configurations() {
    std::vector<uint8_t> out;
    for (uint8_t mode : {0, 1, 2})
        for (uint8_t sums : {0, int{fuzz::kCfgNoChecksums}, int{fuzz::kCfgChecksumOffload}})
            for (uint8_t rst : {0, int{fuzz::kCfgRstOnInvalid}})
                for (uint8_t tiny : {0, int{fuzz::kCfgTinyTables}})
                    out.push_back(static_cast<uint8_t>(mode | sums | rst | tiny));
    for (uint8_t mode : {1, 2}) out.push_back(static_cast<uint8_t>(mode | fuzz::kCfgEchoAcks));
    out.push_back(2 | fuzz::kCfgEchoAcks | fuzz::kCfgAbortOnOverflow | fuzz::kCfgTinyTables);
    return out;
}
INSTANTIATE_TEST_SUITE_P(Configurations, FastPathDifferential, ::testing::ValuesIn(configurations()));

TEST(FastPathDifferential, FuzzCorpus) {
    int inputs = 0;
    for (const auto& e : std::filesystem::directory_iterator(SYNWALL_FUZZ_CORPUS)) {
        std::ifstream f(e.path(), std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        const char* why = fuzz::run_input(bytes.data(), bytes.size());
        EXPECT_EQ(why, nullptr) << e.path().filename() << ": " << why;
        ++inputs;
    }
    EXPECT_GT(inputs, 100);
}

// Two IPv4 listeners that answer the same SYN options differently (MSS, window scale, SACK,
// timestamps), their SYNs interleaved in one burst: the fast path's per-shape and per-listener
// caches (cookie inputs, reply templates, the last listener lookup) must never serve one
// listener's answer to the other's SYN.
TEST(FastPathDifferential, ListenersWithDifferentOptionsInOneBurst) {
    using namespace handshake;
    std::vector<ListenerConfig> ls(2);
    ls[0].port = 80;
    ls[0].cookie_mode = CookieMode::kAlways;
    ls[1].port = 81;
    ls[1].cookie_mode = CookieMode::kAlways;
    ls[1].mss = 1200;
    ls[1].wscale = 2;
    ls[1].sack = false;
    ls[1].timestamps = false;
    const auto table = std::make_shared<const ListenerTable>(ls);
    cookie::SecretConfig sc;
    sc.prf = cookie::best_prf();
    sc.master.fill(9);
    fuzz::Side fast, general;
    EngineConfig ec;
    ec.fast_path = true;
    fast.w = std::make_unique<Worker>(ec, table, sc, fuzz::kDriverT0);
    ec.fast_path = false;
    general.w = std::make_unique<Worker>(ec, table, sc, fuzz::kDriverT0);
    for (fuzz::Side* s : {&fast, &general}) {
        s->frames.reserve(64);
        for (uint32_t i = 0; i < 32; ++i) {
            auto syn = client_syn(false, 900 + i);
            syn.dport = i % 3 == 0 ? 81 : 80;  // runs of the same listener, and switches
            s->frames.push_back(pf::build_frame(syn));
            const auto len = static_cast<uint16_t>(s->frames.back().size());
            s->frames.back().resize(512);
            s->burst.push_back(net::Packet{s->frames.back().data(), len, 512, 0, 0, nullptr});
        }
        s->out->clear();
        ASSERT_EQ(s->w->process_burst(s->burst, fuzz::kDriverT0, *s->out), 32u);
    }
    EXPECT_EQ(fast.out->n_tx, 32u);
    const char* why = fuzz::same_output(fast, general);
    EXPECT_EQ(why, nullptr) << why;
    for (uint32_t c = 0; c < handshake::kCounterCount; ++c) EXPECT_EQ(fast.w->counters()[c], general.w->counters()[c]) << c;
    // And the answers do differ by listener: port 81's SYN-ACKs carry MSS 1200 and no timestamps.
    const pf::FrameView a({fast.out->tx[0].data, fast.out->tx[0].data + fast.out->tx[0].len});
    const pf::FrameView b({fast.out->tx[1].data, fast.out->tx[1].data + fast.out->tx[1].len});
    EXPECT_EQ(a.sport(), 81);
    EXPECT_EQ(a.options().mss, 1200);
    EXPECT_FALSE(a.options().ts);
    EXPECT_EQ(b.sport(), 80);
    EXPECT_EQ(b.options().mss, 1460);
    EXPECT_TRUE(b.options().ts);
}
