// The appliance's end-of-run summary: as text for the terminal and as JSON (--stats-json). The
// counters keep the kernel's names: PassiveOpens are the handshakes completed, "absorbed" the frames
// that ended here without a reply (a flood's ACKs and RSTs, and the clients' own closing RSTs: not
// a loss). docs/configuration.md describes each figure.
#pragma once

#include <cstdio>
#include <string>

#include "dpdk/appliance.hpp"

namespace synwall::dpdk {

void print_summary(std::FILE* out, const ApplianceTotals& t, double seconds);
std::string summary_json(const ApplianceTotals& t, double seconds, size_t workers);

}  // namespace synwall::dpdk
