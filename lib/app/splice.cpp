#include "app/splice.hpp"

#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace synwall::app {
namespace {

using net::load_be16;
using net::load_be32;
using net::store_be16;
using net::store_be32;

// Offsets (from the TCP header) of the timestamp and SACK options, 0 when absent. The parser has
// validated the option list already; this walk only locates.
struct OptionOffsets {
    uint16_t ts = 0;
    uint16_t sack = 0;
};

OptionOffsets locate_options(const uint8_t* th, uint16_t header_len) noexcept {
    OptionOffsets o;
    for (uint16_t i = 20; i < header_len;) {
        const uint8_t kind = th[i];
        if (kind == net::tcp_opt::kEol) break;
        if (kind == net::tcp_opt::kNop) {
            ++i;
            continue;
        }
        if (i + 1 >= header_len) break;
        const uint8_t len = th[i + 1];
        if (len < 2 || i + len > header_len) break;
        if (kind == net::tcp_opt::kTimestamps && len == 10) o.ts = i;
        if (kind == net::tcp_opt::kSack && len >= 10 && (len - 2) % 8 == 0) o.sack = i;
        i = static_cast<uint16_t>(i + len);
    }
    return o;
}

// Header sum for the incremental update: the TCP header starts at an even offset of the
// checksummed region, so summing all of it before and after covers options at odd offsets too.
uint16_t header_sum(const uint8_t* th, uint16_t len) noexcept { return net::checksum_fold(net::checksum_partial({th, len})); }

template <bool kToServer>
void splice(uint8_t* frame, const net::ParsedPacket& p, const Splice& s) noexcept {
    uint8_t* th = frame + p.l4_offset;
    const uint16_t hl = p.tcp_header_len;
    const uint16_t before = header_sum(th, hl);
    const OptionOffsets o = hl > 20 ? locate_options(th, hl) : OptionOffsets{};
    if constexpr (kToServer) {
        if (p.has(net::tcp_flag::kAck)) store_be32(th + 8, p.ack + s.seq_offset);
        if (o.sack) {
            const uint8_t len = th[o.sack + 1];
            if (s.strip_sack) {
                for (uint8_t i = 0; i < len; ++i) th[o.sack + i] = net::tcp_opt::kNop;
            } else {
                for (uint16_t b = o.sack + 2; b < o.sack + len; b += 4) store_be32(th + b, load_be32(th + b) + s.seq_offset);
            }
        }
        if (o.ts && s.timestamps) store_be32(th + o.ts + 6, load_be32(th + o.ts + 6) - s.ts_offset);
        store_be16(th + 14, rescale_window(p.window, s.to_server_from, s.to_server_to));
    } else {
        store_be32(th + 4, p.seq - s.seq_offset);
        if (o.ts && s.timestamps) store_be32(th + o.ts + 2, load_be32(th + o.ts + 2) + s.ts_offset);
        store_be16(th + 14, rescale_window(p.window, s.to_client_from, s.to_client_to));
    }
    store_be16(th + 16, net::checksum_update16(load_be16(th + 16), before, header_sum(th, hl)));
}

}  // namespace

uint16_t rescale_window(uint16_t field, uint8_t from, uint8_t to) noexcept {
    if (from == to) return field;
    const uint64_t bytes = uint64_t{field} << from;
    uint64_t v = bytes >> to;
    if (v == 0 && field != 0) v = 1;
    return static_cast<uint16_t>(v > 0xffff ? 0xffff : v);
}

void splice_to_server(uint8_t* frame, const net::ParsedPacket& p, const Splice& s) noexcept { splice<true>(frame, p, s); }
void splice_to_client(uint8_t* frame, const net::ParsedPacket& p, const Splice& s) noexcept { splice<false>(frame, p, s); }

}  // namespace synwall::app
