#include "admin/streams_metrics.h"

#include <string>

#include "streams/service.h"

namespace strata::admin {
namespace {

void collect(metrics::collector_sink& sink, const streams::service& streams) {
  auto topics = streams.list_topics();
  sink.gauge("strata_topics", "Kafka topics.", {}, static_cast<double>(topics.size()));
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) {
      metrics::labels labels = {{"topic", t.name}, {"partition", std::to_string(p.id)}};
      sink.gauge("strata_partition_size_bytes", "Bytes in the partition's log on disk.", labels,
                 static_cast<double>(p.size_bytes));
      sink.gauge("strata_partition_log_start_offset", "First offset still stored in the partition.", labels,
                 static_cast<double>(p.log_start_offset));
      sink.gauge("strata_partition_log_end_offset", "Offset the next record appended to the partition gets.", labels,
                 static_cast<double>(p.log_end_offset));
      sink.gauge("strata_partition_high_watermark", "Offset below which every record of the partition is durable.",
                 labels, static_cast<double>(p.high_watermark));
    }
  }
}

}  // namespace

metrics::registry::collector_id add_streams_collector(metrics::registry& registry, const streams::service& streams) {
  return registry.add_collector([&streams](metrics::collector_sink& sink) { collect(sink, streams); });
}

}  // namespace strata::admin
