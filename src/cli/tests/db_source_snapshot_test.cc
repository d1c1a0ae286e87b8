// `strata db source` and `strata db snapshot` against a scripted admin server:
// creating a source and waiting with progress, listing, describing and
// deleting sources and snapshots.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/units.h"
#include "cli/db_commands.h"
#include "cli/tests/db_test_support.h"

namespace strata::cli {
namespace {

using namespace db_test;

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

}  // namespace
}  // namespace strata::cli
