#include "dpdk/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>

namespace synwall::dpdk {

std::unique_ptr<Eal> Eal::start(const std::vector<std::string>& args, std::string& error) {
    std::vector<std::string> copy = args;  // rte_eal_init may permute argv
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int n = rte_eal_init(static_cast<int>(copy.size()), argv.data());
    if (n < 0) {
        error = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno);
        return nullptr;
    }
    return std::unique_ptr<Eal>(new Eal(n));
}

Eal::~Eal() { rte_eal_cleanup(); }

}  // namespace synwall::dpdk
