// PostgreSQL instances driven directly: `postgres -D` as a child, readiness by
// PQping on the unix socket, SQL over short-lived libpq connections.
#include "dbclone/postgres.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "dbclone/system.h"

namespace strata::dbclone {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr int64_t version_timeout_ms = 10000;
constexpr int64_t ready_poll_ms = 10;
constexpr size_t log_tail_bytes = 2048;
constexpr int64_t scram_connect_timeout_ms = 10000;

struct conn_deleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct result_deleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using pg_result_ptr = std::unique_ptr<PGresult, result_deleter>;

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// The leading integer of text ("15.18 (Debian ...)" -> 15); -1 when none.
int leading_int(const std::string& text) {
  int value = -1;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    if (value > 100000) return -1;
    value = (value < 0 ? 0 : value * 10) + (c - '0');
  }
  return value;
}

bool is_absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

status check_instance_config(const instance_config& config) {
  if (!is_absolute(config.data_dir) || !is_absolute(config.socket_dir)) {
    return make_error(errc::invalid_argument, "postgres data_dir and socket_dir must be absolute paths");
  }
  std::string socket = config.socket_dir + "/.s.PGSQL." + std::to_string(config.port);
  if (socket.size() >= sizeof(sockaddr_un::sun_path)) {
    return make_error(errc::invalid_argument, "the socket path " + socket + " is longer than a unix socket allows (" +
                                                  std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                                  " bytes); use a shorter socket directory");
  }
  uid_t uid = config.user ? config.user->uid : current_os_user().uid;
  if (uid == 0) {
    return make_error(errc::invalid_argument, "postgres refuses to run as root; set --db-os-user to an unprivileged user");
  }
  return {};
}

// Each value single-quoted, with \ and ' escaped, as libpq's conninfo parser reads it.
std::string conninfo_value(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

errc errc_from_sqlstate(const std::string& sqlstate) {
  if (sqlstate == "57014") return errc::timed_out;  // statement_timeout
  if (sqlstate == "3D000" || sqlstate == "42P01" || sqlstate == "42704" || sqlstate == "42883" ||
      sqlstate == "3F000") {
    return errc::not_found;
  }
  if (sqlstate == "42710" || sqlstate == "42P04" || sqlstate == "42P06" || sqlstate == "42P07" ||
      sqlstate == "23505") {
    return errc::already_exists;
  }
  if (sqlstate == "53100") return errc::no_space;
  if (sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate == "55006" || sqlstate == "53300") {
    return errc::unavailable;
  }
  if (sqlstate.starts_with("XX")) return errc::internal;
  return errc::invalid_argument;
}

int connect_timeout_seconds(int64_t timeout_ms) { return static_cast<int>(std::max<int64_t>((timeout_ms + 999) / 1000, 1)); }

struct conn_params {
  std::vector<std::string> keywords;
  std::vector<std::string> values;

  void set(const std::string& keyword, const std::string& value) {
    auto at = std::find(keywords.begin(), keywords.end(), keyword);
    if (at != keywords.end()) {
      values[static_cast<size_t>(at - keywords.begin())] = value;
      return;
    }
    keywords.push_back(keyword);
    values.push_back(value);
  }
  std::string get(const std::string& keyword) const {
    auto at = std::find(keywords.begin(), keywords.end(), keyword);
    return at == keywords.end() ? std::string() : values[static_cast<size_t>(at - keywords.begin())];
  }
};

// Parsed rather than appended to, so URIs work and the caller's own options= survive.
result<conn_params> parse_conninfo(const std::string& conninfo) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    std::string why = parse_error != nullptr ? trimmed(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return make_error(errc::invalid_argument, "bad libpq connection string: " + why);
  }
  conn_params params;
  for (PQconninfoOption* o = options; o->keyword != nullptr; o++) {
    if (o->val != nullptr) params.set(o->keyword, o->val);
  }
  PQconninfoFree(options);
  return params;
}

// A libpq notice (WARNING, NOTICE) is not an error; the default prints it on our stderr.
void ignore_notice(void*, const char*) {}

result<conn_ptr> connect(const std::string& conninfo, int64_t timeout_ms) {
  if (timeout_ms <= 0) return make_error(errc::invalid_argument, "postgres query timeout must be positive");
  auto params = parse_conninfo(conninfo);
  if (!params.ok()) return params.err();
  params->set("connect_timeout", std::to_string(connect_timeout_seconds(timeout_ms)));
  std::string options = params->get("options");
  params->set("options", (options.empty() ? "" : options + " ") + "-c statement_timeout=" + std::to_string(timeout_ms));
  params->set("fallback_application_name", "strata");

  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (size_t i = 0; i < params->keywords.size(); i++) {
    keywords.push_back(params->keywords[i].c_str());
    values.push_back(params->values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  conn_ptr conn(PQconnectdbParams(keywords.data(), values.data(), 0));
  if (conn == nullptr) return make_error(errc::internal, "libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(conn.get()));
    errc code = why.find("timeout expired") != std::string::npos ? errc::timed_out : errc::unavailable;
    return make_error(code, "cannot connect to postgres: " + why);
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  return conn;
}

sql_rows rows_of(const PGresult* res) {
  sql_rows rows;
  int row_count = PQntuples(res);
  int field_count = PQnfields(res);
  rows.reserve(static_cast<size_t>(row_count));
  for (int r = 0; r < row_count; r++) {
    auto& row = rows.emplace_back();
    row.reserve(static_cast<size_t>(field_count));
    for (int f = 0; f < field_count; f++) {
      if (PQgetisnull(res, r, f)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, f), static_cast<size_t>(PQgetlength(res, r, f))));
      }
    }
  }
  return rows;
}

