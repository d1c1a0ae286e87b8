#include <gtest/gtest.h>

#include "sql/session.h"

namespace strata::sql {
namespace {

using list = std::vector<std::string>;

TEST(Split, AtTopLevelSemicolons) {
  EXPECT_EQ(split_statements("SELECT 1; SELECT 2"), (list{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split_statements("  SELECT 1 ;\n\tSELECT 2;  "), (list{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT 1"), (list{"SELECT 1"}));
}

TEST(Split, EmptyStatementsDropped) {
  EXPECT_TRUE(split_statements("").empty());
  EXPECT_TRUE(split_statements(" ; ;\n;").empty());
  EXPECT_TRUE(split_statements("-- only a comment").empty());
  EXPECT_TRUE(split_statements("/* c */ ; -- d\n").empty());
  EXPECT_EQ(split_statements(";;SELECT 1;;"), (list{"SELECT 1"}));
  EXPECT_EQ(split_statements("SELECT 1; -- trailing comment"), (list{"SELECT 1"}));
}

TEST(Split, QuotesHideSemicolons) {
  EXPECT_EQ(split_statements("SELECT ';', 'it''s;'; SELECT 2"), (list{"SELECT ';', 'it''s;'", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT \"a;b\" FROM \"t\"\"x;\"; SELECT 2"),
            (list{"SELECT \"a;b\" FROM \"t\"\"x;\"", "SELECT 2"}));
}

TEST(Split, EscapeStrings) {
  EXPECT_EQ(split_statements("SELECT E'\\';'; SELECT 2"), (list{"SELECT E'\\';'", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT e'a\\\\'; SELECT 2"), (list{"SELECT e'a\\\\'", "SELECT 2"}));
  // Standard strings: a backslash is an ordinary character.
  EXPECT_EQ(split_statements("SELECT 'a\\'; SELECT 2"), (list{"SELECT 'a\\'", "SELECT 2"}));
  // An identifier ending in e before a quote is not an E string.
  EXPECT_EQ(split_statements("SELECT name'\\'; SELECT 2"), (list{"SELECT name'\\'", "SELECT 2"}));
}

TEST(Split, DollarQuotes) {
  EXPECT_EQ(split_statements("SELECT $$a;b$$; SELECT 2"), (list{"SELECT $$a;b$$", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT $fn$ x; $$ ; $fn$; SELECT 2"), (list{"SELECT $fn$ x; $$ ; $fn$", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT $1; SELECT 2"), (list{"SELECT $1", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT a$b; SELECT 2"), (list{"SELECT a$b", "SELECT 2"}));
}

TEST(Split, Comments) {
  EXPECT_EQ(split_statements("SELECT 1 -- a;b\n; SELECT 2"), (list{"SELECT 1 -- a;b", "SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT /* a; /* nested; */ still; */ 1; SELECT 2"),
            (list{"SELECT /* a; /* nested; */ still; */ 1", "SELECT 2"}));
  EXPECT_EQ(split_statements("-- c\nSELECT 1"), (list{"-- c\nSELECT 1"}));
  EXPECT_EQ(split_statements("SELECT 1 - -2; SELECT 3 / 4"), (list{"SELECT 1 - -2", "SELECT 3 / 4"}));
}

TEST(Split, UnterminatedQuotesRunToTheEnd) {
  EXPECT_EQ(split_statements("SELECT 'open; SELECT 2"), (list{"SELECT 'open; SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT $$open; SELECT 2"), (list{"SELECT $$open; SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT 1 /* open; SELECT 2"), (list{"SELECT 1 /* open; SELECT 2"}));
  EXPECT_EQ(split_statements("SELECT E'\\"), (list{"SELECT E'\\"}));
}

}  // namespace
}  // namespace strata::sql
