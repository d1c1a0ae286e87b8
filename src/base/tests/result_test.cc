#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace strata {

namespace {
result<int> parse_positive(int v) {
  if (v <= 0) return make_error(errc::invalid_argument, "value must be positive");
  return v;
}
status twice(int v, int* out) {
  auto r = parse_positive(v);
  STRATA_TRY(r);
  *out = *r * 2;
  return {};
}
}  // namespace

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), errc::invalid_argument);
  EXPECT_EQ(bad.err().message, "value must be positive");
}

TEST(Result, TryPropagatesErrors) {
  int out = 0;
  EXPECT_TRUE(twice(4, &out).ok());
  EXPECT_EQ(out, 8);
  auto s = twice(0, &out);
  EXPECT_EQ(s.code(), errc::invalid_argument);
}

TEST(Result, MoveOnlyValues) {
  result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  auto p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ValueOnErrorIsABug) {
  auto bad = parse_positive(0);
  EXPECT_DEATH((void)bad.value(), "result::value");
}

}  // namespace strata
