#include "app/nbd_metrics.h"

#include <array>
#include <memory>

namespace strata::app {

namespace {
constexpr size_t commands_known = 16;  // NBD command numbers below this get their own series

struct command_series {
  metrics::counter* requests = nullptr;
  metrics::histogram* latency_ms = nullptr;
};
}  // namespace

nbd::server_observer make_nbd_observer(metrics::registry& registry) {
  auto series = std::make_shared<std::array<command_series, commands_known>>();
  for (uint16_t c = 0; c < commands_known; ++c) {
    metrics::labels set{{"command", nbd::command_name(c)}};
    (*series)[c].requests = &registry.counter("strata_nbd_requests_total", "NBD requests answered, by command", set);
    (*series)[c].latency_ms = &registry.histogram(
        "strata_nbd_request_latency_ms", "Time from an NBD request header to its reply being queued, by command", set);
  }
  auto& read_bytes = registry.counter("strata_nbd_read_bytes_total", "Bytes returned by successful NBD reads");
  auto& write_bytes = registry.counter("strata_nbd_written_bytes_total", "Bytes stored by successful NBD writes");
  nbd::server_observer observer;
  observer.on_request = [series, &read_bytes, &write_bytes, &registry](const nbd::request_stats& stats) {
    read_bytes.inc(stats.read_bytes);
    write_bytes.inc(stats.write_bytes);
    if (stats.command < commands_known) {
      (*series)[stats.command].requests->inc();
      (*series)[stats.command].latency_ms->observe(stats.latency_ms);
    }
    if (stats.error != 0) {
      registry
          .counter("strata_nbd_errors_total", "NBD requests answered with an error, by command and error",
                   {{"command", nbd::command_name(stats.command)}, {"error", nbd::error_name(stats.error)}})
          .inc();
    }
  };
  observer.on_rejection = [&registry](nbd::rejection why) {
    registry
        .counter("strata_nbd_rejected_connections_total", "NBD connections closed because of bad input, by reason",
                 {{"reason", nbd::rejection_name(why)}})
        .inc();
  };
  return observer;
}

}  // namespace strata::app
