// The proxy application on the real handshake engine, at the byte level and without the EAL: the
// client's handshake with synwall, the server leg opened on the client's behalf, both directions
// spliced (sequence, timestamp, window and SACK translation with valid checksums), held data,
// refusals, silent servers, FIN and RST teardown and the grace period. Also the splice functions
// alone and absorb's grace period.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "app/absorb.hpp"
#include "app/proxy.hpp"
#include "app/splice.hpp"
#include "engine_rig.hpp"

using namespace synwall;
using namespace synwall::testing;

namespace {

constexpr uint16_t kClientPort = 0, kServerPort = 1;
constexpr uint32_t kServerIsn = 0x50000000;

// AppIo over test frames; records every frame that leaves and checks buffer ownership: every buffer
// handed to the application or allocated by it comes back exactly once (sent or released).
struct TestIo final : app::AppIo {
    struct Sent {
        std::vector<uint8_t> bytes;
        uint16_t port;
    };
    Frames& frames;
    uint64_t now = kT0;
    int alloc_budget = 1 << 20;
    std::vector<Sent> sent;
    std::vector<uint32_t> closed;
    std::map<uint8_t*, int> owned;  // buffers the application holds

    explicit TestIo(Frames& f) : frames(f) {}
    uint64_t now_ns() const noexcept override { return now; }
    bool alloc(net::Packet& out) noexcept override {
        if (alloc_budget-- <= 0) return false;
        out = frames.make({});
        out.len = 0;
        owned[out.data] = 1;
        return true;
    }
    void give_back(const net::Packet& p) {
        auto it = owned.find(p.data);
        ADD_FAILURE_IF_NOT(it != owned.end());
        if (it != owned.end()) owned.erase(it);
    }
    void send(net::Packet& p, uint16_t port) noexcept override {
        give_back(p);
        sent.push_back({Frames::bytes(p), port});
    }
    void release(net::Packet& p) noexcept override { give_back(p); }
    void close_flow(uint32_t flow) noexcept override { closed.push_back(flow); }

    static void ADD_FAILURE_IF_NOT(bool ok) {
        if (!ok) ADD_FAILURE() << "a buffer came back that the application did not own";
    }
};

app::ProxyConfig proxy_config() {
    app::ProxyConfig c;
    c.server_port = kServerPort;
    c.flow_capacity = EngineConfig{}.established_capacity;
    return c;
}

// The engine, the proxy on top of it as the worker loop runs it (accepts before flow packets), and
// everything that leaves in `io.sent`.
struct ProxyRig {
    Engine e;
    app::Proxy proxy;
    TestIo io;

    ProxyRig(std::vector<ListenerConfig> ls, app::ProxyConfig pc = proxy_config())
        : e(std::move(ls)), proxy(pc), io(e.frames) {}

