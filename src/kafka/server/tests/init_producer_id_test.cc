#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "kafka/server/tests/txn_wire_calls.h"

namespace strata::kafka {
namespace {

std::vector<uint8_t> init_request(int16_t version, const std::optional<std::string>& txn_id, int64_t pid = -1,
                                  int16_t epoch = -1) {
  return testing::init_producer_id_request(version, txn_id, 60'000, pid, epoch);
}

class InitProducerId : public ::testing::Test {
 protected:
  testing::producer_identity run(int16_t version, const std::vector<uint8_t>& body) {
    return testing::decode_init_producer_id(version,
                                            h.call(handlers::init_producer_id, api_key::init_producer_id, version, body));
  }
  testing::handler_harness h;
};

TEST_F(InitProducerId, V0IdempotentProducerGetsAnId) {
  auto out = run(0, init_request(0, std::nullopt));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.id, 7001);
  EXPECT_EQ(out.epoch, 0);
  ASSERT_EQ(h.streams.init_producer_calls.size(), 1u);
  EXPECT_EQ(h.streams.init_producer_calls[0], std::make_pair(int64_t{-1}, int16_t{-1}));
}

TEST_F(InitProducerId, TransactionalProducerFailsFatally) {
  auto out = run(1, init_request(1, "txn-1"));
  EXPECT_EQ(out.error, static_cast<int16_t>(error_code::transactional_id_authorization_failed));
  EXPECT_EQ(out.id, -1);
  EXPECT_EQ(out.epoch, -1);
  EXPECT_TRUE(h.streams.init_producer_calls.empty());
}

TEST_F(InitProducerId, V2FlexibleNullTransactionalId) {
  auto out = run(2, init_request(2, std::nullopt));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.id, 7001);
}

TEST_F(InitProducerId, V3PassesCurrentIdForEpochBump) {
  auto out = run(3, init_request(3, std::nullopt, 42, 5));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.id, 42);
  EXPECT_EQ(out.epoch, 6);
  ASSERT_EQ(h.streams.init_producer_calls.size(), 1u);
  EXPECT_EQ(h.streams.init_producer_calls[0], std::make_pair(int64_t{42}, int16_t{5}));
}

TEST_F(InitProducerId, V4EmptyTransactionalIdIsInvalid) {
  auto out = run(4, init_request(4, std::string()));
  EXPECT_EQ(out.error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_TRUE(h.streams.init_producer_calls.empty());
}

TEST_F(InitProducerId, ServiceErrorIsMapped) {
  h.streams.init_producer_error = streams::stream_error::storage_error;
  auto out = run(4, init_request(4, std::nullopt));
  EXPECT_EQ(out.error, static_cast<int16_t>(error_code::kafka_storage_error));
  EXPECT_EQ(out.id, -1);
  EXPECT_EQ(out.epoch, -1);
}

TEST_F(InitProducerId, TruncatedBodyIsAnError) {
  auto body = init_request(3, std::nullopt, 42, 5);
  body.resize(body.size() - 2);
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::init_producer_id, api_key::init_producer_id, 3, body, responded).ok());
  EXPECT_EQ(responded, 0);
}

}  // namespace
}  // namespace strata::kafka
