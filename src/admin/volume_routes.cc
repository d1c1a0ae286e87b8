#include "admin/volume_routes.h"

#include <fmt/format.h>

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "admin/reply.h"
#include "base/size_text.h"
#include "volumes/service.h"

namespace strata::admin {
namespace {

using nlohmann::json;

constexpr const char* volume_shape =
    R"(expected {"name": "vm1", "size": "10G"} or {"name": "vm1", "size_bytes": 10737418240})";
constexpr const char* resize_shape = R"(expected {"size": "20G"} or {"size_bytes": 21474836480})";
constexpr const char* snapshot_shape = R"(expected {"volume": "vm1", "name": "s1"})";
constexpr const char* clone_shape = R"(expected {"snapshot": "vm1@s1", "name": "vm2"})";
constexpr size_t query_bytes_max = 1024;

// ---- JSON out ----

json volume_json(const volumes::volume_info& v) {
  return {{"name", v.name},
          {"size_bytes", v.size_bytes},
          {"allocated_bytes", v.allocated_bytes},
          {"origin", v.origin},
          {"created_ms", v.created_ms},
          {"snapshots", v.snapshots},
          {"open_exports", v.open_exports}};
}

std::string export_name(const std::string& volume, const std::string& snapshot) { return volume + "@" + snapshot; }

json snapshot_json(const volumes::snapshot_info& s) {
  return {{"volume", s.volume},
          {"name", s.name},
          {"export", export_name(s.volume, s.name)},
          {"size_bytes", s.size_bytes},
          {"allocated_bytes", s.allocated_bytes},
          {"created_ms", s.created_ms},
          {"clones", s.clones}};
}

json usage_json(const volumes::usage_info& u) {
  return {{"allocated_bytes", u.allocated_bytes},
          {"layers", u.layers},
          {"hidden_layers", u.hidden_layers},
          {"client_write_bytes", u.client_write_bytes},
          {"disk_write_bytes", u.disk_write_bytes},
          {"map_write_bytes", u.map_write_bytes},
          {"flushes", u.flushes}};
}

response created(const json& body, std::string location) {
  response reply = json_response(201, body);
  reply.headers.emplace_back("Location", std::move(location));
  return reply;
}

response no_content() {
  response reply;
  reply.status = 204;
  reply.content_type.clear();
  return reply;
}

// A delete refused because an NBD export holds the volume or snapshot open is
// a conflict with the resource's state, not an outage: 409.
response delete_error(const error& err) {
  if (err.code == errc::unavailable) return error_response(409, errc_name(err.code), err.message);
  return error_response(err);
}

// ---- requests in ----

result<json> parse_object(const std::string& body, const char* shape) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(errc::invalid_argument, fmt::format("the request body is not a JSON object; {}", shape));
  }
  return doc;
}

status check_name(std::string_view field, const std::string& name) {
  if (name.size() > volume_name_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("{} is longer than {} characters; use 1-{} of [A-Za-z0-9._-]",
                                                          field, volume_name_bytes_max, volume_name_bytes_max));
  }
  return {};
}

result<std::string> name_field(std::string_view field, const json& value) {
  if (!value.is_string()) return make_error(errc::invalid_argument, fmt::format("{} must be a string", field));
  std::string name = value.get<std::string>();
  STRATA_TRY(check_name(field, name));
  return name;
}

result<uint64_t> size_bytes_field(const json& value) {
  if (!value.is_number_unsigned()) {
    return make_error(errc::invalid_argument, "size_bytes must be a whole number of bytes, e.g. 10737418240");
  }
  return value.get<uint64_t>();
}

result<uint64_t> size_field(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (!value.is_string()) {
    return make_error(errc::invalid_argument, R"(size must be a string such as "10G" or "512M")");
  }
  auto bytes = parse_size(value.get<std::string>());
  if (!bytes) return make_error(errc::invalid_argument, "size " + bytes.err().message);
  return *bytes;
}

// Reads "size_bytes" or "size" (exactly one of them) into `out`.
status take_size(const std::string& key, const json& value, std::optional<uint64_t>& out) {
  if (out) return make_error(errc::invalid_argument, "give either size or size_bytes, not both");
  auto bytes = key == "size_bytes" ? size_bytes_field(value) : size_field(value);
  STRATA_TRY(bytes);
  out = *bytes;
  return {};
}

struct volume_request {
  std::string name;
  std::optional<uint64_t> size_bytes;
};