    void dispose(net::Packet& p, app::Disposition d) {
        switch (d.kind) {
        case app::Disposition::Kind::kTransmit: io.sent.push_back({Frames::bytes(p), d.port}); break;
        case app::Disposition::Kind::kFree: break;
        case app::Disposition::Kind::kKeep: io.owned[p.data] = 1; break;
        case app::Disposition::Kind::kReprocess: reprocess.push_back(Frames::bytes(p)); break;
        }
    }
    std::vector<std::vector<uint8_t>> reprocess;
    // One frame in on `port`; returns the frames that left because of it.
    std::vector<TestIo::Sent> feed(const std::vector<uint8_t>& frame, uint16_t port) {
        const size_t before = io.sent.size();
        e.now = io.now;
        BurstOutput& out = e.feed(frame, port);
        for (uint32_t i = 0; i < out.n_tx; ++i) io.sent.push_back({Frames::bytes(out.tx[i]), out.tx[i].port});
        handshake::Connection c;
        while (e.worker->accept(0, c)) dispose(c.packet, proxy.on_accept(c, io));
        for (uint32_t i = 0; i < out.n_flow; ++i)
            dispose(out.flow[i].packet,
                    proxy.on_packet(out.flow[i].packet,
                                    {out.flow[i].flow, out.flow[i].from_server, engine_parse ? out.flow[i].parsed : nullptr}, io));
        for (uint32_t i = 0; i < out.n_pass; ++i) io.sent.push_back({Frames::bytes(out.pass[i]), 99});  // bridged
        for (uint32_t id : io.closed) e.worker->forget_flow(id);  // as the loop does, inline
        closed_total += io.closed.size();
        io.closed.clear();
        auto again = std::move(reprocess);
        reprocess.clear();
        for (const auto& f : again) feed(f, port);
        return {io.sent.begin() + static_cast<long>(before), io.sent.end()};
    }
    std::vector<TestIo::Sent> tick(uint64_t advance_ns) {
        const size_t before = io.sent.size();
        io.now += advance_ns;
        proxy.on_tick(io);
        for (uint32_t id : io.closed) e.worker->forget_flow(id);
        closed_total += io.closed.size();
        io.closed.clear();
        return {io.sent.begin() + static_cast<long>(before), io.sent.end()};
    }
    uint64_t pc(uint32_t c) const { return proxy.counters()[c]; }
    size_t closed_total = 0;
    bool engine_parse = true;  // hand the engine's parse over, as the worker loop does (false: an application lcore)
};

// A segment from the server to the client of `syn`'s connection.
SegmentSpec server_segment(const SegmentSpec& syn, uint8_t flags, uint32_t seq, uint32_t ack, OptionSpec o = {},
                           std::vector<uint8_t> payload = {}) {
    SegmentSpec s = syn;
    std::swap(s.src, s.dst);
    std::swap(s.src_mac, s.dst_mac);
    std::swap(s.sport, s.dport);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.tcp_options = tcp_options(o);
    s.payload = std::move(payload);
    s.window = 100;
    return s;
}

// Raw option bytes: NOP NOP TS, then NOP NOP SACK with one block.
std::vector<uint8_t> ts_and_sack(uint32_t tsval, uint32_t tsecr, uint32_t left, uint32_t right) {
    std::vector<uint8_t> o = {1, 1, 8, 10};
    auto put = [&](uint32_t v) {
        for (int i = 3; i >= 0; --i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    put(tsval);
    put(tsecr);
    o.insert(o.end(), {1, 1, 5, 10});
    put(left);
    put(right);
    return o;
}

// Reads the SACK block of a frame (independent walker over the raw options).
std::pair<uint32_t, uint32_t> sack_block(const FrameView& f) {
    for (size_t i = f.l4 + 20; i < f.l4 + f.tcp_header_len();) {
        const uint8_t kind = f.bytes[i];
        if (kind == 0) break;
        if (kind == 1) {
            ++i;
            continue;
        }
        if (kind == 5) return {f.be32(i + 2), f.be32(i + 6)};
        i += f.bytes[i + 1];
    }
    return {0, 0};
}

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

struct Handshake {
    SegmentSpec syn;
    FrameView synack{build_frame(SegmentSpec{})};  // replaced by the real one
    SegmentSpec ack;
};

// The client's handshake with synwall, its third ACK carrying `data`.
Handshake client_handshake(ProxyRig& rig, Fam fam, std::vector<uint16_t> vlans, const std::string& data,
                           OptionSpec o = {.mss = 1460, .wscale = 6, .sack = true, .ts = true, .tsval = 100}) {
    Handshake h;
    h.syn = client_syn(fam, o);
    h.syn.vlans = std::move(vlans);
    const auto r = rig.feed(build_frame(h.syn), kClientPort);
    EXPECT_EQ(r.size(), 1u);
    if (r.empty()) return h;
    EXPECT_EQ(r[0].port, kClientPort);
    h.synack = FrameView(r[0].bytes);
    h.ack = client_ack(h.syn, h.synack, o.ts, text(data));
    return h;
}

// ---------------------------------------------------------------------------------------------

using LifecycleParam = std::tuple<Fam, int /*vlans*/, bool /*cookies*/>;
class ProxyLifecycle : public ::testing::TestWithParam<LifecycleParam> {};

TEST_P(ProxyLifecycle, ClientHandshakeServerLegSpliceAndTeardown) {
    const auto [fam, nvlans, cookies] = GetParam();
    ListenerConfig l = listener(fam, 80, cookies ? CookieMode::kAlways : CookieMode::kNever);
    ProxyRig rig({l});
    std::vector<uint16_t> vlans(static_cast<size_t>(nvlans), 0);
    for (int i = 0; i < nvlans; ++i) vlans[static_cast<size_t>(i)] = static_cast<uint16_t>(100 + i);
    Handshake h = client_handshake(rig, fam, vlans, "GET /");
    const uint32_t our_isn = h.synack.seq();
    const uint32_t our_tsval = h.synack.options().tsval;
    const uint32_t cisn = h.syn.seq;

    // 1. The completing ACK (with data): the proxy holds it and opens the server leg.
    auto out = rig.feed(build_frame(h.ack), kClientPort);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].port, kServerPort);
    const FrameView syn(out[0].bytes);
    EXPECT_EQ(syn.flags(), SYN);
    EXPECT_EQ(syn.seq(), cisn) << "the server sees the client's ISN";
    EXPECT_EQ(syn.src_addr(), FrameView(build_frame(h.syn)).src_addr()) << "from the client's address";
    EXPECT_EQ(syn.dst_addr(), FrameView(build_frame(h.syn)).dst_addr());
    EXPECT_EQ(syn.sport(), h.syn.sport);
    EXPECT_EQ(syn.dport(), h.syn.dport);
    EXPECT_TRUE(std::equal(syn.bytes.begin(), syn.bytes.begin() + 12, build_frame(h.syn).begin())) << "the client's MACs";
    EXPECT_EQ(syn.vlan_count, nvlans);
    EXPECT_TRUE(syn.tcp_checksum_ok());
    if (fam == Fam::v4) { EXPECT_TRUE(syn.ipv4_checksum_ok()); }
    const OptionSpec so = syn.options();
    EXPECT_EQ(so.mss, std::min<int>(1460, l.mss));
    EXPECT_EQ(so.wscale, 6) << "the client's window scale";
    EXPECT_TRUE(so.sack);
    EXPECT_TRUE(so.ts);
    EXPECT_EQ(so.tsval, 777u) << "the client's latest TSval";
    EXPECT_EQ(rig.pc(app::kServerSynSent), 1u);

    // 2. The server answers with its own ISN, options and timestamp clock.
    out = rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, cisn + 1,
                                              {.mss = 1400, .wscale = 9, .sack = true, .ts = true, .tsval = 5000, .tsecr = 777})),
                   kServerPort);
    ASSERT_EQ(out.size(), 1u) << "the held ACK (with its data) completes the server's handshake";
    ASSERT_EQ(out[0].port, kServerPort);
    const FrameView held(out[0].bytes);
    EXPECT_EQ(held.flags(), ACK);
    EXPECT_EQ(held.seq(), cisn + 1);
    EXPECT_EQ(held.ack(), kServerIsn + 1);
    EXPECT_EQ(held.options().tsecr, 5000u) << "our TSval echoed back, as the server's";
    EXPECT_EQ(held.payload(), text("GET /"));
    EXPECT_TRUE(held.tcp_checksum_ok());
    EXPECT_EQ(rig.pc(app::kServerConnected), 1u);

    // 3. Server data to the client: sequence, timestamp and window translated.
    out = rig.feed(build_frame(server_segment(h.syn, ACK | 0x08, kServerIsn + 1, cisn + 6,
                                              {.ts = true, .tsval = 5010, .tsecr = 777}, text("HTTP/1.1 200 OK"))),
                   kServerPort);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].port, kClientPort);
    const FrameView down(out[0].bytes);
    EXPECT_EQ(down.seq(), our_isn + 1);
    EXPECT_EQ(down.ack(), cisn + 6);
    EXPECT_EQ(down.options().tsval, our_tsval + 10) << "the server's clock, continued from ours";
    EXPECT_EQ(down.options().tsecr, 777u);
    EXPECT_EQ(down.window(), (100u << 9) >> l.wscale) << "server shift 9, ours to the client " << int(l.wscale);
    EXPECT_EQ(down.payload(), text("HTTP/1.1 200 OK"));
    EXPECT_TRUE(down.tcp_checksum_ok());
    if (fam == Fam::v4) { EXPECT_TRUE(down.ipv4_checksum_ok()); }

    // 4. Client ACK with a SACK block (server bytes): ACK, SACK and TSecr translated.
    SegmentSpec up = h.ack;
    up.seq = cisn + 6;
    up.ack = our_isn + 16;
    up.payload.clear();
    up.tcp_options = ts_and_sack(780, our_tsval + 10, our_isn + 100, our_isn + 200);
    out = rig.feed(build_frame(up), kClientPort);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].port, kServerPort);
    const FrameView upf(out[0].bytes);
    EXPECT_EQ(upf.ack(), kServerIsn + 16);
    EXPECT_EQ(sack_block(upf), std::make_pair(kServerIsn + 100, kServerIsn + 200));
    EXPECT_EQ(upf.options().tsval, 780u);
    EXPECT_EQ(upf.options().tsecr, 5010u);
    EXPECT_EQ(upf.window(), up.window) << "both legs scale the client's window alike";
    EXPECT_TRUE(upf.tcp_checksum_ok());

    // 5. FIN both ways; the last ACK still crosses; the flow lingers, then is forgotten.
    SegmentSpec cfin = up;
    cfin.flags = FIN | ACK;
    cfin.tcp_options = tcp_options({.ts = true, .tsval = 790, .tsecr = our_tsval + 10});
    EXPECT_EQ(rig.feed(build_frame(cfin), kClientPort).size(), 1u);
    out = rig.feed(build_frame(server_segment(h.syn, FIN | ACK, kServerIsn + 16, cisn + 7, {.ts = true, .tsval = 5020, .tsecr = 790})),
                   kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(FrameView(out[0].bytes).seq(), our_isn + 16);
    SegmentSpec last = cfin;
    last.flags = ACK;
    last.seq = cisn + 7;
    last.ack = our_isn + 17;
    out = rig.feed(build_frame(last), kClientPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(FrameView(out[0].bytes).ack(), kServerIsn + 17);
    EXPECT_EQ(rig.pc(app::kClientFin), 1u);
    EXPECT_EQ(rig.pc(app::kServerFin), 1u);
    EXPECT_EQ(rig.e.worker->established(), 1u) << "remembered during the grace period";
    EXPECT_TRUE(rig.tick(proxy_config().grace_ns / 2).empty());
    EXPECT_EQ(rig.closed_total, 0u);
    rig.tick(proxy_config().grace_ns);
    EXPECT_EQ(rig.closed_total, 1u);
    EXPECT_EQ(rig.e.worker->established(), 0u);
    EXPECT_EQ(rig.proxy.active_flows(), 0u);
    EXPECT_TRUE(rig.io.owned.empty()) << "every buffer sent or released";
    EXPECT_EQ(rig.e.counter(handshake::kEstablished), 1u);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, ProxyLifecycle,
                         ::testing::Combine(::testing::Values(Fam::v4, Fam::v6), ::testing::Values(0, 1, 2),
                                            ::testing::Bool()),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) == Fam::v4 ? "v4" : "v6") + "_vlans" +
                                    std::to_string(std::get<1>(info.param)) + (std::get<2>(info.param) ? "_cookie" : "_queue");
                         });

