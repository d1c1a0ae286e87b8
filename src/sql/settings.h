// PostgreSQL run-time settings as a session sees them: SET, RESET, SHOW,
// SET TRANSACTION and DISCARD ALL, parsed from text (DuckDB never sees them),
// the values each session holds, and which ones are reported to the client
// (ParameterStatus). Only strata.pushdown and statement_timeout change what
// the engine does; the rest are accepted for client compatibility and keep
// the values Strata actually uses (docs/sql.md, "Settings").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/session.h"

namespace strata::sql {

struct setting_command {
  enum class kind : uint8_t { set, reset, reset_all, show, show_all, set_transaction, discard_all };
  kind action = kind::set;
  std::string name;   // lower-cased; "transaction_isolation" for SET TRANSACTION
  std::string value;  // SET: the value text (list items joined by ", "); empty with to_default
  bool to_default = false;
};

// nullopt: the statement is not one of these commands; an error when it is
// but is malformed (42601).
std::optional<outcome<setting_command>> parse_setting_command(std::string_view sql);

// The isolation level a BEGIN / SET TRANSACTION asks for: accepted when
// Strata provides it (read committed), 0A000 otherwise.
status check_transaction_mode(std::string_view words);

class session_settings {
 public:
  session_settings(const session_options& options, std::string server_version);

  status apply(const setting_command& command);  // set / reset / reset_all / set_transaction / discard_all
  // SHOW name: the column name and the value.
  outcome<std::pair<std::string, std::string>> show(std::string_view name) const;
  // SHOW ALL rows: name, setting, description.
  std::vector<std::vector<std::string>> show_all() const;

  std::vector<std::pair<std::string, std::string>> startup_parameters() const;
  std::vector<std::pair<std::string, std::string>> take_reported();

  uint64_t statement_timeout_ms() const { return statement_timeout_ms_; }
  bool pushdown() const { return pushdown_; }

 private:
  status set_value(const std::string& name, const std::string& value);
  void reset_value(const std::string& name);

  session_options options_;
  std::string server_version_;
  std::map<std::string, std::string> values_;  // by lower-cased name
  std::vector<std::pair<std::string, std::string>> reported_;
  uint64_t statement_timeout_ms_ = 0;
  bool pushdown_ = true;
};

}  // namespace strata::sql
