// fuzz_app's seed corpus (test/fuzz/corpus-app), replayed through its driver in the ordinary
// build: every oracle of test/fuzz/app_driver.hpp holds on every input, absorb and proxy alike.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "app_driver.hpp"

namespace synwall {
namespace {

TEST(FuzzAppCorpus, EveryOracleHoldsOnEverySeed) {
    int inputs = 0, proxied = 0;
    for (const auto& e : std::filesystem::directory_iterator(SYNWALL_FUZZ_APP_CORPUS)) {
        std::ifstream f(e.path(), std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        const char* why = fuzz::run_app_input(bytes.data(), bytes.size());
        EXPECT_EQ(why, nullptr) << e.path().filename() << ": " << why;
        ++inputs;
        if (bytes.size() > 1 && (bytes[1] & fuzz::kAppKindMask) >= 2) ++proxied;
    }
    EXPECT_GT(inputs, 50);
    EXPECT_GT(proxied, 20);
}

}  // namespace
}  // namespace synwall