TEST(Proxy, ServerWithoutOptionsGetsUnscaledWindowsAndNoSack) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    rig.engine_parse = false;  // the proxy parses each segment itself, as on an application lcore
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    const uint32_t cisn = h.syn.seq, our_isn = h.synack.seq();
    rig.feed(build_frame(h.ack), kClientPort);
    // The server offers only an MSS: no scaling, no SACK, no timestamps on its leg.
    auto out = rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, cisn + 1, {.mss = 1400})), kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(FrameView(out[0].bytes).options().tsecr, h.synack.options().tsval)
        << "timestamps pass untouched when the server has none";
    SegmentSpec up = h.ack;
    up.tcp_options = ts_and_sack(800, h.synack.options().tsval, our_isn + 1, our_isn + 2);
    up.window = 1000;  // the client scales by 6: 64000 bytes
    out = rig.feed(build_frame(up), kClientPort);
    ASSERT_EQ(out.size(), 1u);
    const FrameView f(out[0].bytes);
    EXPECT_FALSE(f.has_option(5)) << "SACK blocks blanked: the server did not permit SACK";
    EXPECT_EQ(f.window(), 64000u) << "the server reads the window unscaled";
    EXPECT_EQ(f.options().tsecr, h.synack.options().tsval) << "no translation without timestamps on both legs";
    EXPECT_TRUE(f.tcp_checksum_ok());
    // Server window 100, unscaled; the client applies our shift 7: 100 >> 7 rounds to 0, kept at 1.
    out = rig.feed(build_frame(server_segment(h.syn, ACK, kServerIsn + 1, cisn + 1, {}, text("x"))), kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(FrameView(out[0].bytes).window(), 1u);
    EXPECT_TRUE(FrameView(out[0].bytes).tcp_checksum_ok());
}

