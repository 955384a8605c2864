// The handshake engine end to end, at the byte level: SYN -> SYN-ACK -> ACK -> accepted connection,
// for IPv4 and IPv6, with and without VLAN tags, every client option combination, in queue and in
// cookie mode; then the rejections and the kernel-equivalent decisions (RFC 9293 §3.10.7, RFC 5961).
// Frames are built and inspected by test/unit/packet_factory (independent of lib/net).
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <tuple>

#include "cookie/syn_cookie.hpp"
#include "handshake/worker.hpp"
#include "packet_factory.hpp"

using namespace synwall;
using namespace synwall::handshake;
namespace pf = synwall::testing;
using synwall::testing::Fam;
using synwall::testing::FrameView;
using synwall::testing::OptionSpec;
using synwall::testing::SegmentSpec;

#include "engine_rig.hpp"

namespace {

using namespace synwall::testing;

// ---------------------------------------------------------------------------------------------
// The full matrix.

using MatrixParam = std::tuple<Fam, int /*vlans*/, bool /*cookie mode*/>;
class HandshakeMatrix : public ::testing::TestWithParam<MatrixParam> {};

TEST_P(HandshakeMatrix, EveryClientOptionCombination) {
    const auto [fam, vlans, cookie_mode] = GetParam();
    const bool v6 = fam == Fam::v6;
    Engine e({listener(fam, 80, cookie_mode ? CookieMode::kAlways : CookieMode::kNever)});
    const uint16_t our_mss = v6 ? 1440 : 1460;
    int cases = 0;
    uint16_t sport = 1024;
    for (int mss : {-1, 536, 1000, 1220, 1300, 1440, 1460, 8960})
        for (int ws = -1; ws <= 14; ++ws)
            for (bool sack : {false, true})
                for (bool ts : {false, true})
                    for (bool ecn : {false, true}) {
                        SCOPED_TRACE(::testing::Message() << "mss=" << mss << " ws=" << ws << " sack=" << sack
                                                          << " ts=" << ts << " ecn=" << ecn);
                        ++cases;
                        OptionSpec o{.mss = mss, .wscale = ws, .sack = sack, .ts = ts, .tsval = 0xabcdef01u + sport};
                        SegmentSpec syn = client_syn(fam, o);
                        syn.sport = sport++;
                        syn.seq = 0x9e3779b9u * sport;
                        if (vlans >= 1) syn.vlans.push_back(100);
                        if (vlans >= 2) syn.vlans.insert(syn.vlans.begin(), 200);
                        if (ecn) syn.flags |= ECE | CWR;
                        const auto syn_bytes = pf::build_frame(syn);
                        const FrameView in(syn_bytes);
                        const auto reply = e.reply(syn_bytes);
                        ASSERT_FALSE(reply.empty());
                        const FrameView r(reply);

                        // L2: MACs swapped, tags kept.
                        EXPECT_TRUE(std::equal(reply.begin(), reply.begin() + 6, syn.src_mac.begin()));
                        EXPECT_TRUE(std::equal(reply.begin() + 6, reply.begin() + 12, syn.dst_mac.begin()));
                        EXPECT_EQ(r.vlan_count, vlans);
                        EXPECT_TRUE(std::equal(reply.begin() + 12, reply.begin() + static_cast<long>(in.l3),
                                               syn_bytes.begin() + 12));
                        // L3/L4 addressing.
                        EXPECT_EQ(r.src_addr(), in.dst_addr());
                        EXPECT_EQ(r.dst_addr(), in.src_addr());
                        EXPECT_EQ(r.sport(), syn.dport);
                        EXPECT_EQ(r.dport(), syn.sport);
                        EXPECT_EQ(r.ttl(), 64);
                        EXPECT_EQ(reply.size(), r.l4 + r.tcp_header_len()) << "no payload, no padding";
                        if (!v6) {
                            EXPECT_EQ(r.be16(r.l3 + 6), 0x4000) << "DF";
                        }
                        EXPECT_TRUE(r.ipv4_checksum_ok());
                        EXPECT_TRUE(r.tcp_checksum_ok());
                        EXPECT_EQ(r.tcp_header_len() % 4, 0u);
                        EXPECT_EQ(r.ack(), syn.seq + 1);
                        EXPECT_EQ(r.window(), 65535);

                        // Options: what the client offered and we support; in cookie mode without
                        // timestamps only MSS (nowhere to keep the rest, as the kernel).
                        const bool rich = !cookie_mode || ts;
                        const OptionSpec ro = r.options();
                        EXPECT_EQ(ro.mss, our_mss);
                        EXPECT_EQ(ro.ts, ts);
                        if (ts) {
                            EXPECT_EQ(ro.tsecr, o.tsval);
                        }
                        EXPECT_EQ(ro.sack, sack && rich);
                        EXPECT_EQ(ro.wscale, ws >= 0 && rich ? 7 : -1);
                        EXPECT_FALSE(ro.tfo);
                        const bool ecn_ok = ecn && rich;
                        EXPECT_EQ(r.flags(), SYN | ACK | (ecn_ok ? ECE : 0));
                        if (cookie_mode && ts) {
                            const auto co = cookie::decode_opts(static_cast<uint8_t>(ro.tsval & 63));
                            EXPECT_EQ(co.wscale, ws >= 0 ? ws : 15);
                            EXPECT_EQ(co.sack, sack);
                            EXPECT_EQ(co.ecn, ecn);
                        }

                        // Third segment, with data on every other case.
                        std::vector<uint8_t> data;
                        if (cases % 2) data = {'G', 'E', 'T', ' ', '/'};
                        e.feed(pf::build_frame(client_ack(syn, r, ts, data)));
                        ASSERT_EQ(e.out.n_established, 1u);
                        Connection c{};
                        ASSERT_TRUE(e.worker->accept(0, c));
                        EXPECT_EQ(c.client_isn, syn.seq);
                        EXPECT_EQ(c.server_isn, r.seq());
                        EXPECT_EQ(c.key.client_port, syn.sport);
                        EXPECT_EQ(c.key.server_port, syn.dport);
                        EXPECT_EQ(c.key.is_v4(), !v6);
                        const int client_mss = mss < 0 ? (v6 ? 1220 : 536) : mss;
                        int expect_mss = client_mss;
                        if (cookie_mode) {  // rounded down to the table (index 0 below it)
                            const uint16_t* t = v6 ? cookie::kMssTableV6 : cookie::kMssTableV4;
                            expect_mss = t[0];
                            for (int i = 0; i < 8; ++i)
                                if (client_mss >= t[i]) expect_mss = t[i];
                        }
                        EXPECT_EQ(c.mss, std::min(expect_mss, int{our_mss}));
                        EXPECT_EQ(c.snd_wscale, ws >= 0 && rich ? ws : 15);
                        EXPECT_EQ(c.rcv_wscale, ws >= 0 && rich ? 7 : 15);
                        EXPECT_EQ((c.flags & kConnSack) != 0, sack && rich);
                        EXPECT_EQ((c.flags & kConnTimestamps) != 0, ts);
                        EXPECT_EQ((c.flags & kConnEcn) != 0, ecn_ok);
                        EXPECT_EQ((c.flags & kConnFromCookie) != 0, cookie_mode);
                        EXPECT_EQ(c.payload_len, data.size());
                        ASSERT_EQ(c.packet.data[c.payload_offset], data.empty() ? c.packet.data[c.payload_offset] : 'G');
                        if (ts) {
                            EXPECT_EQ(c.ts_recent, 777u);
                        }
                    }
    EXPECT_EQ(e.counter(kEstablished), static_cast<uint64_t>(cases));
    EXPECT_EQ(e.counter(kSyncookiesSent), cookie_mode ? static_cast<uint64_t>(cases) : 0u);
    EXPECT_EQ(e.counter(kSyncookiesRecv), cookie_mode ? static_cast<uint64_t>(cases) : 0u);
    EXPECT_EQ(e.worker->half_open(), 0u);
    EXPECT_EQ(e.worker->established(), static_cast<uint32_t>(cases));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, HandshakeMatrix,
                         ::testing::Combine(::testing::Values(Fam::v4, Fam::v6), ::testing::Values(0, 1, 2),
                                            ::testing::Bool()),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) == Fam::v4 ? "v4" : "v6") + "_vlan" +
                                    std::to_string(std::get<1>(info.param)) +
                                    (std::get<2>(info.param) ? "_cookie" : "_queue");
                         });

// ---------------------------------------------------------------------------------------------
// Cookie rejections.

class CookieReject : public ::testing::TestWithParam<Fam> {
protected:
    // A listener on ports 80 and 81 (any address) in cookie-always mode, and a valid
    // SYN-ACK/ACK pair to mutate.
    Engine e{{listener(GetParam(), 80, CookieMode::kAlways), listener(GetParam(), 81, CookieMode::kAlways)}};
    SegmentSpec syn = client_syn(GetParam(), {.mss = 1460, .wscale = 7, .sack = true, .ts = true, .tsval = 5});
    SegmentSpec ack;
    void SetUp() override {
        const FrameView r(e.reply(pf::build_frame(syn)));
        ack = client_ack(syn, r, true);
    }
    bool accepted(const SegmentSpec& a) {
        const auto before = e.counter(kEstablished);
        e.feed(pf::build_frame(a));
        return e.counter(kEstablished) > before;
    }
};

TEST_P(CookieReject, ValidAckIsAccepted) { EXPECT_TRUE(accepted(ack)); }

TEST_P(CookieReject, EveryTupleFieldChanged) {
    auto a = ack;
    a.src[a.fam == Fam::v4 ? 3 : 15] ^= 1;
    EXPECT_FALSE(accepted(a)) << "client address";
    a = ack;
    a.dst[a.fam == Fam::v4 ? 3 : 15] ^= 1;
    EXPECT_FALSE(accepted(a)) << "server address";
    a = ack;
    a.sport ^= 1;
    EXPECT_FALSE(accepted(a)) << "client port";
    a = ack;
    a.dport = 81;
    EXPECT_FALSE(accepted(a)) << "server port";
    a = ack;
    a.seq += 1;
    EXPECT_FALSE(accepted(a)) << "client ISN";
    EXPECT_EQ(e.counter(kSyncookiesFailed), 5u);
    EXPECT_TRUE(accepted(ack)) << "the original still validates";
}

