// /v1/users over a real user_store on an in-memory kv: create, list, change a
// password, delete; the errors each maps to; no secret ever in an answer.
#include "admin/user_routes.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "auth/user_store.h"
#include "meta/kv.h"

namespace strata::admin {
namespace {

using nlohmann::json;

struct answer {
  int status = 0;
  json body;
  response reply;
};

class UserRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    auto store = auth::user_store::open(*kv_);
    ASSERT_TRUE(store.ok()) << store.err().message;
    users_ = std::move(*store);
    add_user_routes(routes_, users_.get());
  }

  answer call(const char* method, const std::string& target, const std::string& body = "") {
    routed r = routes_.dispatch({method, target, "application/json", body});
    answer a;
    a.status = r.reply.status;
    a.body = r.reply.body.empty() ? json() : json::parse(r.reply.body, nullptr, false);
    a.reply = std::move(r.reply);
    return a;
  }

  std::string message(const answer& a) { return a.body["error"]["message"].get<std::string>(); }

  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<auth::user_store> users_;
  router routes_;
};

TEST_F(UserRoutes, CreateListSetPasswordDelete) {
  auto created = call("POST", "/v1/users", R"({"name": "alice", "password": "s3cret-pw"})");
  ASSERT_EQ(created.status, 201) << created.reply.body;
  EXPECT_EQ(created.body["name"], "alice");
  ASSERT_EQ(created.body["mechanisms"].size(), 2u);
  EXPECT_EQ(created.body["mechanisms"][0]["mechanism"], "SCRAM-SHA-256");
  EXPECT_EQ(created.body["mechanisms"][1]["mechanism"], "SCRAM-SHA-512");
  EXPECT_EQ(created.body["mechanisms"][0]["iterations"], auth::scram_iterations_default);
  ASSERT_EQ(created.reply.headers.size(), 1u);
  EXPECT_EQ(created.reply.headers[0].second, "/v1/users/alice");
  EXPECT_TRUE(users_->verify_password("alice", "s3cret-pw"));

  ASSERT_EQ(call("POST", "/v1/users", R"({"name": "bob x", "password": "pw"})").status, 201);
  auto list = call("GET", "/v1/users");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["users"].size(), 2u);
  EXPECT_EQ(list.body["users"][0]["name"], "alice");
  EXPECT_EQ(list.body["users"][1]["name"], "bob x");
  EXPECT_EQ(list.reply.body.find("s3cret"), std::string::npos);
  for (const char* secret_field : {"salt", "stored_key", "server_key", "password"}) {
    EXPECT_EQ(list.reply.body.find(secret_field), std::string::npos) << list.reply.body;
  }

  EXPECT_EQ(call("GET", "/v1/users/bob%20x").body["name"], "bob x");
  auto changed = call("PUT", "/v1/users/alice", R"({"password": "n3w-pw"})");
  EXPECT_EQ(changed.status, 200) << changed.reply.body;
  EXPECT_TRUE(users_->verify_password("alice", "n3w-pw"));
  EXPECT_FALSE(users_->verify_password("alice", "s3cret-pw"));

  auto deleted = call("DELETE", "/v1/users/alice");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.reply.body.empty());
  EXPECT_EQ(call("GET", "/v1/users").body["users"].size(), 1u);
}

TEST_F(UserRoutes, ExistingIs409AndMissingIs404) {
  ASSERT_EQ(call("POST", "/v1/users", R"({"name": "alice", "password": "pw"})").status, 201);
  auto again = call("POST", "/v1/users", R"({"name": "alice", "password": "other"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["error"]["code"], "already_exists");
  EXPECT_EQ(call("PUT", "/v1/users/nobody", R"({"password": "pw"})").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/users/nobody").status, 404);
  EXPECT_EQ(call("GET", "/v1/users/nobody").status, 404);
}

TEST_F(UserRoutes, BadBodiesAre400WithTheReason) {
  struct bad_case {
    const char* body;
    const char* says;
  };
  for (const auto& c : {bad_case{"", "not a JSON object"},
                        bad_case{"[1]", "not a JSON object"},
                        bad_case{R"({"password": "pw"})", "name is required"},
                        bad_case{R"({"name": "alice"})", "password is required"},
                        bad_case{R"({"name": 7, "password": "pw"})", "name must be a string"},
                        bad_case{R"({"name": "alice", "password": "pw", "admin": true})", "unknown field admin"}}) {
    auto a = call("POST", "/v1/users", c.body);
    EXPECT_EQ(a.status, 400) << c.body;
    EXPECT_NE(message(a).find(c.says), std::string::npos) << c.body << ": " << message(a);
  }
  // The store's own checks: an empty password, a name with a control character.
  for (const char* body : {R"({"name": "alice", "password": ""})", R"({"name": "al\u0001ice", "password": "pw"})",
                           R"({"name": "", "password": "pw"})"}) {
    auto a = call("POST", "/v1/users", body);
    EXPECT_EQ(a.status, 400) << body << ": " << a.reply.body;
    EXPECT_EQ(a.body["error"]["code"], "invalid_argument") << body;
  }
  auto long_name = call("DELETE", "/v1/users/" + std::string(auth::user_name_bytes_max + 1, 'x'));
  EXPECT_EQ(long_name.status, 400);
  auto no_password = call("PUT", "/v1/users/alice", R"({"name": "alice"})");
  EXPECT_EQ(no_password.status, 400);
  EXPECT_NE(message(no_password).find("unknown field name"), std::string::npos) << message(no_password);
}

TEST_F(UserRoutes, ChangesRunOnTheBlockingThreads) {
  EXPECT_TRUE(routes_.blocking({"POST", "/v1/users", "", ""}));
  EXPECT_TRUE(routes_.blocking({"PUT", "/v1/users/a", "", ""}));
  EXPECT_TRUE(routes_.blocking({"DELETE", "/v1/users/a", "", ""}));
  EXPECT_FALSE(routes_.blocking({"GET", "/v1/users", "", ""}));
}

TEST(UserRoutesOff, EveryRouteIs503WithoutAStore) {
  router routes;
  add_user_routes(routes, nullptr);
  for (auto [method, target] : {std::pair{"GET", "/v1/users"}, std::pair{"POST", "/v1/users"},
                                std::pair{"PUT", "/v1/users/a"}, std::pair{"DELETE", "/v1/users/a"}}) {
    auto reply = routes.dispatch({method, target, "", R"({"name": "a", "password": "b"})"}).reply;
    EXPECT_EQ(reply.status, 503) << method << " " << target;
    EXPECT_NE(reply.body.find("users are unavailable"), std::string::npos) << reply.body;
  }
}

}  // namespace
}  // namespace strata::admin
