// net::write_syn against the independent inspector: every option combination, both families,
// tagged and untagged, parses back to what was asked with valid checksums.
#include <gtest/gtest.h>

#include "net/syn_writer.hpp"
#include "packet_factory.hpp"

using namespace synwall;
namespace pf = synwall::testing;

TEST(SynWriter, EveryOptionCombinationParsesBackWithValidChecksums) {
    int cases = 0;
    for (auto fam : {net::Family::kIpv4, net::Family::kIpv6})
        for (uint16_t vlan : {0, 42})
            for (uint16_t mss : {0, 1460})
                for (bool sack : {false, true})
                    for (bool ts : {false, true})
                        for (int ws : {-1, 0, 14})
                            for (bool ecn : {false, true}) {
                                net::SynSpec s;
                                s.family = fam;
                                s.vlan = vlan;
                                s.src = fam == net::Family::kIpv4 ? pf::v4("198.18.0.9") : pf::v6("2001:db8::9");
                                s.dst = fam == net::Family::kIpv4 ? pf::v4("203.0.113.1") : pf::v6("2001:db8::1");
                                s.src_port = 4321;
                                s.seq = 0xdeadbeef;
                                s.mss = mss;
                                s.sack = sack;
                                s.timestamps = ts;
                                s.tsval = 77;
                                s.wscale = static_cast<int8_t>(ws);
                                s.ecn_setup = ecn;
                                uint8_t buf[net::kMaxSynFrame];
                                const uint16_t len = net::write_syn(s, buf, sizeof buf);
                                ASSERT_GT(len, 0);
                                const pf::FrameView v({buf, buf + len});
                                EXPECT_EQ(v.vlan_count, vlan ? 1 : 0);
                                EXPECT_TRUE(v.ipv4_checksum_ok());
                                EXPECT_TRUE(v.tcp_checksum_ok());
                                EXPECT_EQ(v.flags(), 0x02 | (ecn ? 0xc0 : 0));
                                EXPECT_EQ(v.seq(), 0xdeadbeefu);
                                EXPECT_EQ(v.sport(), 4321);
                                const auto o = v.options();
                                EXPECT_EQ(o.mss, mss ? 1460 : -1);
                                EXPECT_EQ(o.sack, sack);
                                EXPECT_EQ(o.ts, ts);
                                EXPECT_EQ(o.wscale, ws);
                                if (ts) {
                                    EXPECT_EQ(o.tsval, 77u);
                                }
                                const auto p = net::parse({buf, len});
                                EXPECT_TRUE(p.ok()) << to_string(p.status);
                                ++cases;
                            }
    EXPECT_EQ(cases, 2 * 2 * 2 * 2 * 2 * 3 * 2);
}

TEST(SynWriter, RefusesTooSmallABuffer) {
    net::SynSpec s;
    uint8_t buf[40];
    EXPECT_EQ(net::write_syn(s, buf, sizeof buf), 0);
}

TEST(SynWriter, ClientAckAnswersASynAckAndRefusesAnythingElse) {
    pf::SegmentSpec sa;
    sa.src = pf::v4("203.0.113.1");
    sa.dst = pf::v4("198.18.0.9");
    sa.sport = 80;
    sa.dport = 4321;
    sa.seq = 5000;
    sa.ack = 1001;
    sa.flags = 0x12;
    sa.vlans = {7};
    sa.tcp_options = pf::tcp_options({.mss = 1460, .ts = true, .tsval = 99, .tsecr = 42});
    auto frame = pf::build_frame(sa);
    uint8_t out[256];
    const net::Packet p{frame.data(), static_cast<uint16_t>(frame.size()), static_cast<uint16_t>(frame.size()), 0, 0, nullptr};
    const uint16_t len = net::write_client_ack(p, out, sizeof out, 7);
    ASSERT_GT(len, 0);
    const pf::FrameView v({out, out + len});
    EXPECT_EQ(v.flags(), 0x10);
    EXPECT_EQ(v.seq(), 1001u);
    EXPECT_EQ(v.ack(), 5001u);
    EXPECT_EQ(v.sport(), 4321);
    EXPECT_EQ(v.dport(), 80);
    EXPECT_EQ(v.vlan_count, 1);
    EXPECT_EQ(v.src_addr(), (std::vector<uint8_t>{198, 18, 0, 9}));
    EXPECT_TRUE(v.options().ts);
    EXPECT_EQ(v.options().tsval, 7u);
    EXPECT_EQ(v.options().tsecr, 99u);
    EXPECT_TRUE(v.ipv4_checksum_ok());
    EXPECT_TRUE(v.tcp_checksum_ok());
    sa.flags = 0x02;  // a SYN is not answered with an ACK
    frame = pf::build_frame(sa);
    const net::Packet q{frame.data(), static_cast<uint16_t>(frame.size()), static_cast<uint16_t>(frame.size()), 0, 0, nullptr};
    EXPECT_EQ(net::write_client_ack(q, out, sizeof out), 0);
    EXPECT_EQ(net::write_client_ack(p, out, 10), 0) << "no room";
}
