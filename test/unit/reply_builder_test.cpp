// net::build_reply / rst_for: the received frame is rewritten in place into our reply. The result
// is inspected with test/unit/packet_factory's FrameView (its own offsets and checksum loop).
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <vector>

#include "net/byte_order.hpp"
#include "net/packet.hpp"
#include "net/parser.hpp"
#include "net/reply_builder.hpp"
#include "packet_factory.hpp"

using namespace synwall::net;
namespace pf = synwall::testing;
using pf::Fam;
using pf::FrameView;
using pf::SegmentSpec;

namespace {

using Bytes = std::vector<uint8_t>;

SegmentSpec base(Fam fam) {
    SegmentSpec s;
    s.fam = fam;
    if (fam == Fam::v4) {
        s.src = pf::v4("192.0.2.33");
        s.dst = pf::v4("203.0.113.5");
    } else {
        s.src = pf::v6("2001:db8:aa::33");
        s.dst = pf::v6("2001:db8:bb::5");
    }
    s.src_mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    s.dst_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    s.sport = 43210;
    s.dport = 443;
    s.seq = 0x10203040;
    s.window = 65535;
    pf::OptionSpec o;
    o.mss = 1400;
    o.wscale = 9;
    o.sack = true;
    o.ts = true;
    o.tsval = 777;
    s.tcp_options = pf::tcp_options(o);
    return s;
}

// A received frame in a buffer of `room` bytes, parsed.
struct Rx {
    Bytes orig;
    Bytes buf;
    Packet pkt;
    ParsedPacket in;

