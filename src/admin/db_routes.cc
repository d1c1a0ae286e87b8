#include "admin/db_routes.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "admin/body_reader.h"
#include "admin/reply.h"
#include "base/utc_time.h"
#include "dbclone/service.h"

namespace strata::admin {
namespace {

using nlohmann::json;
using dbclone::service;

// ---- JSON out ----

std::string rfc3339(int64_t ms) {
  if (ms <= 0) return "";
  return format_utc_ms(ms, "%Y-%m-%dT%H:%M:%SZ");
}

json source_json(const dbclone::source_info& s) {
  json sync = nullptr;
  if (s.spec.mode == dbclone::source_mode::physical) {
    sync = {{"pid", s.sync_pid}, {"replay_lag_bytes", s.replay_lag_bytes},
            {"replay_lag_seconds", s.replay_lag_seconds}, {"last_replay_at", rfc3339(s.last_replay_ms)}};
  }
  return {{"name", s.spec.name},
          {"mode", s.spec.mode == dbclone::source_mode::physical ? "physical" : "logical"},
          {"backend", s.spec.backend},
          {"conninfo", s.spec.conninfo},
          {"databases", s.spec.databases},
          {"status", s.status},
          {"reason", s.reason},
          {"progress", {{"done_bytes", s.progress_done_bytes}, {"total_bytes", s.progress_total_bytes}}},
          {"created_at", rfc3339(s.created_ms)},
          {"snapshot_schedule", s.spec.snapshot_schedule},
          {"retention_limit", s.spec.retention_limit},
          {"refresh_schedule", s.spec.refresh_schedule},
          {"preprocess_sql", !s.spec.preprocess_sql.empty()},
          {"jobs", s.spec.jobs},
          {"sync", sync},
          {"snapshots", s.snapshots},
          {"latest_snapshot", s.latest_snapshot}};
}

json snapshot_json(const dbclone::snapshot_info& s) {
  return {{"id", s.id},           {"source", s.source},
          {"branch", s.branch},   {"parent", s.parent},
          {"message", s.message}, {"created_at", rfc3339(s.created_ms)},
          {"data_state_at", rfc3339(s.data_state_ms)}, {"size_bytes", s.size_bytes},
          {"clones", s.clones},   {"status", "ready"}};
}

json clone_json(const dbclone::clone_info& c) {
  return {{"id", c.id},
          {"status", dbclone::clone_status_name(c.status)},
          {"reason", c.reason},
          {"host", c.host},
          {"port", c.port},
          {"snapshot", c.snapshot},
          {"source", c.source},
          {"branch", c.branch},
          {"user", c.user},
          {"protected", c.is_protected},
          {"exclusive_bytes", c.exclusive_bytes},
          {"created_at", rfc3339(c.created_ms)},
          {"reset_at", rfc3339(c.reset_ms)},
          {"clone_ms", c.clone_ms},
          {"pid", c.pid},
          {"settings", c.settings}};
}

json branch_json(const dbclone::branch_info& b) {
  return {{"name", b.name}, {"head", b.head}, {"source", b.source}, {"created_at", rfc3339(b.created_ms)}};
}

// An object in use or busy is a conflict with its state (409); the face
// being off on this server is the only 503.
response db_error(const error& err) {
  if (err.code == errc::unavailable || err.code == errc::limit_exceeded) {
    return error_response(409, errc_name(err.code), err.message);
  }
  return error_response(err);
}

// ---- requests in ----

// ?async=true; any other value of async is an error.
result<bool> async_flag(const request& req) {
  auto params = query_params(req.target, {"async"});
  STRATA_TRY(params);
  auto it = params->find("async");
  if (it == params->end() || it->second == "false") return false;
  if (it->second == "true") return true;
  return make_error(errc::invalid_argument, "async must be true or false");
}

result<dbclone::source_spec> parse_source(const request& req) {
  auto body = body_reader::parse(req.body, {"name", "mode", "conninfo", "databases", "backend", "snapshot_schedule",
                                            "retention_limit", "refresh_schedule", "preprocess_sql", "jobs"});
  STRATA_TRY(body);
  dbclone::source_spec spec;
  std::string mode = "physical";
  STRATA_TRY(body->str("name", spec.name));
  STRATA_TRY(body->str("mode", mode));
  auto parsed_mode = mode == "physical"  ? result<dbclone::source_mode>(dbclone::source_mode::physical)
                     : mode == "logical" ? result<dbclone::source_mode>(dbclone::source_mode::logical)
                                         : result<dbclone::source_mode>(make_error(
                                               errc::invalid_argument, "mode must be \"physical\" or \"logical\""));
  STRATA_TRY(parsed_mode);
  spec.mode = *parsed_mode;
  STRATA_TRY(body->str("conninfo", spec.conninfo));
  STRATA_TRY(body->strings("databases", spec.databases));
  STRATA_TRY(body->str("backend", spec.backend));
  STRATA_TRY(body->str("snapshot_schedule", spec.snapshot_schedule));
  STRATA_TRY(body->u32("retention_limit", spec.retention_limit));
  STRATA_TRY(body->str("refresh_schedule", spec.refresh_schedule));
  STRATA_TRY(body->str("preprocess_sql", spec.preprocess_sql));
  STRATA_TRY(body->u32("jobs", spec.jobs));
  if (spec.name.empty()) return make_error(errc::invalid_argument, "name is required");
  return spec;
}

result<dbclone::clone_spec> parse_clone(const request& req) {
  auto body = body_reader::parse(req.body, {"id", "source", "snapshot", "branch", "user", "password", "protected",
                                            "settings"});
  STRATA_TRY(body);
  dbclone::clone_spec spec;
  STRATA_TRY(body->str("id", spec.id));
  STRATA_TRY(body->str("source", spec.source));
  STRATA_TRY(body->str("snapshot", spec.snapshot));
  STRATA_TRY(body->str("branch", spec.branch));
  STRATA_TRY(body->str("user", spec.user));
  STRATA_TRY(body->str("password", spec.password));
  STRATA_TRY(body->boolean("protected", spec.is_protected));
  STRATA_TRY(body->string_map("settings", spec.settings));
  if (spec.id.empty()) return make_error(errc::invalid_argument, "id is required");
  return spec;
}

// ---- routes ----

using db_handler = std::function<response(service&, const request&, const path_params&)>;

// Every route first checks that the face is on and usable on this server.
handler guarded(service* svc, db_handler fn) {
  return [svc, fn = std::move(fn)](const request& req, const path_params& params) {
    if (svc == nullptr) return error_response(503, "unavailable", "database clones are off on this server");
    return fn(*svc, req, params);
  };
}

response created_or_accepted(bool async, const json& body) { return json_response(async ? 202 : 201, body); }

response no_content() {
  response reply;
  reply.status = 204;
  reply.content_type.clear();
  return reply;
}

response create_source(service& svc, const request& req) {
  auto async = async_flag(req);
  if (!async.ok()) return error_response(async.err());
  auto spec = parse_source(req);
  if (!spec.ok()) return error_response(spec.err());
  auto made = svc.create_source(*spec);
  if (!made.ok()) return db_error(made.err());
  return created_or_accepted(*async, source_json(*made));
}

response list_snapshots(service& svc, const request& req) {
  auto params = query_params(req.target, {"source"});
  if (!params.ok()) return error_response(params.err());
  auto it = params->find("source");
  json list = json::array();
  for (const auto& s : svc.list_snapshots(it == params->end() ? "" : it->second)) list.push_back(snapshot_json(s));
  return json_response(200, {{"snapshots", list}});
}

response create_clone(service& svc, const request& req) {
  auto async = async_flag(req);
  if (!async.ok()) return error_response(async.err());
  auto spec = parse_clone(req);
  if (!spec.ok()) return error_response(spec.err());
  auto made = svc.create_clone(*spec, !*async);
  if (!made.ok()) return db_error(made.err());
  return created_or_accepted(*async, clone_json(*made));
}

response reset_clone(service& svc, const request& req, const std::string& id) {
  auto async = async_flag(req);
  if (!async.ok()) return error_response(async.err());
  auto body = body_reader::parse(req.body, {"snapshot", "latest"});
  if (!body.ok()) return error_response(body.err());
  std::string snapshot;
  bool latest = false;
  if (auto st = body->str("snapshot", snapshot); !st.ok()) return error_response(st.err());
  if (auto st = body->boolean("latest", latest); !st.ok()) return error_response(st.err());
  auto reset = svc.reset_clone(id, snapshot, latest, !*async);
  if (!reset.ok()) return db_error(reset.err());
  return json_response(*async ? 202 : 200, clone_json(*reset));
}

response create_branch(service& svc, const request& req) {
  auto body = body_reader::parse(req.body, {"name", "snapshot", "from_branch"});
  if (!body.ok()) return error_response(body.err());
  std::string name, snapshot, from;
  for (auto [key, out] : {std::pair{"name", &name}, {"snapshot", &snapshot}, {"from_branch", &from}}) {
    if (auto st = body->str(key, *out); !st.ok()) return error_response(st.err());
  }
  auto made = svc.create_branch(name, snapshot, from);
  if (!made.ok()) return db_error(made.err());
  return json_response(201, branch_json(*made));
}

response commit_branch(service& svc, const request& req, const std::string& branch) {
  auto body = body_reader::parse(req.body, {"clone", "message"});
  if (!body.ok()) return error_response(body.err());
  std::string clone, message;
  if (auto st = body->str("clone", clone); !st.ok()) return error_response(st.err());
  if (auto st = body->str("message", message); !st.ok()) return error_response(st.err());
  if (clone.empty()) return error_response(400, "invalid_argument", "clone is required: the clone to commit");
  auto made = svc.commit_branch(branch, clone, message);
  if (!made.ok()) return db_error(made.err());
  return json_response(201, snapshot_json(*made));
}

template <class T, class ToJson>
response one_or_error(const result<T>& r, ToJson to_json) {
  if (!r.ok()) return db_error(r.err());
  return json_response(200, to_json(*r));
}

response deleted(const status& st) { return st.ok() ? no_content() : db_error(st.err()); }

void add_source_routes(router& routes, service* svc) {
  routes.add_blocking("POST", "/v1/db/sources", guarded(svc, [](service& s, const request& req, const path_params&) {
                        return create_source(s, req);
                      }));
  routes.add("GET", "/v1/db/sources", guarded(svc, [](service& s, const request&, const path_params&) {
               json list = json::array();
               for (const auto& src : s.list_sources()) list.push_back(source_json(src));
               return json_response(200, {{"sources", list}});
             }));
  routes.add("GET", "/v1/db/sources/{name}", guarded(svc, [](service& s, const request&, const path_params& p) {
               return one_or_error(s.get_source(p.at("name")), source_json);
             }));
  routes.add_blocking("DELETE", "/v1/db/sources/{name}",
                      guarded(svc, [](service& s, const request&, const path_params& p) {
                        return deleted(s.delete_source(p.at("name")));
                      }));
  routes.add_blocking("POST", "/v1/db/sources/{name}/snapshots",
                      guarded(svc, [](service& s, const request& req, const path_params& p) {
                        auto body = body_reader::parse(req.body, {"message"});
                        if (!body.ok()) return error_response(body.err());
                        std::string message;
                        if (auto st = body->str("message", message); !st.ok()) return error_response(st.err());
                        auto made = s.create_snapshot(p.at("name"), message);
                        if (!made.ok()) return db_error(made.err());
                        return json_response(201, snapshot_json(*made));
                      }));
}

void add_snapshot_routes(router& routes, service* svc) {
  routes.add("GET", "/v1/db/snapshots",
             guarded(svc, [](service& s, const request& req, const path_params&) { return list_snapshots(s, req); }));
  routes.add("GET", "/v1/db/snapshots/{id}", guarded(svc, [](service& s, const request&, const path_params& p) {
               return one_or_error(s.get_snapshot(p.at("id")), snapshot_json);
             }));
  routes.add_blocking("DELETE", "/v1/db/snapshots/{id}",
                      guarded(svc, [](service& s, const request&, const path_params& p) {
                        return deleted(s.delete_snapshot(p.at("id")));
                      }));
}

void add_clone_routes(router& routes, service* svc) {
  routes.add_blocking("POST", "/v1/db/clones",
                      guarded(svc, [](service& s, const request& req, const path_params&) { return create_clone(s, req); }));
  routes.add("GET", "/v1/db/clones", guarded(svc, [](service& s, const request&, const path_params&) {
               json list = json::array();
               for (const auto& c : s.list_clones()) list.push_back(clone_json(c));
               return json_response(200, {{"clones", list}});
             }));
  routes.add("GET", "/v1/db/clones/{id}", guarded(svc, [](service& s, const request&, const path_params& p) {
               return one_or_error(s.get_clone(p.at("id")), clone_json);
             }));
  routes.add_blocking("POST", "/v1/db/clones/{id}/reset",
                      guarded(svc, [](service& s, const request& req, const path_params& p) {
                        return reset_clone(s, req, p.at("id"));
                      }));
  routes.add_blocking("DELETE", "/v1/db/clones/{id}", guarded(svc, [](service& s, const request&, const path_params& p) {
                        return deleted(s.delete_clone(p.at("id")));
                      }));
}

void add_branch_routes(router& routes, service* svc) {
  routes.add("POST", "/v1/db/branches",
             guarded(svc, [](service& s, const request& req, const path_params&) { return create_branch(s, req); }));
  routes.add("GET", "/v1/db/branches", guarded(svc, [](service& s, const request&, const path_params&) {
               json list = json::array();
               for (const auto& b : s.list_branches()) list.push_back(branch_json(b));
               return json_response(200, {{"branches", list}});
             }));
  routes.add_blocking("POST", "/v1/db/branches/{name}/commit",
                      guarded(svc, [](service& s, const request& req, const path_params& p) {
                        return commit_branch(s, req, p.at("name"));
                      }));
  routes.add("GET", "/v1/db/branches/{name}/log", guarded(svc, [](service& s, const request&, const path_params& p) {
               auto log = s.branch_log(p.at("name"));
               if (!log.ok()) return db_error(log.err());
               json list = json::array();
               for (const auto& snap : *log) list.push_back(snapshot_json(snap));
               return json_response(200, {{"branch", p.at("name")}, {"log", list}});
             }));
  routes.add("DELETE", "/v1/db/branches/{name}", guarded(svc, [](service& s, const request&, const path_params& p) {
               return deleted(s.delete_branch(p.at("name")));
             }));
}

}  // namespace

void add_db_routes(router& routes, dbclone::service* db) {
  add_source_routes(routes, db);
  add_snapshot_routes(routes, db);
  add_clone_routes(routes, db);
  add_branch_routes(routes, db);
}

}  // namespace strata::admin
