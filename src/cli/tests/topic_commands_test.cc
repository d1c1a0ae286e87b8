#include "cli/topic_commands.h"

#include <CLI/CLI.hpp>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "admin/tests/test_support.h"
#include "cli/tests/closed_port.h"

namespace strata::cli {
namespace {

using admin::testing::running_server;

struct output {
  std::ostringstream out;
  std::ostringstream err;
};

TEST(TopicCommands, CreateListDescribeDelete) {
  running_server s;
  output create;
  EXPECT_EQ(topic_create(s.url(), "orders", 2, {"retention.ms=5000"}, create.out, create.err), 0) << create.err.str();
  EXPECT_EQ(create.out.str(), "Created topic orders with 2 partitions.\n");
  EXPECT_EQ(create.err.str(), "");

  output single;
  EXPECT_EQ(topic_create(s.url(), "events", 1, {}, single.out, single.err), 0) << single.err.str();
  EXPECT_EQ(single.out.str(), "Created topic events with 1 partition.\n");

  output list;
  EXPECT_EQ(topic_list(s.url(), list.out, list.err), 0);
  EXPECT_EQ(list.out.str(),
            "NAME    PARTITIONS  ID\n"
            "events  1           ab000000000000000000000000000002\n"
            "orders  2           ab000000000000000000000000000001\n");

  s.on_network_thread([&] {
    auto& p = s.fake().topics()["orders"].partitions[1];
    p.log_start_offset = 100;
    p.high_watermark = 150;
    p.log_end_offset = 151;
    p.size_bytes = 65536;
  });
  output describe;
  EXPECT_EQ(topic_describe(s.url(), "orders", describe.out, describe.err), 0) << describe.err.str();
  std::string text = describe.out.str();
  EXPECT_TRUE(text.starts_with("Topic:       orders\n"
                               "ID:          ab000000000000000000000000000001\n"
                               "Partitions:  2\n"
                               "Configs:\n"))
      << text;
  // The name column is as wide as the longest config name.
  EXPECT_TRUE(std::regex_search(text, std::regex("\n  retention\\.ms +5000\n"))) << text;
  EXPECT_TRUE(text.ends_with("\n\n"
                             "PARTITION  LOG_START_OFFSET  HIGH_WATERMARK  LOG_END_OFFSET  SIZE_BYTES\n"
                             "0          0                 0               0               0\n"
                             "1          100               150             151             65536\n"))
      << text;

  output del;
  EXPECT_EQ(topic_delete(s.url(), "orders", del.out, del.err), 0) << del.err.str();
  EXPECT_EQ(del.out.str(), "Deleted topic orders.\n");

  output after;
  EXPECT_EQ(topic_list(s.url(), after.out, after.err), 0);
  EXPECT_EQ(after.out.str(),
            "NAME    PARTITIONS  ID\n"
            "events  1           ab000000000000000000000000000002\n");
}

TEST(TopicCommands, EmptyListSaysSo) {
  running_server s;
  output o;
  EXPECT_EQ(topic_list(s.url(), o.out, o.err), 0);
  EXPECT_EQ(o.out.str(), "No topics.\n");
}

TEST(TopicCommands, ServerErrorsPrintTheServersMessage) {
  running_server s;
  output first;
  ASSERT_EQ(topic_create(s.url(), "orders", 1, {}, first.out, first.err), 0);

  output again;
  EXPECT_EQ(topic_create(s.url(), "orders", 1, {}, again.out, again.err), 1);
  EXPECT_EQ(again.out.str(), "");
  EXPECT_EQ(again.err.str(), "strata: topic orders already exists\n");

  output missing;
  EXPECT_EQ(topic_describe(s.url(), "nope", missing.out, missing.err), 1);
  EXPECT_EQ(missing.err.str(), "strata: unknown topic nope\n");

  output gone;
  EXPECT_EQ(topic_delete(s.url(), "nope", gone.out, gone.err), 1);
  EXPECT_EQ(gone.err.str(), "strata: unknown topic nope\n");

  output bad_config;
  EXPECT_EQ(topic_create(s.url(), "t", 1, {"retention.ms=soon"}, bad_config.out, bad_config.err), 1);
  EXPECT_NE(bad_config.err.str().find("retention.ms=soon is invalid"), std::string::npos) << bad_config.err.str();
}

TEST(TopicCommands, MalformedConfigIsRejectedBeforeCalling) {
  output o;
  // A closed port: reaching the network would give a different message.
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  EXPECT_EQ(topic_create(url, "t", 1, {"retention.ms"}, o.out, o.err), 1);
  EXPECT_EQ(o.err.str(), "strata: --config retention.ms is not KEY=VALUE, e.g. --config retention.ms=86400000\n");
}

TEST(TopicCommands, UnreachableServerSaysWhatToDo) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  output o;
  EXPECT_EQ(topic_list(url, o.out, o.err), 1);
  EXPECT_EQ(o.out.str(), "");
  EXPECT_EQ(o.err.str(), "strata: cannot reach the admin API at " + url +
                             " (Connection refused). Is `strata server` running? Use --admin to point elsewhere.\n");
}

TEST(TopicCommands, BadAdminUrlIsReported) {
  output o;
  EXPECT_EQ(topic_list("ftp://127.0.0.1:9644", o.out, o.err), 1);
  EXPECT_NE(o.err.str().find("strata: invalid admin URL ftp://127.0.0.1:9644: only http:// and https:// are supported"),
            std::string::npos)
      << o.err.str();
}

// Parses a command line as main() would and returns its exit code.
int run(const std::string& args, output& o) {
  CLI::App app("strata");
  add_topic_commands(app, o.out, o.err);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, o.out, o.err);
  }
  return 0;
}

