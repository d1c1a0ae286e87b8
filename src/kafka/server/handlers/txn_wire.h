// What the transaction APIs share (InitProducerId with a transactional id,
// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit,
// DescribeTransactions, ListTransactions). State lives in kafka/txn/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kafka/protocol/api.h"

namespace strata::kafka::handlers {

// Without a transaction coordinator (services.transactions is null: cluster
// mode, for now) every transactional request that passes its ACL checks is
// answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED. librdkafka and the Java client treat
// it as fatal, so init_transactions() fails at once with a clear error; the
// retriable COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR would make them
// retry forever against a node that will never coordinate transactions.
inline constexpr error_code no_transactions = error_code::transactional_id_authorization_failed;

// Cap on the transactional ids (DescribeTransactions) and filters
// (ListTransactions) one request may name.
inline constexpr int32_t txn_ids_per_request_max = 10'000;

// PRODUCER_FENCED (KIP-588) only for versions that know it (`fenced_since`
// and later); older clients get INVALID_PRODUCER_EPOCH, as Kafka answers them.
inline error_code fenced_for(error_code e, int16_t version, int16_t fenced_since) {
  return e == error_code::producer_fenced && version < fenced_since ? error_code::invalid_producer_epoch : e;
}

}  // namespace strata::kafka::handlers
