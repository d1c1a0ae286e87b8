// The CLI side of a secured admin API: STRATA_TOKEN and STRATA_CA_FILE from
// the environment, the message of a 401, tokens that cannot be sent.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "admin/tests/test_support.h"
#include "cli/admin_api.h"
#include "cli/http_client.h"

namespace strata::cli {
namespace {

using admin::testing::running_server;

const std::string token = "cli-test-token-0123456789";

// Sets (or with nullopt unsets) an environment variable for one scope.
class scoped_env {
 public:
  scoped_env(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

admin::server_security with_token() {
  admin::server_security security;
  security.tokens = *admin::token_set::parse(token, "--http-token-file", "tokens");
  return security;
}

TEST(AdminSecurityFromEnvironment, ReadsTheTokenTrimmedAndTheCaFile) {
  {
    scoped_env t("STRATA_TOKEN", "  " + token + "\n");
    scoped_env ca("STRATA_CA_FILE", "/etc/strata/ca.crt");
    auto security = admin_security_from_environment();
    EXPECT_EQ(security.bearer_token, token);
    EXPECT_EQ(security.ca_file, "/etc/strata/ca.crt");
  }
  scoped_env t("STRATA_TOKEN", std::nullopt);
  scoped_env ca("STRATA_CA_FILE", std::nullopt);
  auto security = admin_security_from_environment();
  EXPECT_EQ(security.bearer_token, "");
  EXPECT_EQ(security.ca_file, "");
}

TEST(CallAdminApi, SendsStrataTokenAndExplainsA401) {
  running_server s({}, running_server::volumes_face::on, with_token());
  {
    scoped_env t("STRATA_TOKEN", std::nullopt);
    auto refused = call_admin_api(s.url(), "GET", "/v1/topics", nlohmann::json(), 200);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.err().message, "the admin API at " + s.url() +
                                         " needs a token: set STRATA_TOKEN to one of the tokens in the server's "
                                         "--http-token-file");
  }
  {
    scoped_env t("STRATA_TOKEN", "a-wrong-token-of-some-length");
    auto refused = call_admin_api(s.url(), "GET", "/v1/topics", nlohmann::json(), 200);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.err().message, "the admin API at " + s.url() +
                                         " refused the token in STRATA_TOKEN: set STRATA_TOKEN to one of the tokens "
                                         "in the server's --http-token-file");
  }
  scoped_env t("STRATA_TOKEN", token);
  auto topics = call_admin_api(s.url(), "GET", "/v1/topics", nlohmann::json(), 200);
  ASSERT_TRUE(topics.ok()) << topics.err().message;
  EXPECT_TRUE((*topics)["topics"].is_array());
}

TEST(HttpClient, ATokenWithALineBreakIsRefusedBeforeSending) {
  for (const char* bad : {"abc\r\nX-Injected: 1", "two tokens"}) {
    auto client = http_client::create("http://127.0.0.1:1", {}, {.bearer_token = bad, .ca_file = ""});
    ASSERT_FALSE(client.ok()) << bad;
    EXPECT_NE(client.err().message.find("STRATA_TOKEN holds a space or a line break"), std::string::npos)
        << client.err().message;
  }
}

TEST(HttpClient, NoTokenIsSentUnlessGiven) {
  running_server s({}, running_server::volumes_face::on, with_token());
  auto client = http_client::create(s.url());
  ASSERT_TRUE(client.ok());
  auto res = client->request("GET", "/health");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  res = client->request("GET", "/metrics");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 401);
}

}  // namespace
}  // namespace strata::cli
