#include "admin/streams_metrics.h"

#include <string>

#include "streams/service.h"

namespace strata::admin {
namespace {

void collect_replication(metrics::collector_sink& sink, const streams::service& streams) {
  auto counters = streams.counters();
  sink.counter("strata_cluster_isr_shrinks_total", "ISR shrinks this node made as leader.", {}, static_cast<double>(counters.isr_shrinks));
  sink.counter("strata_cluster_isr_expands_total", "ISR expansions this node made as leader.", {}, static_cast<double>(counters.isr_expands));
  sink.counter("strata_cluster_leaderships_gained_total", "Times this node became a partition's leader.", {},
               static_cast<double>(counters.leadership_gained));
  sink.counter("strata_cluster_truncations_total", "Divergent tails this node cut as a follower.", {},
               static_cast<double>(counters.truncations));
  for (const auto& lag : streams.replication_lags()) {
    metrics::labels labels = {{"topic", lag.topic}, {"partition", std::to_string(lag.partition)}, {"replica", std::to_string(lag.replica)}};
    sink.gauge("strata_replication_lag_bytes", "Bytes a follower is behind this leader (estimated).", labels,
               static_cast<double>(lag.lag_bytes));
    sink.gauge("strata_replication_lag_seconds", "Seconds since a follower last caught up with this leader.", labels, lag.lag_seconds);
    sink.gauge("strata_replication_lag_offsets", "Offsets a follower is behind this leader.", labels, static_cast<double>(lag.lag_offsets));
  }
}

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
  if (streams.clustered()) collect_replication(sink, streams);
}

}  // namespace

metrics::registry::collector_id add_streams_collector(metrics::registry& registry, const streams::service& streams) {
  return registry.add_collector([&streams](metrics::collector_sink& sink) { collect(sink, streams); });
}

}  // namespace strata::admin
