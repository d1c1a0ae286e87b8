#include "cli/table.h"

#include <sstream>

#include <gtest/gtest.h>

namespace strata::cli {
namespace {

TEST(Table, AlignsColumnsToTheWidestCell) {
  table t({"NAME", "PARTITIONS", "ID"});
  t.add_row({"orders", "3", "ab01"});
  t.add_row({"a-much-longer-name", "10", "ab02"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "NAME                PARTITIONS  ID\n"
            "orders              3           ab01\n"
            "a-much-longer-name  10          ab02\n");
}

TEST(Table, WithoutHeadersAndIndented) {
  table t;
  t.add_row({"retention.ms", "1"});
  t.add_row({"segment.bytes", "2"});
  std::ostringstream out;
  t.print(out, "  ");
  EXPECT_EQ(out.str(),
            "  retention.ms   1\n"
            "  segment.bytes  2\n");
}

TEST(Table, EmptyTablePrintsOnlyHeaders) {
  table t({"A", "B"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "A  B\n");
  table none;
  std::ostringstream nothing;
  none.print(nothing);
  EXPECT_EQ(nothing.str(), "");
}

}  // namespace
}  // namespace strata::cli
