// One handler per Kafka API; each lives in its own .cc file in this folder.
// See kafka/server/handler.h for the contract.
#pragma once

#include "kafka/server/handler.h"

namespace strata::kafka::handlers {

// Data path and topic administration (handlers/<name>.cc).
status api_versions(services&, const request&, respond_fn);
status metadata(services&, const request&, respond_fn);
status produce(services&, const request&, respond_fn);
status fetch(services&, const request&, respond_fn);
status list_offsets(services&, const request&, respond_fn);
status init_producer_id(services&, const request&, respond_fn);
status create_topics(services&, const request&, respond_fn);
status delete_topics(services&, const request&, respond_fn);
status create_partitions(services&, const request&, respond_fn);
status describe_configs(services&, const request&, respond_fn);
status alter_configs(services&, const request&, respond_fn);
status incremental_alter_configs(services&, const request&, respond_fn);
status offset_for_leader_epoch(services&, const request&, respond_fn);
status delete_records(services&, const request&, respond_fn);
status describe_producers(services&, const request&, respond_fn);

// Transactions (handlers/<name>.cc, state in kafka/txn/; InitProducerId above).
status add_partitions_to_txn(services&, const request&, respond_fn);
status add_offsets_to_txn(services&, const request&, respond_fn);
status end_txn(services&, const request&, respond_fn);
status txn_offset_commit(services&, const request&, respond_fn);
status describe_transactions(services&, const request&, respond_fn);
status list_transactions(services&, const request&, respond_fn);

// The cluster and its disks.
status describe_cluster(services&, const request&, respond_fn);
status describe_log_dirs(services&, const request&, respond_fn);

// Authentication (the exchange itself lives in kafka/server/sasl_session).
status sasl_handshake(services&, const request&, respond_fn);
status sasl_authenticate(services&, const request&, respond_fn);

// Consumer groups (handlers/<name>.cc, state in kafka/groups/).
status find_coordinator(services&, const request&, respond_fn);
status join_group(services&, const request&, respond_fn);
status sync_group(services&, const request&, respond_fn);
status heartbeat(services&, const request&, respond_fn);
status leave_group(services&, const request&, respond_fn);
status offset_commit(services&, const request&, respond_fn);
status offset_fetch(services&, const request&, respond_fn);
status list_groups(services&, const request&, respond_fn);
status describe_groups(services&, const request&, respond_fn);
status delete_groups(services&, const request&, respond_fn);
status offset_delete(services&, const request&, respond_fn);

// ACLs and SCRAM users (handlers/<name>.cc, state in auth/).
status describe_acls(services&, const request&, respond_fn);
status create_acls(services&, const request&, respond_fn);
status delete_acls(services&, const request&, respond_fn);
status describe_client_quotas(services&, const request&, respond_fn);
status alter_client_quotas(services&, const request&, respond_fn);
status describe_user_scram_credentials(services&, const request&, respond_fn);
status alter_user_scram_credentials(services&, const request&, respond_fn);

}  // namespace strata::kafka::handlers
