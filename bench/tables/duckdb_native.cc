// duckdb_native: the "DuckDB native tables" system of the tables benchmark.
// It loads the generator's files into native DuckDB tables through the same
// libduckdb.so that Strata embeds (.deps/duckdb), runs the query files, and
// prints one JSON object per line on stdout for bench_tables.py:
//
//   {"event":"load","table":T,"rows":N,"seconds":S}
//   {"event":"query","name":Q,"cold_s":S,"hot_s":[...],"columns":[...],"rows":[[...]]}
//   {"event":"query","name":Q,"error":"..."}
//
//   duckdb_native [--db PATH] [--threads N] [--hot N] --schema FILE
//                 --load TABLE=FILE ... --query NAME=FILE ...
//
// Uses only the C API (duckdb.h). Times are wall clock around duckdb_query,
// which returns a fully materialized result; the rows printed are those of
// the cold run, rendered by duckdb_value_varchar (outside the timing).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duckdb.h"

namespace {

struct options {
  std::string db_path;  // empty: in memory
  std::string threads;
  int hot_runs = 3;
  std::string schema_file;
  std::vector<std::pair<std::string, std::string>> loads;    // table, file
  std::vector<std::pair<std::string, std::string>> queries;  // name, file
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "duckdb_native: %s\n", why.c_str());
  std::exit(1);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::pair<std::string, std::string> split_pair(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) die("expected NAME=FILE, got " + arg);
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) die("flag " + a + " needs a value");
    std::string v = argv[++i];
    if (a == "--db") o.db_path = v;
    else if (a == "--threads") o.threads = v;
    else if (a == "--hot") o.hot_runs = std::atoi(v.c_str());
    else if (a == "--schema") o.schema_file = v;
    else if (a == "--load") o.loads.push_back(split_pair(v));
    else if (a == "--query") o.queries.push_back(split_pair(v));
    else die("unknown flag " + a);
  }
  if (o.schema_file.empty()) die("--schema is required");
  if (o.hot_runs < 0 || o.hot_runs > 100) die("--hot must be 0..100");
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class connection {
 public:
  explicit connection(const options& o) {
    duckdb_config config;
    if (duckdb_create_config(&config) != DuckDBSuccess) die("duckdb_create_config failed");
    if (!o.threads.empty()) duckdb_set_config(config, "threads", o.threads.c_str());
    char* err = nullptr;
    const char* path = o.db_path.empty() ? nullptr : o.db_path.c_str();
    if (duckdb_open_ext(path, &db_, config, &err) != DuckDBSuccess) {
      std::string why = err != nullptr ? err : "unknown error";
      duckdb_free(err);
      die("cannot open DuckDB: " + why);
    }
    duckdb_destroy_config(&config);
    if (duckdb_connect(db_, &conn_) != DuckDBSuccess) die("duckdb_connect failed");
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    duckdb_disconnect(&conn_);
    duckdb_close(&db_);
  }

  // Runs sql; on success the caller owns *result (destroy it). Returns the error text or "".
  std::string run(const std::string& sql, duckdb_result* result) {
    if (duckdb_query(conn_, sql.c_str(), result) == DuckDBSuccess) return "";
    const char* e = duckdb_result_error(result);
    std::string why = e != nullptr ? e : "unknown error";
    duckdb_destroy_result(result);
    return why;
  }

  void run_or_die(const std::string& sql) {
    duckdb_result r;
    std::string err = run(sql, &r);
    if (!err.empty()) die(err + "\nin: " + sql.substr(0, 200));
    duckdb_destroy_result(&r);
  }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection conn_ = nullptr;
};

void load_table(connection& c, const std::string& table, const std::string& file) {
  std::string path;
  for (char ch : file) path += ch == '\'' ? std::string("''") : std::string(1, ch);
  // The files are PostgreSQL COPY text: tab-separated, no quotes, no NULLs.
  std::string sql = "COPY " + table + " FROM '" + path +
                    "' (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')";
  auto t0 = std::chrono::steady_clock::now();
  duckdb_result r;
  std::string err = c.run(sql, &r);
  if (!err.empty()) die("loading " + table + ": " + err);
  double secs = seconds_since(t0);
  int64_t rows = duckdb_rows_changed(&r);
  duckdb_destroy_result(&r);
  std::printf("{\"event\":\"load\",\"table\":%s,\"rows\":%lld,\"seconds\":%.6f}\n", json_string(table).c_str(),
              static_cast<long long>(rows), secs);
  std::fflush(stdout);
}

std::string rows_json(duckdb_result* r) {
  std::string out = "\"columns\":[";
  idx_t cols = duckdb_column_count(r);
  for (idx_t c = 0; c < cols; ++c) out += (c ? "," : "") + json_string(duckdb_column_name(r, c));
  out += "],\"rows\":[";
  idx_t rows = duckdb_row_count(r);
  for (idx_t row = 0; row < rows; ++row) {
    out += row ? ",[" : "[";
    for (idx_t c = 0; c < cols; ++c) {
      if (c) out += ",";
      if (duckdb_value_is_null(r, c, row)) {
        out += "null";
        continue;
      }
      char* v = duckdb_value_varchar(r, c, row);
      out += json_string(v != nullptr ? v : "");
      duckdb_free(v);
    }
    out += "]";
  }
  return out + "]";
}

void run_query(connection& c, const std::string& name, const std::string& sql, int hot_runs) {
  duckdb_result r;
  auto t0 = std::chrono::steady_clock::now();
  std::string err = c.run(sql, &r);
  double cold = seconds_since(t0);
  if (!err.empty()) {
    std::printf("{\"event\":\"query\",\"name\":%s,\"error\":%s}\n", json_string(name).c_str(),
                json_string(err).c_str());
    std::fflush(stdout);
    return;
  }
  std::string rows = rows_json(&r);
  duckdb_destroy_result(&r);
  std::string hot = "[";
  for (int i = 0; i < hot_runs; ++i) {
    auto h0 = std::chrono::steady_clock::now();
    err = c.run(sql, &r);
    double secs = seconds_since(h0);
    if (!err.empty()) die("query " + name + " failed on a hot run: " + err);
    duckdb_destroy_result(&r);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", i ? "," : "", secs);
    hot += buf;
  }
  hot += "]";
  std::printf("{\"event\":\"query\",\"name\":%s,\"cold_s\":%.6f,\"hot_s\":%s,%s}\n", json_string(name).c_str(),
              cold, hot.c_str(), rows.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  connection c(o);
  std::printf("{\"event\":\"version\",\"version\":%s}\n", json_string(duckdb_library_version()).c_str());
  c.run_or_die(read_file(o.schema_file));
  for (const auto& [table, file] : o.loads) load_table(c, table, file);
  for (const auto& [name, file] : o.queries) run_query(c, name, read_file(file), o.hot_runs);
  return 0;
}
