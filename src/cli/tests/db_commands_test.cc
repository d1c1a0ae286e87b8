#include "cli/admin_api.h"
#include "cli/db_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "admin/router.h"
#include "base/units.h"
#include "cli/tests/closed_port.h"

namespace strata::cli {
namespace {

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

admin::response reply(int status, const json& body = json()) {
  admin::response res;
  res.status = status;
  res.body = body.is_null() ? "" : body.dump();
  return res;
}

admin::response error_reply(int status, const std::string& code, const std::string& message) {
  return reply(status, {{"error", {{"code", code}, {"message", message}}}});
}

// Answers one reply after another, repeating the last.
admin::handler replies(std::vector<admin::response> answers) {
  auto next = std::make_shared<size_t>(0);
  return [answers = std::move(answers), next](const admin::request&, const admin::path_params&) {
    const admin::response& res = answers[std::min(*next, answers.size() - 1)];
    ++*next;
    return res;
  };
}

admin::handler always(admin::response res) { return replies({std::move(res)}); }

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

std::string unreachable_url() { return "http://127.0.0.1:" + std::to_string(testing::closed_port()); }

// Waits without delay, and prints a progress line on every poll.
db_wait_options quick_wait() {
  db_wait_options wait;
  wait.poll_interval_ms = 1;
  wait.clone_poll_interval_ms = 1;
  wait.line_interval_ms = 0;
  return wait;
}

json source_json(const std::string& status, uint64_t done_bytes = 0, uint64_t total_bytes = 0) {
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

json snapshot_json(const std::string& id, const std::string& branch = "", const std::string& parent = "",
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

json clone_json(const std::string& status, const std::string& id = "dev1", int port = 6000) {
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

db_source_spec physical_source(const std::string& conninfo = "c") {
  db_source_spec spec;
  spec.name = "prod";
  spec.mode = "physical";
  spec.conninfo = conninfo;
  return spec;
}

TEST(DbProgressBar, Renders) {
  EXPECT_EQ(render_progress_bar(0, 300), "[....................] 0 B / 300 B  0%");
  EXPECT_EQ(render_progress_bar(1288490189, 3 * GiB), "[########............] 1.2 GiB / 3 GiB  40%");
  EXPECT_EQ(render_progress_bar(3 * GiB, 3 * GiB), "[####################] 3 GiB / 3 GiB  100%");
  EXPECT_EQ(render_progress_bar(9999, 10000), "[###################.] 9.8 KiB / 9.8 KiB  99%");
  EXPECT_EQ(render_progress_bar(5, 10, 4), "[##..] 5 B / 10 B  50%");
  EXPECT_EQ(render_progress_bar(5 * MiB, 0), "[....................] 5 MiB");
  // More done than the estimate: a full bar, the true bytes, at most 100%.
  EXPECT_EQ(render_progress_bar(4 * GiB, 3 * GiB), "[####################] 4 GiB / 3 GiB  100%");
  std::string huge = render_progress_bar(UINT64_MAX - 1, UINT64_MAX, 10);  // no overflow
  EXPECT_TRUE(huge.starts_with("[#########.] ") && huge.ends_with(" 99%")) << huge;
}

TEST(DbSourceCreate, SendsTheSpecAndWaitsWithProgressLines) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 3 * GiB))));
  s.on("GET", "/v1/db/sources/{name}",
       replies({reply(200, source_json("copying", 1288490189, 3 * GiB)),
                reply(200, source_json("copying", 3 * GiB, 3 * GiB)), reply(200, source_json("ready"))}));
  temp_file sql("UPDATE users SET email = md5(email);\n");
  db_source_spec spec = physical_source("host=10.0.0.5 user=replicator password=hunter2");
  spec.mode = "logical";
  spec.databases = {"app", "billing"};
  spec.backend = "volume";
  spec.snapshot_schedule = "*/30 * * * *";
  spec.retention_limit = 4;
  spec.refresh_schedule = "0 3 * * *";
  spec.preprocess_sql_file = sql.path.string();
  spec.jobs = 2;
  output o;
  EXPECT_EQ(db_source_create(s.url(), spec, quick_wait(), o.out, o.err), 0) << o.err.str();
  EXPECT_EQ(o.out.str(), "source prod ready\n");
  EXPECT_EQ(o.err.str(),
            "[....................] 0 B / 3 GiB  0%\n"
            "[########............] 1.2 GiB / 3 GiB  40%\n"
            "[####################] 3 GiB / 3 GiB  100%\n");
  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, json({{"name", "prod"},
                                    {"mode", "logical"},
                                    {"conninfo", "host=10.0.0.5 user=replicator password=hunter2"},
                                    {"databases", {"app", "billing"}},
                                    {"backend", "volume"},
                                    {"snapshot_schedule", "*/30 * * * *"},
                                    {"retention_limit", 4},
                                    {"refresh_schedule", "0 3 * * *"},
                                    {"preprocess_sql", "UPDATE users SET email = md5(email);\n"},
                                    {"jobs", 2}}));
  for (size_t i = 1; i < requests.size(); ++i)
    EXPECT_EQ(requests[i].method + " " + requests[i].target, "GET /v1/db/sources/prod");
  EXPECT_EQ(o.out.str().find("hunter2"), std::string::npos);
  EXPECT_EQ(o.err.str().find("hunter2"), std::string::npos);
}