    Rx(const SegmentSpec& s, size_t room = 512) : orig(pf::build_frame(s)) {
        buf = orig;
        if (room < buf.size()) room = buf.size();
        buf.resize(room, 0xee);
        pkt.data = buf.data();
        pkt.len = static_cast<uint16_t>(orig.size());
        pkt.room = static_cast<uint16_t>(room);
        in = parse({buf.data(), pkt.len});
    }
    Rx(const Rx&) = delete;
    Rx& operator=(const Rx&) = delete;
    Bytes reply() const { return {buf.begin(), buf.begin() + pkt.len}; }
};

// What a NIC does with RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM: sum the TCP segment with
// the pseudo-header sum seeded in its checksum field, and the IPv4 header from zero.
void finish_checksums_like_a_nic(FrameView& fv) {
    const uint16_t tcp = pf::ref_checksum(fv.bytes.data() + fv.l4, fv.tcp_length());
    fv.bytes[fv.l4 + 16] = static_cast<uint8_t>(tcp >> 8);
    fv.bytes[fv.l4 + 17] = static_cast<uint8_t>(tcp);
    if (!fv.v6) {
        const uint16_t ip = pf::ref_checksum(fv.bytes.data() + fv.l3, 20);
        fv.bytes[fv.l3 + 10] = static_cast<uint8_t>(ip >> 8);
        fv.bytes[fv.l3 + 11] = static_cast<uint8_t>(ip);
    }
}

// Our options, written out independently in the Linux SYN-ACK layout (tcp_options_write()).
Bytes expected_options(const ReplyOptions& o) {
    Bytes b;
    if (o.mss) b.insert(b.end(), {2, 4, static_cast<uint8_t>(o.mss >> 8), static_cast<uint8_t>(o.mss)});
    auto be32 = [&](uint32_t v) {
        for (int sh = 24; sh >= 0; sh -= 8) b.push_back(static_cast<uint8_t>(v >> sh));
    };
    if (o.timestamps) {
        if (o.sack_permitted) {
            b.insert(b.end(), {4, 2, 8, 10});
        } else {
            b.insert(b.end(), {1, 1, 8, 10});
        }
        be32(o.tsval);
        be32(o.tsecr);
    } else if (o.sack_permitted) {
        b.insert(b.end(), {1, 1, 4, 2});
    }
    if (o.wscale != ReplyOptions::kNoWscale) b.insert(b.end(), {1, 3, 3, o.wscale});
    return b;
}

ReplyOptions combo(int mask) {
    ReplyOptions o;
    if (mask & 1) o.mss = 1460;
    if (mask & 2) o.sack_permitted = true;
    if (mask & 4) {
        o.timestamps = true;
        o.tsval = 0xa1b2c3d4;
        o.tsecr = 777;
    }
    if (mask & 8) o.wscale = 7;
    return o;
}

ReplySegment syn_ack(const ParsedPacket& in, const ReplyOptions& o) {
    ReplySegment seg;
    seg.flags = tcp_flag::kSyn | tcp_flag::kAck;
    seg.seq = 0xcafef00d;
    seg.ack = in.seq + 1;
    seg.window = 64240;
    seg.options = o;
    return seg;
}

Bytes slice(const Bytes& b, size_t from, size_t n) {
    return {b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(from + n)};
}

// Pseudo-header sum computed here from the reply's own bytes.
uint32_t pseudo_sum(const FrameView& fv) {
    const auto s = fv.src_addr(), d = fv.dst_addr();
    uint32_t sum = 0;
    for (size_t i = 0; i < s.size(); i += 2) sum += static_cast<uint32_t>(s[i] << 8 | s[i + 1]);
    for (size_t i = 0; i < d.size(); i += 2) sum += static_cast<uint32_t>(d[i] << 8 | d[i + 1]);
    return sum + 6 + static_cast<uint32_t>(fv.tcp_length());
}

// Everything a SYN-ACK built from `rx` must satisfy.
void check_syn_ack(const Rx& rx, const SegmentSpec& s, const ReplySegment& seg, const ReplyIpFields& ipf) {
    const bool v6 = s.fam == Fam::v6;
    const Bytes r = rx.reply();
    const FrameView fv(r);
    const FrameView ov(rx.orig);
    const Bytes opts = expected_options(seg.options);
    const size_t l3 = 14 + 4 * s.vlans.size();
    const size_t iplen = v6 ? 40 : 20;

    // Lengths.
    ASSERT_EQ(fv.l3, l3);
    ASSERT_EQ(fv.l4, l3 + iplen);
    ASSERT_EQ(fv.tcp_header_len(), 20 + opts.size());
    ASSERT_EQ(fv.tcp_header_len() % 4, 0u);
    ASSERT_EQ(rx.pkt.len, l3 + iplen + 20 + opts.size());
    ASSERT_EQ(fv.tcp_length(), 20 + opts.size());  // no payload
    EXPECT_EQ(reply_options_len(seg.options), opts.size());

    // L2: MACs swapped, VLAN tags and EtherTypes as they were.
    EXPECT_EQ(slice(r, 0, 6), slice(rx.orig, 6, 6));
    EXPECT_EQ(slice(r, 6, 6), slice(rx.orig, 0, 6));
    EXPECT_EQ(slice(r, 12, l3 - 12), slice(rx.orig, 12, l3 - 12));
    EXPECT_EQ(fv.vlan_count, static_cast<int>(s.vlans.size()));

    // L3.
    EXPECT_EQ(fv.src_addr(), ov.dst_addr());
    EXPECT_EQ(fv.dst_addr(), ov.src_addr());
    EXPECT_EQ(fv.ttl(), ipf.ttl);
    if (v6) {
        EXPECT_EQ(fv.be32(l3), 0x60000000u);  // version 6, traffic class and flow label 0
        EXPECT_EQ(fv.be16(l3 + 4), 20 + opts.size());
        EXPECT_EQ(r[l3 + 6], 6);  // next header TCP: extension headers gone
    } else {
        EXPECT_EQ(r[l3], 0x45);  // IHL 5 whatever the SYN carried
        EXPECT_EQ(r[l3 + 1], 0);
        EXPECT_EQ(fv.be16(l3 + 2), 20 + 20 + opts.size());
        EXPECT_EQ(fv.be16(l3 + 4), ipf.ipv4_id);
        EXPECT_EQ(fv.be16(l3 + 6), 0x4000);  // DF, no fragment offset
        EXPECT_EQ(r[l3 + 9], 6);
    }

    // L4.
    EXPECT_EQ(fv.sport(), s.dport);
    EXPECT_EQ(fv.dport(), s.sport);
    EXPECT_EQ(fv.seq(), seg.seq);
    EXPECT_EQ(fv.ack(), seg.ack);
    EXPECT_EQ(fv.flags(), seg.flags);
    EXPECT_EQ(fv.window(), seg.window);
    EXPECT_EQ(r[fv.l4 + 12] & 0x0f, 0);   // reserved bits clear
    EXPECT_EQ(fv.be16(fv.l4 + 18), 0);    // urgent pointer
    EXPECT_EQ(slice(r, fv.l4 + 20, opts.size()), opts);

    // The independent option walker reads back what we asked for.
    const auto ro = fv.options();
    EXPECT_EQ(ro.mss, seg.options.mss ? int{seg.options.mss} : -1);
    EXPECT_EQ(ro.wscale, seg.options.wscale == ReplyOptions::kNoWscale ? -1 : int{seg.options.wscale});
    EXPECT_EQ(ro.sack, seg.options.sack_permitted);
    EXPECT_EQ(ro.ts, seg.options.timestamps);
    if (seg.options.timestamps) {
        EXPECT_EQ(ro.tsval, seg.options.tsval);
        EXPECT_EQ(ro.tsecr, seg.options.tsecr);
    }

    // Checksums, or the offload layout.
    if (!ipf.checksum_offload) {
        EXPECT_TRUE(fv.ipv4_checksum_ok());
        EXPECT_TRUE(fv.tcp_checksum_ok());
    } else {
        if (!v6) {
            EXPECT_EQ(fv.be16(l3 + 10), 0);
        }
        const uint16_t folded_pseudo = static_cast<uint16_t>(~pf::ref_checksum(nullptr, 0, pseudo_sum(fv)));
        EXPECT_EQ(fv.be16(fv.l4 + 16), folded_pseudo);
    }
}

}  // namespace

