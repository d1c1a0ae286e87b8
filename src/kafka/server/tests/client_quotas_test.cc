#include "kafka/server/client_quotas.h"

#include <gtest/gtest.h>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

entity_part named(std::string n) { return {entity_part::kind::named, std::move(n)}; }
entity_part dflt() { return {entity_part::kind::default_entity, ""}; }
const entity_part absent{};

class ClientQuotas : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = quota_store::open(*kv_);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  void set(quota_entity e, double rate) {
    ASSERT_TRUE(store_->alter(e, {{std::string(producer_byte_rate), rate, false}}, false).ok());
  }
  std::optional<double> resolve(std::string_view user, std::string_view client) {
    return store_->resolve(producer_byte_rate, user, client);
  }
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<quota_store> store_;
};

TEST_F(ClientQuotas, NothingSetMeansUnlimited) { EXPECT_FALSE(resolve("alice", "app").has_value()); }

TEST_F(ClientQuotas, KafkasPrecedenceFromUserAndClientDownToTheDefaultClient) {
  set({absent, dflt()}, 8);
  EXPECT_EQ(resolve("alice", "app"), 8);
  set({absent, named("app")}, 7);
  EXPECT_EQ(resolve("alice", "app"), 7);
  set({dflt(), absent}, 6);
  EXPECT_EQ(resolve("alice", "app"), 6);
  set({dflt(), dflt()}, 5);
  EXPECT_EQ(resolve("alice", "app"), 5);
  set({dflt(), named("app")}, 4);
  EXPECT_EQ(resolve("alice", "app"), 4);
  set({named("alice"), absent}, 3);
  EXPECT_EQ(resolve("alice", "app"), 3);
  set({named("alice"), dflt()}, 2);
  EXPECT_EQ(resolve("alice", "app"), 2);
  set({named("alice"), named("app")}, 1);
  EXPECT_EQ(resolve("alice", "app"), 1);
  EXPECT_EQ(resolve("bob", "other"), 5);
  EXPECT_FALSE(store_->resolve(consumer_byte_rate, "alice", "app").has_value());
}

TEST_F(ClientQuotas, ChangesAreDurableAndRemovingTheLastKeyRemovesTheEntity) {
  set({named("a/b"), named("c:d")}, 1000);
  auto reopened = quota_store::open(*kv_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->resolve(producer_byte_rate, "a/b", "c:d"), 1000);
  ASSERT_TRUE(store_->alter({named("a/b"), named("c:d")}, {{std::string(producer_byte_rate), 0, true}}, false).ok());
  EXPECT_TRUE(store_->all().empty());
  ASSERT_TRUE((*reopened)->reload().ok());
  EXPECT_TRUE((*reopened)->all().empty());
}

TEST_F(ClientQuotas, BadChangesAreRefusedAndValidateOnlyWritesNothing) {
  EXPECT_FALSE(store_->alter({absent, absent}, {{std::string(producer_byte_rate), 1, false}}, false).ok());
  EXPECT_FALSE(store_->alter({dflt(), absent}, {{"request_percentage", 1, false}}, false).ok());
  EXPECT_FALSE(store_->alter({dflt(), absent}, {{std::string(producer_byte_rate), 0, false}}, false).ok());
  EXPECT_TRUE(store_->alter({dflt(), absent}, {{std::string(producer_byte_rate), 10, false}}, true).ok());
  EXPECT_TRUE(store_->all().empty());
}

TEST(QuotaMeter, ThrottlesOnlyOverTheRateAndInProportion) {
  quota_meter meter;
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  // 10 s young window at 100 B/s: 1000 bytes is exactly the rate.
  EXPECT_EQ(meter.record("p", "u", "c", 1000, 100, t0), 0);
  // 3000 bytes over the 10 s window is 300 B/s: (300 - 100) / 100 * 10 s.
  EXPECT_EQ(meter.record("p", "u", "c", 2000, 100, t0), 20'000);
  EXPECT_EQ(meter.record("p", "u", "other", 500, 100, t0), 0);  // another client id is metered apart
  // Past the window, old samples no longer count.
  EXPECT_EQ(meter.record("p", "u", "c", 100, 100, t0 + std::chrono::seconds(30)), 0);
}

TEST(QuotaMeter, ThrottleIsCapped) {
  quota_meter meter;
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  EXPECT_EQ(meter.record("p", "u", "c", 1 << 30, 1, t0), quota_meter::throttle_ms_max);
}

TEST(ClientQuotaHandlers, AlterThenDescribeRoundTrips) {
  testing::handler_harness h;
  auto kv = meta::make_memory_kv();
  auto store = quota_store::open(*kv);
  ASSERT_TRUE(store.ok());
  h.svc().quotas = store->get();
  for (int16_t version : {0, 1}) {
    const bool flex = version == 1;
    writer w;
    w.array_length(1, flex);
    w.array_length(1, flex);  // entity
    w.string("user", flex);
    w.nullable_string(std::string("alice"), flex);
    if (flex) w.empty_tagged_fields();
    w.array_length(1, flex);  // ops
    w.string("consumer_byte_rate", flex);
    w.f64(2048 + version);
    w.boolean(false);
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
    w.boolean(false);  // validate_only
    if (flex) w.empty_tagged_fields();
    auto body = h.call(handlers::alter_client_quotas, api_key::alter_client_quotas, version, w.buffer());
    reader r(body);
    EXPECT_EQ(r.i32(), 0);
    EXPECT_EQ(r.array_length(flex), 1);
    EXPECT_EQ(r.i16(), 0);
    EXPECT_EQ((*store)->resolve(consumer_byte_rate, "alice", "x"), 2048 + version);

    writer d;
    d.array_length(1, flex);
    d.string("user", flex);
    d.i8(0);  // exact
    d.nullable_string(std::string("alice"), flex);
    if (flex) d.empty_tagged_fields();
    d.boolean(true);  // strict
    if (flex) d.empty_tagged_fields();
    auto described = h.call(handlers::describe_client_quotas, api_key::describe_client_quotas, version, d.buffer());
    reader dr(described);
    EXPECT_EQ(dr.i32(), 0);
    EXPECT_EQ(dr.i16(), 0);
    EXPECT_FALSE(dr.nullable_string(flex).has_value());
    ASSERT_EQ(dr.array_length(flex), 1);
    ASSERT_EQ(dr.array_length(flex), 1);
    EXPECT_EQ(dr.string(flex), "user");
    EXPECT_EQ(dr.nullable_string(flex), "alice");
    if (flex) dr.skip_tagged_fields();
    ASSERT_EQ(dr.array_length(flex), 1);
    EXPECT_EQ(dr.string(flex), "consumer_byte_rate");
    EXPECT_EQ(dr.f64(), 2048 + version);
    EXPECT_TRUE(dr.ok());
  }
}

}  // namespace
}  // namespace strata::kafka
