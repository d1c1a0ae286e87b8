// Test support shared by the `strata db` command tests: a scripted admin
// server on 127.0.0.1 that records every request, reply builders, and the
// JSON the /v1/db routes answer with.
#pragma once

#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "admin/router.h"
#include "base/units.h"
#include "cli/db_commands.h"
#include "cli/tests/closed_port.h"

namespace strata::cli::db_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

struct output {
  std::ostringstream out;
  std::ostringstream err;
};

struct recorded_request {
  std::string method;
  std::string target;
  json body;  // null when empty
};

inline admin::response reply(int status, const json& body = json()) {
  admin::response res;
  res.status = status;
  res.body = body.is_null() ? "" : body.dump();
  return res;
}

inline admin::response error_reply(int status, const std::string& code, const std::string& message) {
  return reply(status, {{"error", {{"code", code}, {"message", message}}}});
}

// Answers one reply after another, repeating the last.
inline admin::handler replies(std::vector<admin::response> answers) {
  auto next = std::make_shared<size_t>(0);
  return [answers = std::move(answers), next](const admin::request&, const admin::path_params&) {
    const admin::response& res = answers[std::min(*next, answers.size() - 1)];
    ++*next;
    return res;
  };
}

inline admin::handler always(admin::response res) { return replies({std::move(res)}); }

// A scripted admin server on 127.0.0.1: routes answer what the test says,
// and every request is recorded. One connection at a time, as the CLI makes them.
class fake_admin {
 public:
  fake_admin() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_admin() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }

  void on(std::string method, std::string_view pattern, admin::handler fn) {
    std::lock_guard lock(mutex_);
    router_.add(std::move(method), pattern, std::move(fn));
  }

  std::vector<recorded_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Requests as "METHOD TARGET" lines.
  std::vector<std::string> request_lines() const {
    std::vector<std::string> lines;
    for (const auto& r : requests()) lines.push_back(r.method + " " + r.target);
    return lines;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (!ec) answer(socket);
    }
  }

  void answer(tcp::socket& socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    admin::request request{std::string(req.method_string()), std::string(req.target()), "", req.body()};
    admin::routed routed;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(
          {request.method, request.target, request.body.empty() ? json() : json::parse(request.body, nullptr, false)});
      routed = router_.dispatch(request);
    }
    http::response<http::string_body> res{static_cast<http::status>(routed.reply.status), 11};
    res.set(http::field::content_type, routed.reply.content_type);
    res.body() = routed.reply.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_ = false;
  mutable std::mutex mutex_;
  admin::router router_;
  std::vector<recorded_request> requests_;
  std::thread thread_;
};

inline std::string unreachable_url() { return "http://127.0.0.1:" + std::to_string(testing::closed_port()); }

// Waits without delay, and prints a progress line on every poll.
inline db_wait_options quick_wait() {
  db_wait_options wait;
  wait.poll_interval_ms = 1;
  wait.clone_poll_interval_ms = 1;
  wait.line_interval_ms = 0;
  return wait;
}

inline json source_json(const std::string& status, uint64_t done_bytes = 0, uint64_t total_bytes = 0) {
  json source = {{"name", "prod"},
                 {"mode", "physical"},
                 {"backend", "btrfs"},
                 {"conninfo", "host=10.0.0.5 user=replicator password=********"},
                 {"databases", json::array()},
                 {"status", status},
                 {"reason", ""},
                 {"created_at", "2026-12-06T17:00:00Z"},
                 {"snapshot_schedule", "*/30 * * * *"},
                 {"retention_limit", 4},
                 {"refresh_schedule", ""},
                 {"snapshots", 3},
                 {"latest_snapshot", "prod-20261206t172000z"}};
  if (status == "copying") source["progress"] = {{"done_bytes", done_bytes}, {"total_bytes", total_bytes}};
  return source;
}

inline json snapshot_json(const std::string& id, const std::string& branch = "", const std::string& parent = "",
                   const std::string& message = "") {
  return {{"id", id},
          {"source", "prod"},
          {"branch", branch},
          {"parent", parent},
          {"message", message},
          {"created_at", "2026-12-06T17:20:05Z"},
          {"data_state_at", "2026-12-06T17:20:00Z"},
          {"size_bytes", 3 * GiB},
          {"clones", 1},
          {"status", "ready"}};
}

inline json clone_json(const std::string& status, const std::string& id = "dev1", int port = 6000) {
  return {{"id", id},
          {"status", status},
          {"reason", ""},
          {"host", "127.0.0.1"},
          {"port", port},
          {"snapshot", "prod-20261206t172000z"},
          {"source", "prod"},
          {"branch", ""},
          {"user", "dev"},
          {"protected", false},
          {"exclusive_bytes", 73728},
          {"created_at", "2026-12-06T17:25:00Z"},
          {"reset_at", ""},
          {"clone_ms", 412},
          {"settings", {{"work_mem", "64MB"}}}};
}

// A temporary file removed at the end of the test.
struct temp_file {
  explicit temp_file(const std::string& contents) {
    path = std::filesystem::temp_directory_path() /
           ("strata_db_commands_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".sql");
    std::ofstream(path, std::ios::binary) << contents;
  }
  ~temp_file() { std::filesystem::remove(path); }
  std::filesystem::path path;
  static inline int counter = 0;
};

inline db_source_spec physical_source(const std::string& conninfo = "c") {
  db_source_spec spec;
  spec.name = "prod";
  spec.mode = "physical";
  spec.conninfo = conninfo;
  return spec;
}

}  // namespace strata::cli::db_test