TEST(Proxy, ServerRefusalResetsTheClientAndALateAckOpensNothing) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    const auto ack = build_frame(h.ack);
    rig.feed(ack, kClientPort);
    auto out = rig.feed(build_frame(server_segment(h.syn, RST | ACK, 0, h.syn.seq + 1)), kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].port, kClientPort);
    const FrameView rst(out[0].bytes);
    EXPECT_EQ(rst.flags() & RST, RST);
    EXPECT_EQ(rst.seq(), h.synack.seq() + 1) << "in the client's window: it accepts the reset";
    EXPECT_TRUE(rst.tcp_checksum_ok());
    EXPECT_EQ(rig.pc(app::kServerRefused), 1u);
    // The client's ACK, retransmitted during the grace period: dropped, not a second connection.
    EXPECT_TRUE(rig.feed(ack, kClientPort).empty());
    EXPECT_EQ(rig.pc(app::kLatePackets), 1u);
    EXPECT_EQ(rig.e.counter(handshake::kEstablished), 1u);
    rig.tick(proxy_config().grace_ns);
    EXPECT_EQ(rig.closed_total, 1u);
    EXPECT_TRUE(rig.io.owned.empty());
}

TEST(Proxy, SilentServerGetsBoundedRetransmitsThenTheClientIsReset) {
    app::ProxyConfig pc = proxy_config();
    pc.server_syn_retries = 3;
    ProxyRig rig({listener(Fam::v6, 80, CookieMode::kNever)}, pc);
    Handshake h = client_handshake(rig, Fam::v6, {}, "");
    EXPECT_EQ(rig.feed(build_frame(h.ack), kClientPort).size(), 1u);
    uint64_t rto = pc.server_syn_timeout_ns;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(rig.tick(rto - kSec / 100).empty()) << "not before its time";
        const auto out = rig.tick(kSec / 100);
        ASSERT_EQ(out.size(), 1u) << "retransmit " << i;
        EXPECT_EQ(out[0].port, kServerPort);
        EXPECT_EQ(FrameView(out[0].bytes).flags(), SYN);
        EXPECT_EQ(FrameView(out[0].bytes).seq(), h.syn.seq);
        rto *= 2;
    }
    const auto out = rig.tick(rto);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].port, kClientPort);
    EXPECT_EQ(FrameView(out[0].bytes).flags() & RST, RST);
    EXPECT_EQ(FrameView(out[0].bytes).seq(), h.synack.seq() + 1);
    EXPECT_EQ(rig.pc(app::kServerSynRetrans), 3u);
    EXPECT_EQ(rig.pc(app::kServerTimeout), 1u);
    rig.tick(pc.grace_ns);
    EXPECT_EQ(rig.e.worker->established(), 0u);
    EXPECT_TRUE(rig.io.owned.empty());
}

