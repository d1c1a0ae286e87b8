#include "admin/user_routes.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "admin/reply.h"
#include "auth/user_store.h"

namespace strata::admin {
namespace {

using nlohmann::json;

constexpr const char* create_shape = R"(expected {"name": "alice", "password": "..."})";
constexpr const char* password_shape = R"(expected {"password": "..."})";

json user_json(const auth::user_summary& u) {
  json mechanisms = json::array();
  for (const auto& m : u.mechanisms) {
    mechanisms.push_back({{"mechanism", auth::mechanism_name(m.hash)}, {"iterations", m.iterations}});
  }
  return {{"name", u.name}, {"mechanisms", mechanisms}};
}

// The name as one path segment: everything but unreserved characters is %XX.
std::string path_segment(std::string_view name) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 0xf];
    }
  }
  return out;
}

struct user_request {
  std::optional<std::string> name;
  std::optional<std::string> password;
};

// The fields of a create (`with_name`) or set-password body. The password is
// never echoed in an error.
result<user_request> parse_user_request(const std::string& body, bool with_name) {
  const char* shape = with_name ? create_shape : password_shape;
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(errc::invalid_argument, fmt::format("the request body is not a JSON object; {}", shape));
  }
  user_request out;
  for (const auto& [key, value] : doc.items()) {
    const bool known = key == "password" || (with_name && key == "name");
    if (!known) return make_error(errc::invalid_argument, fmt::format("unknown field {}; {}", key, shape));
    if (!value.is_string()) return make_error(errc::invalid_argument, fmt::format("{} must be a string; {}", key, shape));
    (key == "name" ? out.name : out.password) = value.get<std::string>();
  }
  if (with_name && !out.name) return make_error(errc::invalid_argument, fmt::format("name is required; {}", shape));
  if (!out.password) return make_error(errc::invalid_argument, fmt::format("password is required; {}", shape));
  return out;
}

// A name from the path, refused before the store sees it when oversized.
status check_name(const std::string& name) {
  if (name.size() > auth::user_name_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("the user name is longer than {} bytes", auth::user_name_bytes_max));
  }
  return {};
}

response described(auth::user_store& users, const std::string& name, int status) {
  auto user = users.describe(name);
  if (!user) return error_response(404, "not_found", fmt::format("no user {}; list them with GET /v1/users", name));
  return json_response(status, user_json(*user));
}

response list_users(auth::user_store& users) {
  json list = json::array();
  for (const auto& u : users.list()) list.push_back(user_json(u));
  return json_response(200, {{"users", list}});
}

response describe_user(auth::user_store& users, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name(name); !bad) return error_response(bad.err());
  return described(users, name, 200);
}

response create_user(auth::user_store& users, const request& req) {
  auto parsed = parse_user_request(req.body, /*with_name=*/true);
  if (!parsed) return error_response(parsed.err());
  if (auto created = users.create_user(*parsed->name, *parsed->password, auth::system_random()); !created) {
    return error_response(created.err());
  }
  response reply = described(users, *parsed->name, 201);
  if (reply.status == 201) reply.headers.emplace_back("Location", "/v1/users/" + path_segment(*parsed->name));
  return reply;
}

response set_password(auth::user_store& users, const request& req, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name(name); !bad) return error_response(bad.err());
  auto parsed = parse_user_request(req.body, /*with_name=*/false);
  if (!parsed) return error_response(parsed.err());
  if (auto changed = users.set_password(name, *parsed->password, auth::system_random()); !changed) {
    return error_response(changed.err());
  }
  return described(users, name, 200);
}

response delete_user(auth::user_store& users, const path_params& params) {
  const std::string& name = params.at("name");
  if (auto bad = check_name(name); !bad) return error_response(bad.err());
  if (auto deleted = users.delete_user(name); !deleted) return error_response(deleted.err());
  response reply;
  reply.status = 204;
  reply.content_type.clear();
  return reply;
}

using user_handler = response (*)(auth::user_store&, const request&, const path_params&);

handler guarded(auth::user_store* users, user_handler fn) {
  return [users, fn](const request& req, const path_params& params) {
    if (users == nullptr) {
      return error_response(503, "unavailable",
                            "users are unavailable: this server runs without a user store");
    }
    return fn(*users, req, params);
  };
}

}  // namespace

void add_user_routes(router& routes, auth::user_store* users) {
  routes.add("GET", "/v1/users", guarded(users, [](auth::user_store& u, const request&, const path_params&) {
               return list_users(u);
             }));
  routes.add("GET", "/v1/users/{name}", guarded(users, [](auth::user_store& u, const request&, const path_params& p) {
               return describe_user(u, p);
             }));
  routes.add_blocking("POST", "/v1/users", guarded(users, [](auth::user_store& u, const request& r, const path_params&) {
                        return create_user(u, r);
                      }));
  routes.add_blocking("PUT", "/v1/users/{name}",
                      guarded(users, [](auth::user_store& u, const request& r, const path_params& p) {
                        return set_password(u, r, p);
                      }));
  routes.add_blocking("DELETE", "/v1/users/{name}",
                      guarded(users, [](auth::user_store& u, const request&, const path_params& p) {
                        return delete_user(u, p);
                      }));
}

}  // namespace strata::admin