TEST(DbSourceCreate, MinimalBodyLeavesDefaultsToTheServer) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("ready"))));
  output o;
  db_source_spec spec = physical_source("host=a");
  EXPECT_EQ(db_source_create(s.url(), spec, quick_wait(), o.out, o.err), 0) << o.err.str();
  EXPECT_EQ(o.out.str(), "source prod ready\n");
  EXPECT_EQ(o.err.str(), "");
  ASSERT_EQ(s.requests().size(), 1u);
  EXPECT_EQ(s.requests()[0].body, json({{"name", "prod"}, {"mode", "physical"}, {"conninfo", "host=a"}}));
}

TEST(DbSourceCreate, ProgressLinesAreThrottledWhenNotATerminal) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 100))));
  s.on("GET", "/v1/db/sources/{name}",
       replies({reply(200, source_json("copying", 10, 100)), reply(200, source_json("copying", 20, 100)),
                reply(200, source_json("ready"))}));
  db_wait_options wait = quick_wait();
  wait.line_interval_ms = 3'600'000;
  output o;
  EXPECT_EQ(db_source_create(s.url(), physical_source(), wait, o.out, o.err), 0);
  EXPECT_EQ(o.err.str(), "[....................] 0 B / 100 B  0%\n");
  EXPECT_EQ(o.out.str(), "source prod ready\n");
}

TEST(DbSourceCreate, ATerminalRedrawsOneLine) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 10 * GiB))));
  s.on("GET", "/v1/db/sources/{name}",
       replies({reply(200, source_json("copying", 5 * GiB, 10 * GiB)), reply(200, source_json("ready"))}));
  db_wait_options wait = quick_wait();
  wait.tty = true;
  output o;
  EXPECT_EQ(db_source_create(s.url(), physical_source(), wait, o.out, o.err), 0);
  EXPECT_EQ(o.err.str(),
            "\r[....................] 0 B / 10 GiB  0%"
            "\r[##########..........] 5 GiB / 10 GiB  50%\n");
  EXPECT_EQ(o.out.str(), "source prod ready\n");
}

TEST(DbSourceCreate, AFailedCopyPrintsTheReason) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 100))));
  json failed = source_json("error");
  failed["reason"] = "pg_basebackup: could not connect to server";
  s.on("GET", "/v1/db/sources/{name}", always(reply(200, failed)));
  db_wait_options wait = quick_wait();
  wait.tty = true;
  output o;
  EXPECT_EQ(db_source_create(s.url(), physical_source(), wait, o.out, o.err), 1);
  EXPECT_EQ(o.out.str(), "");
  EXPECT_EQ(o.err.str(),
            "\r[....................] 0 B / 100 B  0%\n"
            "strata: source prod failed: pg_basebackup: could not connect to server\n");
}

TEST(DbSourceCreate, NoWaitReturnsAfterThePost) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 100))));
  db_wait_options wait = quick_wait();
  wait.wait = false;
  output o;
  EXPECT_EQ(db_source_create(s.url(), physical_source(), wait, o.out, o.err), 0);
  EXPECT_EQ(o.out.str(), "source prod created; it copies in the background (see `strata db source describe prod`)\n");
  EXPECT_EQ(s.request_lines(), std::vector<std::string>{"POST /v1/db/sources"});
}

TEST(DbSourceCreate, LosingTheServerWhileWaitingSaysTheCopyGoesOn) {
  auto s = std::make_unique<fake_admin>();
  s->on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 100))));
  s->on("GET", "/v1/db/sources/{name}", always(error_reply(503, "unavailable", "the server is shutting down")));
  output o;
  EXPECT_EQ(db_source_create(s->url(), physical_source(), quick_wait(), o.out, o.err), 1);
  EXPECT_EQ(o.err.str(),
            "[....................] 0 B / 100 B  0%\n"
            "strata: the server is shutting down; the copy goes on in the server: see `strata db source describe "
            "prod`\n");
}

TEST(DbSourceCreate, BadSpecsAreRejectedBeforeCalling) {
  std::string url = unreachable_url();
  struct bad_case {
    db_source_spec spec;
    std::string message;
  };
  temp_file big(std::string(512 * KiB + 1, 'x'));
  auto with = [](auto change) {
    db_source_spec spec = physical_source();
    change(spec);
    return spec;
  };
  const std::vector<bad_case> cases = {
      {with([](db_source_spec& s) { s.mode = "logical"; }),
       "strata: --mode logical needs the databases to copy: give --database DB, once per database\n"},
      {with([](db_source_spec& s) { s.refresh_schedule = "@daily"; }),
       "strata: --refresh-schedule applies to --mode logical only; a physical source follows its primary\n"},
      {with([](db_source_spec& s) { s.mode = "copy"; }), "strata: --mode copy is not physical or logical\n"},
      {with([](db_source_spec& s) { s.backend = "zfs"; }), "strata: --backend zfs is not btrfs or volume\n"},
      {with([](db_source_spec& s) { s.preprocess_sql_file = "/nonexistent/mask.sql"; }),
       "strata: --preprocess-sql /nonexistent/mask.sql: cannot read it (No such file or directory)\n"},
      {with([&](db_source_spec& s) { s.preprocess_sql_file = big.path.string(); }),
       "strata: --preprocess-sql " + big.path.string() + " is larger than 512 KiB; the limit is 512 KiB\n"},
  };
  for (const auto& c : cases) {
    output o;
    EXPECT_EQ(db_source_create(url, c.spec, quick_wait(), o.out, o.err), 1);
    EXPECT_EQ(o.err.str(), c.message);
    EXPECT_EQ(o.out.str(), "");
  }
}

