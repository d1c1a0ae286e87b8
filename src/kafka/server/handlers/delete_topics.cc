// DeleteTopics v0-6 (flexible from v4). v6 names each topic by name or by
// topic id. timeout_ms is ignored: deletion finishes before the response.
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

struct delete_target {
  std::optional<std::string> name;
  uuid topic_id{};
};

struct delete_result {
  std::optional<std::string> name;
  uuid topic_id{};
  error_code error = error_code::none;
  std::optional<std::string> message;
};

bool decode(reader& r, int16_t version, bool flex, std::vector<delete_target>& targets) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    delete_target t;
    if (version >= 6) {
      t.name = r.nullable_string(flex);
      t.topic_id = r.read_uuid();
      if (flex) r.skip_tagged_fields();
    } else {
      t.name = r.string(flex);
    }
    targets.push_back(std::move(t));
  }
  (void)r.i32();  // timeout_ms
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

bool is_zero(const uuid& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

std::optional<streams::topic_info> find_by_id(const streams::service& svc, const uuid& id) {
  for (auto& t : svc.list_topics()) {
    if (t.id == id) return std::move(t);
  }
  return std::nullopt;
}

// Fills in the name from the id (or the id from the name); false with an
// error set when the target names no topic.
bool resolve(const streams::service& svc, const delete_target& t, delete_result& res) {
  res.name = t.name;
  res.topic_id = t.topic_id;
  auto fail = [&res](error_code e, std::string message) {
    res.error = e;
    res.message = std::move(message);
    return false;
  };
  if (t.name && !is_zero(t.topic_id)) return fail(error_code::invalid_request, "give a topic name or a topic id, not both");
  if (!t.name) {
    if (is_zero(t.topic_id)) return fail(error_code::invalid_request, "give a topic name or a topic id");
    auto found = find_by_id(svc, t.topic_id);
    if (!found) return fail(error_code::unknown_topic_id, "no topic has this topic id");
    res.name = found->name;
    return true;
  }
  auto found = svc.describe_topic(*t.name);
  if (!found) return fail(to_kafka_error(found.code(), error_code::invalid_topic_exception), found.err().message);
  res.topic_id = found->id;
  return true;
}

delete_result delete_one(services& s, const request& req, const delete_target& t) {
  streams::service& svc = s.streams;
  delete_result res;
  if (!resolve(svc, t, res)) return res;
  if (!authorized(s, req, auth::operation::remove, auth::resource_type::topic, *res.name)) {
    res.error = error_code::topic_authorization_failed;
    res.message = std::string(req.principal) + " may not delete topic " + *res.name;
    return res;
  }
  if (auto st = svc.delete_topic(*res.name); !st) {
    res.error = to_kafka_error(st.code(), error_code::invalid_request);
    res.message = st.err().message;
  }
  return res;
}

std::vector<delete_result> delete_all(services& s, const request& req, const std::vector<delete_target>& targets) {
  return for_each_unique_topic(
      targets, [](const delete_target& t) { return t.name; },
      [&](const delete_target& t) { return delete_one(s, req, t); },
      [](const delete_target& t) {
        return delete_result{.name = t.name, .topic_id = t.topic_id, .error = error_code::invalid_request,
                             .message = duplicate_topic_message(*t.name)};
      });
}

void encode(writer& w, int16_t version, bool flex, const std::vector<delete_result>& results) {
  if (version >= 1) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& t : results) {
    if (version >= 6) {
      w.nullable_string(t.name, flex);
      w.write_uuid(t.topic_id);
    } else {
      w.string(t.name.value_or(""), flex);
    }
    w.i16(wire_code(t.error));
    if (version >= 5) w.nullable_string(t.message, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status delete_topics(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<delete_target> targets;
  if (!decode(r, version, flex, targets)) return malformed_request(req.header);
  writer w;
  auto results = delete_all(s, req, targets);
  count_errors(s, req.header, results);
  encode(w, version, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
