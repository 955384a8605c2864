// Port bring-up: configure queues and descriptors, attach the mempool, start. Errors come back as
// text naming the port and the step; nothing exits. (Profiles from drivers-config/ build on this.)
#pragma once

#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace synwall::dpdk {

struct PortSetup {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    uint16_t mtu = 0;         // 0: leave the device's
    bool promiscuous = true;  // an inline appliance sees frames for every MAC
    bool rss = false;         // spread TCP flows over rx queues with a symmetric Toeplitz key
    bool rx_checksum = false; // the NIC verifies IPv4/TCP checksums (the engine trusts its GOOD flags)
    bool tx_checksum = false; // the NIC completes IPv4/TCP checksums of our replies (finish_tx asks per mbuf)
};

// What the device can do, for the profile checks (filled from rte_eth_dev_info).
struct PortCaps {
    std::string driver;
    uint16_t max_rx_queues = 0, max_tx_queues = 0;
    bool rss_tcp = false;      // can hash IPv4/IPv6 TCP flows
    bool rx_checksum = false;  // IPv4 and TCP rx checksum offload
    bool tx_checksum = false;  // IPv4 and TCP tx checksum offload
};
std::string port_caps(uint16_t port, PortCaps& out);

// The symmetric Toeplitz key: the 16-bit pattern 0x6d5a repeated makes hash(src, dst) equal
// hash(dst, src), so both directions of a flow land on the same queue (worker).
void symmetric_rss_key(uint8_t* key, size_t len);

// The port of a device spec: an existing ethdev by name ("0000:03:00.0", "net_tap0"), or a vdev
// created from the spec ("net_memif0,role=server,socket=/run/s.sock"). Returns "" or the reason.
std::string open_device(const std::string& spec, uint16_t& port);

// Returns "" on success, else "port N: <step>: <reason>".
std::string start_port(uint16_t port, const PortSetup& setup, rte_mempool* pool);
// Stops and closes; safe on a port that never started.
void stop_port(uint16_t port);

}  // namespace synwall::dpdk