TEST(DbSources, ListDescribeDelete) {
  fake_admin s;
  json logical = source_json("copying", 1288490189, 3 * GiB);
  logical["name"] = "crm";
  logical["mode"] = "logical";
  logical["backend"] = "volume";
  logical["snapshots"] = 0;
  json broken = source_json("error");
  broken["name"] = "old";
  broken["reason"] = "the sync instance exited";
  s.on("GET", "/v1/db/sources", always(reply(200, {{"sources", {source_json("ready"), logical, broken}}})));
  json described = source_json("ready");
  described["conninfo"] = "host=10.0.0.5 password=leaked user=replicator";
  described["sync"] = {{"pid", 1234},
                       {"replay_lag_bytes", 2048},
                       {"replay_lag_seconds", 0.5},
                       {"last_replay_at", "2026-12-06T17:24:59.123Z"}};
  s.on("GET", "/v1/db/sources/{name}", always(reply(200, described)));
  s.on("DELETE", "/v1/db/sources/{name}", always(reply(204)));

  output list;
  EXPECT_EQ(db_source_list(s.url(), list.out, list.err), 0) << list.err.str();
  EXPECT_EQ(list.out.str(),
            "NAME  MODE      BACKEND  STATUS                           SNAPSHOTS\n"
            "prod  physical  btrfs    ready                            3\n"
            "crm   logical   volume   copying 1.2 GiB / 3 GiB (40%)    0\n"
            "old   physical  btrfs    error: the sync instance exited  3\n");

  output describe;
  EXPECT_EQ(db_source_describe(s.url(), "prod", describe.out, describe.err), 0) << describe.err.str();
  EXPECT_EQ(describe.out.str(),
            "Source:             prod\n"
            "Mode:               physical\n"
            "Backend:            btrfs\n"
            "Status:             ready\n"
            "Conninfo:           host=10.0.0.5 password=******** user=replicator\n"
            "Databases:          all\n"
            "Created:            2026-12-06 17:00:00 UTC\n"
            "Snapshot schedule:  */30 * * * *\n"
            "Retention limit:    4\n"
            "Snapshots:          3 (latest prod-20261206t172000z)\n"
            "Sync instance:      pid 1234, replay lag 2 KiB (0.5 s), last replay 2026-12-06 17:24:59 UTC\n");

  output del;
  EXPECT_EQ(db_source_delete(s.url(), "prod", del.out, del.err), 0);
  EXPECT_EQ(del.out.str(), "source prod deleted\n");
  EXPECT_EQ(s.request_lines(),
            (std::vector<std::string>{"GET /v1/db/sources", "GET /v1/db/sources/prod", "DELETE /v1/db/sources/prod"}));
}

TEST(DbSources, EmptyListSaysSoAndServerErrorsPassThrough) {
  fake_admin s;
  s.on("GET", "/v1/db/sources", always(reply(200, {{"sources", json::array()}})));
  s.on("DELETE", "/v1/db/sources/{name}",
       always(error_reply(409, "already_exists", "source prod has 3 snapshots; delete them first")));
  output list;
  EXPECT_EQ(db_source_list(s.url(), list.out, list.err), 0);
  EXPECT_EQ(list.out.str(), "No database sources.\n");
  output del;
  EXPECT_EQ(db_source_delete(s.url(), "prod", del.out, del.err), 1);
  EXPECT_EQ(del.out.str(), "");
  EXPECT_EQ(del.err.str(), "strata: source prod has 3 snapshots; delete them first\n");
}

TEST(DbSourceDescribe, LogicalShowsItsRefreshAndDefaults) {
  fake_admin s;
  json logical = source_json("refreshing");
  logical["mode"] = "logical";
  logical["databases"] = {"app", "billing"};
  logical["snapshot_schedule"] = "";
  logical["retention_limit"] = 0;
  logical["refresh_schedule"] = "0 3 * * *";
  s.on("GET", "/v1/db/sources/{name}", always(reply(200, logical)));
  output o;
  EXPECT_EQ(db_source_describe(s.url(), "prod", o.out, o.err), 0);
  EXPECT_NE(o.out.str().find("Databases:          app, billing\n"), std::string::npos) << o.out.str();
  EXPECT_NE(o.out.str().find("Snapshot schedule:  none\n"), std::string::npos) << o.out.str();
  EXPECT_NE(o.out.str().find("Retention limit:    keep all\n"), std::string::npos) << o.out.str();
  EXPECT_NE(o.out.str().find("Refresh schedule:   0 3 * * *\n"), std::string::npos) << o.out.str();
  EXPECT_EQ(o.out.str().find("Sync instance:"), std::string::npos) << o.out.str();
}

TEST(DbSnapshots, CreateListDelete) {
  fake_admin s;
  s.on("POST", "/v1/db/sources/{name}/snapshots", always(reply(201, snapshot_json("prod-20261206t172000z"))));
  json older = snapshot_json("prod-20261206t170000z", "main");
  older["size_bytes"] = 512 * MiB;
  older["clones"] = 0;
  s.on("GET", "/v1/db/snapshots", always(reply(200, {{"snapshots", {snapshot_json("prod-20261206t172000z"), older}}})));
  s.on("DELETE", "/v1/db/snapshots/{id}", always(reply(204)));

  output create;
  EXPECT_EQ(db_snapshot_create(s.url(), "prod", "before migration", create.out, create.err), 0) << create.err.str();
  EXPECT_EQ(create.out.str(),
            "snapshot prod-20261206t172000z created (source prod, data as of 2026-12-06 17:20:00 UTC)\n");
  output bare;
  EXPECT_EQ(db_snapshot_create(s.url(), "prod", "", bare.out, bare.err), 0);

  output all;
  EXPECT_EQ(db_snapshot_list(s.url(), "", all.out, all.err), 0) << all.err.str();
  EXPECT_EQ(all.out.str(),
            "ID                     SOURCE  BRANCH  DATA_STATE_AT            SIZE     CLONES\n"
            "prod-20261206t172000z  prod    -       2026-12-06 17:20:00 UTC  3 GiB    1\n"
            "prod-20261206t170000z  prod    main    2026-12-06 17:20:00 UTC  512 MiB  0\n");
  output one;
  EXPECT_EQ(db_snapshot_list(s.url(), "prod", one.out, one.err), 0);

  output del;
  EXPECT_EQ(db_snapshot_delete(s.url(), "prod-20261206t170000z", del.out, del.err), 0);
  EXPECT_EQ(del.out.str(), "snapshot prod-20261206t170000z deleted\n");

  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].target, "/v1/db/sources/prod/snapshots");
  EXPECT_EQ(requests[0].body, json({{"message", "before migration"}}));
  EXPECT_EQ(requests[1].body, json::object());
  EXPECT_EQ(requests[2].target, "/v1/db/snapshots");
  EXPECT_EQ(requests[3].target, "/v1/db/snapshots?source=prod");
  EXPECT_EQ(requests[4].method + " " + requests[4].target, "DELETE /v1/db/snapshots/prod-20261206t170000z");
}