TEST(ReplyBuilder, OptionsLengthForEveryCombination) {
    for (int mask = 0; mask < 16; ++mask) {
        const auto o = combo(mask);
        const auto len = reply_options_len(o);
        EXPECT_EQ(len, expected_options(o).size()) << mask;
        EXPECT_EQ(len % 4, 0) << mask;
        EXPECT_LE(len, 20) << mask;
    }
    EXPECT_EQ(reply_options_len(ReplyOptions{}), 0);
    EXPECT_EQ(reply_options_len(combo(15)), 20);
}

TEST(ReplyBuilder, KernelLayoutLiteralBytes) {
    // The exact bytes Linux puts on a SYN-ACK, for the common combinations.
    struct Case {
        int mask;
        Bytes bytes;
    };
    const Case cases[] = {
        {15, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 3, 9, 1, 3, 3, 7}},
        {13, {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 3, 9, 1, 3, 3, 7}},
        {11, {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
        {3, {2, 4, 0x05, 0xb4, 1, 1, 4, 2}},
        {1, {2, 4, 0x05, 0xb4}},
        {4, {1, 1, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 3, 9}},
        {8, {1, 3, 3, 7}},
        {0, {}},
    };
    for (const auto& c : cases) {
        auto s = base(Fam::v4);
        Rx rx(s);
        ASSERT_TRUE(rx.in.ok());
        const auto seg = syn_ack(rx.in, combo(c.mask));
        ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, {}));
        const FrameView fv(rx.reply());
        EXPECT_EQ(fv.tcp_header_len(), 20 + c.bytes.size()) << c.mask;
        EXPECT_EQ(slice(rx.reply(), fv.l4 + 20, c.bytes.size()), c.bytes) << c.mask;
        EXPECT_EQ(rx.pkt.len, 14 + 20 + 20 + c.bytes.size());
    }
}

