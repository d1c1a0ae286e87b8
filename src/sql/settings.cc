#include "sql/settings.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

#include "base/ascii.h"
#include "sql/keywords.h"

namespace strata::sql {
namespace {

enum class check : uint8_t { any, encoding, datestyle, timezone, float_digits, duration, fixed, isolation, boolean };

struct setting_def {
  const char* name;     // lower-cased key
  const char* display;  // as PostgreSQL spells it in SHOW and ParameterStatus
  const char* initial;
  check rule;
  bool reported;
  bool read_only;
  const char* description;
};

// The settings a session knows. `fixed` ones accept only their initial value.
constexpr setting_def settings_table[] = {
    {"application_name", "application_name", "", check::any, true, false, "Sets the application name reported in logs."},
    {"client_encoding", "client_encoding", "UTF8", check::encoding, true, false, "Client character set; Strata speaks UTF8 only."},
    {"datestyle", "DateStyle", "ISO, MDY", check::datestyle, true, false, "Date output format; Strata writes ISO only."},
    {"timezone", "TimeZone", "UTC", check::timezone, true, false, "Accepted but Strata always works in UTC."},
    {"extra_float_digits", "extra_float_digits", "1", check::float_digits, false, false, "Floats are always sent in shortest round-trip form."},
    {"search_path", "search_path", "\"$user\", public", check::any, false, false, "Tables live in schema public."},
    {"statement_timeout", "statement_timeout", "0", check::duration, false, false, "Cancels a statement that runs longer (ms; 0 = off)."},
    {"lock_timeout", "lock_timeout", "0", check::duration, false, false, "Accepted; Strata takes no row locks."},
    {"idle_in_transaction_session_timeout", "idle_in_transaction_session_timeout", "0", check::duration, false, false, "Accepted; not enforced."},
    {"client_min_messages", "client_min_messages", "notice", check::any, false, false, "Accepted; Strata sends no notices."},
    {"standard_conforming_strings", "standard_conforming_strings", "on", check::fixed, true, false, "Backslashes in '...' are literal (always on)."},
    {"intervalstyle", "IntervalStyle", "postgres", check::fixed, true, false, "Interval output style (postgres only)."},
    {"bytea_output", "bytea_output", "hex", check::fixed, false, false, "bytea output format (hex only)."},
    {"lc_messages", "lc_messages", "C", check::any, false, false, "Accepted; messages are in English."},
    // What pg_dump's output sets before it creates anything.
    {"check_function_bodies", "check_function_bodies", "on", check::boolean, false, false, "Accepted; Strata has no function bodies to check."},
    {"xmloption", "xmloption", "content", check::fixed, false, false, "XML parsing mode (content only; Strata has no xml type)."},
    {"row_security", "row_security", "on", check::boolean, false, false, "Accepted; Strata has no row-level security policies."},
    {"default_tablespace", "default_tablespace", "", check::fixed, false, false, "Strata has no tablespaces (empty only)."},
    {"default_table_access_method", "default_table_access_method", "heap", check::fixed, false, false, "Accepted as heap; Strata stores tables in its own logs."},
    {"default_transaction_isolation", "default_transaction_isolation", "read committed", check::isolation, false, false, "Strata transactions are read committed."},
    {"transaction_isolation", "transaction_isolation", "read committed", check::isolation, false, false, "Strata transactions are read committed."},
    {"strata.pushdown", "strata.pushdown", "on", check::boolean, false, false, "Skip batches and partitions by statistics in scans."},
    {"server_version", "server_version", "", check::any, true, true, "The server version."},
    {"server_version_num", "server_version_num", "150000", check::any, false, true, "The PostgreSQL version Strata speaks, as a number."},
    {"server_encoding", "server_encoding", "UTF8", check::any, true, true, "The server character set."},
    {"integer_datetimes", "integer_datetimes", "on", check::any, true, true, "Timestamps are 64-bit integers."},
    {"is_superuser", "is_superuser", "on", check::any, true, true, "Every user is a superuser."},
    {"session_authorization", "session_authorization", "", check::any, true, true, "The session user."},
    {"max_identifier_length", "max_identifier_length", "63", check::any, false, true, "Longest identifier, in bytes."},
    {"transaction_read_only", "transaction_read_only", "off", check::any, false, true, "Read-only transactions are not supported."},
    {"default_transaction_read_only", "default_transaction_read_only", "off", check::any, false, true, "Read-only transactions are not supported."},
    {"lc_collate", "lc_collate", "C", check::any, false, true, "Strings compare by bytes."},
    {"lc_ctype", "lc_ctype", "C", check::any, false, true, "Character classification."},
};

const setting_def* find_def(std::string_view name) {
  for (const auto& d : settings_table) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

error syntax_error(std::string message) { return error{"42601", std::move(message), {}, {}}; }
error bad_value(std::string_view name, std::string_view value, std::string hint) {
  return error{"22023", fmt::format("invalid value for parameter \"{}\": \"{}\"", name, value), {}, std::move(hint)};
}

// Duration text as PostgreSQL takes it: plain numbers are milliseconds.
std::optional<uint64_t> parse_duration_ms(std::string_view text) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  std::string unit = lower_ascii(std::string_view(end, size_t(text.data() + text.size() - end)));
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  uint64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "min") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (number > (uint64_t(1) << 40)) return std::nullopt;
  return number * scale;
}

std::string format_duration(uint64_t ms) {
  if (ms == 0) return "0";
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}min", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string v = lower_ascii(text);
  if (v == "on" || v == "true" || v == "yes" || v == "1" || v == "t") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0" || v == "f") return false;
  return std::nullopt;
}