TEST_P(CookieReject, EverySingleBitFlipOfTheCookie) {
    for (int bit = 0; bit < 32; ++bit) {
        auto a = ack;
        a.ack ^= 1u << bit;
        EXPECT_FALSE(accepted(a)) << "bit " << bit;
    }
    for (int bit = 0; bit < 6; ++bit) {  // the options carried in the TSecr low bits
        auto a = ack;
        OptionSpec o{.ts = true, .tsval = 777, .tsecr = FrameView(pf::build_frame(ack)).options().tsecr ^ (1u << bit)};
        a.tcp_options = pf::tcp_options(o);
        EXPECT_FALSE(accepted(a)) << "opts bit " << bit;
    }
    EXPECT_EQ(e.counter(kSyncookiesFailed), 38u);
}

TEST_P(CookieReject, ExpiresAfterTwoCounterPeriods) {
    const uint64_t period = 64 * kSec;
    const uint64_t minted = e.now;
    // Minted in counter t; accepted while the clock is in t or t + 1, rejected from t + 2 on.
    const uint64_t start_of_next = (minted / period + 1) * period;
    e.now = start_of_next + period - 1;
    EXPECT_TRUE(accepted(ack));
    e.now = start_of_next + period;
    auto a = ack;
    a.sport += 1000;  // a different connection, same cookie arithmetic, must not validate either
    EXPECT_FALSE(accepted(ack));
    EXPECT_FALSE(accepted(a));
}

TEST_P(CookieReject, RotationBoundaryKeepsPreviousEpoch) {
    // Default rotation: every 60 counter periods. Mint a cookie in the last period of an epoch and
    // check it one period later, in the next epoch.
    const uint64_t period = 64 * kSec, epoch = 60 * period;
    Engine e2({listener(GetParam(), 80, CookieMode::kAlways)});
    e2.now = (kT0 / epoch + 1) * epoch - 1;  // last nanosecond of an epoch
    const FrameView r(e2.reply(pf::build_frame(syn)));
    const auto a = client_ack(syn, r, true);
    e2.now += period;  // next epoch, previous counter
    e2.feed(pf::build_frame(a));
    EXPECT_EQ(e2.out.n_established, 1u);
    // A cookie minted at the start of an epoch is gone two periods later even within the epoch.
    Engine e3({listener(GetParam(), 80, CookieMode::kAlways)});
    e3.now = (kT0 / epoch + 1) * epoch;
    const FrameView r3(e3.reply(pf::build_frame(syn)));
    e3.now += 2 * period;
    e3.feed(pf::build_frame(client_ack(syn, r3, true)));
    EXPECT_EQ(e3.out.n_established, 0u);
    EXPECT_EQ(e3.counter(kSyncookiesFailed), 1u);
}

TEST_P(CookieReject, AnotherApplianceWithTheSameKeyAgreesAndADifferentKeyDoesNot) {
    Engine same({listener(GetParam(), 80, CookieMode::kAlways)});
    same.feed(pf::build_frame(ack));
    EXPECT_EQ(same.out.n_established, 1u);
    cookie::SecretConfig other = test_secrets();
    other.master[0] ^= 0x80;
    Engine diff({listener(GetParam(), 80, CookieMode::kAlways)}, {}, other);
    diff.feed(pf::build_frame(ack));
    EXPECT_EQ(diff.out.n_established, 0u);
}

TEST_P(CookieReject, SipHashAndAesCookiesAreDifferentFunctions) {
    if (cookie::best_prf() == cookie::PrfKind::kSipHash) GTEST_SKIP() << "no AES-NI";
    Engine sip({listener(GetParam(), 80, CookieMode::kAlways)}, {}, test_secrets(cookie::PrfKind::kSipHash));
    sip.feed(pf::build_frame(ack));
    EXPECT_EQ(sip.out.n_established, 0u);
}

INSTANTIATE_TEST_SUITE_P(Families, CookieReject, ::testing::Values(Fam::v4, Fam::v6),
                         [](const auto& info) { return info.param == Fam::v4 ? "v4" : "v6"; });

// 10^7 random ACKs against a cookie listener: the MAC is 28 bits, so the expected number of
// validations is 10^7 / 2^28 = 0.037; more than 3 would have Poisson probability below 1e-7.
TEST(CookieForgery, TenMillionRandomAcks) {
    EngineConfig ec;
    ec.parse.verify_tcp_checksum = false;  // we rewrite fields in place below
    ec.parse.verify_ipv4_checksum = false;
    Engine e({listener(Fam::v4, 80, CookieMode::kAlways)}, ec);
    SegmentSpec a = client_syn(Fam::v4, {});
    a.flags = ACK;
    const auto proto = pf::build_frame(a);
    const FrameView fv(proto);
    constexpr int kBurst = 32;
    std::vector<std::vector<uint8_t>> bufs(kBurst, proto);
    for (auto& b : bufs) b.resize(256);
    std::mt19937_64 rng(12345);
    uint64_t validated = 0;
    constexpr uint64_t kTotal = 10'000'000;
    for (uint64_t done = 0; done < kTotal; done += kBurst) {
        net::Packet pk[kBurst];
        for (int i = 0; i < kBurst; ++i) {
            uint8_t* d = bufs[i].data();
            const uint64_t r1 = rng(), r2 = rng();
            d[fv.l3 + 13] = static_cast<uint8_t>(r1);       // client address 198.51.x.y
            d[fv.l3 + 14] = static_cast<uint8_t>(r1 >> 8);
            d[fv.l4] = static_cast<uint8_t>(r1 >> 16);      // client port
            d[fv.l4 + 1] = static_cast<uint8_t>(r1 >> 24);
            std::memcpy(d + fv.l4 + 4, &r2, 8);              // seq and ack
            pk[i] = net::Packet{d, static_cast<uint16_t>(proto.size()), 256, 0, 0, nullptr};
        }
        e.out.clear();
        e.worker->process_burst({pk, kBurst}, e.now, e.out);
        validated += e.out.n_established;
        Connection c;
        while (e.worker->accept(0, c)) e.worker->forget_flow(c.flow);
    }
    EXPECT_EQ(e.counter(kSyncookiesFailed) + e.counter(kSyncookiesRecv), kTotal);
    EXPECT_LE(validated, 3u) << "forgeries validated: " << validated;
    RecordProperty("validated", static_cast<int>(validated));
}

// Near misses: acknowledgment numbers within 1000 of 400 valid cookies (800,000 ACKs), as from an
// attacker who saw SYN-ACKs to other tuples or guesses close. Every bit of the cookie is under the
// MAC, so each validates with probability 2^-28: 0.003 expected in all (docs/security.md); the
// test allows 2. The valid cookies validate afterwards.
TEST(CookieForgery, NearMissAcksAroundValidCookies) {
    Engine e({listener(Fam::v4, 80, CookieMode::kAlways)});
    constexpr int kCookies = 400, kSpread = 1000;
    std::vector<SegmentSpec> valid;
    for (int i = 0; i < kCookies; ++i) {
        auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = false});
        syn.sport = static_cast<uint16_t>(10000 + i);
        valid.push_back(client_ack(syn, FrameView(e.reply(pf::build_frame(syn))), false));
    }
    uint64_t validated = 0, tried = 0;
    for (const SegmentSpec& good : valid) {
        for (int d = -kSpread; d <= kSpread; ++d) {
            if (d == 0) continue;
            SegmentSpec a = good;
            a.ack = good.ack + static_cast<uint32_t>(d);
            e.feed(pf::build_frame(a));
            validated += e.out.n_established;
            ++tried;
        }
    }
    EXPECT_EQ(tried, 2u * kCookies * kSpread);
    EXPECT_EQ(e.counter(kSyncookiesFailed), tried - validated);
    EXPECT_LE(validated, 2u) << "near misses validated: " << validated;
    RecordProperty("validated", static_cast<int>(validated));
    uint64_t ok = 0;
    for (const SegmentSpec& good : valid) {
        e.feed(pf::build_frame(good));
        ok += e.out.n_established;
    }
    EXPECT_EQ(ok, static_cast<uint64_t>(kCookies));
}

// The MAC's low bits are uniform: over 10^7 random messages, the low 12 bits match a random
// guess about 10^7 / 4096 = 2441 times (5 sigma = 247); all 28 bits almost never.
TEST(CookieForgery, MacBitsAreUniform) {
    const auto sc = test_secrets();
    cookie::SecretSchedule sched(sc);
    sched.advance(kT0 / kSec);
    const auto* keys = sched.keys_for_counter(sched.counter(kT0 / kSec));
    ASSERT_NE(keys, nullptr);
    std::mt19937_64 rng(99);
    constexpr int kBatch = 256;
    cookie::MacMsgV4 msgs[kBatch];
    uint32_t out[kBatch];
    uint64_t low12 = 0, full = 0;
    for (int round = 0; round < 10'000'000 / kBatch; ++round) {
        uint32_t guesses[kBatch];
        for (int i = 0; i < kBatch; ++i) {
            const uint64_t r = rng();
            std::memcpy(msgs[i].b, &r, 8);
            const uint64_t r2 = rng();
            std::memcpy(msgs[i].b + 8, &r2, 8);
            guesses[i] = static_cast<uint32_t>(rng());
        }
        cookie::prf_v4(keys->v4, msgs, out, kBatch);
        for (int i = 0; i < kBatch; ++i) {
            low12 += ((out[i] ^ guesses[i]) & 0xfff) == 0;
            full += ((out[i] ^ guesses[i]) & cookie::kMacMask) == 0;
        }
    }
    const double n = 10'000'000.0 / kBatch * kBatch, mean = n / 4096, sigma = std::sqrt(mean);
    EXPECT_NEAR(static_cast<double>(low12), mean, 5 * sigma);
    EXPECT_LE(full, 3u);
}

