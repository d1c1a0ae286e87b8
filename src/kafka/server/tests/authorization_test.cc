// Handlers under an authorizer: what a principal without ACLs is refused,
// and what an ALLOW lets through.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

class Authorization : public ::testing::Test {
 protected:
  void SetUp() override {
    h.authorize_as("User:alice");
    h.streams.add_topic("alice-orders", 1);
    h.streams.add_topic("bob-orders", 1);
  }

  void allow(auth::resource_type type, const std::string& name, auth::operation op,
             auth::pattern_type pattern = auth::pattern_type::literal) {
    h.allow(type, name, op, pattern);
  }

  // Metadata v1 for `topics` (nullopt: all); returns (name, error) per topic.
  std::vector<std::pair<std::string, int16_t>> metadata(const std::optional<std::vector<std::string>>& topics) {
    writer w;
    if (topics) {
      w.array_length(static_cast<int32_t>(topics->size()), false);
      for (const auto& t : *topics) w.string(t, false);
    } else {
      w.array_length(-1, false);
    }
    auto body = h.call(handlers::metadata, api_key::metadata, 1, w.buffer());
    reader r(body);
    for (int32_t i = r.array_length(false); i > 0; --i) {
      (void)r.i32();
      (void)r.string(false);
      (void)r.i32();
      (void)r.nullable_string(false);
    }
    (void)r.i32();  // controller
    std::vector<std::pair<std::string, int16_t>> out;
    for (int32_t i = r.array_length(false); i > 0 && r.ok(); --i) {
      const int16_t error = r.i16();
      std::string name = r.string(false);
      (void)r.boolean();
      for (int32_t p = r.array_length(false); p > 0 && r.ok(); --p) {
        (void)r.i16();
        (void)r.i32();
        (void)r.i32();
        for (int k = 0; k < 2; ++k) {
          for (int32_t n = r.array_length(false); n > 0; --n) (void)r.i32();
        }
      }
      out.emplace_back(std::move(name), error);
    }
    EXPECT_TRUE(r.ok());
    return out;
  }

  // DeleteTopics v1 of one topic; returns its error.
  int16_t delete_topic(const std::string& name) {
    writer w;
    w.array_length(1, false);
    w.string(name, false);
    w.i32(1000);
    auto body = h.call(handlers::delete_topics, api_key::delete_topics, 1, w.buffer());
    reader r(body);
    (void)r.i32();
    EXPECT_EQ(r.array_length(false), 1);
    (void)r.string(false);
    return r.i16();
  }

  // InitProducerId v0 without a transactional id; returns its error.
  int16_t init_producer_id() {
    writer w;
    w.nullable_string(std::nullopt, false);
    w.i32(60'000);
    auto body = h.call(handlers::init_producer_id, api_key::init_producer_id, 0, w.buffer());
    reader r(body);
    (void)r.i32();
    return r.i16();
  }

  testing::handler_harness h;
};

constexpr int16_t topic_denied = 29;
constexpr int16_t cluster_denied = 31;

TEST_F(Authorization, MetadataListsOnlyDescribableTopicsAndRefusesNamedOnes) {
  EXPECT_TRUE(metadata(std::nullopt).empty());
  allow(auth::resource_type::topic, "alice-", auth::operation::read, auth::pattern_type::prefixed);
  auto all = metadata(std::nullopt);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (std::pair<std::string, int16_t>{"alice-orders", 0}));
  auto named = metadata(std::vector<std::string>{"alice-orders", "bob-orders"});
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].second, 0);
  EXPECT_EQ(named[1].second, topic_denied);
}

TEST_F(Authorization, DeletingATopicNeedsDeleteOnIt) {
  EXPECT_EQ(delete_topic("alice-orders"), topic_denied);
  EXPECT_TRUE(h.streams.has_topic("alice-orders"));
  allow(auth::resource_type::topic, "alice-orders", auth::operation::remove);
  EXPECT_EQ(delete_topic("alice-orders"), 0);
  EXPECT_FALSE(h.streams.has_topic("alice-orders"));
}

TEST_F(Authorization, AnIdempotentProducerNeedsWriteSomewhere) {
  EXPECT_EQ(init_producer_id(), cluster_denied);
  allow(auth::resource_type::topic, "alice-orders", auth::operation::write);
  EXPECT_EQ(init_producer_id(), 0);
}

TEST_F(Authorization, SuperUsersAndDenyAreHonoured) {
  h.principal = "User:admin";
  EXPECT_EQ(metadata(std::nullopt).size(), 2u);
  h.principal = "User:alice";
  allow(auth::resource_type::topic, "*", auth::operation::all);
  ASSERT_TRUE(h.acls().add({auth::resource_type::topic, "bob-orders", auth::pattern_type::literal, "User:alice", "*",
                          auth::operation::describe, auth::permission::deny})
                  .ok());
  auto all = metadata(std::nullopt);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].first, "alice-orders");
}

TEST_F(Authorization, WithoutAnAuthorizerEverythingIsAllowed) {
  h.svc().authorizer = nullptr;
  EXPECT_EQ(metadata(std::nullopt).size(), 2u);
  EXPECT_EQ(init_producer_id(), 0);
}

}  // namespace
}  // namespace strata::kafka
