#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

std::vector<uint8_t> init_request(int16_t version, const std::optional<std::string>& txn_id, int64_t pid = -1,
                                  int16_t epoch = -1) {
  bool flex = testing::handler_harness::is_flexible(api_key::init_producer_id, version);
  writer w;
  w.nullable_string(txn_id, flex);
  w.i32(60'000);
  if (version >= 3) {
    w.i64(pid);
    w.i16(epoch);
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct init_out {
  int16_t error = 0;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
};

init_out decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::init_producer_id, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  init_out out;
  out.error = r.i16();
  out.producer_id = r.i64();
  out.producer_epoch = r.i16();
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class InitProducerId : public ::testing::Test {
 protected:
  init_out run(int16_t version, const std::vector<uint8_t>& body) {
    return decode_response(version, h.call(handlers::init_producer_id, api_key::init_producer_id, version, body));
  }
  testing::handler_harness h;
};

TEST_F(InitProducerId, V0IdempotentProducerGetsAnId) {
  auto out = run(0, init_request(0, std::nullopt));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.producer_id, 7001);
  EXPECT_EQ(out.producer_epoch, 0);
  ASSERT_EQ(h.streams.init_producer_calls.size(), 1u);
  EXPECT_EQ(h.streams.init_producer_calls[0], std::make_pair(int64_t{-1}, int16_t{-1}));
}

TEST_F(InitProducerId, TransactionalProducerFailsFatally) {
  auto out = run(1, init_request(1, "txn-1"));
  EXPECT_EQ(out.error, static_cast<int16_t>(error_code::transactional_id_authorization_failed));
  EXPECT_EQ(out.producer_id, -1);
  EXPECT_EQ(out.producer_epoch, -1);
  EXPECT_TRUE(h.streams.init_producer_calls.empty());
}

TEST_F(InitProducerId, V2FlexibleNullTransactionalId) {
  auto out = run(2, init_request(2, std::nullopt));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.producer_id, 7001);
}

TEST_F(InitProducerId, V3PassesCurrentIdForEpochBump) {
  auto out = run(3, init_request(3, std::nullopt, 42, 5));
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.producer_id, 42);
  EXPECT_EQ(out.producer_epoch, 6);
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
  EXPECT_EQ(out.producer_id, -1);
  EXPECT_EQ(out.producer_epoch, -1);
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