result<sql_rows> finish(PGconn* conn, pg_result_ptr res) {
  if (res == nullptr) return make_error(errc::unavailable, "postgres query failed: " + trimmed(PQerrorMessage(conn)));
  switch (PQresultStatus(res.get())) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      return rows_of(res.get());
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      return make_error(errc::unsupported, "COPY is not supported through query(); use COPY ... TO a file instead");
    default:
      break;
  }
  const char* sqlstate = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
  std::string message = trimmed(PQresultErrorMessage(res.get()));
  if (message.empty()) message = trimmed(PQerrorMessage(conn));
  errc code = sqlstate != nullptr ? errc_from_sqlstate(sqlstate) : errc::unavailable;
  return make_error(code, "postgres: " + message);
}

result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::not_found, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string canonical_or_empty(const std::string& path) {
  std::error_code ec;
  auto resolved = std::filesystem::canonical(path, ec);
  return ec ? std::string() : resolved.string();
}

bool names_postgres(std::string path) {
  constexpr std::string_view deleted = " (deleted)";  // the binary was replaced by a package upgrade
  if (path.ends_with(deleted)) path.resize(path.size() - deleted.size());
  std::string base = std::filesystem::path(path).filename().string();
  return base == "postgres" || base == "postmaster";
}

bool runs_postgres(pid_t pid, const std::vector<std::string>& argv) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  if (!ec && names_postgres(exe.string())) return true;
  return !argv.empty() && names_postgres(argv[0]);
}

// postgres chdirs into its data dir; -D is the fallback when /proc/PID/cwd is not ours to read.
bool serves_data_dir(pid_t pid, const std::vector<std::string>& argv, const std::string& data_dir) {
  std::string wanted = canonical_or_empty(data_dir);
  if (wanted.empty()) return false;
  std::error_code ec;
  auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (!ec) return cwd.string() == wanted;
  for (size_t i = 0; i + 1 < argv.size(); i++) {
    if (argv[i] == "-D" && is_absolute(argv[i + 1])) return canonical_or_empty(argv[i + 1]) == wanted;
  }
  return false;
}

std::string log_tail_text(const instance_config& config) {
  if (config.log_path.empty()) return "";
  std::string tail = trimmed(file_tail(config.log_path, log_tail_bytes));
  return tail.empty() ? " (its log " + config.log_path + " is empty)" : "; its log ends with:\n" + tail;
}

}  // namespace

result<int> binaries_major_version(const postgres_binaries& bins) {
  spawn_options options;
  options.argv = {bins.tool("postgres"), "--version"};
  auto out = run(options, version_timeout_ms, 1024);
  if (!out.ok()) {
    return make_error(out.code(), out.err().message + "; check --db-postgres-bin (now " + bins.bin_dir + ")");
  }
  std::string text = trimmed(out->output_tail);
  if (out->exit_code != 0) {
    return make_error(errc::unsupported, bins.tool("postgres") + " --version exited with code " +
                                             std::to_string(out->exit_code) + ": " + text);
  }
  constexpr std::string_view marker = "(PostgreSQL) ";
  size_t at = text.find(marker);
  int major = at == std::string::npos ? -1 : leading_int(text.substr(at + marker.size()));
  if (major <= 0) {
    return make_error(errc::unsupported, "cannot read a PostgreSQL version in '" + text + "' from " +
                                             bins.tool("postgres") + " --version");
  }
  return major;
}

result<int> data_dir_major_version(const std::string& data_dir) {
  std::string path = data_dir + "/PG_VERSION";
  auto text = read_text_file(path);
  if (!text.ok()) {
    return make_error(errc::not_found, data_dir + " has no readable PG_VERSION; is it a PostgreSQL data directory?");
  }
  int major = leading_int(trimmed(*text));
  if (major <= 0) return make_error(errc::corrupt, path + " does not hold a version: '" + trimmed(*text) + "'");
  return major;
}

result<pid_t> start_instance(const postgres_binaries& bins, const instance_config& config) {
  STRATA_TRY(check_instance_config(config));
  spawn_options options;
  options.argv = {bins.tool("postgres"),
                  "-D",
                  config.data_dir,
                  "-c",
                  "port=" + std::to_string(config.port),
                  "-c",
                  "listen_addresses=" + config.listen_addresses,
                  "-c",
                  "unix_socket_directories=" + config.socket_dir};
  for (const auto& [name, value] : config.settings) {
    options.argv.push_back("-c");
    options.argv.push_back(name + "=" + value);
  }
  options.cwd = config.data_dir;
  options.user = config.user;
  options.log_path = config.log_path;
  return spawn(options);
}

