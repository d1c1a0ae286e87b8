// Calls of the admin JSON API as the CLI commands need them: send, check the
// status, parse the JSON, and turn a server error into its message.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cli/http_client.h"

namespace CLI {
class App;
}

namespace strata::cli {

// Sends `method target` with an optional JSON body (null: none) to the admin
// API at admin_url, with the token and CA of admin_security_from_environment().
// Returns the JSON answer (null for an empty body) when the status is
// expected_status; otherwise an error carrying the server's message (a 401
// says to set STRATA_TOKEN). timeout_ms bounds the whole exchange; calls that
// wait on slow server work (a database snapshot) pass a longer one.
result<nlohmann::json> call_admin_api(const std::string& admin_url, std::string_view method, std::string_view target,
                                      const nlohmann::json& body, int expected_status,
                                      int64_t timeout_ms = http_client_limits{}.timeout_ms);

// STRATA_ADMIN when set and not empty, else http://127.0.0.1:9644: the
// default of every command's --admin.
std::string admin_url_from_environment();

// STRATA_TOKEN (surrounding white space dropped, so `$(cat FILE)` works) is
// sent as a bearer token; STRATA_CA_FILE verifies an https:// server.
http_client_security admin_security_from_environment();

// The message for a 401 from the admin API at admin_url.
std::string unauthorized_message(const std::string& admin_url, bool token_sent);

// Moves every "--admin URL" / "--admin=URL" in args (the arguments after the
// program name) to the end, so that the flag may be given before or after
// the subcommand words and still reach the command that takes it.
void hoist_admin_flag(std::vector<std::string>& args);

// Prints "strata: <message>" to err and returns the exit code 1.
int report_failure(std::ostream& err, const error& failure);

// A field of a JSON object as display text: strings as they are, numbers as
// digits, "-" when missing. Never throws.
std::string field_text(const nlohmann::json& object, const char* key);

// A member of a JSON object, or a null value when absent or not an object.
const nlohmann::json& json_member(const nlohmann::json& object, const char* key);

// Adds subcommand `name` to `group` with the --admin URL flag every admin
// command takes, bound to `admin_url`.
CLI::App* add_admin_command(CLI::App& group, const char* name, const char* description, std::string& admin_url);

// CLI11's way to end a command with an exit code and no further output.
void finish_command(int code);

}  // namespace strata::cli
