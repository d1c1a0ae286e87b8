#include "app/kafka_metrics.h"

#include <array>
#include <memory>

namespace strata::app {

namespace {
struct api_series {
  metrics::counter* requests = nullptr;
  metrics::counter* bytes_in = nullptr;
  metrics::counter* bytes_out = nullptr;
  metrics::histogram* latency_ms = nullptr;
};
}  // namespace

kafka::server_observer make_kafka_observer(metrics::registry& registry) {
  // Children are looked up once per API so a request costs a few atomic adds.
  auto series = std::make_shared<std::array<api_series, 128>>();
  for (const auto& api : kafka::supported_apis()) {
    metrics::labels set{{"api", api.name}};
    auto& s = (*series)[static_cast<size_t>(api.key)];
    s.requests = &registry.counter("strata_kafka_requests_total", "Kafka requests answered, by API", set);
    s.bytes_in = &registry.counter("strata_kafka_received_bytes_total", "Bytes of Kafka requests received, by API", set);
    s.bytes_out = &registry.counter("strata_kafka_sent_bytes_total", "Bytes of Kafka responses sent, by API", set);
    s.latency_ms = &registry.histogram("strata_kafka_request_latency_ms",
                                       "Time from receiving a Kafka request to its response being ready, by API", set);
  }
  kafka::server_observer observer;
  observer.on_request = [series](const kafka::request_stats& stats) {
    if (stats.api_key < 0 || static_cast<size_t>(stats.api_key) >= series->size()) return;
    auto& s = (*series)[static_cast<size_t>(stats.api_key)];
    if (!s.requests) return;
    s.requests->inc();
    s.bytes_in->inc(stats.request_bytes);
    s.bytes_out->inc(stats.response_bytes);
    s.latency_ms->observe(stats.latency_ms);
  };
  observer.on_rejection = [&registry](kafka::rejection why, int16_t api_key) {
    registry
        .counter("strata_kafka_rejected_requests_total", "Kafka connections closed because of a bad request, by reason",
                 {{"reason", kafka::rejection_name(why)}, {"api", kafka::api_name(api_key)}})
        .inc();
  };
  return observer;
}

std::function<void(int16_t, kafka::error_code)> count_kafka_error(metrics::registry& registry) {
  return [&registry](int16_t api_key, kafka::error_code code) {
    registry
        .counter("strata_kafka_errors_total", "Error codes returned in Kafka responses, by API and Kafka error code",
                 {{"api", kafka::api_name(api_key)}, {"error_code", std::to_string(static_cast<int16_t>(code))}})
        .inc();
  };
}

}  // namespace strata::app