TEST(ReplyBuilder, SynAckEveryOptionCombinationFamilyAndVlan) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            for (int mask = 0; mask < 16; ++mask) {
                for (bool offload : {false, true}) {
                    auto s = base(fam);
                    for (int i = 0; i < tags; ++i) s.vlans.push_back(static_cast<uint16_t>(0x0100 + i));
                    Rx rx(s);
                    ASSERT_TRUE(rx.in.ok());
                    const auto seg = syn_ack(rx.in, combo(mask));
                    ReplyIpFields ipf;
                    ipf.ttl = static_cast<uint8_t>(40 + mask);
                    ipf.ipv4_id = static_cast<uint16_t>(0x1000 * tags + mask);
                    ipf.checksum_offload = offload;
                    ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
                    SCOPED_TRACE(::testing::Message() << (fam == Fam::v4 ? "v4" : "v6") << " tags " << tags
                                                      << " mask " << mask << " offload " << offload);
                    check_syn_ack(rx, s, seg, ipf);
                }
            }
        }
    }
}

TEST(ReplyBuilder, ReplyParsesBack) {
    // Round trip through the parser: the reply is a well-formed segment with the right fields.
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.vlans = {5, 6};
        Rx rx(s);
        const auto seg = syn_ack(rx.in, combo(15));
        ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, {}));
        const auto p = parse({rx.buf.data(), rx.pkt.len});
        ASSERT_EQ(p.status, ParseStatus::kOk) << to_string(p.status);
        EXPECT_EQ(p.vlan_count, 2);
        EXPECT_EQ(p.src_port, s.dport);
        EXPECT_EQ(p.dst_port, s.sport);
        EXPECT_EQ(p.seq, seg.seq);
        EXPECT_EQ(p.ack, s.seq + 1);
        EXPECT_EQ(p.tcp_flags, tcp_flag::kSyn | tcp_flag::kAck);
        EXPECT_EQ(p.payload_len, 0);
        EXPECT_EQ(p.options.mss, 1460);
        EXPECT_EQ(p.options.wscale, 7);
        EXPECT_TRUE(p.options.sack_permitted);
        EXPECT_EQ(p.options.tsval, 0xa1b2c3d4u);
        EXPECT_EQ(p.options.tsecr, 777u);
        EXPECT_EQ(0, std::memcmp(p.src_addr, s.dst.data(), p.addr_len()));
        EXPECT_EQ(0, std::memcmp(p.dst_addr, s.src.data(), p.addr_len()));
    }
}

TEST(ReplyBuilder, Ipv4OptionsDroppedAndPayloadDropped) {
    for (size_t optlen : {4u, 12u, 40u}) {
        for (int tags : {0, 1, 2}) {
            auto s = base(Fam::v4);
            s.vlans.assign(static_cast<size_t>(tags), 0x0abc);
            s.ipv4_options.assign(optlen, 1);
            s.ipv4_options[0] = 0x94;  // router alert
            s.ipv4_options[1] = 4;
            s.ipv4_options[2] = 0;
            s.ipv4_options[3] = 0;
            s.payload.assign(123, 0x77);
            s.ttl = 3;
            Rx rx(s);
            ASSERT_TRUE(rx.in.ok());
            ASSERT_EQ(rx.in.payload_len, 123);
            const auto seg = syn_ack(rx.in, combo(15));
            ReplyIpFields ipf;
            ipf.ttl = 64;
            ipf.ipv4_id = 0xbeef;
            ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
            SCOPED_TRACE(::testing::Message() << "optlen " << optlen << " tags " << tags);
            check_syn_ack(rx, s, seg, ipf);
            EXPECT_LT(rx.pkt.len, rx.orig.size());
        }
    }
}

TEST(ReplyBuilder, Ipv6ExtensionHeadersDropped) {
    const std::vector<std::vector<pf::Ipv6Ext>> chains = {
        {{0, 0}}, {{60, 2}}, {{0, 1}, {43, 2}, {60, 0}}};
    for (const auto& chain : chains) {
        for (int tags : {0, 2}) {
            auto s = base(Fam::v6);
            s.vlans.assign(static_cast<size_t>(tags), 0x0123);
            s.ipv6_ext = chain;
            s.payload = {1, 2, 3, 4, 5};
            s.ttl = 9;
            Rx rx(s);
            ASSERT_TRUE(rx.in.ok());
            const auto seg = syn_ack(rx.in, combo(15));
            ReplyIpFields ipf;
            ipf.ttl = 200;
            ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
            SCOPED_TRACE(::testing::Message() << "chain " << chain.size() << " tags " << tags);
            check_syn_ack(rx, s, seg, ipf);
        }
    }
}