// ---------------------------------------------------------------------------------------------
// Queue-mode decisions.

TEST(HalfOpen, DuplicateSynResendsTheSameIsn) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    const auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = true, .tsval = 1});
    const FrameView r1(e.reply(pf::build_frame(syn)));
    e.now += kSec / 2;
    const FrameView r2(e.reply(pf::build_frame(syn)));
    EXPECT_EQ(r1.seq(), r2.seq());
    EXPECT_EQ(e.counter(kSynAckResent), 1u);
    EXPECT_EQ(e.worker->half_open(), 1u);
    EXPECT_TRUE(r2.tcp_checksum_ok());
}

TEST(HalfOpen, SynWithAnotherSeqGetsAChallengeAck) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    auto syn = client_syn(Fam::v4);
    const FrameView r1(e.reply(pf::build_frame(syn)));
    syn.seq += 5000;
    const FrameView c(e.reply(pf::build_frame(syn)));
    EXPECT_EQ(c.flags(), ACK);
    EXPECT_EQ(c.seq(), r1.seq() + 1);
    EXPECT_EQ(c.ack(), syn.seq - 5000 + 1);
    EXPECT_EQ(e.counter(kChallengeAcks), 1u);
}

TEST(HalfOpen, IsnsFollowRfc6528) {
    // Same tuple: ISN advances with the 4 µs clock; other tuples: unrelated offsets.
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    auto syn = client_syn(Fam::v4);
    const FrameView a(e.reply(pf::build_frame(syn)));
    syn.flags = RST;
    syn.seq += 1;
    e.feed(pf::build_frame(syn));  // exact RST removes it
    ASSERT_EQ(e.worker->half_open(), 0u);
    syn.flags = SYN;
    syn.seq -= 1;
    e.now += 4000 * 1000;  // 4 ms = 1000 ticks
    const FrameView b(e.reply(pf::build_frame(syn)));
    EXPECT_EQ(b.seq() - a.seq(), 1000u);
    syn.sport += 1;
    const FrameView c(e.reply(pf::build_frame(syn)));
    EXPECT_NE(c.seq() - b.seq(), 0u);
    EXPECT_GT(std::abs(static_cast<int64_t>(c.seq()) - static_cast<int64_t>(b.seq())), 1000);
}

TEST(HalfOpen, RstInSynReceivedFollowsRfc5961) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    auto syn = client_syn(Fam::v4);
    const FrameView r(e.reply(pf::build_frame(syn)));
    auto rst = syn;
    rst.flags = RST;
    rst.seq = syn.seq + 1 + 100;  // in window, not exact
    const FrameView c(e.reply(pf::build_frame(rst)));
    EXPECT_EQ(c.flags(), ACK);
    EXPECT_EQ(c.seq(), r.seq() + 1);
    EXPECT_EQ(c.ack(), syn.seq + 1);
    EXPECT_EQ(e.worker->half_open(), 1u);
    rst.seq = syn.seq + 1 + 1'000'000;  // outside
    e.feed(pf::build_frame(rst));
    EXPECT_EQ(e.out.n_drop, 1u);
    EXPECT_EQ(e.counter(kRstIgnored), 1u);
    EXPECT_EQ(e.worker->half_open(), 1u);
    rst.seq = syn.seq + 1;  // exact
    e.feed(pf::build_frame(rst));
    EXPECT_EQ(e.counter(kRstReqRemoved), 1u);
    EXPECT_EQ(e.worker->half_open(), 0u);
    EXPECT_EQ(e.worker->half_open(0), 0u);
}

TEST(HalfOpen, ChallengeAcksAreRateLimitedPerWorker) {
    // One in-window RST to each of 50 requests: each request may answer once, the worker's token
    // bucket (burst 5, 10/s) lets 5 through.
    EngineConfig ec;
    ec.reply_rate_per_s = 10;
    ec.reply_burst = 5;
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)}, ec);
    std::vector<SegmentSpec> rsts;
    for (uint16_t i = 0; i < 100; ++i) {
        auto syn = client_syn(Fam::v4);
        syn.sport = static_cast<uint16_t>(20000 + i);
        e.reply(pf::build_frame(syn));
        auto rst = syn;
        rst.flags = RST;
        rst.seq = syn.seq + 10;
        rsts.push_back(rst);
    }
    int sent = 0;
    for (int i = 0; i < 50; ++i) sent += e.feed(pf::build_frame(rsts[i])).n_tx;
    EXPECT_EQ(sent, 5);
    EXPECT_EQ(e.counter(kReplyRateLimited), 45u);
    EXPECT_EQ(e.counter(kAckSkippedSynRecv), 0u);
    e.now += kSec;  // 10 more tokens, capped at the burst of 5
    sent = 0;
    for (int i = 50; i < 100; ++i) sent += e.feed(pf::build_frame(rsts[i])).n_tx;
    EXPECT_EQ(sent, 5);
}

TEST(HalfOpen, DuplicateSynsAreAnsweredOncePerRequestPerInterval) {
    // A reflector otherwise: each spoofed 54-byte copy of a request's SYN drew a 74-byte SYN-ACK.
    // As tcp_check_req (tcp_oow_rate_limited): one resend per request per invalid_ratelimit_ms.
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    const auto syn = client_syn(Fam::v4, {.mss = 1460, .sack = true, .ts = true, .tsval = 1000});
    const auto first = e.reply(pf::build_frame(syn));
    ASSERT_FALSE(first.empty());
    auto dup = syn;
    dup.tcp_options = pf::tcp_options({.mss = 1460, .sack = true, .ts = true, .tsval = 5555});
    const auto dup_bytes = pf::build_frame(dup);
    size_t bytes_in = 0, bytes_out = 0;
    std::vector<uint8_t> resent;
    for (int i = 0; i < 1000; ++i) {
        e.now += kSec / 1000;  // 1000 copies over one second
        bytes_in += dup_bytes.size();
        e.feed(dup_bytes);
        for (uint32_t k = 0; k < e.out.n_tx; ++k) {
            bytes_out += e.out.tx[k].len;
            if (resent.empty()) resent = Frames::bytes(e.out.tx[k]);
        }
    }
    EXPECT_EQ(e.counter(kSynAckResent), 2u) << "one at once, one after the interval";
    EXPECT_EQ(e.counter(kAckSkippedSynRecv), 998u);
    EXPECT_LT(static_cast<double>(bytes_out) / static_cast<double>(bytes_in), 0.01);
    ASSERT_FALSE(resent.empty());
    const FrameView r(resent), f(first);
    EXPECT_EQ(r.flags(), SYN | ACK);
    EXPECT_EQ(r.seq(), f.seq());
    EXPECT_EQ(r.options().tsecr, 1000u) << "the request keeps the timestamp of the SYN that made it";
    EXPECT_EQ(e.worker->half_open(), 1u);
    EXPECT_EQ(e.counter(kSynRecv), 1001u);
}

TEST(HalfOpen, RequestAcksCarryTimestampsAndAScaledWindow) {
    // RFC 7323: after the SYN, windows are scaled and, timestamps negotiated, every segment
    // carries them (TSecr: the request's ts_recent), as tcp_v4_reqsk_send_ack.
    for (bool negotiated : {false, true}) {
        SCOPED_TRACE(negotiated);
        auto l = listener(Fam::v4, 80, CookieMode::kNever);
        l.window = 64240;
        l.wscale = 10;
        Engine e({l});
        auto syn = client_syn(Fam::v4, negotiated ? OptionSpec{.mss = 1460, .wscale = 7, .ts = true, .tsval = 4242}
                                                  : OptionSpec{.mss = 1460});
        const FrameView r(e.reply(pf::build_frame(syn)));
        ASSERT_EQ(r.flags(), SYN | ACK);
        e.now += kSec / 10;
        auto other = syn;
        other.seq += 5000;  // a SYN with another ISN: the request's ACK
        const FrameView c(e.reply(pf::build_frame(other)));
        ASSERT_EQ(c.flags(), ACK);
        EXPECT_EQ(c.seq(), r.seq() + 1);
        EXPECT_EQ(c.ack(), syn.seq + 1);
        EXPECT_EQ(c.window(), negotiated ? 64240 >> 10 : 64240);
        const OptionSpec o = c.options();
        EXPECT_EQ(o.ts, negotiated);
        if (negotiated) {
            EXPECT_EQ(o.tsecr, 4242u);
            EXPECT_GE(o.tsval, r.options().tsval);
        }
        EXPECT_TRUE(c.tcp_checksum_ok());
    }
}

TEST(HalfOpen, AckWithWrongAckNumberIsDroppedOrReset) {
    for (bool rst : {false, true}) {
        auto l = listener(Fam::v4, 80, CookieMode::kNever);
        l.rst_on_invalid_ack = rst;
        Engine e({l});
        auto syn = client_syn(Fam::v4);
        const FrameView r(e.reply(pf::build_frame(syn)));
        auto a = client_ack(syn, r, false);
        a.ack += 1;
        e.feed(pf::build_frame(a));
        EXPECT_EQ(e.counter(kDropBadAckNumber), 1u);
        EXPECT_EQ(e.out.n_tx, rst ? 1u : 0u);
        if (rst) {
            const FrameView rr(Frames::bytes(e.out.tx[0]));
            EXPECT_EQ(rr.flags(), RST);
            EXPECT_EQ(rr.seq(), a.ack);
            EXPECT_TRUE(rr.tcp_checksum_ok());
        }
        EXPECT_EQ(e.worker->half_open(), 1u) << "the request survives a bad ACK";
    }
}

