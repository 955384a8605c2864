// libFuzzer target over the burst entry point, differential: the fast path against the general
// path on every input (oracles in burst_driver.hpp). A failed oracle traps, so libFuzzer keeps the
// input in test/fuzz/crashes/.
#include <cstdint>
#include <cstdio>

#include "burst_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (const char* why = synwall::fuzz::run_input(data, size)) {
        std::fprintf(stderr, "fuzz_burst: %s\n", why);
        __builtin_trap();
    }
    return 0;
}