TEST(DbSnapshots, EmptyListsSaySo) {
  fake_admin s;
  s.on("GET", "/v1/db/snapshots", always(reply(200, {{"snapshots", json::array()}})));
  output all;
  EXPECT_EQ(db_snapshot_list(s.url(), "", all.out, all.err), 0);
  EXPECT_EQ(all.out.str(), "No database snapshots.\n");
  output one;
  EXPECT_EQ(db_snapshot_list(s.url(), "prod", one.out, one.err), 0);
  EXPECT_EQ(one.out.str(), "Source prod has no snapshots.\n");
}

db_clone_spec clone_spec(const std::string& id, const std::string& password) {
  db_clone_spec spec;
  spec.id = id;
  spec.user = "dev";
  spec.password = password;
  return spec;
}

db_clone_spec dev1_spec() {
  db_clone_spec spec = clone_spec("dev1", "s3cret-pw");
  spec.source = "prod";
  spec.protect = true;
  spec.settings = {"work_mem=64MB", "search_path=app,public"};
  return spec;
}

TEST(DbCloneCreate, CreatesAsynchronouslyAndWaitsUntilOk) {
  fake_admin s;
  s.on("POST", "/v1/db/clones", always(reply(202, clone_json("CREATING"))));
  s.on("GET", "/v1/db/clones/{id}", replies({reply(200, clone_json("CREATING")), reply(200, clone_json("OK"))}));
  output o;
  EXPECT_EQ(db_clone_create(s.url(), dev1_spec(), quick_wait(), o.out, o.err), 0) << o.err.str();
  EXPECT_EQ(o.out.str(),
            "clone dev1 ready: postgresql://dev@127.0.0.1:6000/postgres\n"
            "status OK, port 6000, snapshot prod-20261206t172000z, ready in 412 ms\n");
  EXPECT_EQ(o.err.str(), "");
  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method + " " + requests[0].target, "POST /v1/db/clones?async=true");
  EXPECT_EQ(requests[0].body, json({{"id", "dev1"},
                                    {"source", "prod"},
                                    {"user", "dev"},
                                    {"password", "s3cret-pw"},
                                    {"protected", true},
                                    {"settings", {{"work_mem", "64MB"}, {"search_path", "app,public"}}}}));
  EXPECT_EQ(requests[2].method + " " + requests[2].target, "GET /v1/db/clones/dev1");
  EXPECT_EQ(o.out.str().find("s3cret-pw"), std::string::npos);
}

TEST(DbCloneCreate, ChoosesTheDataBySnapshotOrBranch) {
  fake_admin s;
  s.on("POST", "/v1/db/clones", always(reply(202, clone_json("OK"))));
  output a;
  db_clone_spec by_snapshot = clone_spec("dev1", "pw");
  by_snapshot.snapshot = "prod-1";
  EXPECT_EQ(db_clone_create(s.url(), by_snapshot, quick_wait(), a.out, a.err), 0) << a.err.str();
  output b;
  db_clone_spec by_branch = clone_spec("dev2", "pw");
  by_branch.branch = "main";
  EXPECT_EQ(db_clone_create(s.url(), by_branch, quick_wait(), b.out, b.err), 0) << b.err.str();
  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body,
            json({{"id", "dev1"}, {"snapshot", "prod-1"}, {"user", "dev"}, {"password", "pw"}, {"protected", false}}));
  EXPECT_EQ(requests[1].body,
            json({{"id", "dev2"}, {"branch", "main"}, {"user", "dev"}, {"password", "pw"}, {"protected", false}}));
}

TEST(DbCloneCreate, AsyncReturnsAtOnce) {
  fake_admin s;
  s.on("POST", "/v1/db/clones", always(reply(202, clone_json("CREATING"))));
  db_wait_options wait = quick_wait();
  wait.wait = false;
  output o;
  EXPECT_EQ(db_clone_create(s.url(), dev1_spec(), wait, o.out, o.err), 0) << o.err.str();
  EXPECT_EQ(o.out.str(),
            "clone dev1 accepted (status CREATING, port 6000); it will accept connections at "
            "postgresql://dev@127.0.0.1:6000/postgres\n");
  EXPECT_EQ(s.request_lines(), std::vector<std::string>{"POST /v1/db/clones?async=true"});
}