TEST(Listen, ASynWithASillyOptionIsAnsweredWithWhatCameBeforeIt) {
    // tcp_parse_options stops at an option of length 0/1 or one overrunning the header and keeps
    // what it read: the SYN is answered (it used to be dropped), the MSS before it honoured.
    for (CookieMode mode : {CookieMode::kNever, CookieMode::kAlways})
        for (uint8_t silly_len : {uint8_t{0}, uint8_t{1}, uint8_t{40}}) {
            SCOPED_TRACE(::testing::Message() << "cookie=" << (mode == CookieMode::kAlways) << " len=" << int(silly_len));
            Engine e({listener(Fam::v4, 80, mode)});
            auto syn = client_syn(Fam::v4);
            syn.tcp_options = {2, 4, 0x02, 0x18, 8, silly_len, 0, 0};  // MSS 536, then a silly TS
            const auto reply = e.reply(pf::build_frame(syn));
            ASSERT_FALSE(reply.empty());
            const FrameView r(reply);
            EXPECT_EQ(r.flags(), SYN | ACK);
            EXPECT_FALSE(r.options().ts);
            e.feed(pf::build_frame(client_ack(syn, r, false)));
            Connection c{};
            ASSERT_TRUE(e.worker->accept(0, c));
            EXPECT_EQ(c.mss, 536);
        }
}

TEST(Listen, AnIpv6AtomicFragmentIsAnsweredAsAWholeSyn) {
    // RFC 6946: a fragment header with offset 0 and M 0 is not a fragment; the kernel answers it.
    // A real fragment (M set) is passed, not answered.
    for (uint16_t frag : {uint16_t{0}, uint16_t{1}}) {
        SCOPED_TRACE(frag);
        Engine e({listener(Fam::v6, 80, CookieMode::kAlways)});
        auto syn = client_syn(Fam::v6, {.mss = 1440, .ts = true, .tsval = 3});
        syn.ipv6_ext = {{44, 0, frag}};
        e.feed(pf::build_frame(syn));
        if (frag) {
            EXPECT_EQ(e.out.n_tx, 0u);
            EXPECT_EQ(e.out.n_pass, 1u);
            continue;
        }
        ASSERT_EQ(e.out.n_tx, 1u);
        const FrameView r(Frames::bytes(e.out.tx[0]));
        EXPECT_EQ(r.flags(), SYN | ACK);
        EXPECT_EQ(r.ack(), syn.seq + 1);
        EXPECT_TRUE(r.tcp_checksum_ok());
        e.feed(pf::build_frame(client_ack(syn, r, true)));
        EXPECT_EQ(e.counter(kEstablished), 1u);
    }
}

TEST(Listen, SegmentsFromTheListenersOwnAddressAreDroppedAsMartians) {
    // A LAND SYN (source = destination, address and port) and anything else from the protected
    // address itself: the kernel drops a local source arriving from outside; nothing answered.
    for (Fam fam : {Fam::v4, Fam::v6})
        for (CookieMode mode : {CookieMode::kNever, CookieMode::kAlways})
            for (uint8_t flags : {uint8_t{SYN}, uint8_t{ACK}, uint8_t{RST}}) {
                Engine e({listener(fam, 80, mode)});
                auto seg = client_syn(fam);
                seg.src = seg.dst;
                seg.sport = seg.dport;
                seg.flags = flags;
                e.feed(pf::build_frame(seg));
                EXPECT_EQ(e.out.n_tx, 0u);
                EXPECT_EQ(e.out.n_drop, 1u);
                EXPECT_EQ(e.counter(parse_counter(net::ParseStatus::kBadAddress)), 1u);
                EXPECT_EQ(e.counter(kSynRecv), 0u);
                EXPECT_EQ(e.worker->half_open(), 0u);
            }
}

TEST(Ecn, AnEctMarkedSetupSynIsRefusedEcnInBothModes) {
    // tcp_ecn_create_request: ECN only for an ECN-setup SYN that is Not-ECT itself (RFC 3168
    // §6.1.1: its sender sends SYNs Not-ECT). IPv4 and IPv6, queue and cookie mode, every codepoint.
    for (Fam fam : {Fam::v4, Fam::v6})
        for (CookieMode mode : {CookieMode::kNever, CookieMode::kAlways})
            for (uint8_t ect : {0, 1, 2, 3}) {
                SCOPED_TRACE(::testing::Message() << "v6=" << (fam == Fam::v6) << " cookie=" << (mode == CookieMode::kAlways)
                                                  << " ecn field=" << int(ect));
                Engine e({listener(fam, 80, mode)});
                auto syn = client_syn(fam, {.mss = 1460, .ts = true, .tsval = 7});
                syn.flags |= ECE | CWR;
                syn.ecn = ect;
                const FrameView r(e.reply(pf::build_frame(syn)));
                ASSERT_EQ(r.flags() & (SYN | ACK), SYN | ACK);
                EXPECT_EQ((r.flags() & ECE) != 0, ect == 0);
                e.feed(pf::build_frame(client_ack(syn, r, true)));
                Connection c{};
                ASSERT_TRUE(e.worker->accept(0, c));
                EXPECT_EQ((c.flags & kConnEcn) != 0, ect == 0);
            }
}

TEST(HalfOpen, AnAckOlderThanTheSynByItsTimestampIsRejected) {
    // PAWS in SYN-RECEIVED (tcp_check_req -> tcp_paws_reject): the request's ACK echoing the SYN's
    // TSval, no connection; the same ACK with a current TSval completes.
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    const auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = true, .tsval = 1000});
    const FrameView r(e.reply(pf::build_frame(syn)));
    auto old = client_ack(syn, r, true);
    old.tcp_options = pf::tcp_options({.ts = true, .tsval = 999, .tsecr = r.options().tsval});
    const FrameView c(e.reply(pf::build_frame(old)));
    EXPECT_EQ(c.flags(), ACK);
    EXPECT_EQ(c.ack(), syn.seq + 1);
    EXPECT_TRUE(c.options().ts);
    EXPECT_EQ(c.options().tsecr, 1000u);
    EXPECT_EQ(e.counter(kPawsRejected), 1u);
    EXPECT_EQ(e.counter(kEstablished), 0u);
    EXPECT_EQ(e.worker->half_open(), 1u);
    auto dup_syn = syn;  // an old duplicate of the SYN itself: not answered with a SYN-ACK
    dup_syn.tcp_options = pf::tcp_options({.mss = 1460, .ts = true, .tsval = 998});
    e.now += kSec;
    const FrameView d(e.reply(pf::build_frame(dup_syn)));
    EXPECT_EQ(d.flags(), ACK);
    EXPECT_EQ(e.counter(kSynAckResent), 0u);
    EXPECT_EQ(e.counter(kPawsRejected), 2u);
    auto current = old;
    current.tcp_options = pf::tcp_options({.ts = true, .tsval = 1001, .tsecr = r.options().tsval});
    e.feed(pf::build_frame(current));
    EXPECT_EQ(e.counter(kEstablished), 1u);
}

TEST(HalfOpen, AckOutsideTheWindowGetsAChallengeAck) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    auto syn = client_syn(Fam::v4);
    const FrameView r(e.reply(pf::build_frame(syn)));
    auto a = client_ack(syn, r, false);
    a.seq += 100000;
    const FrameView c(e.reply(pf::build_frame(a)));
    EXPECT_EQ(c.flags(), ACK);
    EXPECT_EQ(e.counter(kDropOutOfWindow), 1u);
    EXPECT_EQ(e.worker->half_open(), 1u);
}

TEST(Listen, HalfOpenLimitFallsBackToCookiesInAutoMode) {
    auto l = listener(Fam::v4, 80, CookieMode::kAuto);
    l.max_half_open = 4;
    Engine e({l});
    auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = true});
    std::vector<std::pair<SegmentSpec, FrameView>> got;
    for (int i = 0; i < 6; ++i) {
        syn.sport = static_cast<uint16_t>(2000 + i);
        got.emplace_back(syn, FrameView(e.reply(pf::build_frame(syn))));
    }
    EXPECT_EQ(e.worker->half_open(), 4u);
    EXPECT_EQ(e.counter(kReqQFullDoCookies), 2u);
    EXPECT_EQ(e.counter(kSyncookiesSent), 2u);
    for (auto& [s, r] : got) e.feed(pf::build_frame(client_ack(s, r, true)));
    EXPECT_EQ(e.counter(kEstablished), 6u);
    EXPECT_EQ(e.counter(kSyncookiesRecv), 2u);
    EXPECT_EQ(e.worker->half_open(), 0u);
}

TEST(Listen, HalfOpenLimitDropsInNeverMode) {
    auto l = listener(Fam::v4, 80, CookieMode::kNever);
    l.max_half_open = 4;
    Engine e({l});
    auto syn = client_syn(Fam::v4);
    for (int i = 0; i < 6; ++i) {
        syn.sport = static_cast<uint16_t>(2000 + i);
        e.feed(pf::build_frame(syn));
    }
    EXPECT_EQ(e.counter(kReqQFullDrop), 2u);
    EXPECT_EQ(e.counter(kListenDrops), 2u);
    EXPECT_EQ(e.counter(kSyncookiesSent), 0u);
}

TEST(Listen, AutoModeAcceptsCookieAcksOnlyWithinTheWindowAfterCookiesWereSent) {
    // A valid cookie ACK minted by an always-mode engine with the same secrets.
    Engine minter({listener(Fam::v4, 80, CookieMode::kAlways)});
    const auto syn = client_syn(Fam::v4);
    const auto ack = client_ack(syn, FrameView(minter.reply(pf::build_frame(syn))), false);

    auto l = listener(Fam::v4, 80, CookieMode::kAuto);
    l.max_half_open = 1;
    Engine e({l});
    e.feed(pf::build_frame(ack));
    EXPECT_EQ(e.out.n_established, 0u) << "no cookies sent yet: not a cookie ACK";
    EXPECT_EQ(e.counter(kDropInvalidAck), 1u);
    // Overflow the SYN queue so that cookies get sent.
    auto s2 = syn;
    for (int i = 0; i < 2; ++i) {
        s2.sport = static_cast<uint16_t>(3000 + i);
        e.feed(pf::build_frame(s2));
    }
    ASSERT_EQ(e.counter(kSyncookiesSent), 1u);
    e.feed(pf::build_frame(ack));
    EXPECT_EQ(e.out.n_established, 1u);
    // Long after the last cookie the listener stops checking ACKs as cookies.
    Engine late({l});
    for (int i = 0; i < 2; ++i) {
        s2.sport = static_cast<uint16_t>(3000 + i);
        late.feed(pf::build_frame(s2));
    }
    late.now += EngineConfig{}.cookie_window_ns + kSec;
    late.feed(pf::build_frame(ack));
    EXPECT_EQ(late.out.n_established, 0u);
}

