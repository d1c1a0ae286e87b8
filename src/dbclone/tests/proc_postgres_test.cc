#include "dbclone/postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace strata::dbclone {
namespace {

constexpr int64_t start_timeout_ms = 30000;
constexpr int64_t query_timeout_ms = 10000;

TEST(PostgresQuoting, Identifiers) {
  EXPECT_EQ(quote_ident("plain"), "\"plain\"");
  EXPECT_EQ(quote_ident("Mixed \"Case\""), "\"Mixed \"\"Case\"\"\"");
  EXPECT_EQ(quote_ident(std::string("a\0b", 3)), "\"ab\"");
}

TEST(PostgresQuoting, Literals) {
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_literal("a\\b'c"), "E'a\\\\b''c'");
  EXPECT_EQ(quote_literal(""), "''");
}

TEST(PostgresConninfo, QuotesValues) {
  instance_config config;
  config.socket_dir = "/tmp/it's here";
  config.port = 5433;
  EXPECT_EQ(socket_conninfo(config, "u\\ser", "db name"),
            "host='/tmp/it\\'s here' port=5433 user='u\\\\ser' dbname='db name'");
}

TEST(PostgresConninfo, BadConninfoIsInvalidArgument) {
  EXPECT_EQ(query("host='unterminated", "select 1", 1000).code(), errc::invalid_argument);
  EXPECT_EQ(query("nosuchkeyword=1", "select 1", 1000).code(), errc::invalid_argument);
}

TEST(PostgresConninfo, NobodyListeningIsUnavailable) {
  instance_config config;
  config.socket_dir = "/nonexistent";
  config.port = 5999;
  auto rows = query(socket_conninfo(config, "postgres", "postgres"), "select 1", 1000);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.code(), errc::unavailable);
  EXPECT_NE(rows.err().message.find("cannot connect"), std::string::npos) << rows.err().message;
}

TEST(PostgresVersions, DataDirWithoutVersion) {
  EXPECT_EQ(data_dir_major_version("/nonexistent").code(), errc::not_found);
  postgres_binaries bins;
  bins.bin_dir = "/nonexistent/bin";
  auto version = binaries_major_version(bins);
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.err().message.find("--db-postgres-bin"), std::string::npos) << version.err().message;
}

// One initdb for the suite (a few seconds), run as the postgres OS user in a
// private temporary directory; instances only listen on a socket in it.
class PostgresInstance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || ::access(bins_.tool("initdb").c_str(), X_OK) != 0) return;
    auto user = lookup_os_user("postgres");
    if (!user.ok()) return;
    char pattern[] = "/tmp/strata-pg-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    root_ = pattern;
    ::chmod(root_.c_str(), 0755);
    user_ = *user;
    if (!chown_tree(root_, *user_).ok()) return;
    spawn_options initdb;
    initdb.argv = {bins_.tool("initdb"), "-A", "trust", "-U", "postgres", "--no-sync", "-D", root_ + "/data"};
    initdb.user = user_;
    initdb.cwd = root_;
    auto out = run(initdb, 120000);
    if (!out.ok() || out->exit_code != 0) {
      initdb_error_ = out.ok() ? out->output_tail : out.err().message;
      return;
    }
    ready_ = true;
  }
  static void TearDownTestSuite() {
    if (root_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    root_.clear();
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (postgres runs as the postgres OS user)";
    if (::access(bins_.tool("initdb").c_str(), X_OK) != 0) GTEST_SKIP() << "no PostgreSQL 15 binaries";
    if (!user_) GTEST_SKIP() << "no postgres OS user";
    ASSERT_TRUE(ready_) << "initdb failed: " << initdb_error_;
  }

  instance_config config() const {
    instance_config c;
    c.data_dir = root_ + "/data";
    c.socket_dir = root_;
    c.listen_addresses = "";
    c.port = static_cast<uint16_t>(40000 + ::getpid() % 20000);
    c.user = user_;
    c.log_path = root_ + "/postgres.log";
    return c;
  }

  static inline postgres_binaries bins_;
  static inline std::string root_;
  static inline std::optional<os_user> user_;
  static inline bool ready_ = false;
  static inline std::string initdb_error_;
};

