#include "dbclone/records.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace strata::dbclone {
namespace {

using nlohmann::json;

std::string dump(json j) {
  j["v"] = records_version;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Parses a record, refusing newer format versions; exceptions from nlohmann
// stay inside this function.
template <class T, class Fill>
result<T> parse(std::string_view text, const char* what, Fill fill) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(errc::corrupt, fmt::format("database-clone {} record is not JSON", what));
  }
  int version = j.value("v", 0);
  if (version != records_version) {
    return make_error(errc::unsupported, fmt::format("database-clone {} record has format version {}; this build "
                                                     "reads version {}", what, version, records_version));
  }
  try {
    T out;
    fill(j, out);
    return out;
  } catch (const json::exception& e) {
    return make_error(errc::corrupt, fmt::format("database-clone {} record is malformed: {}", what, e.what()));
  }
}

}  // namespace

const char* mode_name(source_mode mode) { return mode == source_mode::physical ? "physical" : "logical"; }

result<source_mode> parse_mode(std::string_view text) {
  if (text == "physical") return source_mode::physical;
  if (text == "logical") return source_mode::logical;
  return make_error(errc::invalid_argument, fmt::format("mode \"{}\" is not physical or logical", text));
}

const char* clone_status_name(clone_status status) {
  switch (status) {
    case clone_status::creating: return "CREATING";
    case clone_status::ok: return "OK";
    case clone_status::resetting: return "RESETTING";
    case clone_status::deleting: return "DELETING";
    case clone_status::fatal: return "FATAL";
  }
  return "FATAL";
}

result<clone_status> parse_clone_status(std::string_view text) {
  for (auto s : {clone_status::creating, clone_status::ok, clone_status::resetting, clone_status::deleting,
                 clone_status::fatal}) {
    if (text == clone_status_name(s)) return s;
  }
  return make_error(errc::corrupt, fmt::format("unknown clone status \"{}\"", text));
}

std::string encode(const source_record& r) {
  const source_spec& s = r.spec;
  return dump({{"name", s.name}, {"mode", mode_name(s.mode)}, {"conninfo", s.conninfo}, {"databases", s.databases},
               {"backend", s.backend}, {"snapshot_schedule", s.snapshot_schedule},
               {"retention_limit", s.retention_limit}, {"refresh_schedule", s.refresh_schedule},
               {"preprocess_sql", s.preprocess_sql}, {"jobs", s.jobs}, {"status", r.status}, {"reason", r.reason},
               {"created_ms", r.created_ms}, {"base_generation", r.base_generation}, {"superuser", r.superuser},
               {"data_state_ms", r.data_state_ms}});
}

result<source_record> decode_source(std::string_view text) {
  return parse<source_record>(text, "source", [](const json& j, source_record& r) {
    source_spec& s = r.spec;
    s.name = j.at("name").get<std::string>();
    auto mode = parse_mode(j.at("mode").get<std::string>());
    s.mode = mode.ok() ? *mode : source_mode::physical;
    s.conninfo = j.at("conninfo").get<std::string>();
    s.databases = j.value("databases", std::vector<std::string>{});
    s.backend = j.value("backend", "btrfs");
    s.snapshot_schedule = j.value("snapshot_schedule", "");
    s.retention_limit = j.value("retention_limit", 0u);
    s.refresh_schedule = j.value("refresh_schedule", "");
    s.preprocess_sql = j.value("preprocess_sql", "");
    s.jobs = j.value("jobs", 2u);
    r.status = j.value("status", "error");
    r.reason = j.value("reason", "");
    r.created_ms = j.value("created_ms", int64_t{0});
    r.base_generation = j.value("base_generation", 1u);
    r.superuser = j.value("superuser", "");
    r.data_state_ms = j.value("data_state_ms", int64_t{0});
  });
}

std::string encode(const snapshot_record& r) {
  const snapshot_info& s = r.info;
  return dump({{"id", s.id}, {"source", s.source}, {"branch", s.branch}, {"parent", s.parent},
               {"message", s.message}, {"created_ms", s.created_ms}, {"data_state_ms", s.data_state_ms},
               {"size_bytes", s.size_bytes}, {"superuser", r.superuser}});
}

result<snapshot_record> decode_snapshot(std::string_view text) {
  return parse<snapshot_record>(text, "snapshot", [](const json& j, snapshot_record& r) {
    snapshot_info& s = r.info;
    s.id = j.at("id").get<std::string>();
    s.source = j.value("source", "");
    s.branch = j.value("branch", "");
    s.parent = j.value("parent", "");
    s.message = j.value("message", "");
    s.created_ms = j.value("created_ms", int64_t{0});
    s.data_state_ms = j.value("data_state_ms", int64_t{0});
    s.size_bytes = j.value("size_bytes", uint64_t{0});
    r.superuser = j.value("superuser", "");
  });
}

std::string encode(const clone_record& r) {
  const clone_info& c = r.info;
  return dump({{"id", c.id}, {"status", clone_status_name(c.status)}, {"reason", c.reason}, {"host", c.host},
               {"port", c.port}, {"snapshot", c.snapshot}, {"source", c.source}, {"branch", c.branch},
               {"user", c.user}, {"protected", c.is_protected}, {"settings", c.settings},
               {"created_ms", c.created_ms}, {"reset_ms", c.reset_ms}, {"clone_ms", c.clone_ms},
               {"verifier", r.verifier}, {"superuser", r.superuser}});
}

result<clone_record> decode_clone(std::string_view text) {
  return parse<clone_record>(text, "clone", [](const json& j, clone_record& r) {
    clone_info& c = r.info;
    c.id = j.at("id").get<std::string>();
    auto st = parse_clone_status(j.value("status", "FATAL"));
    c.status = st.ok() ? *st : clone_status::fatal;
    c.reason = j.value("reason", "");
    c.host = j.value("host", "");
    c.port = j.value("port", uint16_t{0});
    c.snapshot = j.value("snapshot", "");
    c.source = j.value("source", "");
    c.branch = j.value("branch", "");
    c.user = j.value("user", "");
    c.is_protected = j.value("protected", false);
    c.settings = j.value("settings", std::map<std::string, std::string>{});
    c.created_ms = j.value("created_ms", int64_t{0});
    c.reset_ms = j.value("reset_ms", int64_t{0});
    c.clone_ms = j.value("clone_ms", int64_t{0});
    r.verifier = j.value("verifier", "");
    r.superuser = j.value("superuser", "");
  });
}

std::string encode(const branch_info& r) {
  return dump({{"name", r.name}, {"head", r.head}, {"source", r.source}, {"created_ms", r.created_ms}});
}

result<branch_info> decode_branch(std::string_view text) {
  return parse<branch_info>(text, "branch", [](const json& j, branch_info& r) {
    r.name = j.at("name").get<std::string>();
    r.head = j.value("head", "");
    r.source = j.value("source", "");
    r.created_ms = j.value("created_ms", int64_t{0});
  });
}

}  // namespace strata::dbclone
