// Port bring-up: configure queues and descriptors, attach the mempool, start. Errors come back as
// text naming the port and the step; nothing exits. (Profiles from drivers-config/ build on this.)
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

namespace synwall::dpdk {

struct PortSetup {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    bool promiscuous = true;  // an inline appliance sees frames for every MAC
};

// Returns "" on success, else "port N: <step>: <reason>".
std::string start_port(uint16_t port, const PortSetup& setup, rte_mempool* pool);
// Stops and closes; safe on a port that never started.
void stop_port(uint16_t port);

}  // namespace synwall::dpdk
