// The generator's attack traffic: spoofed SYNs (sources and ports drawn from configured ranges,
// option sets selectable), ACKs with random acknowledgment numbers (what a cookie check must
// refuse), RSTs, reflected SYN-ACKs, and IP fragments of SYNs (first and later fragments; IPv6
// with a Fragment header), mixed by weight. Every frame has correct checksums, so it costs the
// target a real validation. Deterministic for a seed. EAL-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "gen/address_range.hpp"
#include "gen/splitmix64.hpp"
#include "net/syn_writer.hpp"

namespace synwall::gen {

enum class FloodKind : uint8_t { kSyn, kAck, kRst, kSynAck, kFrag };
inline constexpr size_t kFloodKinds = 5;
// The longest flood frame: a SYN with every option, behind a VLAN tag and an IPv6 Fragment header.
inline constexpr uint16_t kMaxFloodFrame = net::kMaxSynFrame + 8;
std::string_view to_string(FloodKind k) noexcept;

// Options on flood SYNs: Linux's set (MSS, SACK, TS, WS), MSS only, none, or a random mix of these.
enum class OptionSet : uint8_t { kLinux, kMss, kNone, kMixed };
bool parse_option_set(std::string_view text, OptionSet& out);

struct FloodSpec {
    AddressRange src;                     // spoofed sources (a prefix routed back to the generator)
    std::array<uint8_t, 16> dst{};        // the target address (family of `src`)
    uint16_t dport = 80;
    uint16_t sport_lo = 1024, sport_hi = 65535;
    OptionSet options = OptionSet::kLinux;
    std::array<uint32_t, kFloodKinds> weights{1, 0, 0, 0, 0};  // relative share of each kind
    std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0x67, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0x67, 0x02};
};

// "syn=70,ack=20,rst=10,synack=0,frag=0" (kinds left out weigh 0; "syn" alone means syn=1).
bool parse_mix(std::string_view text, std::array<uint32_t, kFloodKinds>& out, std::string& error);

class FloodWriter {
public:
    FloodWriter(const FloodSpec& spec, uint64_t seed);
    // Writes the next frame (at most kMaxFloodFrame bytes); returns its length, 0 if `room` is
    // too small. `kind` says what it was.
    uint16_t write(uint8_t* out, uint16_t room, FloodKind& kind) noexcept;

private:
    // Makes the SYN in `frame` a fragment of itself: the first (offset 0, more fragments) or a
    // later one (offset from `r`). Returns the new length, 0 if `room` is too small.
    static uint16_t fragment(uint8_t* frame, uint16_t len, uint16_t room, bool v6, uint64_t r) noexcept;

    FloodSpec spec_;
    net::SynSpec seg_;
    std::array<uint64_t, kFloodKinds> cumulative_{};
    uint64_t total_ = 0;
    SplitMix64 rng_;
};

}  // namespace synwall::gen
