// How service errors become Kafka error codes, and the status a handler
// returns for a body it cannot decode. Shared by every handler.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "kafka/protocol/api.h"
#include "kafka/server/handler.h"
#include "streams/service.h"

namespace strata::kafka {

// The Kafka error code for a streams error. duplicate_sequence maps to
// none: Kafka answers a retried duplicate batch with success and the
// original offset, and the Produce handler fills in that offset.
error_code to_kafka_error(streams::stream_error e);

// The Kafka error code for a status from a streams admin call (create_topic,
// delete_topic, create_partitions). invalid_argument and limit_exceeded
// become `invalid_as`, because only the caller knows which field was at fault.
error_code to_kafka_error(errc code, error_code invalid_as);

inline int16_t wire_code(error_code e) { return static_cast<int16_t>(e); }

// The wire form of `e`, after telling services.on_error about it when it is an
// error. Handlers write every response error code through this.
int16_t counted_code(const services& svc, const request_header& header, error_code e);

// counted_code for the `error` member of each result, before encoding them.
template <class Results>
void count_errors(const services& svc, const request_header& header, const Results& results) {
  for (const auto& r : results) (void)counted_code(svc, header, r.error);
}

// The error a handler returns when the request body cannot be decoded.
error malformed_request(const request_header& header);

}  // namespace strata::kafka