// Each listener counts its own SYNs, cookies, connections and overflow drops (telemetry's
// /synwall/listeners), on the fast path and the general path alike, and they add up to the
// worker's counters.
TEST(Listen, EachListenerCountsItsOwnFigures) {
    for (bool fast : {true, false}) {
        auto web = listener(Fam::v4, 80, CookieMode::kAuto);
        web.max_half_open = 4;
        auto tls = listener(Fam::v4, 443, CookieMode::kNever);
        tls.max_half_open = 2;
        EngineConfig ec;
        ec.fast_path = fast;
        Engine e({web, tls}, ec);
        std::vector<std::pair<SegmentSpec, FrameView>> got;
        auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = true});
        for (int i = 0; i < 6; ++i) {  // 4 queued, 2 answered with cookies
            syn.sport = static_cast<uint16_t>(2000 + i);
            got.emplace_back(syn, FrameView(e.reply(pf::build_frame(syn))));
        }
        for (auto& [s, r] : got) e.feed(pf::build_frame(client_ack(s, r, true)));
        syn.dport = 443;
        for (int i = 0; i < 3; ++i) {  // 2 queued, 1 dropped
            syn.sport = static_cast<uint16_t>(3000 + i);
            e.feed(pf::build_frame(syn));
        }
        const Worker::ListenerFigures a = e.worker->listener_figures(0), b = e.worker->listener_figures(1);
        EXPECT_EQ(a.syns, 6u) << fast;
        EXPECT_EQ(a.syncookies_sent, 2u) << fast;
        EXPECT_EQ(a.passive_opens, 6u) << fast;
        EXPECT_EQ(a.overflow_drops, 0u) << fast;
        EXPECT_EQ(b.syns, 3u) << fast;
        EXPECT_EQ(b.syncookies_sent, 0u) << fast;
        EXPECT_EQ(b.passive_opens, 0u) << fast;
        EXPECT_EQ(b.overflow_drops, 1u) << fast;
        EXPECT_EQ(a.syns + b.syns, e.counter(kSynRecv));
        EXPECT_EQ(a.syncookies_sent + b.syncookies_sent, e.counter(kSyncookiesSent));
        EXPECT_EQ(a.passive_opens + b.passive_opens, e.counter(kEstablished));
        EXPECT_EQ(a.overflow_drops + b.overflow_drops, e.counter(kListenDrops));
    }
}

TEST(Listen, FullAcceptQueueDropsNewSynsAndCompletingAcks) {
    for (bool abort : {false, true}) {
        auto l = listener(Fam::v4, 80, CookieMode::kNever);
        l.backlog = 2;
        l.abort_on_overflow = abort;
        Engine e({l});
        std::vector<std::pair<SegmentSpec, FrameView>> reqs;
        auto syn = client_syn(Fam::v4);
        for (int i = 0; i < 3; ++i) {
            syn.sport = static_cast<uint16_t>(5000 + i);
            reqs.emplace_back(syn, FrameView(e.reply(pf::build_frame(syn))));
        }
        for (int i = 0; i < 2; ++i) e.feed(pf::build_frame(client_ack(reqs[i].first, reqs[i].second, false)));
        EXPECT_EQ(e.counter(kEstablished), 2u);
        // Queue full: the third completing ACK overflows.
        e.feed(pf::build_frame(client_ack(reqs[2].first, reqs[2].second, false)));
        EXPECT_EQ(e.counter(kListenOverflows), 1u);
        EXPECT_EQ(e.counter(kListenDrops), 1u);
        if (abort) {
            ASSERT_EQ(e.out.n_tx, 1u);
            EXPECT_EQ(FrameView(Frames::bytes(e.out.tx[0])).flags(), RST);
            EXPECT_EQ(e.worker->half_open(), 0u);
        } else {
            EXPECT_EQ(e.out.n_drop, 1u);
            EXPECT_EQ(e.worker->half_open(), 1u) << "the request waits for a retry";
        }
        // A new SYN is dropped while the queue is full.
        syn.sport = 6000;
        e.feed(pf::build_frame(syn));
        EXPECT_EQ(e.out.n_drop, 1u);
        EXPECT_EQ(e.counter(kListenOverflows), 2u);
        EXPECT_EQ(e.worker->listener_figures(0).overflow_drops, 2u) << "a completing ACK and a SYN";
        // Drain one; the waiting request completes on the client's next ACK.
        Connection c;
        ASSERT_TRUE(e.worker->accept(0, c));
        if (!abort) {
            e.feed(pf::build_frame(client_ack(reqs[2].first, reqs[2].second, false)));
            EXPECT_EQ(e.out.n_established, 1u);
        }
    }
}

TEST(Counters, EveryFrameCountsInExactlyOneOutcome) {
    // RxPackets = the parse outcomes; ParsedTcp = kSegmentOutcomes, one each: a mix of every flag
    // combination to a listener, to no listener and from a listener's address, handshakes in queue
    // and cookie mode, duplicates, bad ACKs, RSTs, martians, IPv6 and unparseable frames.
    for (CookieMode mode : {CookieMode::kNever, CookieMode::kAuto, CookieMode::kAlways}) {
        SCOPED_TRACE(static_cast<int>(mode));
        auto l = listener(Fam::v4, 80, mode);
        l.rst_on_invalid_ack = true;
        l.max_half_open = 8;  // auto mode falls back to cookies part-way
        Engine e({l, listener(Fam::v6, 80, mode)});
        uint64_t fed = 0;
        auto feed = [&](const std::vector<uint8_t>& f) {
            e.feed(f);
            ++fed;
            for (uint32_t i = 0; i < e.out.n_tx; ++i) {
                const FrameView r(Frames::bytes(e.out.tx[i]));
                if (r.flags() == (SYN | ACK)) {  // complete some, with a wrong ack number others
                    auto a = client_syn(r.v6 ? Fam::v6 : Fam::v4);
                    a.sport = r.dport();
                    a.flags = ACK;
                    a.seq = r.ack();
                    a.ack = r.seq() + 1 + (r.dport() % 3 == 0);
                    e.feed(pf::build_frame(a));
                    ++fed;
                }
            }
        };
        for (Fam fam : {Fam::v4, Fam::v6})
            for (uint16_t bits = 0; bits < 64; ++bits) {
                auto seg = client_syn(fam);
                seg.flags = static_cast<uint8_t>(bits);
                seg.sport = static_cast<uint16_t>(1000 + bits);
                seg.ack = 777;
                feed(pf::build_frame(seg));
                feed(pf::build_frame(seg));  // again: duplicates, SYN-RECEIVED
                auto other = seg;
                other.dport = 81;  // no listener
                feed(pf::build_frame(other));
                auto from_server = seg;  // from the listener's address and port (no proxied flow)
                std::swap(from_server.src, from_server.dst);
                std::swap(from_server.sport, from_server.dport);
                feed(pf::build_frame(from_server));
                auto martian = seg;
                martian.src = martian.dst;
                feed(pf::build_frame(martian));
                auto bad = seg;
                bad.corrupt_tcp_checksum = true;
                feed(pf::build_frame(bad));
                auto cut = pf::build_frame(seg);
                cut.resize(30);
                feed(cut);
            }
        EXPECT_EQ(e.counter(kRxPackets), fed);
        EXPECT_TRUE(partition_holds(e.worker->counters()));
        uint64_t outcomes = 0;
        for (const Counter k : kSegmentOutcomes) outcomes += e.counter(k);
        EXPECT_EQ(outcomes, e.counter(parse_counter(net::ParseStatus::kOk)));
        EXPECT_GT(e.counter(kAcksToListener), 0u);
        EXPECT_GT(e.counter(kRstsToListener), 0u);
        EXPECT_GT(e.counter(kEstablished), 0u);
        EXPECT_GT(e.counter(parse_counter(net::ParseStatus::kBadAddress)), 0u);
        EXPECT_GT(e.counter(parse_counter(net::ParseStatus::kBadTcpChecksum)), 0u);
    }
}

TEST(Listen, SynFinAckIsResetLikeAnyAckToTheListener) {
    // tcp_rcv_state_process in LISTEN checks ACK before FIN: SYN+FIN+ACK gets the reset of an
    // ACK-bearing segment (with rst_on_invalid_ack), SYN+FIN alone is dropped, a RST never answered.
    auto l = listener(Fam::v4, 80, CookieMode::kAuto);
    l.rst_on_invalid_ack = true;
    Engine e({l});
    auto s = client_syn(Fam::v4);
    s.flags = SYN | FIN | ACK;
    s.ack = 123456;
    const FrameView r(e.reply(pf::build_frame(s)));
    EXPECT_EQ(r.flags(), RST);
    EXPECT_EQ(r.seq(), 123456u);
    EXPECT_EQ(e.counter(kDropSynAckToListener), 1u);
    EXPECT_EQ(e.counter(kDropSynFin), 0u);
    s.flags = SYN | FIN | ACK | RST;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.out.n_tx, 0u);
    EXPECT_EQ(e.counter(kDropSynRst), 1u);
    s.flags = SYN | FIN;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.out.n_tx, 0u);
    EXPECT_EQ(e.counter(kDropSynFin), 1u);
}

