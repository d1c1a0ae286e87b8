#include "kafka/server/errors.h"

#include <string>

namespace strata::kafka {

error_code to_kafka_error(streams::stream_error e) {
  using streams::stream_error;
  switch (e) {
    case stream_error::none: return error_code::none;
    case stream_error::unknown_topic_or_partition: return error_code::unknown_topic_or_partition;
    case stream_error::topic_already_exists: return error_code::topic_already_exists;
    case stream_error::invalid_topic: return error_code::invalid_topic_exception;
    case stream_error::invalid_partitions: return error_code::invalid_partitions;
    case stream_error::invalid_config: return error_code::invalid_config;
    case stream_error::corrupt_message: return error_code::corrupt_message;
    case stream_error::message_too_large: return error_code::message_too_large;
    case stream_error::offset_out_of_range: return error_code::offset_out_of_range;
    case stream_error::out_of_order_sequence: return error_code::out_of_order_sequence_number;
    case stream_error::duplicate_sequence: return error_code::none;
    case stream_error::invalid_producer_epoch: return error_code::invalid_producer_epoch;
    case stream_error::unknown_producer_id: return error_code::unknown_producer_id;
    case stream_error::storage_error: return error_code::kafka_storage_error;
    case stream_error::invalid_timestamp: return error_code::invalid_timestamp;
    case stream_error::unsupported_for_message_format: return error_code::unsupported_for_message_format;
    case stream_error::not_leader_or_follower: return error_code::not_leader_or_follower;
    case stream_error::not_enough_replicas: return error_code::not_enough_replicas;
    case stream_error::not_enough_replicas_after_append: return error_code::not_enough_replicas_after_append;
    case stream_error::request_timed_out: return error_code::request_timed_out;
    case stream_error::fenced_leader_epoch: return error_code::fenced_leader_epoch;
    case stream_error::unknown_leader_epoch: return error_code::unknown_leader_epoch;
    case stream_error::invalid_record: return error_code::invalid_record;
    case stream_error::invalid_txn_state: return error_code::invalid_txn_state;
  }
  return error_code::unknown_server_error;
}

error_code to_kafka_error(errc code, error_code invalid_as) {
  switch (code) {
    case errc::ok: return error_code::none;
    case errc::invalid_argument:
    case errc::limit_exceeded: return invalid_as;
    case errc::not_found: return error_code::unknown_topic_or_partition;
    case errc::already_exists: return error_code::topic_already_exists;
    case errc::corrupt: return error_code::corrupt_message;
    case errc::io_error:
    case errc::no_space: return error_code::kafka_storage_error;
    case errc::timed_out: return error_code::request_timed_out;
    case errc::unavailable: return error_code::leader_not_available;
    case errc::unsupported: return error_code::invalid_request;
    case errc::internal: return error_code::unknown_server_error;
  }
  return error_code::unknown_server_error;
}

error malformed_request(const request_header& header) {
  return make_error(errc::invalid_argument, std::string("malformed ") + api_name(header.api_key) + " v" +
                                                std::to_string(header.api_version) +
                                                " request body: the client sent bytes that do not match the schema");
}

int16_t counted_code(const services& svc, const request_header& header, error_code e) {
  if (e != error_code::none && svc.on_error) svc.on_error(header.api_key, e);
  return wire_code(e);
}

}  // namespace strata::kafka
