// `strata user create|list|delete|set-password`: the users that may log in
// over SASL, through the admin API's /v1/users. Passwords come from
// --password, --password-file or STRATA_PASSWORD and are never printed.
#pragma once

#include <iostream>
#include <string>

#include "base/result.h"

namespace CLI {
class App;
}

namespace strata::cli {

inline constexpr size_t password_file_bytes_max = 4096;

// Where a command takes the password from: `password` when given, else the
// first line of `password_file`, else STRATA_PASSWORD.
struct password_source {
  std::string password;
  std::string password_file;
};

// The password, or an error that says how to give one.
result<std::string> resolve_password(const password_source& source);

void add_user_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// The commands, callable without CLI11; each returns the exit code (0 or 1).
int user_create(const std::string& admin_url, const std::string& name, const password_source& source, std::ostream& out,
                std::ostream& err);
int user_set_password(const std::string& admin_url, const std::string& name, const password_source& source,
                      std::ostream& out, std::ostream& err);
int user_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int user_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
