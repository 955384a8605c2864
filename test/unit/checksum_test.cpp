#include <gtest/gtest.h>

#include <vector>

#include "net/checksum.hpp"

using namespace synwall::net;

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_fold(checksum_partial(d)), 0xddf2);
}
