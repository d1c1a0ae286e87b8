#include "pgwire/tests/fake_engine.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace strata::pgwire::testing {

namespace {

using tables::column_type;
using tables::type_id;

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  while (!out.empty() && (out.back() == ' ' || out.back() == ';' || out.back() == '\n')) out.pop_back();
  size_t start = 0;
  while (start < out.size() && std::isspace(static_cast<unsigned char>(out[start]))) ++start;
  return out.substr(start);
}

// A count in a statement's text; garbage is 0, and counts are capped.
uint64_t count_in(std::string_view s, uint64_t cap) {
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    n = std::min<uint64_t>(n * 10 + uint64_t(c - '0'), cap);
  }
  return n;
}

sql::error err(const char* code, std::string message) { return sql::error{code, std::move(message), {}, {}}; }

struct oid_type {
  uint32_t oid;
  column_type type;
  int16_t size;
};

oid_type type_of_oid(uint32_t oid) {
  switch (oid) {
    case 16: return {16, {type_id::boolean}, 1};
    case 21: return {21, {type_id::int16}, 2};
    case 23: return {23, {type_id::int32}, 4};
    case 20: return {20, {type_id::int64}, 8};
    case 700: return {700, {type_id::float32}, 4};
    case 701: return {701, {type_id::float64}, 8};
    case 1700: return {1700, {type_id::numeric, 38, 10}, -1};
    case 17: return {17, {type_id::bytea}, -1};
    case 114: return {114, {type_id::json}, -1};
    case 3802: return {3802, {type_id::json}, -1};
    case 1082: return {1082, {type_id::date}, 4};
    case 1114: return {1114, {type_id::timestamp}, 8};
    case 1184: return {1184, {type_id::timestamptz}, 8};
    case 1043: return {1043, {type_id::text}, -1};
    default: return {25, {type_id::text}, -1};
  }
}

sql::field make_field(std::string name, uint32_t oid) {
  const oid_type t = type_of_oid(oid);
  sql::field f;
  f.name = std::move(name);
  f.type_oid = t.oid;
  f.type_size = t.size;
  f.type = t.type;
  return f;
}

class fake_prepared final : public sql::prepared {
 public:
  std::string text;
  sql::statement_kind what = sql::statement_kind::query;
  std::vector<uint32_t> oids;
  std::vector<sql::field> columns;
  sql::copy_description copy_desc;
  std::optional<sql::cursor_command> cursor_command;

  sql::statement_kind kind() const override { return what; }
  const sql::cursor_command* cursor_statement() const override {
    return cursor_command ? &*cursor_command : nullptr;
  }
  const std::vector<uint32_t>& parameter_oids() const override { return oids; }
  const std::vector<sql::field>& fields() const override { return columns; }
  sql::copy_description copy() const override { return copy_desc; }
};

// Rows from a generator: fill(rows_max, out) appends up to rows_max rows and says whether more remain.
class fake_cursor final : public sql::cursor {
 public:
  using generator = std::function<sql::outcome<bool>(uint32_t, tables::column_batch&)>;
  fake_cursor(generator g, std::function<std::string(uint64_t)> tag) : gen_(std::move(g)), tag_(std::move(tag)) {}
  sql::outcome<bool> fetch(uint32_t rows_max, tables::column_batch& out) override {
    auto r = gen_(rows_max, out);
    if (r.ok()) rows_ += out.row_count;
    return r;
  }
  std::string command_tag() const override { return tag_(rows_); }

 private:
  generator gen_;
  std::function<std::string(uint64_t)> tag_;
  uint64_t rows_ = 0;
};

std::unique_ptr<sql::cursor> command_cursor(std::string tag) {
  return std::make_unique<fake_cursor>([](uint32_t, tables::column_batch&) -> sql::outcome<bool> { return false; },
                                       [tag](uint64_t) { return tag; });
}

