#include "sql/keywords.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::sql {
namespace {

TEST(Keywords, LeadingWordsAreLowerCasedAndStopAtTheFirstNonWord) {
  EXPECT_EQ(leading_words("  SET Application_Name = 'x'", 4), (std::vector<std::string>{"set", "application_name"}));
  EXPECT_EQ(leading_words("/* c */ -- d\nBEGIN; COMMIT", 4), (std::vector<std::string>{"begin"}));
  EXPECT_EQ(leading_words("show transaction isolation level", 2), (std::vector<std::string>{"show", "transaction"}));
  EXPECT_TRUE(leading_words("'begin'", 4).empty());
}

TEST(Keywords, TokenKinds) {
  auto t = tokenize(R"(SET "Quoted" = E'a\nb' 42 $$dollar$$;)");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0].type, token::kind::word);
  EXPECT_EQ(t[1].type, token::kind::quoted);
  EXPECT_EQ(t[1].text, "Quoted");
  EXPECT_EQ(t[2].type, token::kind::symbol);
  EXPECT_EQ(t[3].type, token::kind::string);
  EXPECT_EQ(t[3].text, "a\nb");
  EXPECT_EQ(t[4].type, token::kind::number);
  EXPECT_EQ(t[5].text, "dollar");
  EXPECT_EQ(t[6].text, ";");
  EXPECT_EQ(tokenize("a b c d", 2).size(), 2u);
  EXPECT_EQ(tokenize("a 'unterminated").size(), 1u);
}

TEST(Keywords, BlankMeansOnlyCommentsSpacesAndSemicolons) {
  EXPECT_TRUE(is_blank(""));
  EXPECT_TRUE(is_blank(" -- only a comment\n /* and /* nested */ one */ ;"));
  EXPECT_TRUE(is_blank(std::string(100, ';')));  // more than the lexer's first probe
  EXPECT_FALSE(is_blank(std::string(100, ';') + " select 1"));
  EXPECT_FALSE(is_blank("/* unterminated"));
  EXPECT_FALSE(is_blank("select"));
}

}  // namespace
}  // namespace strata::sql
