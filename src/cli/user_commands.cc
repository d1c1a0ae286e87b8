#include "cli/user_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/admin_api.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "cli/topic_commands.h"

namespace strata::cli {
namespace {

using nlohmann::json;

constexpr int exit_ok = 0;

std::string user_target(const std::string& name) { return "/v1/users/" + encode_path_segment(name); }

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The first line of the file, without its line break.
result<std::string> password_from_file(const std::string& path) {
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return make_error(errc::invalid_argument,
                      fmt::format("--password-file {}: cannot open it: {}", path, std::strerror(errno)));
  }
  std::string text(password_file_bytes_max + 1, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), file.get()));
  if (std::ferror(file.get())) {
    return make_error(errc::invalid_argument,
                      fmt::format("--password-file {}: cannot read it: {}", path, std::strerror(errno)));
  }
  if (text.size() > password_file_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("--password-file {} is larger than {} bytes; put the "
                                                         "password alone on its first line",
                                                         path, password_file_bytes_max));
  }
  text = text.substr(0, text.find('\n'));
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return make_error(errc::invalid_argument,
                      fmt::format("--password-file {} has an empty first line; put the password there", path));
  }
  return text;
}

std::string mechanisms_text(const json& user) {
  std::string out;
  const json& mechanisms = json_member(user, "mechanisms");
  if (!mechanisms.is_array()) return "-";
  for (const auto& m : mechanisms) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} ({} iterations)", field_text(m, "mechanism"), field_text(m, "iterations"));
  }
  return out.empty() ? "-" : out;
}

}  // namespace

result<std::string> resolve_password(const password_source& source) {
  if (!source.password.empty() && !source.password_file.empty()) {
    return make_error(errc::invalid_argument, "give --password or --password-file, not both");
  }
  if (!source.password.empty()) return source.password;
  if (!source.password_file.empty()) return password_from_file(source.password_file);
  const char* env = std::getenv("STRATA_PASSWORD");
  if (env != nullptr && *env != '\0') return std::string(env);
  return make_error(errc::invalid_argument,
                    "no password: give --password-file FILE, --password PASSWORD, or set STRATA_PASSWORD");
}

int user_create(const std::string& admin_url, const std::string& name, const password_source& source, std::ostream& out,
                std::ostream& err) {
  auto password = resolve_password(source);
  if (!password) return report_failure(err, password.err());
  auto user = call_admin_api(admin_url, "POST", "/v1/users", {{"name", name}, {"password", *password}}, 201);
  if (!user) return report_failure(err, user.err());
  out << fmt::format("Created user {} ({}).\n", field_text(*user, "name"), mechanisms_text(*user));
  return exit_ok;
}

int user_set_password(const std::string& admin_url, const std::string& name, const password_source& source,
                      std::ostream& out, std::ostream& err) {
  auto password = resolve_password(source);
  if (!password) return report_failure(err, password.err());
  auto user = call_admin_api(admin_url, "PUT", user_target(name), {{"password", *password}}, 200);
  if (!user) return report_failure(err, user.err());
  out << fmt::format("Changed the password of user {}.\n", field_text(*user, "name"));
  return exit_ok;
}

int user_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/users", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& users = json_member(*answer, "users");
  if (!users.is_array() || users.empty()) {
    out << "No users.\n";
    return exit_ok;
  }
  table t({"NAME", "MECHANISMS"});
  for (const auto& user : users) t.add_row({field_text(user, "name"), mechanisms_text(user)});
  t.print(out);
  return exit_ok;
}

int user_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", user_target(name), json(), 204);
  if (!deleted) return report_failure(err, deleted.err());
  out << "Deleted user " << name << ".\n";
  return exit_ok;
}

namespace {

struct user_options {
  std::string admin_url = std::string(default_admin_url);
  std::string name;
  password_source password;
};

void add_password_options(CLI::App& cmd, password_source& source) {
  auto* given = cmd.add_option("--password", source.password,
                               "The password (visible to other local users in the process list; prefer "
                               "--password-file or STRATA_PASSWORD)");
  auto* file = cmd.add_option("--password-file", source.password_file, "File whose first line is the password");
  given->excludes(file);
}

}  // namespace

void add_user_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<user_options>();
  CLI::App* user = app.add_subcommand("user", "Create, list and delete the users that log in over SASL");
  user->require_subcommand(1);

  CLI::App* create = add_admin_command(*user, "create", "Create a user (SCRAM-SHA-256 and SCRAM-SHA-512)", opts->admin_url);
  create->add_option("name", opts->name, "User name")->required();
  add_password_options(*create, opts->password);
  create->callback([opts, &out, &err] {
    finish_command(user_create(opts->admin_url, opts->name, opts->password, out, err));
  });

  CLI::App* list = add_admin_command(*user, "list", "List users and their SCRAM mechanisms", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(user_list(opts->admin_url, out, err)); });

  CLI::App* remove = add_admin_command(*user, "delete", "Delete a user", opts->admin_url);
  remove->add_option("name", opts->name, "User name")->required();
  remove->callback([opts, &out, &err] { finish_command(user_delete(opts->admin_url, opts->name, out, err)); });

  CLI::App* set_password = add_admin_command(*user, "set-password", "Change a user's password", opts->admin_url);
  set_password->add_option("name", opts->name, "User name")->required();
  add_password_options(*set_password, opts->password);
  set_password->callback([opts, &out, &err] {
    finish_command(user_set_password(opts->admin_url, opts->name, opts->password, out, err));
  });
}

}  // namespace strata::cli