std::string select_tag(uint64_t rows) { return "SELECT " + std::to_string(rows); }

tables::column_batch one_row_of_every_type() {
  tables::column_batch b;
  auto add = [&](column_type t, tables::scalar v) {
    tables::column_vector c(t);
    tables::append_scalar(c, v);
    tables::append_scalar(c, std::monostate{});
    b.columns.push_back(std::move(c));
  };
  add({type_id::boolean}, true);
  add({type_id::int16}, int64_t(-12));
  add({type_id::int32}, int64_t(123456));
  add({type_id::int64}, int64_t(-9000000000LL));
  add({type_id::float32}, 1.5);
  add({type_id::float64}, -2.25);
  add({type_id::numeric, 12, 2}, __int128(-123456));  // -1234.56
  add({type_id::text}, std::string("héllo"));
  add({type_id::text, 0, 0, 10}, std::string("vc"));
  add({type_id::bytea}, std::string("\x01\xff", 2));
  add({type_id::json}, std::string("{\"a\":1}"));
  add({type_id::date}, int64_t(-1));                    // 1969-12-31
  add({type_id::timestamp}, int64_t(1000000));          // 1970-01-01 00:00:01
  add({type_id::timestamptz}, int64_t(946684800000001LL));  // 2000-01-01 00:00:00.000001+00
  add({type_id::text}, std::string("1 day"));           // interval, text only
  b.row_count = 2;
  return b;
}

std::vector<sql::field> every_type_fields() {
  std::vector<sql::field> f = {make_field("b", 16),    make_field("i2", 21),  make_field("i4", 23),   make_field("i8", 20),
                               make_field("f4", 700),  make_field("f8", 701), make_field("num", 1700), make_field("t", 25),
                               make_field("vc", 1043), make_field("by", 17),  make_field("j", 114),   make_field("d", 1082),
                               make_field("ts", 1114), make_field("tz", 1184), make_field("iv", 25)};
  f[6].type = {type_id::numeric, 12, 2};
  f[6].type_modifier = ((12 << 16) | 2) + 4;
  f[8].type = {type_id::text, 0, 0, 10};
  f[8].type_modifier = 14;
  f[14].type_oid = 1186;
  f[14].type_size = 16;
  f[14].text_only = true;
  return f;
}

class fake_copy_in final : public sql::copy_in_sink {
 public:
  explicit fake_copy_in(fake_engine_state& s) : state_(s) {}
  sql::status write(std::string_view data) override {
    if (data.find("bad") != std::string_view::npos) return err("22P02", "invalid input in COPY data");
    data_.append(data);
    return sql::ok_t{};
  }
  sql::outcome<uint64_t> finish() override {
    std::lock_guard lock(state_.mu);
    state_.copied += data_;
    return uint64_t(std::count(data_.begin(), data_.end(), '\n'));
  }
  void abort(std::string_view reason) override {
    std::lock_guard lock(state_.mu);
    state_.aborted.emplace_back(reason);
  }

 private:
  fake_engine_state& state_;
  std::string data_;
};

class fake_copy_out final : public sql::copy_out_source {
 public:
  explicit fake_copy_out(uint64_t rows) : rows_(rows) {}
  sql::outcome<bool> next(uint64_t, std::string& out) override {
    if (next_ == rows_) return false;
    out += std::to_string(next_) + "\trow-" + std::to_string(next_) + "\n";
    ++next_;
    return true;
  }
  uint64_t rows() const override { return next_; }

 private:
  uint64_t rows_;
  uint64_t next_ = 0;
};

class fake_session final : public sql::session {
 public:
  fake_session(fake_engine_state& s, sql::session_options o) : state_(s), options_(std::move(o)) {
    std::lock_guard lock(state_.mu);
    ++state_.sessions_opened;
  }
  ~fake_session() override {
    std::lock_guard lock(state_.mu);
    ++state_.sessions_closed;
  }

