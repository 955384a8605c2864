// EAL start-up and teardown for synwall's DPDK layer. Errors are returned, never exit()ed: only
// main() decides to quit.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace synwall::dpdk {

class Eal {
public:
    // Starts the EAL with argv-style arguments (args[0] is the program name). On failure returns
    // nullptr and sets `error` to DPDK's reason. The EAL can be started once per process.
    static std::unique_ptr<Eal> start(const std::vector<std::string>& args, std::string& error);
    ~Eal();  // rte_eal_cleanup()

    Eal(const Eal&) = delete;
    Eal& operator=(const Eal&) = delete;

    // How many arguments the EAL consumed (the rest, after "--", are the application's).
    int consumed() const noexcept { return consumed_; }

private:
    explicit Eal(int consumed) : consumed_(consumed) {}
    int consumed_;
};

}  // namespace synwall::dpdk
