// The Kafka APIs Strata serves, with the version range of each and the first
// flexible (tagged-field) version. ApiVersions advertises exactly this table.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "kafka/protocol/wire.h"

namespace strata::kafka {

enum class api_key : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  describe_acls = 29,
  create_acls = 30,
  delete_acls = 31,
  describe_configs = 32,
  alter_configs = 33,
  offset_for_leader_epoch = 23,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  txn_offset_commit = 28,
  describe_log_dirs = 35,
  sasl_authenticate = 36,
  create_partitions = 37,
  incremental_alter_configs = 44,
  delete_groups = 42,
  offset_delete = 47,
  describe_client_quotas = 48,
  alter_client_quotas = 49,
  describe_user_scram_credentials = 50,
  alter_user_scram_credentials = 51,
  describe_cluster = 60,
  describe_producers = 61,
  describe_transactions = 65,
  list_transactions = 66,
};

struct api_info {
  api_key key;
  const char* name;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;  // versions >= this use compact types and tagged fields
};

std::span<const api_info> supported_apis();
const api_info* find_api(int16_t key);  // nullptr for an API Strata does not serve
const char* api_name(int16_t key);      // "unknown" for an API Strata does not serve

struct request_header {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  bool flexible = false;  // the body uses flexible encoding
};

// Decodes the request header at the start of a frame (after the size prefix).
// Returns nullopt if the header itself is malformed. The reader is left at the
// start of the body. For an API or version Strata does not serve, the header
// is still decoded (header v1) so the caller can answer UNSUPPORTED_VERSION.
std::optional<request_header> decode_request_header(reader& r);

// Writes the response header; ApiVersions always uses header v0 (KIP-511).
void encode_response_header(writer& w, const request_header& req);

// Kafka error codes Strata returns.
enum class error_code : int16_t {
  unknown_server_error = -1,
  none = 0,
  offset_out_of_range = 1,
  corrupt_message = 2,
  unknown_topic_or_partition = 3,
  invalid_fetch_size = 4,
  leader_not_available = 5,
  not_leader_or_follower = 6,
  request_timed_out = 7,
  message_too_large = 10,
  offset_metadata_too_large = 12,
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  invalid_topic_exception = 17,
  record_list_too_large = 18,
  not_enough_replicas = 19,
  not_enough_replicas_after_append = 20,
  invalid_required_acks = 21,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  invalid_commit_offset_size = 28,
  topic_authorization_failed = 29,
  group_authorization_failed = 30,
  cluster_authorization_failed = 31,
  invalid_timestamp = 32,
  unsupported_sasl_mechanism = 33,
  illegal_sasl_state = 34,
  unsupported_version = 35,
  topic_already_exists = 36,
  invalid_partitions = 37,
  invalid_replication_factor = 38,
  invalid_replica_assignment = 39,
  invalid_config = 40,
  not_controller = 41,
  invalid_request = 42,
  unsupported_for_message_format = 43,
  policy_violation = 44,
  out_of_order_sequence_number = 45,
  duplicate_sequence_number = 46,
  invalid_producer_epoch = 47,
  invalid_txn_state = 48,
  invalid_producer_id_mapping = 49,
  invalid_transaction_timeout = 50,
  concurrent_transactions = 51,
  transaction_coordinator_fenced = 52,
  transactional_id_authorization_failed = 53,
  security_disabled = 54,
  operation_not_attempted = 55,
  kafka_storage_error = 56,
  sasl_authentication_failed = 58,
  unknown_producer_id = 59,
  non_empty_group = 68,
  group_id_not_found = 69,
  fenced_leader_epoch = 74,
  unknown_leader_epoch = 75,
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  unstable_offset_commit = 88,
  throttling_quota_exceeded = 89,
  producer_fenced = 90,
  resource_not_found = 91,
  duplicate_resource = 92,
  unacceptable_credential = 93,
  group_subscribed_to_topic = 86,
  invalid_record = 87,
  unknown_topic_id = 100,
  transactional_id_not_found = 105,
  mismatched_endpoint_type = 114,
};

}  // namespace strata::kafka