// Fields of a create ("name" allowed) or resize (no "name") body.
result<volume_request> parse_volume_request(const std::string& body, bool with_name) {
  const char* shape = with_name ? volume_shape : resize_shape;
  auto doc = parse_object(body, shape);
  STRATA_TRY(doc);
  volume_request req;
  for (const auto& [key, value] : doc->items()) {
    if (with_name && key == "name") {
      auto name = name_field("name", value);
      STRATA_TRY(name);
      req.name = std::move(*name);
    } else if (key == "size_bytes" || key == "size") {
      STRATA_TRY(take_size(key, value, req.size_bytes));
    } else {
      return make_error(errc::invalid_argument, fmt::format("unknown field {}; {}", key, shape));
    }
  }
  if (with_name && req.name.empty())
    return make_error(errc::invalid_argument, fmt::format("name is required; {}", shape));
  if (!req.size_bytes) return make_error(errc::invalid_argument, fmt::format("size is required; {}", shape));
  return req;
}

// Reads the listed string fields of a body; every one is required.
result<std::map<std::string, std::string>> parse_names(const std::string& body,
                                                       std::initializer_list<const char*> fields, const char* shape) {
  auto doc = parse_object(body, shape);
  STRATA_TRY(doc);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : doc->items()) {
    bool known = false;
    for (const char* field : fields) known = known || key == field;
    if (!known) return make_error(errc::invalid_argument, fmt::format("unknown field {}; {}", key, shape));
    auto name = name_field(key, value);
    STRATA_TRY(name);
    out[key] = std::move(*name);
  }
  for (const char* field : fields) {
    if (out[field].empty()) return make_error(errc::invalid_argument, fmt::format("{} is required; {}", field, shape));
  }
  return out;
}

struct snapshot_ref {
  std::string volume;
  std::string snapshot;
};

// "vm1@s1" -> {vm1, s1}. Names cannot hold '@', so there is exactly one.
result<snapshot_ref> parse_snapshot_ref(const std::string& text) {
  size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size() || text.find('@', at + 1) != std::string::npos) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1", text));
  }
  snapshot_ref ref{text.substr(0, at), text.substr(at + 1)};
  STRATA_TRY(check_name("the volume name", ref.volume));
  STRATA_TRY(check_name("the snapshot name", ref.snapshot));
  return ref;
}

// The ?volume=NAME filter of GET /v1/snapshots; empty when absent.
result<std::string> volume_filter(const std::string& target) {
  auto params = query_params(target, {"volume"}, query_bytes_max);
  STRATA_TRY(params);
  auto it = params->find("volume");
  if (it == params->end()) return std::string();
  STRATA_TRY(check_name("the volume name", it->second));
  return it->second;
}

// ---- routes ----

response list_volumes(volumes::service& svc) {
  json list = json::array();
  for (const auto& v : svc.list_volumes()) list.push_back(volume_json(v));
  return json_response(200, {{"volumes", list}, {"usage", usage_json(svc.usage())}});
}

response create_volume(volumes::service& svc, const request& req) {
  auto parsed = parse_volume_request(req.body, /*with_name=*/true);
  if (!parsed) return error_response(parsed.err());
  auto volume = svc.create_volume(parsed->name, *parsed->size_bytes);
  if (!volume) return error_response(volume.err());
  return created(volume_json(*volume), "/v1/volumes/" + volume->name);
}

response describe_volume(volumes::service& svc, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name("the volume name", name); !bad) return error_response(bad.err());
  auto volume = svc.describe_volume(name);
  if (!volume) return error_response(volume.err());
  return json_response(200, volume_json(*volume));
}

response resize_volume(volumes::service& svc, const request& req, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name("the volume name", name); !bad) return error_response(bad.err());
  auto parsed = parse_volume_request(req.body, /*with_name=*/false);
  if (!parsed) return error_response(parsed.err());
  auto volume = svc.resize_volume(name, *parsed->size_bytes);
  if (!volume) return error_response(volume.err());
  return json_response(200, volume_json(*volume));
}

response delete_volume(volumes::service& svc, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name("the volume name", name); !bad) return error_response(bad.err());
  if (auto deleted = svc.delete_volume(name); !deleted) return delete_error(deleted.err());
  return no_content();
}

response list_snapshots(volumes::service& svc, const request& req) {
  auto volume = volume_filter(req.target);
  if (!volume) return error_response(volume.err());
  auto snapshots = svc.list_snapshots(*volume);
  if (!snapshots) return error_response(snapshots.err());
  json list = json::array();
  for (const auto& s : *snapshots) list.push_back(snapshot_json(s));
  return json_response(200, {{"snapshots", list}});
}

