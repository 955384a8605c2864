// synwall-gen's command line (after the EAL's "--"), parsed into plain structs; every problem is
// one line naming the flag and the reason. EAL-free: tested without DPDK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gen/client_pool.hpp"
#include "gen/flood_writer.hpp"

namespace synwall::gen {

// What a SYN-ACK sent to a flood source is turned into: nothing (freed), or a near-miss ACK (the
// correct tuple and seq, the cookie + 1 as ack: the closest forgery there is).
enum class FloodReplies : uint8_t { kDrop, kNearMissAck };

// --client-data's limit: the ACK with its data stays one standard-MTU frame.
inline constexpr uint32_t kMaxClientData = 1200;

struct GenOptions {
    std::string port;                 // a vdev spec ("net_memif0,role=client,socket=/tmp/s") or a device name
    FloodSpec flood;
    uint64_t flood_pps = 0;           // 0: as fast as possible (when the mix is not off)
    bool flood_on = true;
    FloodReplies flood_replies = FloodReplies::kDrop;
    ClientSpec clients;               // clients.clients == 0: none
    double duration_s = 10;
    uint64_t flood_count = 0;         // stop once this many flood frames are out (0: --duration only)
    double stats_period_s = 1;
    double linger_s = 0;              // after sending stops, keep the port open this long (memif peers)
    std::string json;                 // summary file ("" : none)
    uint16_t burst = 32;
    uint64_t seed = 1;
    std::string respond_port;         // --respond: a second port where a stateless server answers
    uint16_t respond_bytes = 0;       //   (the servers behind a proxy); bytes of response per request
};

std::string gen_usage();
// args: what follows "--". Returns nullopt with `error` = "--flag: reason".
std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args, std::string& error);

}  // namespace synwall::gen
