// The appliance's configuration (synwall.toml) and the port profiles (drivers-config/*.toml):
// loaded into plain immutable structs, range-checked, every problem reported as
// "FILE: KEY: reason" — an unknown key, a wrong type or an out-of-range value is an error, never a
// silent default. EAL-free: tested without DPDK. docs/configuration.md and docs/drivers.md
// describe every key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cookie/prf.hpp"
#include "cookie/secret_schedule.hpp"
#include "handshake/config.hpp"

namespace synwall::config {

enum class OffloadPolicy : uint8_t { kSoftware, kHardware, kAuto };  // auto: hardware if the device can

struct PortProfile {
    std::string name;              // the file's stem, e.g. "net_ring"
    std::string driver;            // driver name the device must report (rte_eth_dev_info.driver_name)
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    uint16_t max_queues = 1;       // queues the driver supports per direction (workers beyond: error)
    uint16_t mtu = 1500;
    bool rss = false;              // spread flows over rx queues with a symmetric Toeplitz key
    OffloadPolicy ipv4_checksum = OffloadPolicy::kSoftware;
    OffloadPolicy tcp_checksum = OffloadPolicy::kSoftware;
    bool require_offloads = false; // a requested hardware offload the device lacks: error, not fallback
    uint32_t mbufs_per_queue = 4096;
    uint32_t mempool_cache = 256;
};

struct PortConfig {
    std::string name;
    std::string device;            // a vdev spec ("net_ring0", "net_pcap0,rx_pcap=F") or a PCI address
    std::string profile;           // drivers-config/<profile>.toml
    std::string peer;              // name of the port that non-handshake frames are bridged to
    int peer_index = -1;           // resolved; with exactly two ports and no peers given: each other
};

enum class AppKind : uint8_t { kAbsorb, kProxy };
enum class CloseWith : uint8_t { kRst, kFin };

// [application] settings of the proxy (docs/configuration.md).
struct ProxySettings {
    std::string server_port;            // name of the port behind which the servers sit
    int server_port_index = -1;         // resolved
    uint8_t server_syn_retries = 3;
    uint32_t server_syn_timeout_ms = 1000;
    uint32_t idle_timeout_s = 300;
    uint32_t hold_bytes = 65536;
};

struct ApplianceConfig {
    std::string path;
    handshake::EngineConfig engine;
    uint16_t burst = 32;
    cookie::SecretConfig secrets;
    std::string key_file;          // empty: random master key at start-up
    std::optional<cookie::PrfKind> prf;  // empty: best available
    std::vector<PortConfig> ports;
    std::vector<handshake::ListenerConfig> listeners;
    std::vector<unsigned> worker_lcores;
    std::vector<unsigned> app_lcores;    // empty: the application runs inline in the workers
    AppKind app = AppKind::kAbsorb;
    CloseWith close_with = CloseWith::kRst;  // absorb
    uint32_t grace_ms = 4000;                // how long a closed flow is remembered (both applications)
    ProxySettings proxy;
};

// Returns the configuration, or nullopt with `error` = "FILE: KEY: reason".
std::optional<ApplianceConfig> load_appliance_config(const std::string& path, std::string& error);
std::optional<ApplianceConfig> parse_appliance_config(std::string_view text, const std::string& path,
                                                      std::string& error);

// Profiles: drivers-config/<name>.toml under `dir`.
std::optional<PortProfile> load_port_profile(const std::string& dir, const std::string& name, std::string& error);
std::optional<PortProfile> parse_port_profile(std::string_view text, const std::string& path, const std::string& name,
                                              std::string& error);

// "203.0.113.0/24", "2001:db8::/32", "198.51.100.7" (host prefix), "0.0.0.0/0", "::/0".
bool parse_prefix(std::string_view text, handshake::ListenerConfig& out, std::string& error);

}  // namespace synwall::config