response create_snapshot(volumes::service& svc, const request& req) {
  auto names = parse_names(req.body, {"volume", "name"}, snapshot_shape);
  if (!names) return error_response(names.err());
  auto snapshot = svc.create_snapshot((*names)["volume"], (*names)["name"]);
  if (!snapshot) return error_response(snapshot.err());
  return created(snapshot_json(*snapshot), "/v1/snapshots/" + export_name(snapshot->volume, snapshot->name));
}

response describe_snapshot(volumes::service& svc, const path_params& params) {
  auto ref = parse_snapshot_ref(params.at("snapshot"));
  if (!ref) return error_response(ref.err());
  auto snapshots = svc.list_snapshots(ref->volume);
  if (!snapshots) return error_response(snapshots.err());
  for (const auto& s : *snapshots) {
    if (s.name == ref->snapshot) return json_response(200, snapshot_json(s));
  }
  return error_response(404, "not_found",
                        fmt::format("volume {} has no snapshot {}; list them with GET /v1/snapshots?volume={}",
                                    ref->volume, ref->snapshot, ref->volume));
}

response delete_snapshot(volumes::service& svc, const path_params& params) {
  auto ref = parse_snapshot_ref(params.at("snapshot"));
  if (!ref) return error_response(ref.err());
  if (auto deleted = svc.delete_snapshot(ref->volume, ref->snapshot); !deleted) return delete_error(deleted.err());
  return no_content();
}

response list_clones(volumes::service& svc) {
  json list = json::array();
  for (const auto& v : svc.list_volumes()) {
    if (!v.origin.empty()) list.push_back(volume_json(v));
  }
  return json_response(200, {{"clones", list}});
}

response create_clone(volumes::service& svc, const request& req) {
  auto names = parse_names(req.body, {"snapshot", "name"}, clone_shape);
  if (!names) return error_response(names.err());
  auto ref = parse_snapshot_ref((*names)["snapshot"]);
  if (!ref) return error_response(ref.err());
  auto clone = svc.create_clone(ref->volume, ref->snapshot, (*names)["name"]);
  if (!clone) return error_response(clone.err());
  return created(volume_json(*clone), "/v1/volumes/" + clone->name);
}

using volume_handler = response (*)(volumes::service&, const request&, const path_params&);

// Every route answers 503 when the server runs without the volumes face.
handler guarded(volumes::service* svc, volume_handler fn) {
  return [svc, fn](const request& req, const path_params& params) {
    if (svc == nullptr) {
      return error_response(503, "unavailable",
                            "the volumes face is not enabled on this server; volumes, snapshots and clones are "
                            "unavailable");
    }
    return fn(*svc, req, params);
  };
}

}  // namespace

void add_volume_routes(router& routes, volumes::service* svc) {
  auto add = [&](const char* method, std::string_view pattern, volume_handler fn) {
    routes.add(method, pattern, guarded(svc, fn));
  };
  add("GET", "/v1/volumes", [](volumes::service& s, const request&, const path_params&) { return list_volumes(s); });
  add("POST", "/v1/volumes",
      [](volumes::service& s, const request& r, const path_params&) { return create_volume(s, r); });
  add("GET", "/v1/volumes/{name}",
      [](volumes::service& s, const request&, const path_params& p) { return describe_volume(s, p); });
  add("DELETE", "/v1/volumes/{name}",
      [](volumes::service& s, const request&, const path_params& p) { return delete_volume(s, p); });
  add("POST", "/v1/volumes/{name}/resize",
      [](volumes::service& s, const request& r, const path_params& p) { return resize_volume(s, r, p); });
  add("GET", "/v1/snapshots",
      [](volumes::service& s, const request& r, const path_params&) { return list_snapshots(s, r); });
  add("POST", "/v1/snapshots",
      [](volumes::service& s, const request& r, const path_params&) { return create_snapshot(s, r); });
  add("GET", "/v1/snapshots/{snapshot}",
      [](volumes::service& s, const request&, const path_params& p) { return describe_snapshot(s, p); });
  add("DELETE", "/v1/snapshots/{snapshot}",
      [](volumes::service& s, const request&, const path_params& p) { return delete_snapshot(s, p); });
  add("GET", "/v1/clones", [](volumes::service& s, const request&, const path_params&) { return list_clones(s); });
  add("POST", "/v1/clones",
      [](volumes::service& s, const request& r, const path_params&) { return create_clone(s, r); });
}

}  // namespace strata::admin
