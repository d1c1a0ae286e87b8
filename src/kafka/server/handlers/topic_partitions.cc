#include "kafka/server/handlers/topic_partitions.h"

#include "base/assert.h"
#include "kafka/server/errors.h"

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

void encode_partition_errors(writer& w, const services& s, const request_header& header,
                             const std::vector<topic_request>& topics, const std::vector<error_code>& errors) {
  const bool flex = header.flexible;
  size_t next = 0;
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (int32_t p : t.partitions) {
      STRATA_ASSERT(next < errors.size(), "one error per partition");
      w.i32(p);
      w.i16(counted_code(s, header, errors[next++]));
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
}

}  // namespace strata::kafka::handlers
