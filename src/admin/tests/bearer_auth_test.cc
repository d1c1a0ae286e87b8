// The token file's format and the check each request goes through.
#include "admin/bearer_auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace strata::admin {
namespace {

constexpr const char* flag = "--http-token-file";
const std::string token_a = "0123456789abcdef0123";
const std::string token_b = "fedcba9876543210fedc";

token_set tokens_of(const std::string& text) {
  auto tokens = token_set::parse(text, flag, "/etc/strata/tokens");
  EXPECT_TRUE(tokens.ok()) << (tokens.ok() ? "" : tokens.err().message);
  return tokens.ok() ? std::move(*tokens) : token_set();
}

std::string parse_error(const std::string& text) {
  auto tokens = token_set::parse(text, flag, "/etc/strata/tokens");
  EXPECT_FALSE(tokens.ok()) << text;
  return tokens.ok() ? "" : tokens.err().message;
}

TEST(TokenSet, OneTokenALineSkippingBlanksAndComments) {
  token_set tokens = tokens_of("# admin tokens\n\n" + token_a + "\r\n   \n  " + token_b + "  \n# old: xxxxxxxxxxxxxxxxxxxx\n");
  EXPECT_EQ(tokens.size(), 2u);
  EXPECT_TRUE(tokens.accepts(token_a));
  EXPECT_TRUE(tokens.accepts(token_b));
  EXPECT_FALSE(tokens.accepts("xxxxxxxxxxxxxxxxxxxx"));
  EXPECT_FALSE(tokens.accepts(token_a.substr(1)));
  EXPECT_FALSE(tokens.accepts(""));
  EXPECT_EQ(tokens_of(token_a).size(), 1u);  // no final line break
}

TEST(TokenSet, BadFilesNameTheFlagAndFile) {
  for (const std::string& text : {std::string(), std::string("\n\n# only comments\n")}) {
    std::string message = parse_error(text);
    EXPECT_NE(message.find("--http-token-file /etc/strata/tokens holds no token"), std::string::npos) << message;
  }
  std::string short_token = parse_error(token_a + "\nshort\n");
  EXPECT_NE(short_token.find("--http-token-file /etc/strata/tokens: the token on line 2 is 5 characters; use 16"),
            std::string::npos)
      << short_token;
  EXPECT_EQ(short_token.find("short"), std::string::npos) << "a token must not be echoed: " << short_token;
  std::string spaced = parse_error("Bearer " + token_a + "\n");
  EXPECT_NE(spaced.find("line 1 holds a space"), std::string::npos) << spaced;
}

TEST(TokenSet, LoadReadsTheFileOrSaysWhyNot) {
  auto missing = token_set::load("/nonexistent/tokens", flag);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().message,
            "--http-token-file /nonexistent/tokens: cannot open it: No such file or directory; make it readable by "
            "the user strata runs as");

  auto path = std::filesystem::temp_directory_path() / ("strata-tokens-" + std::to_string(::getpid()));
  std::ofstream(path) << token_a << "\n";
  auto loaded = token_set::load(path.string(), flag);
  std::filesystem::remove(path);
  ASSERT_TRUE(loaded.ok()) << loaded.err().message;
  EXPECT_TRUE(loaded->accepts(token_a));
}

TEST(CheckBearer, NoTokensLetsEverythingThrough) {
  EXPECT_FALSE(check_bearer(token_set(), "DELETE", "/v1/topics/t", "").has_value());
}

TEST(CheckBearer, MissingOrWrongTokensAre401WithAChallenge) {
  token_set tokens = tokens_of(token_a);
  for (const char* authorization : {"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   "}) {
    auto refusal = check_bearer(tokens, "GET", "/v1/topics", authorization);
    ASSERT_TRUE(refusal.has_value()) << authorization;
    EXPECT_EQ(refusal->status, 401);
    ASSERT_EQ(refusal->headers.size(), 1u);
    EXPECT_EQ(refusal->headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(refusal->headers[0].second, R"(Bearer realm="strata")");
    EXPECT_NE(refusal->body.find(R"("code":"unauthorized")"), std::string::npos) << refusal->body;
    EXPECT_NE(refusal->body.find("Authorization: Bearer TOKEN"), std::string::npos) << refusal->body;
    EXPECT_NE(refusal->body.find("STRATA_TOKEN"), std::string::npos) << refusal->body;
  }
  auto wrong = check_bearer(tokens, "GET", "/v1/topics", "Bearer " + token_b);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->headers[0].second, R"(Bearer realm="strata", error="invalid_token")");
  EXPECT_EQ(wrong->body.find(token_b), std::string::npos) << "a token must not be echoed: " << wrong->body;
}

TEST(CheckBearer, TheRightTokenPassesInAnySchemeCase) {
  token_set tokens = tokens_of(token_a + "\n" + token_b);
  EXPECT_FALSE(check_bearer(tokens, "GET", "/v1/topics", "Bearer " + token_a).has_value());
  EXPECT_FALSE(check_bearer(tokens, "POST", "/v1/users", "bearer " + token_b).has_value());
  EXPECT_FALSE(check_bearer(tokens, "GET", "/metrics", "  BEARER   " + token_a + " ").has_value());
}

TEST(CheckBearer, OnlyGetHealthIsOpen) {
  token_set tokens = tokens_of(token_a);
  EXPECT_FALSE(check_bearer(tokens, "GET", "/health", "").has_value());
  EXPECT_FALSE(check_bearer(tokens, "GET", "/health?verbose=1", "").has_value());
  EXPECT_TRUE(check_bearer(tokens, "GET", "/metrics", "").has_value());
  EXPECT_TRUE(check_bearer(tokens, "POST", "/health", "").has_value());
  EXPECT_TRUE(check_bearer(tokens, "GET", "/healthz", "").has_value());
  EXPECT_TRUE(check_bearer(tokens, "GET", "/health/../v1/topics", "").has_value());
}

}  // namespace
}  // namespace strata::admin