  sql::outcome<std::shared_ptr<sql::prepared>> prepare(std::string_view text,
                                                       const std::vector<uint32_t>& hints) override {
    {
      std::lock_guard lock(state_.mu);
      state_.prepare_hints.push_back(hints);
    }
    if (in_state_ == sql::transaction_state::failed) {
      const std::string s = lower(text);
      if (s != "commit" && s != "rollback") return failed_block();
    }
    auto p = std::make_shared<fake_prepared>();
    p->text = lower(text);
    const std::string& s = p->text;
    if (s.empty()) {
      p->what = sql::statement_kind::empty;
    } else if (s.starts_with("select ints ")) {
      p->columns = {make_field("n", 23)};
    } else if (s == "select types") {
      p->columns = every_type_fields();
    } else if (s.starts_with("echo")) {
      const auto n = size_t(std::count(s.begin(), s.end(), '$'));
      for (size_t i = 0; i < n; ++i) {
        const uint32_t oid = i < hints.size() && hints[i] != 0 ? hints[i] : 25;
        p->oids.push_back(oid);
        p->columns.push_back(make_field("p" + std::to_string(i + 1), oid));
      }
    } else if (s == "fail") {
      return block_error(err("42601", "syntax error at or near \"fail\""));
    } else if (s == "fail at execute" || s.starts_with("fail after ") || s == "sleep") {
      p->columns = {make_field("n", 23)};
    } else if (s.starts_with("set ") || s == "begin" || s == "commit" || s == "rollback" || s.starts_with("insert")) {
      p->what = sql::statement_kind::command;
    } else if (auto c = cursor_command_of(s, hints)) {
      if (!c->ok()) return c->err();
      p->what = c->value().what == sql::cursor_command::action::fetch ? sql::statement_kind::query
                                                                         : sql::statement_kind::command;
      p->cursor_command = std::move(c->value());
    } else if (s.starts_with("copy in")) {
      p->what = sql::statement_kind::copy_in;
      p->copy_desc = {s.ends_with("csv") ? sql::copy_format::csv : sql::copy_format::text, 2};
    } else if (s.starts_with("copy out ")) {
      p->what = sql::statement_kind::copy_out;
      p->copy_desc = {sql::copy_format::text, 2};
    } else {
      return block_error(err("42601", "fake engine: unknown statement \"" + s + "\""));
    }
    return std::shared_ptr<sql::prepared>(std::move(p));
  }

  // "declare NAME [hold] [binary] for QUERY", "fetch N NAME" (N: a count,
  // "all", or "abs N"), "move N NAME", "close NAME", "close all".
  std::optional<sql::outcome<sql::cursor_command>> cursor_command_of(const std::string& s,
                                                                     const std::vector<uint32_t>& hints) {
    using action = sql::cursor_command::action;
    sql::cursor_command c;
    auto words = [](std::string_view text) {
      std::vector<std::string> out;
      size_t at = 0;
      while (at < text.size()) {
        size_t end = text.find(' ', at);
        if (end == std::string_view::npos) end = text.size();
        if (end > at) out.emplace_back(text.substr(at, end - at));
        at = end + 1;
      }
      return out;
    };
    if (s.starts_with("declare ")) {
      const size_t for_at = s.find(" for ");
      if (for_at == std::string::npos) return std::nullopt;
      auto w = words(std::string_view(s).substr(8, for_at - 8));
      if (w.empty()) return std::nullopt;
      c.what = action::declare;
      c.name = w[0];
      c.with_hold = std::find(w.begin(), w.end(), "hold") != w.end();
      c.binary = std::find(w.begin(), w.end(), "binary") != w.end();
      auto query = prepare(s.substr(for_at + 5), hints);
      if (!query.ok()) return sql::outcome<sql::cursor_command>(query.err());
      c.query = query.value();
      return sql::outcome<sql::cursor_command>(std::move(c));
    }
    auto w = words(s);
    if (w.size() == 2 && w[0] == "close") {
      c.what = action::close;
      c.name = w[1] == "all" ? "" : w[1];
      return sql::outcome<sql::cursor_command>(std::move(c));
    }
    if ((w.size() == 3 || w.size() == 4) && (w[0] == "fetch" || w[0] == "move")) {
      c.what = w[0] == "fetch" ? action::fetch : action::move;
      c.name = w.back();
      if (w[1] == "abs") {
        c.how = sql::cursor_command::direction::absolute;
        c.count = int64_t(count_in(w[2], 1000000));
      } else {
        c.count = w[1] == "all" ? sql::all_rows : int64_t(count_in(w[1], 1000000));
      }
      return sql::outcome<sql::cursor_command>(std::move(c));
    }
    return std::nullopt;
  }