TEST(DbCloneCreate, FailuresSayWhyAndNeverShowThePassword) {
  fake_admin s;
  s.on("POST", "/v1/db/clones", always(reply(202, clone_json("CREATING"))));
  json fatal = clone_json("FATAL");
  fatal["reason"] = "postgres exited: FATAL: could not map anonymous shared memory";
  s.on("GET", "/v1/db/clones/{id}", always(reply(200, fatal)));
  output o;
  EXPECT_EQ(db_clone_create(s.url(), dev1_spec(), quick_wait(), o.out, o.err), 1);
  EXPECT_EQ(o.out.str(), "");
  EXPECT_EQ(o.err.str(), "strata: clone dev1 failed: postgres exited: FATAL: could not map anonymous shared memory\n");

  fake_admin full;
  full.on("POST", "/v1/db/clones", always(error_reply(409, "limit_exceeded", "no free port in 6000-6099")));
  output busy;
  EXPECT_EQ(db_clone_create(full.url(), dev1_spec(), quick_wait(), busy.out, busy.err), 1);
  EXPECT_EQ(busy.err.str(), "strata: no free port in 6000-6099\n");

  for (const std::string& text : {o.out.str(), o.err.str(), busy.out.str(), busy.err.str()}) {
    EXPECT_EQ(text.find("s3cret-pw"), std::string::npos) << text;
  }
}

TEST(DbCloneCreate, BadInputIsRejectedBeforeCalling) {
  std::string url = unreachable_url();
  db_clone_spec no_password = dev1_spec();
  no_password.password = "";
  output a;
  EXPECT_EQ(db_clone_create(url, no_password, quick_wait(), a.out, a.err), 1);
  EXPECT_EQ(a.err.str(),
            "strata: clone dev1 needs a password for user dev: give --password or set STRATA_DB_PASSWORD\n");
  db_clone_spec bad_setting = dev1_spec();
  bad_setting.settings = {"work_mem"};
  output b;
  EXPECT_EQ(db_clone_create(url, bad_setting, quick_wait(), b.out, b.err), 1);
  EXPECT_EQ(b.err.str(), "strata: --setting work_mem is not KEY=VALUE, e.g. --setting work_mem=64MB\n");
}

TEST(DbClones, ListDescribeResetDelete) {
  fake_admin s;
  json second = clone_json("FATAL", "ci-42", 6001);
  second["snapshot"] = "prod-20261206t170000z";
  second["exclusive_bytes"] = 5 * MiB;
  second["reason"] = "postgres exited";
  s.on("GET", "/v1/db/clones", always(reply(200, {{"clones", {clone_json("OK"), second}}})));
  json described = clone_json("OK");
  described["branch"] = "main";
  described["reset_at"] = "2026-12-06T18:00:00Z";
  s.on("GET", "/v1/db/clones/{id}",
       replies({reply(200, described), reply(200, clone_json("RESETTING")), reply(200, clone_json("OK"))}));
  s.on("POST", "/v1/db/clones/{id}/reset", always(reply(202, clone_json("RESETTING"))));
  s.on("DELETE", "/v1/db/clones/{id}", always(reply(204)));

  output list;
  EXPECT_EQ(db_clone_list(s.url(), list.out, list.err), 0) << list.err.str();
  EXPECT_EQ(list.out.str(),
            "ID     STATUS  PORT  SNAPSHOT               EXCLUSIVE  CREATED\n"
            "dev1   OK      6000  prod-20261206t172000z  72 KiB     2026-12-06 17:25:00 UTC\n"
            "ci-42  FATAL   6001  prod-20261206t170000z  5 MiB      2026-12-06 17:25:00 UTC\n");

  output describe;
  EXPECT_EQ(db_clone_describe(s.url(), "dev1", describe.out, describe.err), 0) << describe.err.str();
  EXPECT_EQ(describe.out.str(),
            "Clone:      dev1\n"
            "Status:     OK\n"
            "Connect:    postgresql://dev@127.0.0.1:6000/postgres\n"
            "Snapshot:   prod-20261206t172000z\n"
            "Source:     prod\n"
            "Branch:     main\n"
            "Protected:  no\n"
            "Exclusive:  72 KiB\n"
            "Created:    2026-12-06 17:25:00 UTC\n"
            "Reset:      2026-12-06 18:00:00 UTC\n"
            "Settings:   work_mem=64MB\n");

  output reset;
  EXPECT_EQ(db_clone_reset(s.url(), "dev1", "", true, quick_wait(), reset.out, reset.err), 0) << reset.err.str();
  EXPECT_EQ(reset.out.str(),
            "clone dev1 reset to prod-20261206t172000z: postgresql://dev@127.0.0.1:6000/postgres\n"
            "status OK, port 6000, snapshot prod-20261206t172000z, ready in 412 ms\n");
  output to_snapshot;
  EXPECT_EQ(db_clone_reset(s.url(), "dev1", "prod-1", false, quick_wait(), to_snapshot.out, to_snapshot.err), 0);
  output same;
  EXPECT_EQ(db_clone_reset(s.url(), "dev1", "", false, quick_wait(), same.out, same.err), 0);

  output del;
  EXPECT_EQ(db_clone_delete(s.url(), "dev1", del.out, del.err), 0);
  EXPECT_EQ(del.out.str(), "clone dev1 deleted\n");

  std::vector<std::string> posts;
  std::vector<json> bodies;
  for (const auto& r : s.requests()) {
    if (r.method != "POST") continue;
    posts.push_back(r.target);
    bodies.push_back(r.body);
  }
  EXPECT_EQ(posts, std::vector<std::string>(3, "/v1/db/clones/dev1/reset?async=true"));
  EXPECT_EQ(bodies, (std::vector<json>{{{"latest", true}}, {{"snapshot", "prod-1"}}, json::object()}));
  EXPECT_EQ(s.request_lines().back(), "DELETE /v1/db/clones/dev1");
}