TEST(Proxy, DataBeforeTheServerLegIsHeldBoundedAndDeliveredInOrder) {
    app::ProxyConfig pc = proxy_config();
    pc.hold_bytes = 12;
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kNever)}, pc);
    Handshake h = client_handshake(rig, Fam::v4, {}, "abcd");  // 4 bytes on the ACK
    rig.feed(build_frame(h.ack), kClientPort);
    SegmentSpec d = h.ack;
    d.seq += 4;
    d.payload = text("efgh");  // 8 held
    EXPECT_TRUE(rig.feed(build_frame(d), kClientPort).empty());
    SegmentSpec over = d;
    over.seq += 4;
    over.payload = text("ijklm");  // 13 > 12: dropped (the client resends)
    EXPECT_TRUE(rig.feed(build_frame(over), kClientPort).empty());
    SegmentSpec bare = d;
    bare.payload.clear();  // a bare duplicate ACK: nothing to deliver
    EXPECT_TRUE(rig.feed(build_frame(bare), kClientPort).empty());
    EXPECT_EQ(rig.pc(app::kHeld), 2u);
    EXPECT_EQ(rig.pc(app::kHeldDropped), 1u);
    EXPECT_EQ(rig.proxy.held_buffers(), 1u);
    const auto out = rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1,
                                                         {.mss = 1400, .wscale = 7, .sack = true, .ts = true, .tsval = 1, .tsecr = 777})),
                              kServerPort);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(FrameView(out[0].bytes).payload(), text("abcd"));
    EXPECT_EQ(FrameView(out[1].bytes).payload(), text("efgh"));
    EXPECT_EQ(FrameView(out[1].bytes).ack(), kServerIsn + 1);
    EXPECT_EQ(rig.proxy.held_buffers(), 0u);
}

TEST(Proxy, ResetsEitherWayEndTheFlowAndLateSegmentsAreDropped) {
    for (const bool client_resets : {true, false}) {
        ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
        Handshake h = client_handshake(rig, Fam::v4, {}, "");
        rig.feed(build_frame(h.ack), kClientPort);
        rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1,
                                            {.mss = 1400, .wscale = 7, .sack = true, .ts = true, .tsval = 1, .tsecr = 777})),
                 kServerPort);
        SegmentSpec rst = h.ack;
        rst.flags = RST;
        rst.tcp_options.clear();
        const auto out = client_resets
                             ? rig.feed(build_frame(rst), kClientPort)
                             : rig.feed(build_frame(server_segment(h.syn, RST, kServerIsn + 1, 0)), kServerPort);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].port, client_resets ? kServerPort : kClientPort);
        EXPECT_EQ(rig.pc(client_resets ? app::kClientRst : app::kServerRst), 1u);
        EXPECT_TRUE(rig.feed(build_frame(h.ack), kClientPort).empty()) << "late: dropped";
        EXPECT_EQ(rig.e.counter(handshake::kEstablished), 1u);
        rig.tick(proxy_config().grace_ns);
        EXPECT_EQ(rig.e.worker->established(), 0u);
    }
}

// The client's next connection from the same port (as after TIME_WAIT): answered as new, the old
// flow forgotten at once, none of its buffers kept.
void expect_reopened_by_a_new_syn(ProxyRig& rig, const Handshake& h) {
    SegmentSpec again = h.syn;
    again.seq += 100000;
    const auto out = rig.feed(build_frame(again), kClientPort);
    ASSERT_EQ(out.size(), 1u) << "answered as a new connection";
    EXPECT_EQ(FrameView(out[0].bytes).flags(), SYN | ACK);
    EXPECT_EQ(FrameView(out[0].bytes).ack(), again.seq + 1);
    EXPECT_EQ(rig.pc(app::kReopened), 1u);
    EXPECT_EQ(rig.e.worker->established(), 0u) << "the old flow is forgotten at once";
    EXPECT_TRUE(rig.io.owned.empty()) << "its held buffers were released";
}

TEST(Proxy, ANewSynOnALingeringFlowsTupleOpensANewConnection) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kNever)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    rig.feed(build_frame(server_segment(h.syn, RST | ACK, 0, h.syn.seq + 1)), kServerPort);  // refused: lingers
    ASSERT_EQ(rig.e.worker->established(), 1u);
    expect_reopened_by_a_new_syn(rig, h);
    rig.tick(proxy_config().grace_ns * 2);  // its stale linger entry must not free anything
    EXPECT_EQ(rig.pc(app::kFreed), 1u);
    EXPECT_TRUE(rig.io.owned.empty());
}

TEST(Proxy, ANewSynAfterTheClientsFinOpensANewConnectionEvenIfTheServerNeverClosed) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1, {.mss = 1400})), kServerPort);
    SegmentSpec fin = h.ack;
    fin.flags = FIN | ACK;
    EXPECT_EQ(rig.feed(build_frame(fin), kClientPort).size(), 1u);
    // The server's FIN never arrives (lost); the client, done, reuses its port.
    expect_reopened_by_a_new_syn(rig, h);
}

TEST(Proxy, ANewSynAfterAHeldFinOpensANewConnection) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);  // the server has not answered yet
    SegmentSpec fin = h.ack;
    fin.flags = FIN | ACK;
    EXPECT_TRUE(rig.feed(build_frame(fin), kClientPort).empty()) << "held";
    EXPECT_EQ(rig.pc(app::kClientFin), 1u);
    expect_reopened_by_a_new_syn(rig, h);  // the held ACK and FIN released with the old flow
}

