// `strata table list|describe`: the tables catalog through the admin HTTP API
// (/v1/tables). Tables are created, changed and dropped with SQL over the
// PostgreSQL protocol (psql), not here.
#pragma once

#include <iostream>
#include <string>

namespace CLI {
class App;
}

namespace strata::cli {

// Registers the `table` subcommand on `app`, with --admin URL (default
// http://127.0.0.1:9644). Failures print "strata: <why>" on `err` and exit 1.
void add_table_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

int table_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int table_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
