#include "kafka/server/handlers/topic_partitions.h"

namespace strata::kafka::handlers {

void decode_topic_partitions(reader& r, bool flex, std::vector<topic_request>& topics) {
  size_t total = 0;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    topic_request& t = topics.emplace_back();
    t.name = r.string(flex);
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) t.partitions.push_back(r.i32());
    total += t.partitions.size();
    if (total > partitions_per_request_max) r.fail();
    if (flex) r.skip_tagged_fields();
  }
}

}  // namespace strata::kafka::handlers
