#include "gen/flood_writer.hpp"

#include <cstring>

#include "net/checksum.hpp"

namespace synwall::gen {

std::string_view to_string(FloodKind k) noexcept {
    switch (k) {
    case FloodKind::kSyn: return "syn";
    case FloodKind::kAck: return "ack";
    case FloodKind::kRst: return "rst";
    case FloodKind::kSynAck: return "synack";
    case FloodKind::kFrag: return "frag";
    }
    return "?";
}

bool parse_option_set(std::string_view text, OptionSet& out) {
    if (text == "linux") out = OptionSet::kLinux;
    else if (text == "mss") out = OptionSet::kMss;
    else if (text == "none") out = OptionSet::kNone;
    else if (text == "mixed") out = OptionSet::kMixed;
    else return false;
    return true;
}

bool parse_mix(std::string_view text, std::array<uint32_t, kFloodKinds>& out, std::string& error) {
    out.fill(0);
    uint64_t sum = 0;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const size_t eq = item.find('=');
        const std::string_view name = item.substr(0, eq);
        size_t k = 0;
        while (k < kFloodKinds && to_string(static_cast<FloodKind>(k)) != name) ++k;
        if (k == kFloodKinds) {
            error = "unknown flood kind '" + std::string(name) + "' (syn, ack, rst, synack)";
            return false;
        }
        uint32_t w = 1;
        if (eq != std::string_view::npos) {
            const std::string v(item.substr(eq + 1));
            char* end = nullptr;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n > 1'000'000) {
                error = "bad weight '" + v + "' for " + std::string(name) + " (0..1000000)";
                return false;
            }
            w = static_cast<uint32_t>(n);
        }
        out[k] = w;
        sum += w;
    }
    if (sum == 0) {
        error = "the mix gives every kind weight 0";
        return false;
    }
    return true;
}

FloodWriter::FloodWriter(const FloodSpec& spec, uint64_t seed) : spec_(spec), rng_(seed) {
    seg_.family = spec.src.family;
    seg_.src_mac = spec.src_mac;
    seg_.dst_mac = spec.dst_mac;
    seg_.dst = spec.dst;
    seg_.dst_port = spec.dport;
    for (size_t k = 0; k < kFloodKinds; ++k) {
        total_ += spec.weights[k];
        cumulative_[k] = total_;
    }
    if (total_ == 0) {
        cumulative_[0] = total_ = 1;  // nothing asked for: SYNs
    }
    if (spec_.sport_hi < spec_.sport_lo) std::swap(spec_.sport_lo, spec_.sport_hi);
}

uint16_t FloodWriter::write(uint8_t* out, uint16_t room, FloodKind& kind) noexcept {
    const uint64_t r = rng_.next(), r2 = rng_.next();
    const uint64_t pick = (r >> 32) % total_;
    size_t k = 0;
    while (pick >= cumulative_[k]) ++k;
    kind = static_cast<FloodKind>(k);
    spec_.src.at(r2, seg_.src.data());
    seg_.src_port = static_cast<uint16_t>(spec_.sport_lo + (r & 0xffff) % (spec_.sport_hi - spec_.sport_lo + 1u));
    seg_.seq = static_cast<uint32_t>(r2 >> 32);
    seg_.ack = 0;
    seg_.mss = 0;
    seg_.sack = seg_.timestamps = false;
    seg_.wscale = -1;
    seg_.tsval = static_cast<uint32_t>(r);
    switch (kind) {
    case FloodKind::kSyn:
    case FloodKind::kFrag:
    case FloodKind::kSynAck: {
        seg_.flags = kind == FloodKind::kSynAck ? net::tcp_flag::kSyn | net::tcp_flag::kAck : net::tcp_flag::kSyn;
        if (kind == FloodKind::kSynAck) seg_.ack = static_cast<uint32_t>(r);
        OptionSet o = spec_.options;
        if (o == OptionSet::kMixed) o = static_cast<OptionSet>((r >> 16) % 3);
        if (o != OptionSet::kNone) seg_.mss = 1460;
        if (o == OptionSet::kLinux) {
            seg_.sack = seg_.timestamps = true;
            seg_.wscale = 7;
        }
        break;
    }
    case FloodKind::kAck:
        // A third segment for a handshake that never happened: its ack field is what a cookie
        // check has to refuse.
        seg_.flags = net::tcp_flag::kAck;
        seg_.ack = static_cast<uint32_t>(r);
        seg_.timestamps = (r >> 20) & 1;
        break;
    case FloodKind::kRst:
        seg_.flags = net::tcp_flag::kRst;
        break;
    }
    const uint16_t len = net::write_syn(seg_, out, room);
    if (kind != FloodKind::kFrag || len == 0) return len;
    return fragment(out, len, room, seg_.family == net::Family::kIpv6, r);
}

uint16_t FloodWriter::fragment(uint8_t* frame, uint16_t len, uint16_t room, bool v6, uint64_t r) noexcept {
    size_t l3 = 14;
    while (l3 + 4 <= len && frame[l3 - 2] == 0x81 && frame[l3 - 1] == 0x00) l3 += 4;  // past VLAN tags
    // Half first fragments, half later ones at an offset of 8 to 1024 bytes (in 8-byte units).
    const uint16_t units = (r >> 40) & 1 ? 0 : static_cast<uint16_t>(1 + (r >> 41) % 128);
    const bool more = units == 0 || ((r >> 50) & 1);
    if (!v6) {
        uint8_t* ip = frame + l3;
        const uint16_t field = static_cast<uint16_t>((more ? 0x2000 : 0) | units);
        ip[6] = static_cast<uint8_t>(field >> 8);
        ip[7] = static_cast<uint8_t>(field);
        ip[10] = ip[11] = 0;
        const uint16_t c = net::ipv4_header_checksum({ip, static_cast<size_t>((ip[0] & 0x0f) * 4)});
        ip[10] = static_cast<uint8_t>(c >> 8);
        ip[11] = static_cast<uint8_t>(c);
        return len;
    }
    if (len + 8u > room) return 0;
    // A Fragment header between the IPv6 header and TCP: next header 44, payload 8 bytes longer.
    uint8_t* ip = frame + l3;
    std::memmove(ip + 48, ip + 40, len - l3 - 40);
    uint8_t* fh = ip + 40;
    fh[0] = ip[6];  // the TCP segment follows
    fh[1] = 0;
    const uint16_t field = static_cast<uint16_t>(units << 3 | (more ? 1 : 0));
    fh[2] = static_cast<uint8_t>(field >> 8);
    fh[3] = static_cast<uint8_t>(field);
    const uint32_t id = static_cast<uint32_t>(r);
    std::memcpy(fh + 4, &id, 4);
    ip[6] = 44;
    const uint16_t payload = static_cast<uint16_t>((ip[4] << 8 | ip[5]) + 8);
    ip[4] = static_cast<uint8_t>(payload >> 8);
    ip[5] = static_cast<uint8_t>(payload);
    return static_cast<uint16_t>(len + 8);
}

}  // namespace synwall::gen
