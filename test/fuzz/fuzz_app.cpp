// libFuzzer target over one worker and its inline application (absorb or proxy), driven as the
// worker loop drives them; oracles in app_driver.hpp. A failed oracle traps, so libFuzzer keeps the
// input in test/fuzz/crashes/.
#include <cstdint>
#include <cstdio>

#include "app_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (const char* why = synwall::fuzz::run_app_input(data, size)) {
        std::fprintf(stderr, "fuzz_app: %s\n", why);
        __builtin_trap();
    }
    return 0;
}