TEST(ReplyBuilder, EcnAndTrafficClassCleared) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        auto s = base(fam);
        s.ecn = 3;
        Rx rx(s);
        ASSERT_EQ(rx.in.ip_ecn, 3);
        ASSERT_TRUE(build_reply(rx.pkt, rx.in, syn_ack(rx.in, combo(0)), {}));
        const auto r = rx.reply();
        if (fam == Fam::v4) {
            EXPECT_EQ(r[14 + 1], 0);
        } else {
            EXPECT_EQ(r[14] & 0x0f, 0);
            EXPECT_EQ(r[15] & 0xf0, 0);
        }
    }
}

TEST(ReplyBuilder, ChecksumOffloadCompletedByNicVerifies) {
    // What a NIC does with RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM: sum the TCP segment
    // with the pseudo-header sum seeded in the checksum field, and the IPv4 header from zero.
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (int mask : {0, 5, 15}) {
            auto s = base(fam);
            s.vlans = {42};
            Rx rx(s);
            ReplyIpFields ipf;
            ipf.checksum_offload = true;
            const auto seg = syn_ack(rx.in, combo(mask));
            ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
            FrameView fv(rx.reply());
            EXPECT_FALSE(fv.tcp_checksum_ok());  // not finished yet
            const uint16_t seeded = fv.be16(fv.l4 + 16);
            EXPECT_NE(seeded, 0);
            if (fam == Fam::v4) {
                EXPECT_EQ(fv.be16(fv.l3 + 10), 0);
                EXPECT_FALSE(fv.ipv4_checksum_ok());
            }
            finish_checksums_like_a_nic(fv);
            EXPECT_TRUE(fv.tcp_checksum_ok()) << mask;
            EXPECT_TRUE(fv.ipv4_checksum_ok());
        }
    }
}

// A payload after the header: from a buffer of its own, or from the very frame being rewritten
// (its own data echoed back, which the new headers overwrite); lengths and both checksums cover it.
TEST(ReplyBuilder, PayloadFromElsewhereOrFromTheFrameItself) {
    const Bytes data = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n', 'x'};
    for (Fam fam : {Fam::v4, Fam::v6})
        for (bool vlan : {false, true})
            for (bool aliased : {false, true})
                for (bool offload : {false, true}) {
                    SCOPED_TRACE(::testing::Message() << (fam == Fam::v4 ? "v4" : "v6") << " vlan " << vlan << " aliased "
                                                    << aliased << " offload " << offload);
                    auto s = base(fam);
                    s.tcp_options = {};  // a 20-byte header in; ours is 32 bytes: the data moves right
                    s.flags = 0x18;
                    s.payload = data;
                    if (vlan) s.vlans = {7};
                    Rx rx(s);
                    ASSERT_EQ(rx.in.payload_len, data.size());
                    ReplySegment seg;
                    seg.flags = 0x18;
                    seg.seq = 1000;
                    seg.ack = rx.in.seq + rx.in.payload_len;
                    seg.window = 502;
                    seg.options.timestamps = true;
                    seg.options.tsval = 5;
                    seg.payload = aliased ? std::span<const uint8_t>(rx.buf.data() + rx.in.l4_offset + rx.in.tcp_header_len,
                                                                     rx.in.payload_len)
                                          : std::span<const uint8_t>(data);
                    ReplyIpFields ipf;
                    ipf.checksum_offload = offload;
                    ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
                    FrameView fv(rx.reply());
                    EXPECT_EQ(fv.tcp_header_len(), 32u);
                    EXPECT_EQ(fv.tcp_length(), 32u + data.size());
                    EXPECT_EQ(fv.payload(), data);
                    EXPECT_EQ(rx.pkt.len, fv.l4 + 32 + data.size());
                    if (offload) finish_checksums_like_a_nic(fv);
                    EXPECT_TRUE(fv.tcp_checksum_ok());
                    EXPECT_TRUE(fv.ipv4_checksum_ok());
                    const ParsedPacket back = parse({fv.bytes.data(), fv.bytes.size()});
                    ASSERT_TRUE(back.ok()) << to_string(back.status);
                    EXPECT_EQ(back.payload_len, data.size());
                }
}