TEST(Listen, InvalidSegmentsAreDecidedAndCounted) {
    auto l = listener(Fam::v4, 80, CookieMode::kNever);
    Engine e({l});
    auto s = client_syn(Fam::v4);
    s.flags = SYN | RST;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kDropSynRst), 1u);
    s.flags = SYN | FIN;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kDropSynFin), 1u);
    s.flags = SYN | ACK;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kDropSynAckToListener), 1u);
    s.flags = FIN;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kDropNoAckFlag), 1u);
    s.flags = ACK;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kDropInvalidAck), 1u) << "a SYN-ACK counts in DropSynAckToListener only";
    s.flags = RST;
    e.feed(pf::build_frame(s));
    EXPECT_EQ(e.counter(kRstIgnored), 1u);
    s.flags = SYN;
    s.dport = 22;  // no listener: bridged
    EXPECT_EQ(e.feed(pf::build_frame(s)).n_pass, 1u);
    EXPECT_EQ(e.counter(kPassNoListener), 1u);
    EXPECT_EQ(e.counter(kSynAckSent), 0u);
    s.dport = 80;
    s.corrupt_tcp_checksum = true;
    EXPECT_EQ(e.feed(pf::build_frame(s)).n_drop, 1u);
    EXPECT_EQ(e.counter(parse_counter(net::ParseStatus::kBadTcpChecksum)), 1u);
}

TEST(Listen, InvalidAckRstsAreRateLimited) {
    auto l = listener(Fam::v6, 80, CookieMode::kNever);
    l.rst_on_invalid_ack = true;
    EngineConfig ec;
    ec.reply_burst = 3;
    Engine e({l}, ec);
    auto s = client_syn(Fam::v6);
    s.flags = ACK;
    s.ack = 0xdeadbeef;
    int rsts = 0;
    for (int i = 0; i < 10; ++i) {
        e.feed(pf::build_frame(s));
        if (e.out.n_tx) {
            const FrameView r(Frames::bytes(e.out.tx[0]));
            EXPECT_EQ(r.flags(), RST);
            EXPECT_EQ(r.seq(), 0xdeadbeefu);
            EXPECT_TRUE(r.tcp_checksum_ok());
            ++rsts;
        }
    }
    EXPECT_EQ(rsts, 3);
    EXPECT_EQ(e.counter(kReplyRateLimited), 7u);
}

TEST(Established, LaterPacketsOfTheFlowGoToTheApplicationUntilForgotten) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    auto syn = client_syn(Fam::v4);
    const FrameView r(e.reply(pf::build_frame(syn)));
    auto a = client_ack(syn, r, false);
    e.feed(pf::build_frame(a));
    Connection c;
    ASSERT_TRUE(e.worker->accept(0, c));
    a.payload = {'x'};
    e.feed(pf::build_frame(a));
    ASSERT_EQ(e.out.n_flow, 1u);
    EXPECT_EQ(e.out.flow[0].flow, c.flow);
    e.worker->forget_flow(c.flow);
    e.feed(pf::build_frame(a));
    EXPECT_EQ(e.out.n_flow, 0u);
    EXPECT_EQ(e.counter(kDropInvalidAck), 1u);
}

TEST(Established, AFullFlowIndexRefusesTheConnection) {
    EngineConfig ec;
    ec.established_capacity = 1;
    Engine e({listener(Fam::v4, 80, CookieMode::kAlways)}, ec);
    for (uint16_t port : {1000, 1001}) {
        auto syn = client_syn(Fam::v4);
        syn.sport = port;
        e.feed(pf::build_frame(client_ack(syn, FrameView(e.reply(pf::build_frame(syn))), false)));
    }
    EXPECT_EQ(e.counter(kEstablished), 1u);
    EXPECT_EQ(e.counter(kDropFlowTableFull), 1u);
}

// ---------------------------------------------------------------------------------------------
// Timers: retransmits and expiry with an injected clock.

TEST(Timers, SynAckRetransmitsWithBackoffThenExpires) {
    Engine e({listener(Fam::v6, 80, CookieMode::kNever)});
    VectorSource src(e.frames);
    auto syn = client_syn(Fam::v6, {.mss = 1400, .wscale = 2, .sack = true, .ts = true, .tsval = 9});
    syn.vlans = {300};
    const FrameView first(e.reply(pf::build_frame(syn)));
    const uint64_t t0 = e.now;
    std::vector<uint64_t> seen;
    // Walk the clock in 100 ms steps for 70 s.
    for (uint64_t t = t0; t <= t0 + 70 * kSec; t += kSec / 10) {
        e.out.clear();
        e.worker->run_timers(t, src, e.out);
        for (uint32_t i = 0; i < e.out.n_tx; ++i) {
            const FrameView r(Frames::bytes(e.out.tx[i]));
            EXPECT_EQ(r.seq(), first.seq());
            EXPECT_EQ(r.ack(), first.ack());
            EXPECT_EQ(r.flags(), first.flags());
            EXPECT_EQ(r.src_addr(), first.src_addr());
            EXPECT_EQ(r.dst_addr(), first.dst_addr());
            EXPECT_EQ(r.vlan_count, 1);
            EXPECT_TRUE(std::equal(first.bytes.begin(), first.bytes.begin() + 18, r.bytes.begin())) << "same L2 header";
            EXPECT_EQ(r.options().tsecr, 9u);
            EXPECT_EQ(r.options().wscale, 7);
            EXPECT_TRUE(r.tcp_checksum_ok());
            seen.push_back((t - t0) / (kSec / 10));
        }
    }
    // 1, 2, 4, 8, 16 s backoff: at 1, 3, 7, 15, 31 s (tick granularity < 100 ms).
    EXPECT_EQ(seen, (std::vector<uint64_t>{10, 30, 70, 150, 310}));
    EXPECT_EQ(e.counter(kSynAckRetrans), 5u);
    EXPECT_EQ(e.counter(kReqExpired), 1u);  // 32 s after the last retransmit, at 63 s
    EXPECT_EQ(e.worker->half_open(), 0u);
}

// IPv4 and IPv6 requests live in tables of their own (12- and 36-byte keys) under one capacity and
// one timer wheel: each retransmits its own SYN-ACK, and completing one stops only its timer.
TEST(Timers, BothFamiliesShareTheQueueAndEachRetransmitsItsOwnSynAck) {
    EngineConfig ec;
    ec.half_open_capacity = 3;
    Engine e({listener(Fam::v4, 80, CookieMode::kNever), listener(Fam::v6, 80, CookieMode::kNever)}, ec);
    VectorSource src(e.frames);
    auto s4 = client_syn(Fam::v4, {.ts = true, .tsval = 4});
    auto s6 = client_syn(Fam::v6, {.ts = true, .tsval = 6});
    auto s4b = s4;
    s4b.sport = static_cast<uint16_t>(s4.sport + 1);
    auto s6b = s6;
    s6b.sport = static_cast<uint16_t>(s6.sport + 1);
    const FrameView r4(e.reply(pf::build_frame(s4)));
    const FrameView r6(e.reply(pf::build_frame(s6)));
    const FrameView r4b(e.reply(pf::build_frame(s4b)));
    ASSERT_EQ(e.worker->half_open(), 3u);
    e.feed(pf::build_frame(s6b));  // the shared capacity is spent: never mode drops it
    EXPECT_EQ(e.counter(kReqQFullDrop), 1u);
    const uint64_t t0 = e.now;
    auto retransmits = [&](uint64_t t) {
        e.out.clear();
        e.worker->run_timers(t, src, e.out);
        std::vector<FrameView> v;
        for (uint32_t i = 0; i < e.out.n_tx; ++i) v.emplace_back(Frames::bytes(e.out.tx[i]));
        return v;
    };
    auto same = [](const FrameView& a, const FrameView& b) {
        return a.src_addr() == b.src_addr() && a.dst_addr() == b.dst_addr() && a.dport() == b.dport() &&
               a.seq() == b.seq() && a.ack() == b.ack() && a.options().tsecr == b.options().tsecr;
    };
    const auto first = retransmits(t0 + kSec);
    ASSERT_EQ(first.size(), 3u);
    for (const FrameView* want : {&r4, &r6, &r4b}) {
        int matches = 0;
        for (const auto& got : first) {
            matches += same(got, *want);
            EXPECT_TRUE(got.tcp_checksum_ok());
        }
        EXPECT_EQ(matches, 1) << "each request retransmits its own SYN-ACK once";
    }
    e.feed(pf::build_frame(client_ack(s6, r6, false)));
    EXPECT_EQ(e.counter(kEstablished), 1u);
    EXPECT_EQ(e.worker->half_open(), 2u);
    const auto second = retransmits(t0 + 3 * kSec);
    ASSERT_EQ(second.size(), 2u);
    for (const auto& got : second) EXPECT_TRUE(same(got, r4) || same(got, r4b)) << "the IPv6 request stopped";
}

TEST(Timers, CompletedRequestsStopRetransmitting) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    VectorSource src(e.frames);
    auto syn = client_syn(Fam::v4);
    const FrameView r(e.reply(pf::build_frame(syn)));
    e.feed(pf::build_frame(client_ack(syn, r, false)));
    e.out.clear();
    EXPECT_EQ(e.worker->run_timers(e.now + 100 * kSec, src, e.out), 0u);
    EXPECT_EQ(e.out.n_tx, 0u);
}

TEST(Timers, BudgetBoundsEachCall) {
    EngineConfig ec;
    ec.timer_budget = 100;
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)}, ec);
    auto l = listener(Fam::v4, 80, CookieMode::kNever);
    VectorSource src(e.frames);
    auto syn = client_syn(Fam::v4);
    for (int i = 0; i < 1000; ++i) {
        syn.sport = static_cast<uint16_t>(10000 + i);
        e.feed(pf::build_frame(syn));
    }
    // max_half_open defaults to 4096: all 1000 are queued.
    ASSERT_EQ(e.worker->half_open(), 1000u);
    uint32_t total = 0;
    for (int call = 0; call < 10; ++call) {
        e.out.clear();
        const uint32_t n = e.worker->run_timers(e.now + 2 * kSec, src, e.out);
        EXPECT_EQ(n, 100u);
        EXPECT_EQ(e.out.n_tx, 100u);
        total += n;
    }
    e.out.clear();
    EXPECT_EQ(e.worker->run_timers(e.now + 2 * kSec, src, e.out), 0u);
    EXPECT_EQ(total, 1000u);
}