// Reads `name[.name]` at tokens[i].
std::optional<std::string> read_name(const std::vector<token>& t, size_t& i) {
  if (i >= t.size() || (t[i].type != token::kind::word && t[i].type != token::kind::quoted)) return std::nullopt;
  std::string name = lower_ascii(t[i].text);
  ++i;
  while (i + 1 < t.size() && t[i].type == token::kind::symbol && t[i].text == "." &&
         (t[i + 1].type == token::kind::word || t[i + 1].type == token::kind::quoted)) {
    name += "." + lower_ascii(t[i + 1].text);
    i += 2;
  }
  return name;
}

bool at_end(const std::vector<token>& t, size_t i) {
  for (; i < t.size(); ++i) {
    if (!(t[i].type == token::kind::symbol && t[i].text == ";")) return false;
  }
  return true;
}

// The value list after TO / =: items joined by ", ".
outcome<setting_command> read_value(const std::vector<token>& t, size_t i, setting_command cmd) {
  if (i < t.size() && t[i].type == token::kind::word && t[i].text == "default" && at_end(t, i + 1)) {
    cmd.to_default = true;
    return cmd;
  }
  std::string value;
  bool expect_item = true;
  for (; i < t.size() && !at_end(t, i); ++i) {
    const token& tok = t[i];
    if (expect_item) {
      std::string item;
      if (tok.type == token::kind::symbol && (tok.text == "-" || tok.text == "+") && i + 1 < t.size() &&
          t[i + 1].type == token::kind::number) {
        item = (tok.text == "-" ? "-" : "") + t[i + 1].text;
        ++i;
      } else if (tok.type == token::kind::symbol) {
        return syntax_error(fmt::format("syntax error at or near \"{}\" in SET {}", tok.text, cmd.name));
      } else {
        item = tok.text;
      }
      if (!value.empty()) value += ", ";
      value += item;
      expect_item = false;
    } else if (tok.type == token::kind::symbol && tok.text == ",") {
      expect_item = true;
    } else {
      return syntax_error(fmt::format("syntax error at or near \"{}\" in SET {}", tok.text, cmd.name));
    }
  }
  if (expect_item) return syntax_error(fmt::format("SET {} needs a value: SET {} TO value", cmd.name, cmd.name));
  cmd.value = std::move(value);
  return cmd;
}

