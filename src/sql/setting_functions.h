// PostgreSQL's set_config(name, value, is_local) inside DuckDB: it changes
// the calling session's setting as SET does (pg_dump's output starts with
// SELECT pg_catalog.set_config('search_path', '', false)) and returns the
// value SHOW would give.
#pragma once

#include <functional>
#include <mutex>

#include "duckdb.hpp"
#include "sql/settings.h"

namespace strata::sql {

// Per connection: the session's settings, and what the session does after
// one changed (publish them for current_setting()). Registered in the
// connection's ClientContext under its key.
struct settings_context : duckdb::ClientContextState {
  static constexpr const char* key = "strata_settings_context";
  settings_context(session_settings& s, std::function<status()> changed) : settings(s), on_change(std::move(changed)) {}
  std::mutex mu;  // DuckDB may run the function on several threads
  session_settings& settings;
  std::function<status()> on_change;
};

// Adds set_config. Once per database, before any session.
void register_setting_functions(duckdb::DatabaseInstance& db);

}  // namespace strata::sql