  sql::outcome<std::unique_ptr<sql::cursor>> execute(const std::shared_ptr<sql::prepared>& statement,
                                                     const std::vector<sql::parameter>& parameters) override {
    {
      std::lock_guard lock(state_.mu);
      state_.executions.push_back(parameters);
      state_.executed.push_back(static_cast<const fake_prepared&>(*statement).text);
    }
    const auto& p = static_cast<const fake_prepared&>(*statement);
    const std::string& s = p.text;
    if (s.starts_with("select ints ")) return ints(count_in(s.substr(12), state_.rows_max), UINT64_MAX);
    if (s.starts_with("fail after ")) return ints(UINT64_MAX, count_in(s.substr(11), state_.rows_max));
    if (s == "fail at execute") return block_error(err("22012", "division by zero"));
    if (s == "select types") {
      auto batch = std::make_shared<tables::column_batch>(one_row_of_every_type());
      return std::unique_ptr<sql::cursor>(std::make_unique<fake_cursor>(
          [batch](uint32_t, tables::column_batch& out) -> sql::outcome<bool> {
            out = *batch;
            return false;
          },
          select_tag));
    }
    if (s.starts_with("echo")) return echo(p, parameters);
    if (s == "sleep") return sleep();
    if (s.starts_with("set ")) {
      // "set NAME = VALUE" or "set NAME to VALUE"
      std::string rest = s.substr(4);
      size_t eq = rest.find('=');
      size_t to = rest.find(" to ");
      size_t cut = eq != std::string::npos ? eq : to;
      std::string name = rest.substr(0, cut);
      std::string value = cut == std::string::npos ? "" : rest.substr(cut + (eq != std::string::npos ? 1 : 4));
      auto trim = [](std::string x) {
        while (!x.empty() && x.front() == ' ') x.erase(0, 1);
        while (!x.empty() && x.back() == ' ') x.pop_back();
        return x;
      };
      reported_.emplace_back(trim(name), trim(value));
      return command_cursor("SET");
    }
    if (s == "begin") {
      in_state_ = sql::transaction_state::in_block;
      return command_cursor("BEGIN");
    }
    if (s == "commit" || s == "rollback") {
      const bool was_failed = in_state_ == sql::transaction_state::failed;
      in_state_ = sql::transaction_state::idle;
      return command_cursor(was_failed || s == "rollback" ? "ROLLBACK" : "COMMIT");
    }
    if (s.starts_with("insert")) return command_cursor("INSERT 0 1");
    return err("XX000", "fake engine: cannot execute \"" + s + "\"");
  }

  sql::outcome<std::unique_ptr<sql::copy_in_sink>> copy_in(const std::shared_ptr<sql::prepared>&) override {
    return std::unique_ptr<sql::copy_in_sink>(std::make_unique<fake_copy_in>(state_));
  }
  sql::outcome<std::unique_ptr<sql::copy_out_source>> copy_out(const std::shared_ptr<sql::prepared>& statement) override {
    const auto& p = static_cast<const fake_prepared&>(*statement);
    return std::unique_ptr<sql::copy_out_source>(std::make_unique<fake_copy_out>(count_in(p.text.substr(9), state_.rows_max)));
  }