std::string words_from(const std::vector<token>& t, size_t i) {
  std::string out;
  for (; i < t.size() && !at_end(t, i); ++i) {
    if (!out.empty() && t[i].text != ",") out += ' ';
    out += t[i].text;
  }
  return out;
}

outcome<setting_command> parse_set(const std::vector<token>& t) {
  size_t i = 1;
  setting_command cmd;
  auto word_at = [&](size_t k, std::string_view w) {
    return k < t.size() && t[k].type == token::kind::word && t[k].text == w;
  };
  if (word_at(i, "session") && word_at(i + 1, "characteristics")) {
    if (!word_at(i + 2, "as") || !word_at(i + 3, "transaction")) return syntax_error("expected SET SESSION CHARACTERISTICS AS TRANSACTION ...");
    cmd.action = setting_command::kind::set_transaction;
    cmd.name = "default_transaction_isolation";
    cmd.value = words_from(t, i + 4);
    return cmd;
  }
  if (word_at(i, "session") && word_at(i + 1, "authorization")) {
    return error{"0A000", "SET SESSION AUTHORIZATION is not supported: reconnect as the other user", {}, {}};
  }
  if (word_at(i, "session") || word_at(i, "local")) ++i;
  if (word_at(i, "transaction")) {
    cmd.action = setting_command::kind::set_transaction;
    cmd.name = "transaction_isolation";
    cmd.value = words_from(t, i + 1);
    return cmd;
  }
  if (word_at(i, "time") && word_at(i + 1, "zone")) {
    cmd.name = "timezone";
    if (word_at(i + 2, "local") && at_end(t, i + 3)) {
      cmd.to_default = true;
      return cmd;
    }
    return read_value(t, i + 2, cmd);
  }
  if (word_at(i, "names")) {
    cmd.name = "client_encoding";
    return read_value(t, i + 1, cmd);
  }
  auto name = read_name(t, i);
  if (!name) return syntax_error("SET needs a parameter name: SET name TO value");
  cmd.name = *name;
  if (word_at(i, "to") || (i < t.size() && t[i].type == token::kind::symbol && t[i].text == "=")) {
    return read_value(t, i + 1, cmd);
  }
  return syntax_error(fmt::format("SET {} needs TO or =: SET {} TO value", cmd.name, cmd.name));
}

outcome<setting_command> parse_reset_or_show(const std::vector<token>& t, bool show) {
  setting_command cmd;
  size_t i = 1;
  auto word_at = [&](size_t k, std::string_view w) {
    return k < t.size() && t[k].type == token::kind::word && t[k].text == w;
  };
  if (word_at(i, "all") && at_end(t, i + 1)) {
    cmd.action = show ? setting_command::kind::show_all : setting_command::kind::reset_all;
    return cmd;
  }
  cmd.action = show ? setting_command::kind::show : setting_command::kind::reset;
  if (word_at(i, "time") && word_at(i + 1, "zone")) {
    cmd.name = "timezone";
    i += 2;
  } else if (word_at(i, "transaction") && word_at(i + 1, "isolation") && word_at(i + 2, "level")) {
    cmd.name = "transaction_isolation";
    i += 3;
  } else if (word_at(i, "session") && word_at(i + 1, "authorization")) {
    cmd.name = "session_authorization";
    i += 2;
  } else {
    auto name = read_name(t, i);
    if (!name) return syntax_error(show ? "SHOW needs a parameter name: SHOW name" : "RESET needs a parameter name");
    cmd.name = *name;
  }
  if (!at_end(t, i)) return syntax_error(fmt::format("unexpected text after {} {}", show ? "SHOW" : "RESET", cmd.name));
  return cmd;
}

}  // namespace

