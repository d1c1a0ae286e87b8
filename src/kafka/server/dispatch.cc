#include "kafka/server/handler.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka {

handler_fn find_handler(int16_t key) {
  switch (static_cast<api_key>(key)) {
    case api_key::produce: return handlers::produce;
    case api_key::fetch: return handlers::fetch;
    case api_key::list_offsets: return handlers::list_offsets;
    case api_key::metadata: return handlers::metadata;
    case api_key::offset_commit: return handlers::offset_commit;
    case api_key::offset_fetch: return handlers::offset_fetch;
    case api_key::find_coordinator: return handlers::find_coordinator;
    case api_key::join_group: return handlers::join_group;
    case api_key::heartbeat: return handlers::heartbeat;
    case api_key::leave_group: return handlers::leave_group;
    case api_key::sync_group: return handlers::sync_group;
    case api_key::describe_groups: return handlers::describe_groups;
    case api_key::list_groups: return handlers::list_groups;
    case api_key::api_versions: return handlers::api_versions;
    case api_key::create_topics: return handlers::create_topics;
    case api_key::delete_topics: return handlers::delete_topics;
    case api_key::init_producer_id: return handlers::init_producer_id;
    case api_key::describe_configs: return handlers::describe_configs;
    case api_key::alter_configs: return handlers::alter_configs;
    case api_key::incremental_alter_configs: return handlers::incremental_alter_configs;
    case api_key::create_partitions: return handlers::create_partitions;
    case api_key::offset_for_leader_epoch: return handlers::offset_for_leader_epoch;
    case api_key::describe_acls: return handlers::describe_acls;
    case api_key::create_acls: return handlers::create_acls;
    case api_key::delete_acls: return handlers::delete_acls;
    case api_key::describe_client_quotas: return handlers::describe_client_quotas;
    case api_key::alter_client_quotas: return handlers::alter_client_quotas;
    case api_key::describe_user_scram_credentials: return handlers::describe_user_scram_credentials;
    case api_key::alter_user_scram_credentials: return handlers::alter_user_scram_credentials;
    case api_key::sasl_handshake: return handlers::sasl_handshake;
    case api_key::sasl_authenticate: return handlers::sasl_authenticate;
    case api_key::delete_records: return handlers::delete_records;
    case api_key::describe_log_dirs: return handlers::describe_log_dirs;
    case api_key::delete_groups: return handlers::delete_groups;
    case api_key::offset_delete: return handlers::offset_delete;
    case api_key::describe_cluster: return handlers::describe_cluster;
    case api_key::describe_producers: return handlers::describe_producers;
    case api_key::add_partitions_to_txn: return handlers::add_partitions_to_txn;
    case api_key::add_offsets_to_txn: return handlers::add_offsets_to_txn;
    case api_key::end_txn: return handlers::end_txn;
    case api_key::txn_offset_commit: return handlers::txn_offset_commit;
    case api_key::describe_transactions: return handlers::describe_transactions;
    case api_key::list_transactions: return handlers::list_transactions;
  }
  return nullptr;
}

}  // namespace strata::kafka
