#include "dpdk/port.hpp"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace synwall::dpdk {
namespace {

std::string fail(uint16_t port, const char* step, int rc) {
    return "port " + std::to_string(port) + ": " + step + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

void symmetric_rss_key(uint8_t* key, size_t len) {
    for (size_t i = 0; i < len; ++i) key[i] = (i % 2) ? 0x5a : 0x6d;
}

namespace {
constexpr uint64_t kRssTcp = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP;
constexpr uint64_t kRxCsum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
constexpr uint64_t kTxCsum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
}  // namespace

std::string port_caps(uint16_t port, PortCaps& out) {
    if (!rte_eth_dev_is_valid_port(port)) return "port " + std::to_string(port) + ": no such port";
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) return fail(port, "device info", rc);
    out.driver = info.driver_name ? info.driver_name : "";
    out.max_rx_queues = info.max_rx_queues;
    out.max_tx_queues = info.max_tx_queues;
    out.rss_tcp = (info.flow_type_rss_offloads & kRssTcp) == kRssTcp && info.hash_key_size > 0;
    out.rx_checksum = (info.rx_offload_capa & kRxCsum) == kRxCsum;
    out.tx_checksum = (info.tx_offload_capa & kTxCsum) == kTxCsum;
    return {};
}

std::string open_device(const std::string& spec, uint16_t& port) {
    const size_t comma = spec.find(',');
    const std::string name = spec.substr(0, comma);
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0) return {};
    if (name.rfind("net_", 0) == 0) {
        const std::string args = comma == std::string::npos ? "" : spec.substr(comma + 1);
        if (rte_eal_hotplug_add("vdev", name.c_str(), args.c_str()) != 0) return "cannot create '" + spec + "'";
        if (rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0) return {};
    }
    return "no such device '" + spec + "'";
}

std::string start_port(uint16_t port, const PortSetup& s, rte_mempool* pool) {
    if (!rte_eth_dev_is_valid_port(port)) return "port " + std::to_string(port) + ": no such port";
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) return fail(port, "device info", rc);
    if (s.rx_queues > info.max_rx_queues || s.tx_queues > info.max_tx_queues)
        return "port " + std::to_string(port) + ": " + std::to_string(s.rx_queues) + " rx / " +
               std::to_string(s.tx_queues) + " tx queues requested, the device has " +
               std::to_string(info.max_rx_queues) + " / " + std::to_string(info.max_tx_queues);
    rte_eth_conf conf{};
    uint8_t key[64];
    if (s.rss && s.rx_queues > 1) {
        if ((info.flow_type_rss_offloads & kRssTcp) != kRssTcp || info.hash_key_size == 0 || info.hash_key_size > sizeof key)
            return "port " + std::to_string(port) + ": RSS over TCP flows is not supported by " + info.driver_name;
        symmetric_rss_key(key, info.hash_key_size);
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = key;
        conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
        conf.rx_adv_conf.rss_conf.rss_hf = kRssTcp;
    }
    if (s.rx_checksum) {
        if ((info.rx_offload_capa & kRxCsum) != kRxCsum)
            return "port " + std::to_string(port) + ": rx checksum offload is not supported by " + info.driver_name;
        conf.rxmode.offloads |= kRxCsum;
    }
    if (s.tx_checksum) {
        if ((info.tx_offload_capa & kTxCsum) != kTxCsum)
            return "port " + std::to_string(port) + ": tx checksum offload is not supported by " + info.driver_name;
        conf.txmode.offloads |= kTxCsum;
    }
    if (int rc = rte_eth_dev_configure(port, s.rx_queues, s.tx_queues, &conf); rc != 0) return fail(port, "configure", rc);
    if (s.mtu != 0)
        if (int rc = rte_eth_dev_set_mtu(port, s.mtu); rc != 0 && rc != -ENOTSUP) return fail(port, "mtu", rc);
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