TEST(Proxy, ASynOnAnOpenFlowIsDropped) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1, {.mss = 1400})), kServerPort);
    EXPECT_TRUE(rig.feed(build_frame(h.syn), kClientPort).empty());
    EXPECT_EQ(rig.pc(app::kUnexpected), 1u);
    EXPECT_EQ(rig.pc(app::kReopened), 0u);
    EXPECT_EQ(rig.e.worker->established(), 1u);
}

TEST(Proxy, ClientResetBeforeTheServerAnsweredResetsTheServerLeg) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    SegmentSpec rst = h.ack;
    rst.flags = RST | ACK;
    rst.tcp_options.clear();
    const auto out = rig.feed(build_frame(rst), kClientPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].port, kServerPort);
    EXPECT_EQ(FrameView(out[0].bytes).flags(), RST);
    EXPECT_EQ(FrameView(out[0].bytes).seq(), h.syn.seq + 1);
    EXPECT_TRUE(FrameView(out[0].bytes).tcp_checksum_ok());
    // The server's late SYN-ACK finds the flow closed.
    EXPECT_TRUE(rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1, {.mss = 1400})), kServerPort).empty());
    rig.tick(proxy_config().grace_ns);
    EXPECT_TRUE(rig.io.owned.empty());
}

TEST(Proxy, IdleFlowsAreClosed) {
    app::ProxyConfig pc = proxy_config();
    pc.idle_timeout_ns = 10 * kSec;
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)}, pc);
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    rig.feed(build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1, {.mss = 1400})), kServerPort);
    rig.tick(6 * kSec);
    SegmentSpec d = h.ack;
    d.payload = text("still here");
    EXPECT_EQ(rig.feed(build_frame(d), kClientPort).size(), 1u);
    rig.tick(6 * kSec);  // 6 s since the last segment: not idle yet
    EXPECT_EQ(rig.pc(app::kIdleTimeout), 0u);
    rig.tick(5 * kSec);
    EXPECT_EQ(rig.pc(app::kIdleTimeout), 1u);
    rig.tick(pc.grace_ns);
    EXPECT_EQ(rig.e.worker->established(), 0u);
}

TEST(Proxy, ServerRepeatingItsSynAckIsAckedAgain) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    Handshake h = client_handshake(rig, Fam::v4, {}, "");
    rig.feed(build_frame(h.ack), kClientPort);
    const auto synack = build_frame(server_segment(h.syn, SYN | ACK, kServerIsn, h.syn.seq + 1,
                                                   {.mss = 1400, .wscale = 7, .sack = true, .ts = true, .tsval = 9, .tsecr = 777}));
    rig.feed(synack, kServerPort);
    const auto out = rig.feed(synack, kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].port, kServerPort);
    const FrameView a(out[0].bytes);
    EXPECT_EQ(a.flags(), ACK);
    EXPECT_EQ(a.seq(), h.syn.seq + 1);
    EXPECT_EQ(a.ack(), kServerIsn + 1);
    EXPECT_EQ(a.options().tsecr, 9u);
    EXPECT_EQ(a.src_addr(), FrameView(build_frame(h.syn)).src_addr()) << "from the client";
    EXPECT_TRUE(a.tcp_checksum_ok());
    EXPECT_EQ(rig.pc(app::kServerSynAckRepeat), 1u);
}

TEST(Proxy, TrafficFromTheServerToOtherClientsIsBridged) {
    ProxyRig rig({listener(Fam::v4, 80, CookieMode::kAlways)});
    const SegmentSpec syn = client_syn(Fam::v4);
    const auto out = rig.feed(build_frame(server_segment(syn, ACK, 1, 2, {}, text("?"))), kServerPort);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].port, 99) << "passed (bridged by the loop)";
    EXPECT_EQ(rig.e.counter(handshake::kPassNoListener), 1u);
}

// ---------------------------------------------------------------------------------------------
// Linger alone.

TEST(Linger, ExpiresInOrderSkipsCancelledEntriesAndEvictsWhenFull) {
    app::Linger l(/*flow ids*/ 8, /*entries*/ 3, /*grace*/ 10);
    uint32_t f = 99;
    EXPECT_FALSE(l.push(1, 100, f));
    EXPECT_FALSE(l.push(2, 105, f));
    EXPECT_TRUE(l.lingering(1));
    EXPECT_FALSE(l.pop_due(109, f)) << "nothing due before 110";
    ASSERT_TRUE(l.pop_due(110, f));
    EXPECT_EQ(f, 1u);
    EXPECT_FALSE(l.lingering(1));
    // Flow 2 ends early and its id comes back for a newer connection, which lingers later.
    l.cancel(2);
    EXPECT_FALSE(l.lingering(2));
    EXPECT_FALSE(l.push(2, 200, f));
    EXPECT_FALSE(l.pop_due(150, f)) << "the stale entry of flow 2 (due at 115) closes nothing";
    EXPECT_TRUE(l.lingering(2));
    ASSERT_TRUE(l.pop_due(210, f));
    EXPECT_EQ(f, 2u);
    // Full: the oldest current entry is handed back; stale ones make room without an eviction.
    EXPECT_FALSE(l.push(3, 300, f));
    EXPECT_FALSE(l.push(4, 301, f));
    EXPECT_FALSE(l.push(5, 302, f));
    ASSERT_TRUE(l.push(6, 303, f));
    EXPECT_EQ(f, 3u);
    EXPECT_FALSE(l.lingering(3));
    l.cancel(4);
    EXPECT_FALSE(l.push(7, 304, f)) << "the cancelled entry of flow 4 made room";
    EXPECT_FALSE(l.holds(8));
    std::vector<uint32_t> rest;
    while (l.pop(f)) rest.push_back(f);
    EXPECT_EQ(rest, (std::vector<uint32_t>{5, 6, 7}));
}