TEST(DbClones, DescribeShowsTheFatalReasonAndEmptyListSaysSo) {
  fake_admin s;
  json fatal = clone_json("FATAL");
  fatal["reason"] = "postgres exited";
  fatal["host"] = "::1";
  s.on("GET", "/v1/db/clones/{id}", always(reply(200, fatal)));
  s.on("GET", "/v1/db/clones", always(reply(200, {{"clones", json::array()}})));
  output describe;
  EXPECT_EQ(db_clone_describe(s.url(), "dev1", describe.out, describe.err), 0);
  EXPECT_NE(describe.out.str().find("Status:     FATAL: postgres exited\n"), std::string::npos) << describe.out.str();
  EXPECT_NE(describe.out.str().find("Connect:    postgresql://dev@[::1]:6000/postgres\n"), std::string::npos)
      << describe.out.str();
  output list;
  EXPECT_EQ(db_clone_list(s.url(), list.out, list.err), 0);
  EXPECT_EQ(list.out.str(), "No database clones.\n");
}

TEST(DbBranches, CreateListCommitLogDelete) {
  fake_admin s;
  json feature = {{"name", "feature"},
                  {"head", "prod-20261206t172000z"},
                  {"source", "prod"},
                  {"created_at", "2026-12-06T17:30:00Z"}};
  s.on("POST", "/v1/db/branches", always(reply(201, feature)));
  s.on("GET", "/v1/db/branches", always(reply(200, {{"branches", {feature}}})));
  s.on("POST", "/v1/db/branches/{name}/commit",
       always(reply(201, snapshot_json("feature-20261206t180000z", "feature", "prod-20261206t172000z", "add index"))));
  s.on("GET", "/v1/db/branches/{name}/log",
       always(reply(200, {{"branch", "feature"},
                          {"log",
                           {snapshot_json("feature-20261206t180000z", "feature", "prod-20261206t172000z", "add index"),
                            snapshot_json("prod-20261206t172000z")}}})));
  s.on("DELETE", "/v1/db/branches/{name}", always(reply(204)));

  output create;
  EXPECT_EQ(db_branch_create(s.url(), "feature", "prod-20261206t172000z", "", create.out, create.err), 0)
      << create.err.str();
  EXPECT_EQ(create.out.str(), "branch feature created at prod-20261206t172000z\n");
  output from;
  EXPECT_EQ(db_branch_create(s.url(), "feature", "", "main", from.out, from.err), 0);
  output bare;
  EXPECT_EQ(db_branch_create(s.url(), "feature", "", "", bare.out, bare.err), 0);

  output list;
  EXPECT_EQ(db_branch_list(s.url(), list.out, list.err), 0);
  EXPECT_EQ(list.out.str(),
            "NAME     HEAD                   SOURCE  CREATED\n"
            "feature  prod-20261206t172000z  prod    2026-12-06 17:30:00 UTC\n");

  output commit;
  EXPECT_EQ(db_branch_commit(s.url(), "feature", "dev1", "add index", commit.out, commit.err), 0) << commit.err.str();
  EXPECT_EQ(
      commit.out.str(),
      "branch feature now at snapshot feature-20261206t180000z (parent prod-20261206t172000z, from clone dev1)\n");

  output log;
  EXPECT_EQ(db_branch_log(s.url(), "feature", log.out, log.err), 0);
  EXPECT_EQ(log.out.str(),
            "SNAPSHOT                  CREATED                  CLONES  MESSAGE\n"
            "feature-20261206t180000z  2026-12-06 17:20:05 UTC  1       add index\n"
            "prod-20261206t172000z     2026-12-06 17:20:05 UTC  1       -\n");

  output del;
  EXPECT_EQ(db_branch_delete(s.url(), "feature", del.out, del.err), 0);
  EXPECT_EQ(del.out.str(), "branch feature deleted\n");

  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 7u);
  EXPECT_EQ(requests[0].body, json({{"name", "feature"}, {"snapshot", "prod-20261206t172000z"}}));
  EXPECT_EQ(requests[1].body, json({{"name", "feature"}, {"from_branch", "main"}}));
  EXPECT_EQ(requests[2].body, json({{"name", "feature"}}));
  EXPECT_EQ(requests[4].target, "/v1/db/branches/feature/commit");
  EXPECT_EQ(requests[4].body, json({{"clone", "dev1"}, {"message", "add index"}}));
  EXPECT_EQ(requests[5].target, "/v1/db/branches/feature/log");
  EXPECT_EQ(requests[6].method + " " + requests[6].target, "DELETE /v1/db/branches/feature");
}

TEST(DbBranches, EmptyListsSaySo) {
  fake_admin s;
  s.on("GET", "/v1/db/branches", always(reply(200, {{"branches", json::array()}})));
  s.on("GET", "/v1/db/branches/{name}/log", always(reply(200, {{"branch", "main"}, {"log", json::array()}})));
  output list;
  EXPECT_EQ(db_branch_list(s.url(), list.out, list.err), 0);
  EXPECT_EQ(list.out.str(), "No branches.\n");
  output log;
  EXPECT_EQ(db_branch_log(s.url(), "main", log.out, log.err), 0);
  EXPECT_EQ(log.out.str(), "Branch main has no snapshots.\n");
}

TEST(DbCommands, UnreachableServerSaysWhatToDo) {
  std::string url = unreachable_url();
  std::string expected = "strata: cannot reach the admin API at " + url +
                         " (Connection refused). Is `strata server` running? Use --admin to point elsewhere.\n";
  output clones;
  EXPECT_EQ(db_clone_list(url, clones.out, clones.err), 1);
  EXPECT_EQ(clones.err.str(), expected);
  output create;
  EXPECT_EQ(db_source_create(url, physical_source(), quick_wait(), create.out, create.err), 1);
  EXPECT_EQ(create.err.str(), expected);
}

