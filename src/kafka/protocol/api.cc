#include "kafka/protocol/api.h"

#include <array>

namespace strata::kafka {

namespace {
// Ranges chosen to cover librdkafka 2.x and kafka-python 2.0 in their default
// configurations, using flexible versions where those clients ask for them.
// Produce starts at v0 although only magic-2 batches (v3+) are stored:
// librdkafka 2.0 enables gzip, snappy and lz4 only for brokers that list
// Produce v0. Older message formats get UNSUPPORTED_FOR_MESSAGE_FORMAT.
constexpr std::array<api_info, 43> apis{{
    {api_key::produce, "Produce", 0, 9, 9},
    {api_key::fetch, "Fetch", 4, 11, 12},
    {api_key::list_offsets, "ListOffsets", 1, 7, 6},
    {api_key::metadata, "Metadata", 0, 12, 9},
    {api_key::offset_commit, "OffsetCommit", 0, 8, 8},
    {api_key::offset_fetch, "OffsetFetch", 0, 7, 6},
    {api_key::find_coordinator, "FindCoordinator", 0, 3, 3},
    {api_key::join_group, "JoinGroup", 0, 7, 6},
    {api_key::heartbeat, "Heartbeat", 0, 4, 4},
    {api_key::leave_group, "LeaveGroup", 0, 4, 4},
    {api_key::sync_group, "SyncGroup", 0, 5, 4},
    {api_key::describe_groups, "DescribeGroups", 0, 5, 5},
    {api_key::list_groups, "ListGroups", 0, 4, 3},
    {api_key::sasl_handshake, "SaslHandshake", 0, 1, 2},  // never flexible
    {api_key::api_versions, "ApiVersions", 0, 3, 3},
    {api_key::create_topics, "CreateTopics", 0, 7, 5},
    {api_key::delete_topics, "DeleteTopics", 0, 6, 4},
    {api_key::init_producer_id, "InitProducerId", 0, 4, 2},
    {api_key::offset_for_leader_epoch, "OffsetForLeaderEpoch", 0, 4, 4},
    {api_key::describe_configs, "DescribeConfigs", 0, 4, 4},
    {api_key::alter_configs, "AlterConfigs", 0, 2, 2},
    {api_key::incremental_alter_configs, "IncrementalAlterConfigs", 0, 1, 1},
    {api_key::create_partitions, "CreatePartitions", 0, 3, 2},
    {api_key::describe_acls, "DescribeAcls", 0, 3, 2},
    {api_key::create_acls, "CreateAcls", 0, 3, 2},
    {api_key::delete_acls, "DeleteAcls", 0, 3, 2},
    {api_key::describe_client_quotas, "DescribeClientQuotas", 0, 1, 1},
    {api_key::alter_client_quotas, "AlterClientQuotas", 0, 1, 1},
    {api_key::describe_user_scram_credentials, "DescribeUserScramCredentials", 0, 0, 0},
    {api_key::alter_user_scram_credentials, "AlterUserScramCredentials", 0, 0, 0},
    {api_key::sasl_authenticate, "SaslAuthenticate", 0, 2, 2},
    {api_key::delete_records, "DeleteRecords", 0, 2, 2},
    {api_key::describe_log_dirs, "DescribeLogDirs", 0, 4, 2},
    {api_key::delete_groups, "DeleteGroups", 0, 2, 2},
    {api_key::offset_delete, "OffsetDelete", 0, 0, 1},  // never flexible
    {api_key::describe_cluster, "DescribeCluster", 0, 1, 0},
    {api_key::describe_producers, "DescribeProducers", 0, 0, 0},
    {api_key::add_partitions_to_txn, "AddPartitionsToTxn", 0, 3, 3},
    {api_key::add_offsets_to_txn, "AddOffsetsToTxn", 0, 3, 3},
    {api_key::end_txn, "EndTxn", 0, 3, 3},
    {api_key::txn_offset_commit, "TxnOffsetCommit", 0, 3, 3},
    {api_key::describe_transactions, "DescribeTransactions", 0, 0, 0},
    {api_key::list_transactions, "ListTransactions", 0, 0, 0},
}};
}  // namespace

std::span<const api_info> supported_apis() { return apis; }

const api_info* find_api(int16_t key) {
  for (const auto& a : apis) {
    if (static_cast<int16_t>(a.key) == key) return &a;
  }
  return nullptr;
}

const char* api_name(int16_t key) {
  const api_info* a = find_api(key);
  return a ? a->name : "unknown";
}

std::optional<request_header> decode_request_header(reader& r) {
  request_header h;
  h.api_key = r.i16();
  h.api_version = r.i16();
  h.correlation_id = r.i32();
  h.client_id = r.nullable_string(false);  // never compact, even in header v2
  if (!r.ok()) return std::nullopt;
  const api_info* a = find_api(h.api_key);
  if (a && h.api_version >= a->min_version && h.api_version <= a->max_version) {
    h.flexible = h.api_version >= a->first_flexible_version;
    if (h.flexible) r.skip_tagged_fields();
  }
  if (!r.ok()) return std::nullopt;
  return h;
}

void encode_response_header(writer& w, const request_header& req) {
  w.i32(req.correlation_id);
  if (req.flexible && req.api_key != static_cast<int16_t>(api_key::api_versions)) {
    w.empty_tagged_fields();
  }
}

}  // namespace strata::kafka