// ---------------------------------------------------------------------------------------------
// The splice functions alone.

TEST(Splice, RescaleWindow) {
    EXPECT_EQ(app::rescale_window(100, 9, 7), 400);
    EXPECT_EQ(app::rescale_window(1000, 6, 0), 64000);
    EXPECT_EQ(app::rescale_window(2000, 6, 0), 65535) << "clamped";
    EXPECT_EQ(app::rescale_window(100, 0, 7), 1) << "never 0 from a non-zero window";
    EXPECT_EQ(app::rescale_window(0, 0, 7), 0);
    EXPECT_EQ(app::rescale_window(12345, 7, 7), 12345);
}

TEST(Splice, OptionsAtOddOffsetsKeepTheChecksumValid) {
    for (const Fam fam : {Fam::v4, Fam::v6}) {
        SegmentSpec s = client_syn(fam);
        s.flags = ACK;
        s.ack = 1000;
        s.payload = text("odd");
        // One NOP, then TS at offset 21, then SACK at 31: fields straddle 16-bit words.
        s.tcp_options = {1, 8, 10, 0, 0, 0, 50, 0, 0, 0, 60, 5, 10, 0, 0, 3, 0xe8, 0, 0, 7, 0xd0, 0};
        std::vector<uint8_t> f = build_frame(s);
        const net::ParsedPacket p = net::parse(f);
        ASSERT_TRUE(p.ok());
        app::Splice sp;
        sp.seq_offset = 0x01020304;
        sp.ts_offset = 7;
        sp.timestamps = true;
        app::splice_to_server(f.data(), p, sp);
        const FrameView v(f);
        EXPECT_TRUE(v.tcp_checksum_ok());
        EXPECT_EQ(v.ack(), 1000u + 0x01020304);
        EXPECT_EQ(v.options().tsecr, 60u - 7);
        EXPECT_EQ(v.options().tsval, 50u);
        EXPECT_EQ(sack_block(v), std::make_pair(1000u + 0x01020304, 2000u + 0x01020304));
        const net::ParsedPacket q = net::parse(f);
        ASSERT_TRUE(q.ok()) << "still parses, checksum included";
        app::splice_to_client(f.data(), q, sp);
        EXPECT_TRUE(FrameView(f).tcp_checksum_ok());
        EXPECT_EQ(FrameView(f).seq(), s.seq - 0x01020304);
        EXPECT_EQ(FrameView(f).options().tsval, 57u);
    }
}

// ---------------------------------------------------------------------------------------------
// absorb: a retransmitted completing ACK within the grace period is not a second connection.

TEST(Absorb, RetransmittedCompletingAckWithinTheGracePeriodOpensNothing) {
    Engine e({listener(Fam::v4, 80, CookieMode::kAlways)});
    TestIo io(e.frames);
    app::Absorb absorb({.close_with = app::CloseWith::kRst, .grace_ns = 2 * kSec});
    const SegmentSpec syn = client_syn(Fam::v4, {.mss = 1460, .ts = true, .tsval = 5});
    const FrameView synack(e.reply(build_frame(syn)));
    const auto ack = build_frame(client_ack(syn, synack, true));
    auto accept_all = [&] {
        handshake::Connection c;
        while (e.worker->accept(0, c)) EXPECT_EQ(absorb.on_accept(c, io).kind, app::Disposition::Kind::kTransmit);
    };
    auto forget = [&] {
        absorb.on_tick(io);
        for (uint32_t id : io.closed) e.worker->forget_flow(id);
        io.closed.clear();
    };
    e.feed(ack);
    accept_all();
    for (int i = 0; i < 6; ++i) {  // the client did not get our RST and resends its ACK
        io.now += kSec / 4;
        e.now = io.now;
        forget();
        e.feed(ack);
        ASSERT_EQ(e.out.n_flow, 1u);
        EXPECT_EQ(absorb.on_packet(e.out.flow[0].packet, {e.out.flow[0].flow, false}, io).kind, app::Disposition::Kind::kFree);
        accept_all();
    }
    EXPECT_EQ(e.counter(handshake::kEstablished), 1u);
    EXPECT_EQ(absorb.late_packets(), 6u);
    io.now += 2 * kSec;
    forget();
    EXPECT_EQ(e.worker->established(), 0u) << "forgotten after the grace period";
}

