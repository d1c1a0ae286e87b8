#include "base/utc_time.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

constexpr int64_t may_first_2024_noon_ms = 1'714'564'800'000;

TEST(FormatUtcMs, FormatsInUtc) {
  EXPECT_EQ(format_utc_ms(may_first_2024_noon_ms, "%Y-%m-%dT%H:%M:%SZ"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(format_utc_ms(may_first_2024_noon_ms, "%Y-%m-%d %H:%M:%S UTC"), "2024-05-01 12:00:00 UTC");
  EXPECT_EQ(format_utc_ms(0, "%Y%m%dt%H%M%Sz"), "19700101t000000z");
}

TEST(FormatUtcMs, DropsTheFraction) {
  EXPECT_EQ(format_utc_ms(may_first_2024_noon_ms + 999, "%H:%M:%S"), "12:00:00");
  EXPECT_EQ(format_utc_ms(-1000, "%Y-%m-%d %H:%M:%S"), "1969-12-31 23:59:59");
}

TEST(FormatUtcMs, EmptyWhenNothingFits) {
  EXPECT_EQ(format_utc_ms(may_first_2024_noon_ms, ""), "");
  EXPECT_EQ(format_utc_ms(may_first_2024_noon_ms, std::string(200, 'x').c_str()), "");
}

}  // namespace
}  // namespace strata