TEST_F(PostgresInstance, Versions) {
  auto bin_version = binaries_major_version(bins_);
  ASSERT_TRUE(bin_version.ok()) << bin_version.err().message;
  EXPECT_EQ(*bin_version, 15);
  auto dir_version = data_dir_major_version(config().data_dir);
  ASSERT_TRUE(dir_version.ok()) << dir_version.err().message;
  EXPECT_EQ(*dir_version, 15);
}

TEST_F(PostgresInstance, StartQueryStop) {
  auto c = config();
  auto pid = start_instance(bins_, c);
  ASSERT_TRUE(pid.ok()) << pid.err().message;
  auto ready = wait_ready(c, *pid, start_timeout_ms);
  ASSERT_TRUE(ready.ok()) << ready.err().message;
  EXPECT_EQ(running_postmaster(c.data_dir), *pid);
  EXPECT_EQ(running_postmaster(root_), std::nullopt);

  std::string conninfo = socket_conninfo(c, "postgres", "postgres");
  auto one = query(conninfo, "select 1", query_timeout_ms);
  ASSERT_TRUE(one.ok()) << one.err().message;
  EXPECT_EQ(*one, (sql_rows{{"1"}}));

  auto rows = query(conninfo,
                    "create table t (a int, b text); insert into t values (1, 'x'), (2, null);"
                    "select a, b from t order by a",
                    query_timeout_ms);
  ASSERT_TRUE(rows.ok()) << rows.err().message;
  EXPECT_EQ(*rows, (sql_rows{{"1", "x"}, {"2", std::nullopt}}));

  auto params = query_params(conninfo, "select $1::int + 1, $2::text", {"41", "it's \\ here"}, query_timeout_ms);
  ASSERT_TRUE(params.ok()) << params.err().message;
  EXPECT_EQ(*params, (sql_rows{{"42", "it's \\ here"}}));

  std::string odd = "We\"ird name";
  std::string text = "a 'quoted' \\ back\\slash";
  auto quoted = query(conninfo,
                      "create table " + quote_ident(odd) + " (v text); insert into " + quote_ident(odd) +
                          " values (" + quote_literal(text) + "); select v from " + quote_ident(odd),
                      query_timeout_ms);
  ASSERT_TRUE(quoted.ok()) << quoted.err().message;
  EXPECT_EQ(*quoted, (sql_rows{{text}}));

  auto missing = query(conninfo, "select * from no_such_table", query_timeout_ms);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), errc::not_found);
  EXPECT_NE(missing.err().message.find("no_such_table"), std::string::npos) << missing.err().message;

  auto slow = query(conninfo, "select pg_sleep(5)", 300);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.code(), errc::timed_out) << slow.err().message;

  auto verifier = scram_verifier(conninfo, "someone", "secret");
  ASSERT_TRUE(verifier.ok()) << verifier.err().message;
  EXPECT_TRUE(verifier->starts_with("SCRAM-SHA-256$")) << *verifier;

  ASSERT_TRUE(stop_instance(*pid, stop_mode::fast, start_timeout_ms).ok());
  EXPECT_FALSE(process_alive(*pid));
  EXPECT_EQ(running_postmaster(c.data_dir), std::nullopt);
  EXPECT_NE(file_tail(c.log_path, 4096).find("database system is shut down"), std::string::npos);
}

TEST_F(PostgresInstance, FailedStartCarriesTheLogTail) {
  auto c = config();
  c.settings = {{"shared_buffers", "garbage"}};
  auto pid = start_instance(bins_, c);
  ASSERT_TRUE(pid.ok()) << pid.err().message;
  auto ready = wait_ready(c, *pid, start_timeout_ms);
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.code(), errc::unavailable);
  EXPECT_NE(ready.err().message.find("shared_buffers"), std::string::npos) << ready.err().message;
  EXPECT_FALSE(process_alive(*pid));
}

TEST_F(PostgresInstance, RefusesRootAndLongSocketPaths) {
  auto c = config();
  c.user.reset();
  EXPECT_EQ(start_instance(bins_, c).code(), errc::invalid_argument);
  c = config();
  c.socket_dir = "/" + std::string(120, 's');
  EXPECT_EQ(start_instance(bins_, c).code(), errc::invalid_argument);
  c = config();
  c.data_dir = "relative/data";
  EXPECT_EQ(start_instance(bins_, c).code(), errc::invalid_argument);
}

}  // namespace
}  // namespace strata::dbclone
