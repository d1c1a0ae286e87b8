// `strata db clone` and `strata db branch` against a scripted admin server:
// creating clones and waiting until they are ready, listing, describing,
// resetting and deleting clones, and the branch commands.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/db_commands.h"
#include "cli/tests/db_test_support.h"

namespace strata::cli {
namespace {

using namespace db_test;

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

}  // namespace
}  // namespace strata::cli
