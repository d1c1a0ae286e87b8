#include "admin/router.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace strata::admin {
namespace {

std::vector<std::string> split(std::string_view target) {
  std::vector<std::string> segments;
  EXPECT_TRUE(split_path(target, segments)) << target;
  return segments;
}

TEST(SplitPath, DecodesSegmentsAndIgnoresQueryAndTrailingSlash) {
  EXPECT_EQ(split("/"), std::vector<std::string>{});
  EXPECT_EQ(split("/v1/topics"), (std::vector<std::string>{"v1", "topics"}));
  EXPECT_EQ(split("/v1/topics/"), (std::vector<std::string>{"v1", "topics"}));
  EXPECT_EQ(split("/v1/topics/a%2Fb%41?x=1/2"), (std::vector<std::string>{"v1", "topics", "a/bA"}));
}

TEST(SplitPath, RejectsMalformedPaths) {
  std::vector<std::string> segments;
  EXPECT_FALSE(split_path("", segments));
  EXPECT_FALSE(split_path("v1/topics", segments));
  EXPECT_FALSE(split_path("/v1//topics", segments));
  EXPECT_FALSE(split_path("/v1/%4", segments));
  EXPECT_FALSE(split_path("/v1/%zz", segments));
  EXPECT_FALSE(split_path("/v1/%", segments));
}

response text(std::string body) {
  response r;
  r.body = std::move(body);
  return r;
}

router make_router() {
  router r;
  r.add("GET", "/v1/things", [](const request&, const path_params&) { return text("list"); });
  r.add("POST", "/v1/things", [](const request& req, const path_params&) { return text("create:" + req.body); });
  r.add("GET", "/v1/things/{name}",
        [](const request&, const path_params& p) { return text("get:" + p.at("name")); });
  r.add("DELETE", "/v1/things/{name}",
        [](const request&, const path_params& p) { return text("delete:" + p.at("name")); });
  return r;
}

TEST(Router, DispatchesByMethodAndPattern) {
  router r = make_router();
  EXPECT_EQ(r.dispatch({"GET", "/v1/things", "", ""}).reply.body, "list");
  EXPECT_EQ(r.dispatch({"POST", "/v1/things", "", "x"}).reply.body, "create:x");
  routed got = r.dispatch({"GET", "/v1/things/a%20b", "", ""});
  EXPECT_EQ(got.reply.body, "get:a b");
  EXPECT_EQ(got.route, "/v1/things/{name}");
  EXPECT_EQ(r.dispatch({"DELETE", "/v1/things/x", "", ""}).reply.body, "delete:x");
}

TEST(Router, UnknownPathIs404) {
  router r = make_router();
  routed got = r.dispatch({"GET", "/v1/things/x/y", "", ""});
  EXPECT_EQ(got.reply.status, 404);
  EXPECT_EQ(got.route, "unmatched");
  auto body = nlohmann::json::parse(got.reply.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
}

TEST(Router, WrongMethodIs405WithAllow) {
  router r = make_router();
  routed got = r.dispatch({"PUT", "/v1/things/x", "", ""});
  EXPECT_EQ(got.reply.status, 405);
  ASSERT_EQ(got.reply.headers.size(), 1u);
  EXPECT_EQ(got.reply.headers[0].first, "Allow");
  EXPECT_EQ(got.reply.headers[0].second, "GET, DELETE");
  auto body = nlohmann::json::parse(got.reply.body);
  EXPECT_EQ(body["error"]["code"], "method_not_allowed");
}

TEST(Router, MalformedPathIs400) {
  router r = make_router();
  EXPECT_EQ(r.dispatch({"GET", "/v1/things/%zz", "", ""}).reply.status, 400);
}

}  // namespace
}  // namespace strata::admin
