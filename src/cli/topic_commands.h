// `strata topic create|list|describe|delete`: Kafka topic administration
// through the admin HTTP API.
#pragma once

#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace strata::cli {

inline constexpr std::string_view default_admin_url = "http://127.0.0.1:9644";

// Registers the `topic` subcommand and its four commands on `app`. A command
// prints its result to `out`. On failure it prints "strata: <why>" to `err`
// and throws CLI::RuntimeError(1), which CLI11_PARSE / App::exit turn into
// exit code 1 without printing anything more. `out` and `err` must outlive app.
void add_topic_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// The commands, callable without CLI11; each returns the exit code (0 or 1).
// partitions 0 means the server's default; configs are "key=value".
int topic_create(const std::string& admin_url, const std::string& name, int32_t partitions,
                 const std::vector<std::string>& configs, std::ostream& out, std::ostream& err,
                 int32_t replication_factor = 0);
int topic_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int topic_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);
int topic_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