status wait_ready(const instance_config& config, pid_t pid, int64_t timeout_ms) {
  std::string user = config.user ? config.user->name : current_os_user().name;
  std::string conninfo = socket_conninfo(config, user, "postgres") + " connect_timeout=2";
  auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    // OK even when authentication would fail; REJECT means starting up or in recovery.
    PGPing ping = PQping(conninfo.c_str());
    if (ping == PQPING_OK) return {};
    if (ping == PQPING_NO_ATTEMPT) return make_error(errc::invalid_argument, "bad conninfo for postgres: " + conninfo);
    if (auto code = process_ended(pid)) {
      std::string how = *code >= 0 ? " exited with code " + std::to_string(*code) : " exited";
      return make_error(errc::unavailable, "postgres (pid " + std::to_string(pid) + ")" + how +
                                               " before accepting connections" + log_tail_text(config));
    }
    if (clock_type::now() >= deadline) {
      return make_error(errc::timed_out, "postgres (pid " + std::to_string(pid) + ") did not accept connections on " +
                                             config.socket_dir + " within " + std::to_string(timeout_ms) + " ms" +
                                             log_tail_text(config));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ready_poll_ms));
  }
}

status stop_instance(pid_t pid, stop_mode mode, int64_t timeout_ms) {
  if (pid <= 0) return make_error(errc::invalid_argument, "stop_instance needs a postmaster pid");
  int sig = mode == stop_mode::smart ? SIGTERM : mode == stop_mode::fast ? SIGINT : SIGQUIT;
  if (stop_process(pid, sig, timeout_ms)) return {};
  return make_error(errc::timed_out, "postgres (pid " + std::to_string(pid) + ") did not end within " +
                                         std::to_string(timeout_ms) + " ms, nor after SIGKILL");
}

std::optional<pid_t> running_postmaster(const std::string& data_dir) {
  auto text = read_text_file(data_dir + "/postmaster.pid");
  if (!text.ok()) return std::nullopt;
  std::string first = text->substr(0, text->find('\n'));
  // A single-user backend records its pid negated.
  if (!first.empty() && first[0] == '-') first.erase(0, 1);
  int pid = leading_int(first);
  if (pid <= 0 || !process_alive(pid)) return std::nullopt;
  std::vector<std::string> argv = process_argv(pid);
  if (!runs_postgres(pid, argv) || !serves_data_dir(pid, argv, data_dir)) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::string socket_conninfo(const instance_config& config, const std::string& user, const std::string& dbname) {
  return "host=" + conninfo_value(config.socket_dir) + " port=" + std::to_string(config.port) +
         " user=" + conninfo_value(user) + " dbname=" + conninfo_value(dbname);
}

result<sql_rows> query(const std::string& conninfo, const std::string& sql, int64_t timeout_ms) {
  auto conn = connect(conninfo, timeout_ms);
  if (!conn.ok()) return conn.err();
  pg_result_ptr res(PQexec(conn->get(), sql.c_str()));
  return finish(conn->get(), std::move(res));
}

result<sql_rows> query_params(const std::string& conninfo, const std::string& sql,
                              const std::vector<std::string>& params, int64_t timeout_ms) {
  auto conn = connect(conninfo, timeout_ms);
  if (!conn.ok()) return conn.err();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  pg_result_ptr res(PQexecParams(conn->get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                 nullptr, nullptr, 0));
  return finish(conn->get(), std::move(res));
}

// Always quoted: correct for keywords and mixed case without a keyword table.
// NUL cannot appear in a PostgreSQL name, so it is dropped.
std::string quote_ident(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '\0') continue;
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// As PostgreSQL's quote_literal(): quotes doubled, and when a backslash is
// present the E'' form with backslashes doubled, so the text reads the same
// whatever standard_conforming_strings is.
std::string quote_literal(const std::string& text) {
  bool has_backslash = text.find('\\') != std::string::npos;
  std::string quoted = has_backslash ? "E'" : "'";
  for (char c : text) {
    if (c == '\0') continue;
    if (c == '\'' || c == '\\') quoted += c;
    quoted += c;
  }
  return quoted + "'";
}

result<std::string> scram_verifier(const std::string& conninfo, const std::string& user, const std::string& password) {
  auto conn = connect(conninfo, scram_connect_timeout_ms);
  if (!conn.ok()) return conn.err();
  char* verifier = PQencryptPasswordConn(conn->get(), password.c_str(), user.c_str(), "scram-sha-256");
  if (verifier == nullptr) {
    return make_error(errc::internal, "cannot compute a SCRAM verifier: " + trimmed(PQerrorMessage(conn->get())));
  }
  std::string text(verifier);
  PQfreemem(verifier);
  return text;
}

}  // namespace strata::dbclone
