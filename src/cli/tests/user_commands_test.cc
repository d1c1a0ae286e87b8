// `strata user ...` against an admin server with a real user store on an
// in-memory kv: where passwords come from, the output, the failures.
#include "cli/user_commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "admin/tests/test_support.h"
#include "auth/user_store.h"
#include "meta/kv.h"

namespace strata::cli {
namespace {

using admin::testing::running_server;

struct output {
  std::ostringstream out;
  std::ostringstream err;
};

class UserCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("STRATA_PASSWORD");
    ::unsetenv("STRATA_TOKEN");
    kv_ = meta::make_memory_kv();
    auto store = auth::user_store::open(*kv_);
    ASSERT_TRUE(store.ok()) << store.err().message;
    users_ = std::move(*store);
    server_ = std::make_unique<running_server>(admin::server_limits{}, running_server::volumes_face::on,
                                               admin::server_security{}, users_.get());
  }
  void TearDown() override {
    server_.reset();
    ::unsetenv("STRATA_PASSWORD");
    if (!password_file_.empty()) std::filesystem::remove(password_file_);
  }

  std::string write_password_file(const std::string& text) {
    password_file_ = (std::filesystem::temp_directory_path() / ("strata-pw-" + std::to_string(::getpid()))).string();
    std::ofstream(password_file_) << text;
    return password_file_;
  }

  std::string url() const { return server_->url(); }

  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<auth::user_store> users_;
  std::unique_ptr<running_server> server_;
  std::string password_file_;
};

TEST_F(UserCommands, CreateListSetPasswordDelete) {
  output create;
  ASSERT_EQ(user_create(url(), "alice", {.password = "pw-alice", .password_file = ""}, create.out, create.err), 0)
      << create.err.str();
  EXPECT_EQ(create.out.str(),
            "Created user alice (SCRAM-SHA-256 (4096 iterations), SCRAM-SHA-512 (4096 iterations)).\n");
  EXPECT_TRUE(users_->verify_password("alice", "pw-alice"));

  output list;
  ASSERT_EQ(user_list(url(), list.out, list.err), 0) << list.err.str();
  EXPECT_EQ(list.out.str(),
            "NAME   MECHANISMS\n"
            "alice  SCRAM-SHA-256 (4096 iterations), SCRAM-SHA-512 (4096 iterations)\n");

  output change;
  ASSERT_EQ(user_set_password(url(), "alice", {.password = "", .password_file = write_password_file("pw-new\nignored\n")},
                              change.out, change.err),
            0)
      << change.err.str();
  EXPECT_EQ(change.out.str(), "Changed the password of user alice.\n");
  EXPECT_TRUE(users_->verify_password("alice", "pw-new"));

  output remove;
  ASSERT_EQ(user_delete(url(), "alice", remove.out, remove.err), 0) << remove.err.str();
  EXPECT_EQ(remove.out.str(), "Deleted user alice.\n");
  output empty;
  ASSERT_EQ(user_list(url(), empty.out, empty.err), 0);
  EXPECT_EQ(empty.out.str(), "No users.\n");
}

TEST_F(UserCommands, ThePasswordMayComeFromStrataPassword) {
  ::setenv("STRATA_PASSWORD", "pw-from-env", 1);
  output create;
  ASSERT_EQ(user_create(url(), "bob", {}, create.out, create.err), 0) << create.err.str();
  EXPECT_TRUE(users_->verify_password("bob", "pw-from-env"));
  EXPECT_EQ(create.out.str().find("pw-from-env"), std::string::npos);
}

TEST_F(UserCommands, NoPasswordOrTwoAreRefusedBeforeAsking) {
  output none;
  EXPECT_EQ(user_create(url(), "bob", {}, none.out, none.err), 1);
  EXPECT_EQ(none.err.str(), "strata: no password: give --password-file FILE, --password PASSWORD, or set STRATA_PASSWORD\n");
  output both;
  EXPECT_EQ(user_create(url(), "bob", {.password = "a", .password_file = "/f"}, both.out, both.err), 1);
  EXPECT_EQ(both.err.str(), "strata: give --password or --password-file, not both\n");
  output missing_file;
  EXPECT_EQ(user_create(url(), "bob", {.password = "", .password_file = "/nonexistent/pw"}, missing_file.out,
                        missing_file.err),
            1);
  EXPECT_EQ(missing_file.err.str(), "strata: --password-file /nonexistent/pw: cannot open it: No such file or directory\n");
  output empty_file;
  EXPECT_EQ(user_create(url(), "bob", {.password = "", .password_file = write_password_file("\nsecond")},
                        empty_file.out, empty_file.err),
            1);
  EXPECT_NE(empty_file.err.str().find("has an empty first line"), std::string::npos) << empty_file.err.str();
  EXPECT_TRUE(users_->list().empty());
}

TEST_F(UserCommands, ServerErrorsArePrinted) {
  output first, again, missing;
  ASSERT_EQ(user_create(url(), "alice", {.password = "pw", .password_file = ""}, first.out, first.err), 0);
  EXPECT_EQ(user_create(url(), "alice", {.password = "pw", .password_file = ""}, again.out, again.err), 1);
  EXPECT_TRUE(again.err.str().starts_with("strata: ")) << again.err.str();
  EXPECT_EQ(user_delete(url(), "nobody", missing.out, missing.err), 1);
  EXPECT_TRUE(missing.err.str().starts_with("strata: ")) << missing.err.str();
}

TEST_F(UserCommands, WiredIntoCli11) {
  output o;
  CLI::App app;
  add_user_commands(app, o.out, o.err);
  std::vector<std::string> args = {"user", "create", "carol", "--password", "pw-carol", "--admin", url()};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_TRUE(users_->verify_password("carol", "pw-carol")) << o.err.str();

  CLI::App both;
  add_user_commands(both, o.out, o.err);
  std::vector<std::string> two = {"user", "create", "dave", "--password", "a", "--password-file", "/f", "--admin", url()};
  std::reverse(two.begin(), two.end());
  EXPECT_THROW(both.parse(two), CLI::ExcludesError);
}

}  // namespace
}  // namespace strata::cli
