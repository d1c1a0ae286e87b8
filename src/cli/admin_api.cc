#include "cli/admin_api.h"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <cstdlib>

#include "cli/http_client.h"
#include "cli/topic_commands.h"

namespace strata::cli {
namespace {

constexpr size_t body_excerpt_bytes = 200;

errc errc_for_status(int status) {
  switch (status) {
    case 400: return errc::invalid_argument;
    case 404: return errc::not_found;
    case 409: return errc::already_exists;
    case 413:
    case 431: return errc::limit_exceeded;
    case 503: return errc::unavailable;
    case 504: return errc::timed_out;
    case 507: return errc::no_space;
    default: return errc::internal;
  }
}

// The server's own message if the body is our error shape, else a summary.
std::string server_message(const http_response& res) {
  auto doc = nlohmann::json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("error")) {
    std::string message = field_text(doc["error"], "message");
    if (message != "-") return message;
  }
  std::string excerpt = res.body.substr(0, body_excerpt_bytes);
  return fmt::format("the admin API answered HTTP {}{}{}", res.status, excerpt.empty() ? "" : ": ", excerpt);
}

}  // namespace

result<nlohmann::json> call_admin_api(const std::string& admin_url, std::string_view method, std::string_view target,
                                      const nlohmann::json& body, int expected_status, int64_t timeout_ms) {
  http_client_limits limits;
  limits.timeout_ms = timeout_ms;
  http_client_security security = admin_security_from_environment();
  const bool token_sent = !security.bearer_token.empty();
  auto client = http_client::create(admin_url, limits, std::move(security));
  STRATA_TRY(client);
  std::string payload = body.is_null() ? "" : body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto res = client->request(method, target, payload);
  STRATA_TRY(res);
  if (res->status == 401 && expected_status != 401) {
    return make_error(errc::invalid_argument, unauthorized_message(admin_url, token_sent));
  }
  if (res->status != expected_status) return make_error(errc_for_status(res->status), server_message(*res));
  if (res->body.empty()) return nlohmann::json();
  auto doc = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return make_error(errc::invalid_argument,
                      fmt::format("the admin API at {} answered with malformed JSON; is it a Strata server of the "
                                  "same version?",
                                  admin_url));
  }
  return doc;
}

int report_failure(std::ostream& err, const error& failure) {
  err << "strata: " << failure.message << "\n";
  return 1;
}

std::string field_text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "-";
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const nlohmann::json& json_member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json missing;
  if (!object.is_object()) return missing;
  auto it = object.find(key);
  return it == object.end() ? missing : *it;
}

std::string admin_url_from_environment() {
  const char* env = std::getenv("STRATA_ADMIN");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(default_admin_url);
}

http_client_security admin_security_from_environment() {
  http_client_security out;
  if (const char* token = std::getenv("STRATA_TOKEN"); token != nullptr) {
    constexpr const char* blank = " \t\r\n";
    std::string_view t = token;
    const size_t first = t.find_first_not_of(blank);
    if (first != std::string_view::npos) {
      out.bearer_token = std::string(t.substr(first, t.find_last_not_of(blank) - first + 1));
    }
  }
  if (const char* ca = std::getenv("STRATA_CA_FILE"); ca != nullptr) out.ca_file = ca;
  return out;
}

std::string unauthorized_message(const std::string& admin_url, bool token_sent) {
  if (!token_sent) {
    return fmt::format("the admin API at {} needs a token: set STRATA_TOKEN to one of the tokens in the server's "
                       "--http-token-file",
                       admin_url);
  }
  return fmt::format("the admin API at {} refused the token in STRATA_TOKEN: set STRATA_TOKEN to one of the tokens in "
                     "the server's --http-token-file",
                     admin_url);
}

void hoist_admin_flag(std::vector<std::string>& args) {
  std::vector<std::string> kept, moved;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--admin" && i + 1 < args.size()) {
      moved.push_back(args[i]);
      moved.push_back(args[++i]);
    } else if (args[i].rfind("--admin=", 0) == 0) {
      moved.push_back(args[i]);
    } else {
      kept.push_back(args[i]);
    }
  }
  kept.insert(kept.end(), moved.begin(), moved.end());
  args = std::move(kept);
}

CLI::App* add_admin_command(CLI::App& group, const char* name, const char* description, std::string& admin_url) {
  CLI::App* cmd = group.add_subcommand(name, description);
  admin_url = admin_url_from_environment();
  cmd->add_option("--admin", admin_url, "Admin API of the Strata server (default: $STRATA_ADMIN, else "
                                        "http://127.0.0.1:9644); may come before or after the subcommand")
      ->capture_default_str();
  return cmd;
}

void finish_command(int code) {
  if (code != 0) throw CLI::RuntimeError(code);
}

}  // namespace strata::cli