TEST(ReplyBuilder, DoesNotFitInRoomLeavesFrameUntouched) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (int tags : {0, 2}) {
            auto s = base(fam);
            s.vlans.assign(static_cast<size_t>(tags), 7);
            s.tcp_options.clear();  // a bare SYN: the reply with options is 20 bytes longer
            const size_t l3 = 14 + 4 * static_cast<size_t>(tags);
            const size_t need = l3 + (fam == Fam::v4 ? 20 : 40) + 40;
            {
                Rx rx(s, need - 1);
                ASSERT_TRUE(rx.in.ok());
                ASSERT_EQ(rx.pkt.len, need - 20);
                const Bytes before = rx.buf;
                EXPECT_FALSE(build_reply(rx.pkt, rx.in, syn_ack(rx.in, combo(15)), {}));
                EXPECT_EQ(rx.buf, before);
                EXPECT_EQ(rx.pkt.len, need - 20);
                EXPECT_EQ(rx.pkt.data, rx.buf.data());
                // A smaller reply does fit.
                EXPECT_TRUE(build_reply(rx.pkt, rx.in, syn_ack(rx.in, combo(9)), {}));  // MSS, WS
                EXPECT_EQ(rx.pkt.len, need - 12);
                EXPECT_TRUE(FrameView(rx.reply()).tcp_checksum_ok());
            }
            {
                Rx rx(s, need);  // exactly enough
                ASSERT_TRUE(build_reply(rx.pkt, rx.in, syn_ack(rx.in, combo(15)), {}));
                EXPECT_EQ(rx.pkt.len, need);
                check_syn_ack(rx, s, syn_ack(rx.in, combo(15)), {});
            }
        }
    }
}

TEST(ReplyBuilder, ShrinkingReplyInExactRoom) {
    // room == len and the reply is shorter (options and payload dropped): always fits.
    auto s = base(Fam::v4);
    s.ipv4_options.assign(40, 1);
    s.payload.assign(500, 0x33);
    Rx rx(s, 0);
    ASSERT_EQ(rx.pkt.room, rx.pkt.len);
    const auto seg = syn_ack(rx.in, combo(15));
    ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, {}));
    check_syn_ack(rx, s, seg, {});
}

// ---------------------------------------------------------------------------------------------
// rst_for (RFC 9293 §3.10.7.1)
// ---------------------------------------------------------------------------------------------

namespace {

ParsedPacket received(uint8_t flags, uint32_t seq, uint32_t ack, size_t payload, Fam fam = Fam::v4) {
    auto s = base(fam);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.tcp_options.clear();
    s.payload.assign(payload, 0x61);
    static std::vector<Bytes> keep;  // parsed packets point into their frame
    keep.push_back(pf::build_frame(s));
    auto p = parse(keep.back());
    EXPECT_EQ(p.status, ParseStatus::kOk);
    return p;
}

void expect_no_options(const ReplySegment& r) {
    EXPECT_EQ(r.window, 0);
    EXPECT_EQ(r.options.mss, 0);
    EXPECT_EQ(r.options.wscale, ReplyOptions::kNoWscale);
    EXPECT_FALSE(r.options.sack_permitted);
    EXPECT_FALSE(r.options.timestamps);
    EXPECT_EQ(reply_options_len(r.options), 0);
}

}  // namespace

