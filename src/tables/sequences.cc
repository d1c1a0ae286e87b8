#include "tables/sequences.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "meta/kv.h"

namespace strata::tables {
namespace {

using nlohmann::json;

constexpr std::string_view sequence_prefix = "tables/v1/sequence/";
constexpr int record_version = 1;
// Reserving again within this long of the last reservation doubles the next one.
constexpr int64_t reserve_grow_within_ms = 1000;

std::string key_of(const std::string& name) { return std::string(sequence_prefix) + name; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const char* type_name_of(uint8_t value_bytes) {
  return value_bytes == 2 ? "smallint" : value_bytes == 4 ? "integer" : "bigint";
}

std::string record_json(const sequence_def& d, const sequence_state& s) {
  json j{{"version", record_version}, {"bytes", d.value_bytes}, {"increment", d.increment},
         {"min", d.min_value},        {"max", d.max_value},       {"start", d.start},
         {"cache", d.cache},          {"cycle", d.cycle},         {"owned_table", d.owned_table},
         {"owned_column", d.owned_column}, {"last_value", s.last_value}, {"is_called", s.is_called}};
  return j.dump();
}

std::optional<std::pair<sequence_def, sequence_state>> record_of(std::string_view name, std::string_view value) {
  auto j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    if (j.at("version").get<int>() != record_version) return std::nullopt;
    sequence_def d;
    d.name = std::string(name);
    d.value_bytes = j.at("bytes").get<uint8_t>();
    d.increment = j.at("increment").get<int64_t>();
    d.min_value = j.at("min").get<int64_t>();
    d.max_value = j.at("max").get<int64_t>();
    d.start = j.at("start").get<int64_t>();
    d.cache = j.at("cache").get<int64_t>();
    d.cycle = j.at("cycle").get<bool>();
    d.owned_table = j.at("owned_table").get<std::string>();
    d.owned_column = j.at("owned_column").get<std::string>();
    sequence_state s{j.at("last_value").get<int64_t>(), j.at("is_called").get<bool>()};
    if (!complete_sequence_def(d, true, true, true).ok()) return std::nullopt;
    return std::make_pair(std::move(d), s);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

error not_found(const std::string& name) {
  return make_error(errc::not_found, fmt::format("relation \"{}\" does not exist", name));
}

// The value `steps` increments after `from`, or nullopt past the end
// (wrapping to the other end with CYCLE).
std::optional<int64_t> step(const sequence_def& d, int64_t from) {
  int64_t next = 0;
  if (__builtin_add_overflow(from, d.increment, &next) || next > d.max_value || next < d.min_value) {
    if (!d.cycle) return std::nullopt;
    return d.increment > 0 ? d.min_value : d.max_value;
  }
  return next;
}

}  // namespace

std::pair<int64_t, int64_t> sequence_type_bounds(uint8_t value_bytes) {
  if (value_bytes == 2) return {INT16_MIN, INT16_MAX};
  if (value_bytes == 4) return {INT32_MIN, INT32_MAX};
  return {INT64_MIN, INT64_MAX};
}

result<sequence_def> complete_sequence_def(sequence_def d, bool min_given, bool max_given, bool start_given) {
  if (d.value_bytes != 2 && d.value_bytes != 4 && d.value_bytes != 8) {
    return make_error(errc::invalid_argument, "sequence type must be smallint, integer, or bigint");
  }
  if (d.increment == 0) return make_error(errc::invalid_argument, "INCREMENT must not be zero");
  const auto [type_min, type_max] = sequence_type_bounds(d.value_bytes);
  if (!max_given) d.max_value = d.increment > 0 ? type_max : -1;
  if (!min_given) d.min_value = d.increment > 0 ? 1 : type_min;
  const char* type = type_name_of(d.value_bytes);
  if (d.max_value < type_min || d.max_value > type_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("MAXVALUE ({}) is out of range for sequence data type {}", d.max_value, type));
  }
  if (d.min_value < type_min || d.min_value > type_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("MINVALUE ({}) is out of range for sequence data type {}", d.min_value, type));
  }
  if (d.min_value >= d.max_value) {
    return make_error(errc::invalid_argument,
                      fmt::format("MINVALUE ({}) must be less than MAXVALUE ({})", d.min_value, d.max_value));
  }
  if (!start_given) d.start = d.increment > 0 ? d.min_value : d.max_value;
  if (d.start < d.min_value) {
    return make_error(errc::invalid_argument,
                      fmt::format("START value ({}) cannot be less than MINVALUE ({})", d.start, d.min_value));
  }
  if (d.start > d.max_value) {
    return make_error(errc::invalid_argument,
                      fmt::format("START value ({}) cannot be greater than MAXVALUE ({})", d.start, d.max_value));
  }
  if (d.cache < 1) return make_error(errc::invalid_argument, fmt::format("CACHE ({}) must be greater than zero", d.cache));
  return d;
}

status sequence_store::load() {
  std::vector<std::string> bad;
  std::map<std::string, entry> loaded;
  STRATA_TRY(kv_.scan_prefix(sequence_prefix, [&](std::string_view key, std::string_view value) {
    std::string_view name = key.substr(sequence_prefix.size());
    auto r = record_of(name, value);
    if (!r) {
      bad.emplace_back(key);
      return;
    }
    entry e;
    e.def = std::move(r->first);
    e.state = r->second;
    loaded.emplace(std::string(name), std::move(e));
  }));
  if (!bad.empty()) {
    return make_error(errc::corrupt, fmt::format("sequence record {} does not parse; the data dir was written by "
                                                 "another version or is damaged",
                                                 bad.front()));
  }
  std::lock_guard lock(mu_);
  entries_ = std::move(loaded);
  return {};
}

bool sequence_store::exists(const std::string& name) const {
  std::lock_guard lock(mu_);
  return entries_.count(name) != 0;
}

size_t sequence_store::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::vector<sequence_info> sequence_store::list() const {
  std::lock_guard lock(mu_);
  std::vector<sequence_info> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back({e.def, e.state});
  return out;
}

result<sequence_info> sequence_store::describe(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return not_found(name);
  return sequence_info{it->second.def, it->second.state};
}

std::pair<std::string, std::optional<std::string>> sequence_store::create_op(const sequence_def& def) const {
  return {key_of(def.name), record_json(def, sequence_state{def.start, false})};
}

std::pair<std::string, std::optional<std::string>> sequence_store::remove_op(const std::string& name) const {
  return {key_of(name), std::nullopt};
}

void sequence_store::created(const sequence_def& def) {
  std::lock_guard lock(mu_);
  entry e;
  e.def = def;
  e.state = {def.start, false};
  entries_[def.name] = std::move(e);
}

void sequence_store::removed(const std::string& name) {
  std::lock_guard lock(mu_);
  entries_.erase(name);
}

std::vector<std::string> sequence_store::owned_by(const std::string& table) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) {
    if (e.def.owned_table == table) out.push_back(name);
  }
  return out;
}

