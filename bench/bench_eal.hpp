// An EAL for the micro-benchmarks that compare synwall's structures with DPDK's own (rte_hash,
// rte_ring): --no-huge, no devices, a file prefix of its own, removed again at exit.
#pragma once

#include <rte_eal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace synwall::bench {

class BenchEal {
public:
    explicit BenchEal(const char* memory_mb) : prefix_("synwall-bench-" + std::to_string(::getpid())) {
        std::vector<std::string> args = {"bench", "--no-huge", "-m", memory_mb, "--no-pci", "--file-prefix=" + prefix_,
                                         "--log-level=lib.eal:error", "-l", "0"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
            std::fprintf(stderr, "bench: rte_eal_init failed (run as root)\n");
            std::exit(1);
        }
    }
    ~BenchEal() {
        rte_eal_cleanup();
        std::error_code ec;
        std::filesystem::remove_all("/var/run/dpdk/" + prefix_, ec);
    }

private:
    std::string prefix_;
};

}  // namespace synwall::bench
