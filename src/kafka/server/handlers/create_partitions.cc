// CreatePartitions v0-3 (flexible from v2): grows a topic to `count`
// partitions. Partitions are never placed by hand on a single node, and a
// topic cannot shrink. timeout_ms is ignored: the work finishes before the
// response.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/unique_topics.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct partitions_topic {
  std::string name;
  int32_t count = 0;
  bool has_assignments = false;
};

struct partitions_request {
  std::vector<partitions_topic> topics;
  bool validate_only = false;
};

struct partitions_result {
  std::string name;
  error_code error = error_code::none;
  std::optional<std::string> message;
};

partitions_topic decode_topic(reader& r, bool flex) {
  partitions_topic t;
  t.name = r.string(flex);
  t.count = r.i32();
  int32_t n = r.array_length(flex);  // -1 (null) or 0 when the broker places partitions
  t.has_assignments = n > 0;
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    int32_t brokers = r.array_length(flex);
    for (int32_t b = 0; b < brokers && r.ok(); ++b) (void)r.i32();
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  return t;
}

bool decode(reader& r, bool flex, partitions_request& req) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) req.topics.push_back(decode_topic(r, flex));
  (void)r.i32();  // timeout_ms
  req.validate_only = r.boolean();
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

partitions_result failed(const std::string& name, error_code e, std::optional<std::string> message) {
  return {.name = name, .error = e, .message = std::move(message)};
}

partitions_result grow_one(streams::service& svc, const partitions_topic& t, bool validate_only) {
  if (t.has_assignments) {
    return failed(t.name, error_code::invalid_request,
                  "manual replica assignment is not supported on a single node: send null assignments");
  }
  auto info = svc.describe_topic(t.name);
  if (!info) return failed(t.name, to_kafka_error(info.code(), error_code::invalid_topic_exception), info.err().message);
  auto current = static_cast<int32_t>(info->partitions.size());
  if (t.count <= current) {
    return failed(t.name, error_code::invalid_partitions,
                  "topic " + t.name + " has " + std::to_string(current) + " partitions; the new count " +
                      std::to_string(t.count) + " must be larger (partitions cannot be removed)");
  }
  int32_t max = svc.config().partitions_max;
  if (t.count > max) {
    return failed(t.name, error_code::invalid_partitions,
                  "partition count " + std::to_string(t.count) + " exceeds the limit of " + std::to_string(max));
  }
  if (validate_only) return failed(t.name, error_code::none, std::nullopt);
  if (auto st = svc.create_partitions(t.name, t.count); !st) {
    return failed(t.name, to_kafka_error(st.code(), error_code::invalid_partitions), st.err().message);
  }
  return failed(t.name, error_code::none, std::nullopt);
}

std::vector<partitions_result> grow_all(services& s, const request& req, const partitions_request& parsed) {
  return for_each_unique_topic(
      parsed.topics, [](const partitions_topic& t) { return std::optional<std::string>(t.name); },
      [&](const partitions_topic& t) {
        if (!authorized(s, req, auth::operation::alter, auth::resource_type::topic, t.name)) {
          return failed(t.name, error_code::topic_authorization_failed,
                        std::string(req.principal) + " may not alter topic " + t.name);
        }
        return grow_one(s.streams, t, parsed.validate_only);
      },
      [](const partitions_topic& t) { return failed(t.name, error_code::invalid_request, duplicate_topic_message(t.name)); });
}

void encode(writer& w, bool flex, const std::vector<partitions_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& t : results) {
    w.string(t.name, flex);
    w.i16(wire_code(t.error));
    w.nullable_string(t.message, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status create_partitions(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  partitions_request parsed;
  if (!decode(r, flex, parsed)) return malformed_request(req.header);
  writer w;
  auto results = grow_all(s, req, parsed);
  count_errors(s, req.header, results);
  encode(w, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
