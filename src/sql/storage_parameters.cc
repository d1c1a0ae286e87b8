#include "sql/storage_parameters.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <string_view>

namespace strata::sql {
namespace {

enum class option_type : uint8_t { integer, real, boolean, index_cleanup };

struct storage_parameter {
  std::string_view name;
  option_type type;
  double min = 0;
  double max = 0;
  bool toast = false;  // also valid as toast.NAME
};

// PostgreSQL 15's heap options (src/backend/access/common/reloptions.c) with their bounds.
constexpr storage_parameter parameters[] = {
    {"fillfactor", option_type::integer, 10, 100},
    {"toast_tuple_target", option_type::integer, 128, 8160},
    {"parallel_workers", option_type::integer, 0, 1024},
    {"autovacuum_enabled", option_type::boolean, 0, 0, true},
    {"autovacuum_vacuum_threshold", option_type::integer, 0, INT32_MAX, true},
    {"autovacuum_vacuum_insert_threshold", option_type::integer, -1, INT32_MAX, true},
    {"autovacuum_analyze_threshold", option_type::integer, 0, INT32_MAX},
    {"autovacuum_vacuum_cost_limit", option_type::integer, 1, 10000, true},
    {"autovacuum_freeze_min_age", option_type::integer, 0, 1000000000, true},
    {"autovacuum_freeze_max_age", option_type::integer, 100000, 2000000000, true},
    {"autovacuum_freeze_table_age", option_type::integer, 0, 2000000000, true},
    {"autovacuum_multixact_freeze_min_age", option_type::integer, 0, 1000000000, true},
    {"autovacuum_multixact_freeze_max_age", option_type::integer, 10000, 2000000000, true},
    {"autovacuum_multixact_freeze_table_age", option_type::integer, 0, 2000000000, true},
    {"log_autovacuum_min_duration", option_type::integer, -1, INT32_MAX, true},
    {"autovacuum_vacuum_cost_delay", option_type::real, 0, 100, true},
    {"autovacuum_vacuum_scale_factor", option_type::real, 0, 100, true},
    {"autovacuum_vacuum_insert_scale_factor", option_type::real, 0, 100, true},
    {"autovacuum_analyze_scale_factor", option_type::real, 0, 100},
    {"user_catalog_table", option_type::boolean},
    {"vacuum_index_cleanup", option_type::index_cleanup, 0, 0, true},
    {"vacuum_truncate", option_type::boolean, 0, 0, true},
};

bool is_bool_word(std::string_view v) {
  for (std::string_view w : {"true", "false", "on", "off", "yes", "no", "1", "0", "t", "f", "y", "n"}) {
    if (v == w) return true;
  }
  return false;
}

error bad_value(std::string_view kind, const std::string& name, std::string_view value) {
  return error{"22023", fmt::format("invalid value for {} option \"{}\": {}", kind, name, value), {}, {}};
}

std::optional<error> check_number(const storage_parameter& p, const std::string& name, const std::string& value) {
  double number = 0;
  const char* end = value.data() + value.size();
  if (p.type == option_type::integer) {
    int64_t whole = 0;
    auto [ptr, ec] = std::from_chars(value.data(), end, whole);
    if (ec != std::errc{} || ptr != end) return bad_value("integer", name, value);
    number = static_cast<double>(whole);
  } else {
    auto [ptr, ec] = std::from_chars(value.data(), end, number);
    if (ec != std::errc{} || ptr != end) return bad_value("floating point", name, value);
  }
  if (number < p.min || number > p.max) {
    error e{"22023", fmt::format("value {} out of bounds for option \"{}\"", value, name), {}, {}};
    e.detail = fmt::format("Valid values are between \"{}\" and \"{}\".", p.min, p.max);
    return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<error> check_storage_parameter(const std::string& name, const std::optional<std::string>& value) {
  constexpr std::string_view toast_prefix = "toast.";
  const bool toast = name.starts_with(toast_prefix);
  const std::string_view bare = toast ? std::string_view(name).substr(toast_prefix.size()) : std::string_view(name);
  for (const auto& p : parameters) {
    if (p.name != bare || (toast && !p.toast)) continue;
    const std::string text = value.value_or("true");
    switch (p.type) {
      case option_type::boolean:
        return is_bool_word(text) ? std::nullopt : std::optional<error>(bad_value("boolean", name, text));
      case option_type::index_cleanup:
        return text == "auto" || is_bool_word(text) ? std::nullopt
                                                    : std::optional<error>(bad_value("enum", name, text));
      case option_type::integer:
      case option_type::real:
        return check_number(p, name, text);
    }
  }
  return error{"22023", fmt::format("unrecognized parameter \"{}\"", name), {},
               "Strata takes buckets = n, and PostgreSQL's table storage parameters (fillfactor, autovacuum_*, ...)."};
}

}  // namespace strata::sql
