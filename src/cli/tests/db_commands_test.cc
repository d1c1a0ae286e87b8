// The `strata db` command line (flags, --admin and STRATA_ADMIN, passwords,
// usage errors, a walkthrough of every group) and what all the db commands
// share: the unreachable-server message and path encoding. The per-group
// tests are in db_source_snapshot_test.cc and db_clone_branch_test.cc.
#include "cli/admin_api.h"
#include "cli/db_commands.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli/tests/db_test_support.h"

namespace strata::cli {
namespace {

using namespace db_test;

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
