#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace strata {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  const std::string input = "123456789";
  EXPECT_EQ(crc32c(input.data(), input.size()), 0xE3069283u);
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(crc32c(nullptr, 0), 0u); }

TEST(Crc32c, ExtendsAcrossCalls) {
  const std::string a = "hello, ", b = "world";
  const std::string ab = a + b;
  EXPECT_EQ(crc32c(b.data(), b.size(), crc32c(a.data(), a.size())), crc32c(ab.data(), ab.size()));
}

}  // namespace strata