TEST(Absorb, ItsFinAndRstCarryTimestampsAndAScaledWindowWhenNegotiated) {
    // RFC 7323: timestamps negotiated, every segment carries them (a FIN without them is dropped
    // by the client's PAWS handling); after the SYN, windows are scaled. In both modes, both ways.
    for (bool cookie : {false, true})
        for (bool negotiated : {false, true})
            for (auto how : {app::CloseWith::kFin, app::CloseWith::kRst}) {
                SCOPED_TRACE(::testing::Message() << "cookie=" << cookie << " negotiated=" << negotiated
                                                  << " fin=" << (how == app::CloseWith::kFin));
                Engine e({listener(Fam::v4, 80, cookie ? CookieMode::kAlways : CookieMode::kNever)});
                TestIo io(e.frames);
                io.now = e.now;
                app::Absorb absorb({.close_with = how, .grace_ns = 0});
                const SegmentSpec syn = client_syn(
                    Fam::v4, negotiated ? OptionSpec{.mss = 1460, .wscale = 7, .ts = true, .tsval = 700} : OptionSpec{.mss = 1460});
                const FrameView synack(e.reply(build_frame(syn)));
                e.feed(build_frame(client_ack(syn, synack, negotiated)));
                handshake::Connection c;
                ASSERT_TRUE(e.worker->accept(0, c));
                ASSERT_EQ(absorb.on_accept(c, io).kind, app::Disposition::Kind::kTransmit);
                const FrameView close(Frames::bytes(c.packet));
                EXPECT_TRUE(close.tcp_checksum_ok());
                EXPECT_EQ(close.seq(), synack.seq() + 1);
                const OptionSpec o = close.options();
                EXPECT_EQ(o.ts, negotiated);
                if (negotiated) {
                    EXPECT_EQ(o.tsecr, 777u) << "the client's latest TSval (its ACK's)";
                    EXPECT_GE(o.tsval, synack.options().tsval) << "never older than our SYN-ACK's";
                }
                if (how == app::CloseWith::kFin) {
                    EXPECT_EQ(close.flags(), FIN | ACK);
                    EXPECT_EQ(close.window(), negotiated ? 65535 >> 7 : 65535);
                } else {
                    EXPECT_EQ(close.flags(), RST | ACK);
                }
            }
}

TEST(Absorb, DataPastRcvNxtOnTheCompletingAckIsNotTheConnectionsFirstBytes) {
    // In the window but 100 bytes past RCV.NXT: the connection opens (as tcp_check_req), the bytes
    // are out of order, so the connection starts with no data and nothing past RCV.NXT is acked.
    for (uint32_t gap : {0u, 100u}) {
        SCOPED_TRACE(gap);
        Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
        const auto syn = client_syn(Fam::v4);
        const FrameView r(e.reply(build_frame(syn)));
        auto a = client_ack(syn, r, false, std::vector<uint8_t>(18, 'x'));
        a.seq += gap;
        e.feed(build_frame(a));
        handshake::Connection c{};
        ASSERT_TRUE(e.worker->accept(0, c));
        EXPECT_EQ(c.client_isn, syn.seq);
        EXPECT_EQ(c.payload_len, gap ? 0u : 18u);
        EXPECT_EQ(c.packet.len, build_frame(a).size()) << "the segment itself still comes along";
        app::Absorb absorb({.close_with = app::CloseWith::kFin, .grace_ns = 0});
        TestIo io(e.frames);
        io.now = e.now;
        ASSERT_EQ(absorb.on_accept(c, io).kind, app::Disposition::Kind::kTransmit);
        EXPECT_EQ(FrameView(Frames::bytes(c.packet)).ack(), syn.seq + 1 + (gap ? 0 : 18));
    }
}

TEST(Absorb, ANewSynOnALingeringTupleIsHandledAsNew) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    TestIo io(e.frames);
    app::Absorb absorb({.close_with = app::CloseWith::kRst, .grace_ns = 2 * kSec});
    SegmentSpec syn = client_syn(Fam::v4);
    const FrameView synack(e.reply(build_frame(syn)));
    e.feed(build_frame(client_ack(syn, synack, false)));
    handshake::Connection c;
    ASSERT_TRUE(e.worker->accept(0, c));
    absorb.on_accept(c, io);
    syn.seq += 5000;  // the client's next connection on the same port, within the grace period
    e.feed(build_frame(syn));
    ASSERT_EQ(e.out.n_flow, 1u);
    EXPECT_EQ(absorb.on_packet(e.out.flow[0].packet, {e.out.flow[0].flow, false}, io).kind, app::Disposition::Kind::kReprocess);
    ASSERT_EQ(io.closed, std::vector<uint32_t>{c.flow});
    e.worker->forget_flow(c.flow);
    io.closed.clear();
    const FrameView again(e.reply(build_frame(syn)));
    EXPECT_EQ(again.flags(), SYN | ACK) << "handled again: a new request";
    io.now += 3 * kSec;
    absorb.on_tick(io);
    EXPECT_TRUE(io.closed.empty()) << "the stale linger entry closes nothing";
}

}  // namespace
