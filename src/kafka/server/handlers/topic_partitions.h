// A request's list of topics, each with partition indexes (OffsetDelete,
// DescribeProducers): decoded once here, with one limit on the partitions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kafka/protocol/wire.h"

namespace strata::kafka::handlers {

inline constexpr size_t partitions_per_request_max = 100'000;

struct topic_request {
  std::string name;
  std::vector<int32_t> partitions;
};

// Reads the array; fails the reader past partitions_per_request_max in all.
void decode_topic_partitions(reader& r, bool flex, std::vector<topic_request>& topics);

}  // namespace strata::kafka::handlers