TEST(DbCommands, PathSegmentsAreEncoded) {
  fake_admin s;
  s.on("GET", "/v1/db/clones/{id}", always(error_reply(404, "not_found", "unknown clone")));
  output o;
  EXPECT_EQ(db_clone_describe(s.url(), "a/b c", o.out, o.err), 1);
  EXPECT_EQ(s.request_lines(), std::vector<std::string>{"GET /v1/db/clones/a%2Fb%20c"});
}

// Sets an environment variable for one test.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Parses a command line as main() would (same option defaults) and returns its exit code.
int run(const std::string& args, output& o) {
  CLI::App app("strata");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_db_commands(app, o.out, o.err);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, o.out, o.err);
  }
  return 0;
}

TEST(DbCommandLine, AdminWorksAfterAnyWordAndFromTheEnvironment) {
  fake_admin s;
  s.on("GET", "/v1/db/clones", always(reply(200, {{"clones", json::array()}})));
  scoped_env no_env("STRATA_ADMIN", nullptr);
  for (std::string args : {"db --admin URL clone list", "db clone --admin URL list", "db clone list --admin URL",
                           "db clone list --admin=URL"}) {
    args.replace(args.find("URL"), 3, s.url());
    output o;
    EXPECT_EQ(run(args, o), 0) << args << ": " << o.err.str();
    EXPECT_EQ(o.out.str(), "No database clones.\n") << args;
  }
  {
    scoped_env env("STRATA_ADMIN", s.url().c_str());
    output o;
    EXPECT_EQ(run("db clone list", o), 0) << o.err.str();
    EXPECT_EQ(o.out.str(), "No database clones.\n");
  }
  {
    // The flag wins over the environment.
    scoped_env env("STRATA_ADMIN", unreachable_url().c_str());
    output o;
    EXPECT_EQ(run("db clone list --admin " + s.url(), o), 0) << o.err.str();
  }
  EXPECT_EQ(s.requests().size(), 6u);
}

TEST(DbCommandLine, AdminDefaultsToTheLocalServerOrTheEnvironment) {
  {
    scoped_env no_env("STRATA_ADMIN", nullptr);
    EXPECT_EQ(admin_url_from_environment(), "http://127.0.0.1:9644");
    CLI::App app("strata");
    add_db_commands(app);
    CLI::App* db = app.get_subcommand("db");
    EXPECT_EQ(db->get_option("--admin")->get_default_str(), "http://127.0.0.1:9644");
    for (const char* group : {"source", "snapshot", "clone", "branch"}) {
      CLI::App* g = db->get_subcommand(group);
      EXPECT_EQ(g->get_option("--admin")->get_default_str(), "http://127.0.0.1:9644") << group;
      for (CLI::App* command : g->get_subcommands([](CLI::App*) { return true; })) {
        EXPECT_EQ(command->get_option("--admin")->get_default_str(), "http://127.0.0.1:9644")
            << group << " " << command->get_name();
      }
    }
  }
  scoped_env empty("STRATA_ADMIN", "");
  EXPECT_EQ(admin_url_from_environment(), "http://127.0.0.1:9644");
  scoped_env set("STRATA_ADMIN", "http://10.1.2.3:9644");
  EXPECT_EQ(admin_url_from_environment(), "http://10.1.2.3:9644");
}

TEST(DbCommandLine, SourceCreateFlags) {
  fake_admin s;
  s.on("POST", "/v1/db/sources", always(reply(201, source_json("copying", 0, 100))));
  temp_file sql("select 1;");
  output o;
  EXPECT_EQ(run("db source create crm --mode logical --conninfo 'host=db1 password=pw' --database app --database "
                "billing --backend volume --snapshot-schedule '0 * * * *' --retention-limit 0 --refresh-schedule "
                "@daily --preprocess-sql " +
                    sql.path.string() + " --jobs 4 --no-wait --admin " + s.url(),
                o),
            0)
      << o.err.str();
  EXPECT_EQ(o.out.str(), "source crm created; it copies in the background (see `strata db source describe crm`)\n");
  ASSERT_EQ(s.requests().size(), 1u);
  EXPECT_EQ(s.requests()[0].body, json({{"name", "crm"},
                                        {"mode", "logical"},
                                        {"conninfo", "host=db1 password=pw"},
                                        {"databases", {"app", "billing"}},
                                        {"backend", "volume"},
                                        {"snapshot_schedule", "0 * * * *"},
                                        {"retention_limit", 0},
                                        {"refresh_schedule", "@daily"},
                                        {"preprocess_sql", "select 1;"},
                                        {"jobs", 4}}));
}

TEST(DbCommandLine, ClonePasswordFromTheEnvironmentIsSentNeverPrinted) {
  fake_admin s;
  s.on("POST", "/v1/db/clones", always(reply(202, clone_json("OK"))));
  scoped_env password("STRATA_DB_PASSWORD", "from-env-pw");
  output o;
  EXPECT_EQ(
      run("db clone create dev1 --snapshot prod-1 --user dev --protected --setting work_mem=64MB --admin " + s.url(),
          o),
      0)
      << o.err.str();
  EXPECT_EQ(o.out.str(),
            "clone dev1 ready: postgresql://dev@127.0.0.1:6000/postgres\n"
            "status OK, port 6000, snapshot prod-20261206t172000z, ready in 412 ms\n");
  output flag;
  EXPECT_EQ(run("db clone create dev1 --user dev --password flag-pw --async --admin " + s.url(), flag), 0)
      << flag.err.str();
  auto requests = s.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, json({{"id", "dev1"},
                                    {"snapshot", "prod-1"},
                                    {"user", "dev"},
                                    {"password", "from-env-pw"},
                                    {"protected", true},
                                    {"settings", {{"work_mem", "64MB"}}}}));
  EXPECT_EQ(requests[1].body["password"], "flag-pw");
  for (const std::string& text : {o.out.str(), o.err.str(), flag.out.str(), flag.err.str()}) {
    EXPECT_EQ(text.find("-pw"), std::string::npos) << text;
  }
}

