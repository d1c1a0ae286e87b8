// POST /v1/cluster/rebalance: the body is checked before the cluster is
// asked, the plan comes back as JSON, and a single node answers 409.
#include "admin/cluster_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "admin/tests/test_support.h"

namespace strata::admin {
namespace {

using nlohmann::json;

class fake_control final : public cluster_control {
 public:
  result<rebalance_outcome> rebalance(const rebalance_options& options) override {
    asked = options;
    if (fail) return make_error(errc::timed_out, "etcd is slow");
    return rebalance_outcome{{{"orders", 4, {2, 3}, {2, 4}}}, 1, 0, 2};
  }
  std::optional<rebalance_options> asked;
  bool fail = false;
};

struct answer {
  int status;
  json body;
};

answer post(cluster_control* control, const std::string& body) {
  testing::fake_service streams;
  router routes;
  add_cluster_routes(routes, streams, control);
  auto reply = routes.dispatch({"POST", "/v1/cluster/rebalance", "", body}).reply;
  return {reply.status, json::parse(reply.body)};
}

TEST(RebalanceRoute, StartsAndAnswersThePlan) {
  fake_control control;
  auto a = post(&control, R"({"throttle_bytes_per_second": 1048576})");
  EXPECT_EQ(a.status, 202);
  ASSERT_TRUE(control.asked.has_value());
  EXPECT_EQ(control.asked->throttle_bytes_per_second, 1048576);
  EXPECT_FALSE(control.asked->dry_run);
  EXPECT_EQ(a.body["replicas_moved"], 1);
  EXPECT_EQ(a.body["partitions_skipped"], 2);
  ASSERT_EQ(a.body["moves"].size(), 1u);
  EXPECT_EQ(a.body["moves"][0]["replicas_after"], json::array({2, 4}));
}

TEST(RebalanceRoute, DryRunAnswers200AndAnEmptyBodyIsAllDefaults) {
  fake_control control;
  EXPECT_EQ(post(&control, R"({"dry_run": true})").status, 200);
  EXPECT_TRUE(control.asked->dry_run);
  EXPECT_EQ(post(&control, "").status, 202);
  EXPECT_EQ(control.asked->throttle_bytes_per_second, 0);
}

TEST(RebalanceRoute, BadBodiesAreRefusedBeforeTheClusterIsAsked) {
  for (const char* body : {R"({"throttle_bytes_per_second": -1})", R"({"throttle_bytes_per_second": "fast"})",
                           R"({"dry_run": 1})", R"({"speed": 3})", "[1]", "{"}) {
    fake_control control;
    auto a = post(&control, body);
    EXPECT_EQ(a.status, 400) << body;
    EXPECT_FALSE(control.asked.has_value()) << body;
  }
}

TEST(RebalanceRoute, ClusterErrorsAndSingleNodes) {
  fake_control control;
  control.fail = true;
  auto slow = post(&control, "{}");
  EXPECT_EQ(slow.body["error"]["message"], "etcd is slow");
  EXPECT_GE(slow.status, 500);
  auto single = post(nullptr, "{}");
  EXPECT_EQ(single.status, 409);
  EXPECT_EQ(single.body["error"]["code"], "not_clustered");
}

}  // namespace
}  // namespace strata::admin
