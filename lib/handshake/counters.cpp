#include "handshake/counters.hpp"

namespace synwall::handshake {
namespace {

constexpr std::string_view kNames[] = {
#define SYNWALL_X(e, name, help) name,
    SYNWALL_ENGINE_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
#define SYNWALL_X(e, name, help) name,
    SYNWALL_PARSE_STATUS(SYNWALL_X)
#undef SYNWALL_X
};
constexpr std::string_view kHelp[] = {
#define SYNWALL_X(e, name, help) help,
    SYNWALL_ENGINE_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
#define SYNWALL_X(e, name, help) help,
    SYNWALL_PARSE_STATUS(SYNWALL_X)
#undef SYNWALL_X
};
static_assert(std::size(kNames) == kCounterCount);

}  // namespace

std::string_view counter_name(uint32_t c) noexcept { return c < kCounterCount ? kNames[c] : "?"; }
std::string_view counter_help(uint32_t c) noexcept { return c < kCounterCount ? kHelp[c] : "?"; }

bool partition_holds(const Counters& c) noexcept {
    uint64_t parsed = 0;
    for (uint32_t s = 0; s < net::kParseStatusCount; ++s) parsed += c[kParseBase + s];
    uint64_t outcomes = 0;
    for (const Counter k : kSegmentOutcomes) outcomes += c[k];
    return parsed == c[kRxPackets] && outcomes == c[parse_counter(net::ParseStatus::kOk)] + c[kSynReopenedFlow];
}

}  // namespace synwall::handshake