TEST(DbCommandLine, ClonePasswordMissingSaysWhereToGiveIt) {
  scoped_env password("STRATA_DB_PASSWORD", nullptr);
  output o;
  EXPECT_EQ(run("db clone create dev1 --user dev --admin " + unreachable_url(), o), 1);
  EXPECT_EQ(o.err.str(),
            "strata: clone dev1 needs a password for user dev: give --password or set STRATA_DB_PASSWORD\n");
}

TEST(DbCommandLine, TheWalkthrough) {
  fake_admin s;
  s.on("POST", "/v1/db/sources/{name}/snapshots", always(reply(201, snapshot_json("prod-20261206t172000z"))));
  s.on("POST", "/v1/db/clones/{id}/reset", always(reply(202, clone_json("OK"))));
  s.on("POST", "/v1/db/branches", always(reply(201, {{"name", "feature"}, {"head", "prod-1"}})));
  s.on("POST", "/v1/db/branches/{name}/commit", always(reply(201, snapshot_json("feature-2", "feature", "prod-1"))));
  s.on("DELETE", "/v1/db/{kind}/{id}", always(reply(204)));
  struct step {
    std::string args;
    std::string request;
    std::string printed;
  };
  const std::vector<step> steps = {
      {"db snapshot create prod -m nightly", "POST /v1/db/sources/prod/snapshots",
       "snapshot prod-20261206t172000z created (source prod, data as of 2026-12-06 17:20:00 UTC)\n"},
      {"db clone reset dev1 --latest", "POST /v1/db/clones/dev1/reset?async=true",
       "clone dev1 reset to prod-20261206t172000z: postgresql://dev@127.0.0.1:6000/postgres\n"
       "status OK, port 6000, snapshot prod-20261206t172000z, ready in 412 ms\n"},
      {"db branch create feature --snapshot prod-1", "POST /v1/db/branches", "branch feature created at prod-1\n"},
      {"db branch commit feature --clone dev1 -m 'add index'", "POST /v1/db/branches/feature/commit",
       "branch feature now at snapshot feature-2 (parent prod-1, from clone dev1)\n"},
      {"db clone delete dev1", "DELETE /v1/db/clones/dev1", "clone dev1 deleted\n"},
      {"db snapshot delete prod-1", "DELETE /v1/db/snapshots/prod-1", "snapshot prod-1 deleted\n"},
      {"db branch delete feature", "DELETE /v1/db/branches/feature", "branch feature deleted\n"},
      {"db source delete prod", "DELETE /v1/db/sources/prod", "source prod deleted\n"},
  };
  for (const auto& st : steps) {
    output o;
    EXPECT_EQ(run(st.args + " --admin " + s.url(), o), 0) << st.args << ": " << o.err.str();
    EXPECT_EQ(o.out.str(), st.printed) << st.args;
    EXPECT_EQ(s.request_lines().back(), st.request) << st.args;
  }
}

TEST(DbCommandLine, UsageErrors) {
  scoped_env password("STRATA_DB_PASSWORD", nullptr);
  std::string admin = " --admin " + unreachable_url();
  for (std::string args :
       {"db", "db source", "db source create prod --conninfo c",
        "db source create prod --mode x "
        "--conninfo c",
        "db source create prod --mode physical",
        "db source create prod --mode physical "
        "--conninfo c --backend zfs",
        "db source create prod --mode physical --conninfo c --jobs 0",
        "db source create prod --mode physical --conninfo c --retention-limit -1", "db clone create dev1 --password p",
        "db clone create --user u --password p", "db clone create dev1 --user u --password p --source a --snapshot b",
        "db clone create dev1 --user u --password p --snapshot a --branch b",
        "db clone reset dev1 --latest --snapshot s",
        "db branch create b --snapshot s "
        "--from-branch m",
        "db branch commit feature", "db snapshot create", "db clone list extra"}) {
    output o;
    EXPECT_NE(run(args + admin, o), 0) << args;
    EXPECT_EQ(o.err.str().find("Connection refused"), std::string::npos) << args;
  }
}

}  // namespace
}  // namespace strata::cli

namespace strata::cli {
namespace {

TEST(HoistAdminFlag, MovesTheFlagAfterTheSubcommandWords) {
  std::vector<std::string> args = {"--admin", "http://h:1", "topic", "list"};
  hoist_admin_flag(args);
  EXPECT_EQ(args, (std::vector<std::string>{"topic", "list", "--admin", "http://h:1"}));
  args = {"db", "--admin=http://h:2", "clone", "list"};
  hoist_admin_flag(args);
  EXPECT_EQ(args, (std::vector<std::string>{"db", "clone", "list", "--admin=http://h:2"}));
  args = {"volume", "list", "--admin", "http://h:3"};
  hoist_admin_flag(args);
  EXPECT_EQ(args, (std::vector<std::string>{"volume", "list", "--admin", "http://h:3"}));
}

}  // namespace
}  // namespace strata::cli