  void cancel() override { cancelled_ = true; }
  sql::transaction_state state() const override { return in_state_; }
  std::vector<std::pair<std::string, std::string>> take_reported_parameters() override {
    return std::exchange(reported_, {});
  }
  std::vector<std::pair<std::string, std::string>> startup_parameters() const override {
    return {{"server_version", "15.0 (Strata fake)"}, {"TimeZone", "UTC"}, {"application_name", options_.application_name}};
  }

 private:
  sql::error block_error(sql::error e) {
    if (in_state_ == sql::transaction_state::in_block) in_state_ = sql::transaction_state::failed;
    return e;
  }
  sql::error failed_block() {
    return err("25P02", "current transaction is aborted, commands ignored until end of transaction block");
  }

  sql::outcome<std::unique_ptr<sql::cursor>> ints(uint64_t rows, uint64_t fail_after) {
    auto next = std::make_shared<uint64_t>(0);
    auto gen = [next, rows, fail_after](uint32_t rows_max, tables::column_batch& out) -> sql::outcome<bool> {
      if (*next >= fail_after && fail_after != UINT64_MAX) return err("22012", "division by zero");
      tables::column_vector c(column_type{type_id::int32});
      uint32_t n = 0;
      while (n < rows_max && *next < rows && *next < fail_after) {
        const int32_t v = int32_t(++*next);
        c.append_fixed(&v);
        ++n;
      }
      out.columns.clear();
      out.columns.push_back(std::move(c));
      out.row_count = n;
      return *next < rows;
    };
    return std::unique_ptr<sql::cursor>(std::make_unique<fake_cursor>(gen, select_tag));
  }

  sql::outcome<std::unique_ptr<sql::cursor>> echo(const fake_prepared& p, const std::vector<sql::parameter>& params) {
    if (params.size() != p.columns.size()) return err("08P01", "fake engine: parameter count mismatch");
    auto batch = std::make_shared<tables::column_batch>();
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& prm = params[i];
      if (prm.is_null) {
        tables::column_vector c(p.columns[i].type);
        c.append_null();
        batch->columns.push_back(std::move(c));
      } else if (prm.is_text) {
        tables::column_vector c(column_type{type_id::text});
        c.append_bytes(prm.text);
        batch->columns.push_back(std::move(c));
      } else {
        tables::column_vector c(prm.type);
        tables::append_scalar(c, prm.value);
        batch->columns.push_back(std::move(c));
      }
    }
    batch->row_count = 1;
    return std::unique_ptr<sql::cursor>(std::make_unique<fake_cursor>(
        [batch](uint32_t, tables::column_batch& out) -> sql::outcome<bool> {
          out = *batch;
          return false;
        },
        select_tag));
  }

  sql::outcome<std::unique_ptr<sql::cursor>> sleep() {
    if (!state_.sleep_enabled) return err("57014", "canceling statement due to user request");
    cancelled_ = false;
    auto* self = this;
    return std::unique_ptr<sql::cursor>(std::make_unique<fake_cursor>(
        [self](uint32_t, tables::column_batch&) -> sql::outcome<bool> {
          ++self->state_.sleeping;
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          while (!self->cancelled_ && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          --self->state_.sleeping;
          return err("57014", "canceling statement due to user request");
        },
        select_tag));
  }

  fake_engine_state& state_;
  sql::session_options options_;
  sql::transaction_state in_state_ = sql::transaction_state::idle;
  std::vector<std::pair<std::string, std::string>> reported_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

sql::outcome<std::unique_ptr<sql::session>> fake_engine::new_session(const sql::session_options& options) {
  if (options.database == "missing") return err("3D000", "database \"missing\" does not exist");
  return std::unique_ptr<sql::session>(std::make_unique<fake_session>(state_, options));
}

}  // namespace strata::pgwire::testing
