// How service errors become Kafka error codes, and the status a handler
// returns for a body it cannot decode. Shared by every handler.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "kafka/protocol/api.h"
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

// The error a handler returns when the request body cannot be decoded.
error malformed_request(const request_header& header);

}  // namespace strata::kafka