std::optional<outcome<setting_command>> parse_setting_command(std::string_view sql) {
  auto first = leading_words(sql, 2);
  if (first.empty()) return std::nullopt;
  const std::string& w = first[0];
  if (w != "set" && w != "reset" && w != "show" && w != "discard") return std::nullopt;
  auto t = tokenize(sql, 256);
  if (w == "set") return parse_set(t);
  if (w == "reset") return parse_reset_or_show(t, false);
  if (w == "show") return parse_reset_or_show(t, true);
  if (first.size() == 2 && first[1] == "all" && at_end(t, 2)) {
    setting_command cmd;
    cmd.action = setting_command::kind::discard_all;
    return outcome<setting_command>(cmd);
  }
  return outcome<setting_command>(error{"0A000", "only DISCARD ALL is supported", {}, {}});
}

status check_transaction_mode(std::string_view words) {
  auto t = tokenize(words, 64);
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i].text;
    if (t[i].type == token::kind::symbol && (w == "," || w == ";")) continue;
    auto next = [&](size_t k) -> std::string { return i + k < t.size() ? t[i + k].text : std::string(); };
    if (w == "isolation" && next(1) == "level") {
      std::string level = next(2);
      std::string level2 = next(3);
      if (level == "read" && (level2 == "committed" || level2 == "uncommitted")) {
        i += 3;
        continue;
      }
      if ((level == "repeatable" && level2 == "read") || level == "serializable") {
        return error{"0A000",
                     fmt::format("isolation level {} is not supported: Strata transactions are read committed",
                                 level == "serializable" ? "SERIALIZABLE" : "REPEATABLE READ"),
                     {}, "Use READ COMMITTED (the default)."};
      }
      return syntax_error(fmt::format("unknown isolation level \"{} {}\"", level, level2));
    }
    if (w == "read" && next(1) == "write") {
      ++i;
      continue;
    }
    if (w == "read" && next(1) == "only") {
      return error{"0A000", "read-only transactions are not supported", {}, "Use BEGIN without READ ONLY."};
    }
    if (w == "deferrable" || (w == "not" && next(1) == "deferrable")) {
      if (w == "not") ++i;
      continue;
    }
    if (w == "work" || w == "transaction") continue;
    return syntax_error(fmt::format("syntax error at or near \"{}\" in a transaction mode", w));
  }
  return ok_t{};
}

session_settings::session_settings(const session_options& options, std::string server_version)
    : options_(options), server_version_(std::move(server_version)) {
  for (const auto& d : settings_table) values_[d.name] = d.initial;
  values_["application_name"] = options_.application_name;
  values_["server_version"] = server_version_;
  values_["session_authorization"] = options_.user;
}

