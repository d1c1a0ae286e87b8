// Kafka request metrics: requests, bytes in and out, and latency by API;
// connections closed for bad requests by reason.
#pragma once

#include "kafka/server/server.h"
#include "metrics/registry.h"

namespace strata::app {

kafka::server_observer make_kafka_observer(metrics::registry& registry);

// Counts each error code a handler puts in a response, by API and code.
std::function<void(int16_t, kafka::error_code)> count_kafka_error(metrics::registry& registry);

}  // namespace strata::app