TEST(Timers, NoBufferSkipsTheRetransmitButKeepsTheSchedule) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    VectorSource src(e.frames);
    src.budget = 0;
    e.reply(pf::build_frame(client_syn(Fam::v4)));
    e.out.clear();
    e.worker->run_timers(e.now + 1 * kSec, src, e.out);
    EXPECT_EQ(e.counter(kRetransNoBuffer), 1u);
    src.budget = 10;
    e.out.clear();
    e.worker->run_timers(e.now + 3 * kSec, src, e.out);
    EXPECT_EQ(e.out.n_tx, 1u);
}

// ---------------------------------------------------------------------------------------------
// Bursts.

TEST(Burst, MixedBurstGivesEveryPacketOneDisposition) {
    Engine e({listener(Fam::v4, 80, CookieMode::kAuto), listener(Fam::v6, 443, CookieMode::kAlways)});
    std::vector<std::vector<uint8_t>> frames;
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        auto s = client_syn(i % 2 ? Fam::v6 : Fam::v4, {.mss = 1400, .ts = (i % 3) == 0});
        s.dport = i % 2 ? 443 : 80;
        s.sport = static_cast<uint16_t>(20000 + i % 50);  // duplicates within the burst
        const int kind = static_cast<int>(rng() % 5);
        s.flags = kind == 0 ? SYN : kind == 1 ? ACK : kind == 2 ? RST : kind == 3 ? (SYN | ACK) : FIN;
        s.ack = static_cast<uint32_t>(rng());
        if (i % 17 == 0) s.corrupt_tcp_checksum = true;
        if (i % 23 == 0) s.dport = 9;
        frames.push_back(pf::build_frame(s));
    }
    std::vector<net::Packet> pk;
    for (auto& f : frames) pk.push_back(e.frames.make(f));
    e.out.clear();
    ASSERT_EQ(e.worker->process_burst(pk, e.now, e.out), 200u);
    EXPECT_EQ(e.out.n_tx + e.out.n_drop + e.out.n_pass + e.out.n_flow + e.out.n_established, 200u);
    EXPECT_EQ(e.counter(kRxPackets), 200u);
    for (uint32_t i = 0; i < e.out.n_tx; ++i) {
        const FrameView r(Frames::bytes(e.out.tx[i]));
        EXPECT_TRUE(r.ipv4_checksum_ok());
        EXPECT_TRUE(r.tcp_checksum_ok());
    }
}

TEST(Burst, SynAndItsDuplicateInOneBurstShareTheIsn) {
    Engine e({listener(Fam::v4, 80, CookieMode::kNever)});
    const auto f = pf::build_frame(client_syn(Fam::v4));
    net::Packet pk[2] = {e.frames.make(f), e.frames.make(f)};
    e.out.clear();
    e.worker->process_burst(pk, e.now, e.out);
    ASSERT_EQ(e.out.n_tx, 2u);
    EXPECT_EQ(FrameView(Frames::bytes(e.out.tx[0])).seq(), FrameView(Frames::bytes(e.out.tx[1])).seq());
    EXPECT_EQ(e.worker->half_open(), 1u);
}

TEST(Burst, OversizedBurstIsTakenInPart) {
    Engine e({listener(Fam::v4, 80, CookieMode::kAlways)});
    const auto f = pf::build_frame(client_syn(Fam::v4));
    std::vector<net::Packet> pk;
    for (uint32_t i = 0; i < kMaxBurst + 10; ++i) pk.push_back(e.frames.make(f));
    e.out.clear();
    EXPECT_EQ(e.worker->process_burst(pk, e.now, e.out), kMaxBurst);
    EXPECT_EQ(e.out.n_tx, kMaxBurst);
}

TEST(Config, ValidationNamesTheField) {
    EngineConfig ec;
    ec.timer_slots = 1000;
    EXPECT_NE(validate(ec).find("timer_slots"), std::string::npos);
    ListenerConfig l;
    l.port = 0;
    EXPECT_NE(validate(l).find("port"), std::string::npos);
    l.port = 80;
    l.mss = 100;
    EXPECT_NE(validate(l).find("mss"), std::string::npos);
    l.mss = 1460;
    EXPECT_EQ(validate(l), "");
    EXPECT_EQ(validate(EngineConfig{}), "");
}

TEST(Listeners, MostSpecificPrefixWins) {
    ListenerConfig any = listener(Fam::v4, 80, CookieMode::kNever);
    ListenerConfig net24 = any;
    net24.name = "net24";
    net24.prefix_len = 24;
    net24.addr = pf::v4("203.0.113.0");
    ListenerConfig host = any;
    host.name = "host";
    host.prefix_len = 32;
    host.addr = pf::v4("203.0.113.10");
    const ListenerTable t({any, net24, host});
    auto a = pf::v4("203.0.113.10"), b = pf::v4("203.0.113.11"), c = pf::v4("198.51.100.1");
    EXPECT_EQ(t.lookup(net::Family::kIpv4, a.data(), 80), 2);
    EXPECT_EQ(t.lookup(net::Family::kIpv4, b.data(), 80), 1);
    EXPECT_EQ(t.lookup(net::Family::kIpv4, c.data(), 80), 0);
    EXPECT_EQ(t.lookup(net::Family::kIpv4, a.data(), 81), ListenerTable::kNone);
    EXPECT_EQ(t.lookup(net::Family::kIpv6, a.data(), 80), ListenerTable::kNone);
}

// A port with thousands of single-address listeners (more than kScanMax): they are found by hash,
// prefixes on the same port still apply to every other address, most specific first, both
// families, the first of duplicates wins, other ports unaffected.
TEST(Listeners, ManyAddressesOnOnePortAreFoundAndPrefixesStillApply) {
    std::vector<ListenerConfig> ls;
    ListenerConfig net16 = listener(Fam::v4, 443, CookieMode::kNever);
    net16.name = "net16";
    net16.prefix_len = 16;
    net16.addr = pf::v4("10.200.0.0");
    ls.push_back(net16);  // index 0
    for (int i = 0; i < 5000; ++i) {
        ListenerConfig h = listener(Fam::v4, 443, CookieMode::kNever);
        h.prefix_len = 32;
        h.addr = pf::v4("10.200." + std::to_string(i / 256) + "." + std::to_string(i % 256));
        ls.push_back(h);  // index 1 + i
    }
    ListenerConfig dup = ls[1 + 77];
    ls.push_back(dup);  // index 5001: shadowed by 78
    for (int i = 0; i < 20; ++i) {
        ListenerConfig h6 = listener(Fam::v6, 443, CookieMode::kNever);
        h6.prefix_len = 128;
        h6.addr = pf::v6("2001:db8::" + std::to_string(i + 1));
        ls.push_back(h6);  // index 5002 + i
    }
    ListenerConfig other = listener(Fam::v4, 80, CookieMode::kNever);
    other.prefix_len = 32;
    other.addr = pf::v4("10.200.0.5");
    ls.push_back(other);  // index 5022
    const ListenerTable t(ls);
    for (int i = 0; i < 5000; i += 7) {
        const auto a = pf::v4("10.200." + std::to_string(i / 256) + "." + std::to_string(i % 256));
        EXPECT_EQ(t.lookup(net::Family::kIpv4, a.data(), 443), i == 77 ? 78 : 1 + i) << i;
    }
    const auto in16 = pf::v4("10.200.250.1"), outside = pf::v4("10.201.0.1"), five = pf::v4("10.200.0.5");
    EXPECT_EQ(t.lookup(net::Family::kIpv4, in16.data(), 443), 0) << "the /16 covers unlisted addresses";
    EXPECT_EQ(t.lookup(net::Family::kIpv4, outside.data(), 443), ListenerTable::kNone);
    EXPECT_EQ(t.lookup(net::Family::kIpv4, five.data(), 80), 5022) << "another port is not the busy one";
    EXPECT_EQ(t.lookup(net::Family::kIpv4, five.data(), 444), ListenerTable::kNone);
    for (int i = 0; i < 20; ++i) {
        const auto a6 = pf::v6("2001:db8::" + std::to_string(i + 1));
        EXPECT_EQ(t.lookup(net::Family::kIpv6, a6.data(), 443), 5002 + i);
    }
    const auto a6 = pf::v6("2001:db8::99");
    EXPECT_EQ(t.lookup(net::Family::kIpv6, a6.data(), 443), ListenerTable::kNone);
    // The IPv4 bytes of a listed address, asked as IPv6: no match.
    auto v4as6 = pf::v6("::");
    std::memcpy(v4as6.data(), five.data(), 4);
    EXPECT_EQ(t.lookup(net::Family::kIpv6, v4as6.data(), 443), ListenerTable::kNone);
}

}  // namespace


