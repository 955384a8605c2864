#include "dpdk/port.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>

namespace synwall::dpdk {
namespace {

std::string fail(uint16_t port, const char* step, int rc) {
    return "port " + std::to_string(port) + ": " + step + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

std::string start_port(uint16_t port, const PortSetup& s, rte_mempool* pool) {
    if (!rte_eth_dev_is_valid_port(port)) return "port " + std::to_string(port) + ": no such port";
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) return fail(port, "device info", rc);
    if (s.rx_queues > info.max_rx_queues || s.tx_queues > info.max_tx_queues)
        return "port " + std::to_string(port) + ": " + std::to_string(s.rx_queues) + " rx / " +
               std::to_string(s.tx_queues) + " tx queues requested, the device has " +
               std::to_string(info.max_rx_queues) + " / " + std::to_string(info.max_tx_queues);
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(port, s.rx_queues, s.tx_queues, &conf); rc != 0) return fail(port, "configure", rc);
    uint16_t rxd = s.rx_descriptors, txd = s.tx_descriptors;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd); rc != 0) return fail(port, "descriptors", rc);
    const int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < s.rx_queues; ++q)
        if (int rc = rte_eth_rx_queue_setup(port, q, rxd, static_cast<unsigned>(socket), nullptr, pool); rc != 0)
            return fail(port, "rx queue setup", rc);
    for (uint16_t q = 0; q < s.tx_queues; ++q)
        if (int rc = rte_eth_tx_queue_setup(port, q, txd, static_cast<unsigned>(socket), nullptr); rc != 0)
            return fail(port, "tx queue setup", rc);
    if (int rc = rte_eth_dev_start(port); rc != 0) return fail(port, "start", rc);
    if (s.promiscuous) rte_eth_promiscuous_enable(port);  // some vdevs cannot: not an error
    return {};
}

void stop_port(uint16_t port) {
    if (!rte_eth_dev_is_valid_port(port)) return;
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
}

}  // namespace synwall::dpdk
