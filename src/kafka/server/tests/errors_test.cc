#include "kafka/server/errors.h"

#include <gtest/gtest.h>

namespace strata::kafka {
namespace {

using streams::stream_error;

TEST(ToKafkaError, StreamErrorsMapToTheirKafkaCodes) {
  EXPECT_EQ(to_kafka_error(stream_error::none), error_code::none);
  EXPECT_EQ(to_kafka_error(stream_error::unknown_topic_or_partition), error_code::unknown_topic_or_partition);
  EXPECT_EQ(to_kafka_error(stream_error::topic_already_exists), error_code::topic_already_exists);
  EXPECT_EQ(to_kafka_error(stream_error::invalid_topic), error_code::invalid_topic_exception);
  EXPECT_EQ(to_kafka_error(stream_error::invalid_partitions), error_code::invalid_partitions);
  EXPECT_EQ(to_kafka_error(stream_error::invalid_config), error_code::invalid_config);
  EXPECT_EQ(to_kafka_error(stream_error::corrupt_message), error_code::corrupt_message);
  EXPECT_EQ(to_kafka_error(stream_error::message_too_large), error_code::message_too_large);
  EXPECT_EQ(to_kafka_error(stream_error::offset_out_of_range), error_code::offset_out_of_range);
  EXPECT_EQ(to_kafka_error(stream_error::out_of_order_sequence), error_code::out_of_order_sequence_number);
  EXPECT_EQ(to_kafka_error(stream_error::invalid_producer_epoch), error_code::invalid_producer_epoch);
  EXPECT_EQ(to_kafka_error(stream_error::unknown_producer_id), error_code::unknown_producer_id);
  EXPECT_EQ(to_kafka_error(stream_error::storage_error), error_code::kafka_storage_error);
  EXPECT_EQ(to_kafka_error(stream_error::invalid_timestamp), error_code::invalid_timestamp);
  EXPECT_EQ(to_kafka_error(stream_error::unsupported_for_message_format), error_code::unsupported_for_message_format);
}

TEST(ToKafkaError, DuplicateSequenceIsSuccess) {
  EXPECT_EQ(to_kafka_error(stream_error::duplicate_sequence), error_code::none);
}

TEST(ToKafkaError, StatusCodesUseTheCallersCodeForBadArguments) {
  EXPECT_EQ(to_kafka_error(errc::ok, error_code::invalid_config), error_code::none);
  EXPECT_EQ(to_kafka_error(errc::invalid_argument, error_code::invalid_config), error_code::invalid_config);
  EXPECT_EQ(to_kafka_error(errc::limit_exceeded, error_code::invalid_partitions), error_code::invalid_partitions);
  EXPECT_EQ(to_kafka_error(errc::not_found, error_code::invalid_config), error_code::unknown_topic_or_partition);
  EXPECT_EQ(to_kafka_error(errc::already_exists, error_code::invalid_config), error_code::topic_already_exists);
  EXPECT_EQ(to_kafka_error(errc::no_space, error_code::invalid_config), error_code::kafka_storage_error);
  EXPECT_EQ(to_kafka_error(errc::io_error, error_code::invalid_config), error_code::kafka_storage_error);
  EXPECT_EQ(to_kafka_error(errc::internal, error_code::invalid_config), error_code::unknown_server_error);
}

TEST(MalformedRequest, NamesTheApiAndVersion) {
  request_header h;
  h.api_key = static_cast<int16_t>(api_key::create_topics);
  h.api_version = 5;
  error e = malformed_request(h);
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_NE(e.message.find("CreateTopics v5"), std::string::npos);
}

}  // namespace
}  // namespace strata::kafka