// Listeners at run time (Worker::update_listeners with ListenerTable::changed): a listener
// opened later answers SYNs; a closed one accepts nothing new, passes what is sent to it, lets its
// requests expire without retransmits, and keeps delivering its established flows; on the fast
// path and the general path alike.
TEST(RuntimeListeners, OpenAndCloseWhileRunning) {
    for (bool fast : {true, false}) {
        SCOPED_TRACE(fast ? "fast path" : "general path");
        EngineConfig ec;
        ec.fast_path = fast;
        Engine e({listener(Fam::v4, 80, CookieMode::kNever)}, ec);
        VectorSource src(e.frames);
        auto syn = client_syn(Fam::v4);
        // An established flow and a request still waiting, both on :80.
        const FrameView r(e.reply(pf::build_frame(syn)));
        auto flow_ack = client_ack(syn, r, false);
        e.feed(pf::build_frame(flow_ack));
        Connection c;
        ASSERT_TRUE(e.worker->accept(0, c));
        auto pending = syn;
        pending.sport = 4001;
        const FrameView pr(e.reply(pf::build_frame(pending)));
        ASSERT_EQ(e.worker->half_open(), 1u);
        // :443 is nobody's yet.
        auto tls = client_syn(Fam::v4);
        tls.dport = 443;
        e.feed(pf::build_frame(tls));
        EXPECT_EQ(e.out.n_pass, 1u);

        // Open "tls" on :443 (always cookies) and close the listener on :80.
        auto t = listener(Fam::v4, 443, CookieMode::kAlways);
        t.name = "tls";
        std::string err;
        auto next = e.worker->listeners().changed({t}, {listener(Fam::v4, 80, CookieMode::kNever).name}, 16, err);
        ASSERT_TRUE(next) << err;
        ASSERT_EQ(e.worker->update_listeners(next), "");
        EXPECT_EQ(e.worker->listener_count(), 2u);

        // The new listener answers with a cookie, and its connection arrives in its own queue.
        const FrameView tr(e.reply(pf::build_frame(tls)));
        EXPECT_EQ(tr.flags(), SYN | ACK);
        e.feed(pf::build_frame(client_ack(tls, tr, false)));
        EXPECT_EQ(e.out.n_established, 1u);
        Connection tc;
        ASSERT_TRUE(e.worker->accept(1, tc));
        EXPECT_EQ(tc.listener, 1u);
        // The closed one: a new SYN passes as to no listener, as does its pending request's ACK.
        const uint64_t passed = e.counter(kPassNoListener);
        auto late = syn;
        late.sport = 4002;
        e.feed(pf::build_frame(late));
        EXPECT_EQ(e.out.n_pass, 1u);
        e.feed(pf::build_frame(client_ack(pending, pr, false)));
        EXPECT_EQ(e.out.n_pass, 1u);
        EXPECT_EQ(e.counter(kPassNoListener), passed + 2);
        // Its established flow still reaches the application.
        flow_ack.payload = {'x'};
        e.feed(pf::build_frame(flow_ack));
        ASSERT_EQ(e.out.n_flow, 1u);
        EXPECT_EQ(e.out.flow[0].flow, c.flow);
        // Its request expires at the first timer, without a retransmit.
        e.out.clear();
        e.worker->run_timers(e.now + 2 * kSec, src, e.out);
        EXPECT_EQ(e.out.n_tx, 0u);
        EXPECT_EQ(e.worker->half_open(), 0u);
        EXPECT_EQ(e.counter(kSynAckRetrans), 0u);
    }
}

TEST(RuntimeListeners, ReopeningANameGetsANewIndexThatWinsTheLookup) {
    auto web = listener(Fam::v4, 80, CookieMode::kNever);
    const ListenerTable t({web});
    std::string err;
    auto closed = t.changed({}, {web.name}, 16, err);
    ASSERT_TRUE(closed) << err;
    auto again = web;
    again.cookie_mode = CookieMode::kAlways;  // the same listener with other settings
    auto reopened = closed->changed({again}, {}, 16, err);
    ASSERT_TRUE(reopened) << err;
    ASSERT_EQ(reopened->size(), 2u);
    EXPECT_TRUE((*reopened)[0].closed);
    EXPECT_FALSE((*reopened)[1].closed);
    EXPECT_EQ(reopened->lookup(net::Family::kIpv4, web.addr.data(), 80), 1) << "the open one first";
    EXPECT_EQ(closed->lookup(net::Family::kIpv4, web.addr.data(), 80), 0) << "a closed one is still found";
}

TEST(RuntimeListeners, BadChangesAreRefusedAndNothingChanges) {
    auto web = listener(Fam::v4, 80, CookieMode::kNever);
    Engine e({web});
    std::string err;
    const ListenerTable& cur = e.worker->listeners();
    EXPECT_FALSE(cur.changed({}, {"nosuch"}, 16, err));
    EXPECT_NE(err.find("no open listener named 'nosuch'"), std::string::npos) << err;
    auto dup = web;
    dup.port = 81;
    EXPECT_FALSE(cur.changed({dup}, {}, 16, err)) << "the name is taken";
    auto same = web;
    same.name = "other";
    EXPECT_FALSE(cur.changed({same}, {}, 16, err)) << "the endpoint is taken";
    EXPECT_NE(err.find("same address, prefix and port"), std::string::npos) << err;
    // The same network under another address of it is the same endpoint, as in the configuration.
    auto net24 = web;
    net24.name = "net24";
    net24.prefix_len = 24;
    net24.port = 8080;
    auto net24_too = net24;
    net24_too.name = "net24-too";
    net24_too.addr[3] ^= 7;
    auto with24 = cur.changed({net24}, {}, 16, err);
    ASSERT_TRUE(with24) << err;
    EXPECT_FALSE(with24->changed({net24_too}, {}, 16, err)) << "203.0.113.x/24 twice";
    auto more = web;
    more.name = "more";
    more.port = 82;
    EXPECT_FALSE(cur.changed({more}, {}, 1, err)) << "beyond max";
    // The worker refuses a table that moves listeners, and one beyond what it was built for.
    auto moved = std::make_shared<const ListenerTable>(std::vector{more, web});
    EXPECT_NE(e.worker->update_listeners(moved), "");
    EngineConfig small;
    small.max_listeners = 1;
    Engine s({web}, small);
    EXPECT_NE(s.worker->update_listeners(cur.changed({more}, {}, 16, err)), "");
    // No IPv6 SYN queue was built (no IPv6 listener at start): an IPv6 listener that would queue is
    // refused, one that answers with cookies only is taken.
    auto v6 = listener(Fam::v6, 80, CookieMode::kAuto);
    v6.name = "v6";
    EXPECT_NE(e.worker->update_listeners(cur.changed({v6}, {}, 16, err)).find("SYN queue"), std::string::npos);
    EXPECT_EQ(e.worker->listener_count(), 1u);
    v6.cookie_mode = CookieMode::kAlways;
    EXPECT_EQ(e.worker->update_listeners(cur.changed({v6}, {}, 16, err)), "");
    EXPECT_EQ(e.worker->listener_count(), 2u);
    const FrameView r(e.reply(pf::build_frame(client_syn(Fam::v6))));
    EXPECT_EQ(r.flags(), SYN | ACK);
}

// A closed cookie listener: the fast path would answer its SYNs and validate its cookie ACKs on its
// own; once closed they pass, on both paths.
TEST(RuntimeListeners, AClosedCookieListenerAnswersNothing) {
    for (bool fast : {true, false}) {
        SCOPED_TRACE(fast ? "fast path" : "general path");
        EngineConfig ec;
        ec.fast_path = fast;
        auto l = listener(Fam::v4, 80, CookieMode::kAlways);
        Engine e({l}, ec);
        const auto syn = client_syn(Fam::v4);
        const FrameView r(e.reply(pf::build_frame(syn)));
        const auto ack = client_ack(syn, r, false);
        std::string err;
        ASSERT_EQ(e.worker->update_listeners(e.worker->listeners().changed({}, {l.name}, 16, err)), "") << err;
        auto again = syn;
        again.sport = 4100;
        e.feed(pf::build_frame(again));
        EXPECT_EQ(e.out.n_pass, 1u) << "a SYN to a closed listener";
        e.feed(pf::build_frame(ack));
        EXPECT_EQ(e.out.n_pass, 1u) << "a valid cookie ACK for a closed listener";
        EXPECT_EQ(e.counter(kSyncookiesSent), 1u);
        EXPECT_EQ(e.counter(kEstablished), 0u);
    }
}

// A new cookie key (a reloaded key file): cookies the previous key minted keep validating while
// they are valid — at the change and across the counter boundary after it — and no longer once
// expired; new cookies are the new key's; forgeries still fail; on both paths.
TEST(CookieKeyChange, CookiesOfThePreviousKeyValidateUntilTheyExpire) {
    for (bool fast : {true, false}) {
        SCOPED_TRACE(fast ? "fast path" : "general path");
        EngineConfig ec;
        ec.fast_path = fast;
        const auto l = listener(Fam::v4, 80, CookieMode::kAlways);
        // The last second of a counter period: the change comes at the first of the next.
        const uint64_t period = 64 * kSec;
        const uint64_t t_mint = (kT0 / period + 1) * period - kSec;
        Engine e({l}, ec);
        e.now = t_mint;
        auto minted = [&](uint16_t sport) {
            auto syn = client_syn(Fam::v4, {.mss = 1460, .ts = true, .tsval = 3});
            syn.sport = sport;
            return client_ack(syn, FrameView(e.reply(pf::build_frame(syn))), true);
        };
        const auto old1 = minted(5001), old2 = minted(5002), old3 = minted(5003);
        cookie::SecretConfig b = test_secrets();
        b.master[0] ^= 0x5a;
        e.now = t_mint + kSec;  // the next counter period
        e.worker->change_master_key(b.master, e.now);
        const auto fresh = minted(5004);
        auto accepted = [&](const SegmentSpec& a) {
            e.feed(pf::build_frame(a));
            return e.out.n_established == 1;
        };
        EXPECT_TRUE(accepted(old1)) << "minted under the previous key, just before the change";
        EXPECT_TRUE(accepted(fresh)) << "minted under the new key";
        auto forged = old2;
        forged.ack += 1;
        EXPECT_FALSE(accepted(forged));
        // An appliance that only knows the new key rejects the old cookie: the retiring key is what
        // accepted it.
        Engine only_b({l}, ec, b);
        only_b.now = e.now;
        only_b.feed(pf::build_frame(old3));
        EXPECT_EQ(only_b.out.n_established, 0u);
        // Still inside its validity (the period after the one it was minted in).
        e.now = t_mint + period;
        EXPECT_TRUE(accepted(old2));
        // Two periods on it has expired, as any cookie would.
        e.now = t_mint + 2 * period;
        EXPECT_FALSE(accepted(old3));
    }
}
