// A request's list of topics, each with partition indexes (OffsetDelete,
// DescribeProducers, AddPartitionsToTxn): decoded once here, with one limit
// on the partitions; and the per-partition error list that answers them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"

namespace strata::kafka::handlers {

inline constexpr size_t partitions_per_request_max = 100'000;

struct topic_request {
  std::string name;
  std::vector<int32_t> partitions;
};

// Reads the array; fails the reader past partitions_per_request_max in all.
void decode_topic_partitions(reader& r, bool flex, std::vector<topic_request>& topics);

// Writes a response's topics[name, partitions[partition_index, error_code]]
// (AddPartitionsToTxn, TxnOffsetCommit), with `errors` in request order,
// counting each error.
void encode_partition_errors(writer& w, const services& s, const request_header& header,
                             const std::vector<topic_request>& topics, const std::vector<error_code>& errors);

}  // namespace strata::kafka::handlers