status session_settings::set_value(const std::string& name, const std::string& value) {
  const setting_def* d = find_def(name);
  if (d == nullptr) {
    return error{"42704", fmt::format("unrecognized configuration parameter \"{}\"", name), {},
                 "SHOW ALL lists the parameters Strata knows."};
  }
  if (d->read_only) return error{"55P02", fmt::format("parameter \"{}\" cannot be changed", name), {}, {}};
  std::string stored = value;
  std::string v = lower_ascii(value);
  switch (d->rule) {
    case check::any:
    case check::timezone:
      break;
    case check::encoding:
      if (v != "utf8" && v != "utf-8" && v != "unicode") return bad_value(name, value, "Strata speaks UTF8 only; set client_encoding to UTF8.");
      stored = "UTF8";
      break;
    case check::datestyle: {
      if (v.find("postgres") != std::string::npos || v.find("sql") != std::string::npos || v.find("german") != std::string::npos) {
        return bad_value(d->display, value, "Strata writes dates in ISO style only; use SET DateStyle TO ISO.");
      }
      std::string order = "MDY";
      if (v.find("dmy") != std::string::npos || v.find("european") != std::string::npos) order = "DMY";
      if (v.find("ymd") != std::string::npos) order = "YMD";
      stored = "ISO, " + order;
      break;
    }
    case check::float_digits: {
      int n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || n < -15 || n > 3) {
        return bad_value(name, value, "extra_float_digits takes an integer from -15 to 3.");
      }
      break;
    }
    case check::duration: {
      auto ms = parse_duration_ms(value);
      if (!ms) return bad_value(name, value, "Give milliseconds, or a number with a unit: 500ms, 5s, 1min.");
      stored = format_duration(*ms);
      if (name == "statement_timeout") statement_timeout_ms_ = *ms;
      break;
    }
    case check::fixed:
      if (v != lower_ascii(d->initial)) {
        return bad_value(name, value, fmt::format("Strata supports only {} = '{}'.", d->display, d->initial));
      }
      break;
    case check::isolation: {
      auto st = check_transaction_mode("isolation level " + v);
      if (!st.ok()) return st.err();
      stored = "read committed";
      break;
    }
    case check::boolean: {
      auto b = parse_bool(value);
      if (!b) return bad_value(name, value, fmt::format("{} takes on or off.", name));
      stored = *b ? "on" : "off";
      if (name == "strata.pushdown") pushdown_ = *b;
      break;
    }
  }
  values_[name] = stored;
  if (d->reported) reported_.emplace_back(d->display, name == "timezone" ? std::string("UTC") : stored);
  return ok_t{};
}

void session_settings::reset_value(const std::string& name) {
  const setting_def* d = find_def(name);
  if (d == nullptr || d->read_only) return;
  std::string initial = name == "application_name" ? options_.application_name : std::string(d->initial);
  values_[name] = initial;
  if (name == "statement_timeout") statement_timeout_ms_ = 0;
  if (name == "strata.pushdown") pushdown_ = true;
  if (d->reported) reported_.emplace_back(d->display, initial);
}

status session_settings::apply(const setting_command& cmd) {
  using k = setting_command::kind;
  switch (cmd.action) {
    case k::set:
      if (cmd.to_default) {
        if (find_def(cmd.name) == nullptr) return set_value(cmd.name, "");
        reset_value(cmd.name);
        return ok_t{};
      }
      return set_value(cmd.name, cmd.value);
    case k::reset: {
      const setting_def* d = find_def(cmd.name);
      if (d == nullptr) return set_value(cmd.name, "");
      if (d->read_only) return error{"55P02", fmt::format("parameter \"{}\" cannot be changed", cmd.name), {}, {}};
      reset_value(cmd.name);
      return ok_t{};
    }
    case k::reset_all:
    case k::discard_all:
      for (const auto& d : settings_table) {
        if (!d.read_only) reset_value(d.name);
      }
      return ok_t{};
    case k::set_transaction:
      return check_transaction_mode(cmd.value);
    case k::show:
    case k::show_all:
      break;
  }
  return ok_t{};
}

outcome<std::pair<std::string, std::string>> session_settings::show(std::string_view name) const {
  const setting_def* d = find_def(name);
  if (d == nullptr) {
    return error{"42704", fmt::format("unrecognized configuration parameter \"{}\"", name), {},
                 "SHOW ALL lists the parameters Strata knows."};
  }
  std::string value = values_.at(d->name);
  if (d->rule == check::timezone) value = "UTC";
  return std::make_pair(std::string(d->display), value);
}

std::vector<std::vector<std::string>> session_settings::show_all() const {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : settings_table) {
    auto shown = show(d.name);
    rows.push_back({d.display, shown.value().second, d.description});
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> session_settings::startup_parameters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : settings_table) {
    if (d.reported) out.emplace_back(d.display, d.rule == check::timezone ? std::string("UTC") : values_.at(d.name));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> session_settings::take_reported() {
  std::vector<std::pair<std::string, std::string>> out;
  out.swap(reported_);
  return out;
}

}  // namespace strata::sql