status sequence_store::write_with_owners(std::vector<std::pair<std::string, std::optional<std::string>>> ops,
                                         const std::vector<owner_change>& changes) {
  std::lock_guard lock(mu_);
  for (const owner_change& c : changes) {
    auto it = entries_.find(c.sequence);
    if (it == entries_.end()) return not_found(c.sequence);
    if (c.table.empty()) {
      ops.emplace_back(key_of(c.sequence), std::nullopt);
      continue;
    }
    sequence_def def = it->second.def;
    def.owned_table = c.table;
    def.owned_column = c.column;
    // The record restarts from what was handed out; the reservation it held is given up.
    ops.emplace_back(key_of(c.sequence), record_json(def, it->second.state));
  }
  STRATA_TRY(kv_.write_batch(ops));
  for (const owner_change& c : changes) {
    auto it = entries_.find(c.sequence);
    if (c.table.empty()) {
      entries_.erase(it);
      continue;
    }
    it->second.def.owned_table = c.table;
    it->second.def.owned_column = c.column;
    it->second.reserved = 0;
  }
  return {};
}

status sequence_store::persist(const sequence_def& def, const sequence_state& state) {
  return kv_.put(key_of(def.name), record_json(def, state));
}

result<int64_t> sequence_store::next(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return not_found(name);
  entry& e = it->second;
  std::optional<int64_t> value = e.state.is_called ? step(e.def, e.state.last_value) : e.state.last_value;
  if (!value) {
    const bool up = e.def.increment > 0;
    return make_error(errc::limit_exceeded, fmt::format("nextval: reached {} value of sequence \"{}\" ({})",
                                                        up ? "maximum" : "minimum", name,
                                                        up ? e.def.max_value : e.def.min_value));
  }
  if (e.reserved == 0) {
    const int64_t now = now_ms();
    if (e.last_reserve_ms != 0 && now - e.last_reserve_ms < reserve_grow_within_ms) {
      e.reserve_count = std::min(e.reserve_count * 2, sequence_reserve_max);
    } else {
      e.reserve_count = sequence_reserve_min;
    }
    e.last_reserve_ms = now;
    // The record's last_value is the last of the values reserved now; a
    // sequence without CYCLE reserves no further than its end.
    int64_t last = *value;
    int64_t count = 1;
    while (count < e.reserve_count) {
      auto after = step(e.def, last);
      if (!after || (e.def.cycle && *after == *value)) break;
      last = *after;
      ++count;
    }
    STRATA_TRY(persist(e.def, sequence_state{last, true}));
    e.reserved = count;
  }
  STRATA_ASSERT(e.reserved > 0, "a sequence hands out only reserved values");
  --e.reserved;
  e.state = {*value, true};
  return *value;
}

result<int64_t> sequence_store::set(const std::string& name, int64_t value, bool is_called) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return not_found(name);
  entry& e = it->second;
  if (value < e.def.min_value || value > e.def.max_value) {
    return make_error(errc::invalid_argument, fmt::format("setval: value {} is out of bounds for sequence \"{}\" ({}..{})",
                                                          value, name, e.def.min_value, e.def.max_value));
  }
  sequence_state state{value, is_called};
  STRATA_TRY(persist(e.def, state));
  e.state = state;
  e.reserved = 0;
  return value;
}

status sequence_store::alter(const std::string& name,
                             const std::function<result<sequence_def>(const sequence_def&)>& change,
                             std::optional<std::optional<int64_t>> restart_at) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return not_found(name);
  entry& e = it->second;
  auto def = change(e.def);
  if (!def.ok()) return def.err();
  sequence_state state = e.state;
  if (restart_at) {
    const int64_t restart = restart_at->value_or(def->start);
    if (restart < def->min_value) {
      return make_error(errc::invalid_argument,
                        fmt::format("RESTART value ({}) cannot be less than MINVALUE ({})", restart, def->min_value));
    }
    if (restart > def->max_value) {
      return make_error(errc::invalid_argument, fmt::format("RESTART value ({}) cannot be greater than MAXVALUE ({})",
                                                            restart, def->max_value));
    }
    state = {restart, false};
  }
  STRATA_TRY(persist(*def, state));
  e.def = std::move(*def);
  e.state = state;
  e.reserved = 0;
  return {};
}

}  // namespace strata::tables
