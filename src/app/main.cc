// strata: the server and its command-line client in one binary.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "app/options.h"
#include "app/server_main.h"
#include "cli/cluster_commands.h"
#include "cli/db_commands.h"
#include "cli/admin_api.h"
#include "cli/table_commands.h"
#include "cli/topic_commands.h"
#include "cli/user_commands.h"
#include "cli/volume_commands.h"

namespace {

// Arguments with those from --config FILE placed first, so that flags on the
// command line take precedence over the file.
std::vector<std::string> expand_config(int argc, char** argv, std::string* error) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
      args.erase(args.begin() + static_cast<long>(i));
    } else {
      continue;
    }
    auto from_file = strata::app::config_file_arguments(path);
    if (!from_file.ok()) {
      *error = from_file.err().message;
      return {};
    }
    // A setting on the command line replaces the file's, lists included.
    std::set<std::string> given;
    for (const auto& arg : args) {
      if (arg.rfind("--", 0) == 0) given.insert(arg.substr(0, arg.find('=')));
    }
    std::erase_if(*from_file, [&](const std::string& arg) { return given.count(arg.substr(0, arg.find('='))) > 0; });
    // The subcommand name stays first; file settings go right after it.
    size_t at = args.empty() ? 0 : 1;
    args.insert(args.begin() + static_cast<long>(at), from_file->begin(), from_file->end());
    break;
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Strata: durable logs served as Kafka streams, SQL tables and block volumes"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  strata::app::server_options server_options;
  auto* server = app.add_subcommand("server", "Run the server");
  server->add_option("--config", "YAML file of settings; keys are the flag names without dashes");
  strata::app::add_server_flags(*server, server_options);
  int exit_code = 0;
  server->callback([&] { exit_code = strata::app::run_server(server_options); });

  strata::cli::add_topic_commands(app);
  strata::cli::add_volume_commands(app);
  strata::cli::add_db_commands(app);
  strata::cli::add_table_commands(app);
  strata::cli::add_cluster_commands(app);
  strata::cli::add_user_commands(app);

  std::string config_error;
  auto args = expand_config(argc, argv, &config_error);
  if (!config_error.empty()) {
    std::fprintf(stderr, "strata: %s\n", config_error.c_str());
    return 2;
  }
  strata::cli::hoist_admin_flag(args);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