TEST(TopicCommandLine, CreateWithRepeatedConfigs) {
  running_server s;
  output o;
  EXPECT_EQ(run("topic create orders --partitions 3 --config retention.ms=5000 -c retention.bytes=100 --admin " +
                    s.url(),
                o),
            0)
      << o.err.str();
  EXPECT_EQ(o.out.str(), "Created topic orders with 3 partitions.\n");
  s.on_network_thread([&] {
    const auto& topic = s.fake().topics()["orders"];
    EXPECT_EQ(topic.config.retention_ms, 5000);
    EXPECT_EQ(topic.config.retention_bytes, 100);
    EXPECT_EQ(topic.partitions.size(), 3u);
  });

  output defaulted;
  EXPECT_EQ(run("topic create events --admin " + s.url(), defaulted), 0) << defaulted.err.str();
  EXPECT_EQ(defaulted.out.str(), "Created topic events with 2 partitions.\n");  // the server's default
}

TEST(TopicCommandLine, ListDescribeDelete) {
  running_server s;
  output create;
  ASSERT_EQ(run("topic create orders -p 1 --admin " + s.url(), create), 0) << create.err.str();
  output list;
  EXPECT_EQ(run("topic list --admin " + s.url(), list), 0);
  EXPECT_TRUE(list.out.str().starts_with("NAME    PARTITIONS  ID\norders  1")) << list.out.str();
  output describe;
  EXPECT_EQ(run("topic describe orders --admin " + s.url(), describe), 0);
  EXPECT_TRUE(describe.out.str().starts_with("Topic:       orders\n")) << describe.out.str();
  output del;
  EXPECT_EQ(run("topic delete orders --admin " + s.url(), del), 0);
  EXPECT_EQ(del.out.str(), "Deleted topic orders.\n");
}

TEST(TopicCommandLine, FailureExitsWithOneAndOnlyTheMessage) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  output o;
  EXPECT_EQ(run("topic delete orders --admin " + url, o), 1);
  EXPECT_EQ(o.out.str(), "");
  EXPECT_EQ(o.err.str(), "strata: cannot reach the admin API at " + url +
                             " (Connection refused). Is `strata server` running? Use --admin to point elsewhere.\n");
}

TEST(TopicCommandLine, UsageErrors) {
  output no_name;
  EXPECT_NE(run("topic create", no_name), 0);
  output bad_partitions;
  EXPECT_NE(run("topic create t --partitions 0", bad_partitions), 0);
  output no_command;
  EXPECT_NE(run("topic", no_command), 0);
}

TEST(TopicCommandLine, AdminDefaultsToTheLocalServer) {
  CLI::App app("strata");
  add_topic_commands(app);
  CLI::App* list = app.get_subcommand("topic")->get_subcommand("list");
  EXPECT_EQ(list->get_option("--admin")->get_default_str(), "http://127.0.0.1:9644");
}

}  // namespace
}  // namespace strata::cli