TEST(ReplyBuilder, RstForSegmentWithAck) {
    // ACK set: <SEQ=SEG.ACK><CTL=RST>, no ACK bit, whatever else the segment carried.
    for (uint8_t flags : {uint8_t{tcp_flag::kAck}, uint8_t{tcp_flag::kAck | tcp_flag::kPsh},
                          uint8_t{tcp_flag::kSyn | tcp_flag::kAck}, uint8_t{tcp_flag::kFin | tcp_flag::kAck}}) {
        for (size_t payload : {0u, 10u}) {
            const auto in = received(flags, 5000, 0x89abcdef, payload);
            const auto r = rst_for(in);
            EXPECT_EQ(r.flags, tcp_flag::kRst) << int(flags);
            EXPECT_EQ(r.seq, 0x89abcdefu);
            EXPECT_EQ(r.ack, 0u);
            expect_no_options(r);
        }
    }
}

TEST(ReplyBuilder, RstForSegmentWithoutAck) {
    // No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN each count one.
    struct Case {
        uint8_t flags;
        uint32_t seq;
        size_t payload;
        uint32_t want_ack;
    };
    const Case cases[] = {
        {tcp_flag::kSyn, 1000, 0, 1001},
        {tcp_flag::kSyn, 1000, 7, 1008},
        {tcp_flag::kFin, 1000, 0, 1001},
        {tcp_flag::kFin | tcp_flag::kPsh, 1000, 3, 1004},
        {tcp_flag::kSyn | tcp_flag::kFin, 1000, 0, 1002},
        {tcp_flag::kSyn | tcp_flag::kFin, 1000, 4, 1006},
        {0, 1000, 0, 1000},     // null segment
        {tcp_flag::kPsh, 1000, 100, 1100},
        {tcp_flag::kSyn, 0xffffffff, 0, 0},  // wraps
        {tcp_flag::kSyn, 0xfffffffe, 5, 4},
    };
    for (const auto& c : cases) {
        const auto in = received(c.flags, c.seq, 0x12345678 /* ignored: no ACK bit */, c.payload);
        const auto r = rst_for(in);
        EXPECT_EQ(r.flags, tcp_flag::kRst | tcp_flag::kAck) << int(c.flags);
        EXPECT_EQ(r.seq, 0u);
        EXPECT_EQ(r.ack, c.want_ack) << int(c.flags) << " seq " << c.seq << " len " << c.payload;
        expect_no_options(r);
    }
}

TEST(ReplyBuilder, RstBuiltIntoFrame) {
    for (Fam fam : {Fam::v4, Fam::v6}) {
        for (bool with_ack : {false, true}) {
            auto s = base(fam);
            s.vlans = {77};
            s.flags = with_ack ? tcp_flag::kAck : tcp_flag::kSyn;
            s.ack = with_ack ? 0x55667788 : 0;
            s.payload = {1, 2, 3};
            Rx rx(s);
            ASSERT_TRUE(rx.in.ok());
            const auto seg = rst_for(rx.in);
            ReplyIpFields ipf;
            ipf.ttl = 255;
            ipf.ipv4_id = 0;
            ASSERT_TRUE(build_reply(rx.pkt, rx.in, seg, ipf));
            SCOPED_TRACE(with_ack ? "with ack" : "without ack");
            check_syn_ack(rx, s, seg, ipf);  // same invariants, 20-byte header
            const FrameView fv(rx.reply());
            EXPECT_EQ(fv.tcp_header_len(), 20u);
            EXPECT_EQ(fv.flags(), with_ack ? tcp_flag::kRst : (tcp_flag::kRst | tcp_flag::kAck));
            EXPECT_EQ(fv.seq(), with_ack ? 0x55667788u : 0u);
            EXPECT_EQ(fv.ack(), with_ack ? 0u : s.seq + 1 + 3);
            EXPECT_EQ(fv.window(), 0);
        }
    }
}

TEST(SwapMacs, ExchangesDestinationAndSourceAndNothingElse) {
    uint8_t f[16];
    for (int i = 0; i < 16; ++i) f[i] = static_cast<uint8_t>(0x10 + i);
    synwall::net::swap_macs(f);
    const uint8_t want[16] = {0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x1c, 0x1d, 0x1e, 0x1f};
    EXPECT_EQ(0, std::memcmp(f, want, 16));
}
