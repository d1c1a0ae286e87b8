#include "tables/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <set>

#include "tables/catalog.h"
#include "tables/row_codec.h"
#include "tables/service_impl.h"

namespace strata::tables {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string int128_text(__int128 v) {
  bool neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
  std::string s;
  do {
    s.push_back(char('0' + int(u % 10)));
    u /= 10;
  } while (u > 0);
  if (neg) s.push_back('-');
  return {s.rbegin(), s.rend()};
}

std::string numeric_text(__int128 v, uint8_t scale) {
  if (scale == 0) return int128_text(v);
  bool neg = v < 0;
  std::string digits = int128_text(neg ? -v : v);
  if (digits.size() <= scale) digits = std::string(scale + 1 - digits.size(), '0') + digits;
  size_t point = digits.size() - scale;
  return (neg ? "-" : "") + digits.substr(0, point) + "." + digits.substr(point);
}

std::string time_text(int64_t us, bool with_date_only) {
  int64_t days = us / 86400000000LL - (us % 86400000000LL < 0);
  int64_t rest = us - days * 86400000000LL;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (with_date_only) return fmt::format("{:04}-{:02}-{:02}", y, m, d);
  int64_t secs = rest / 1000000, frac = rest % 1000000;
  std::string s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
  if (frac != 0) s += fmt::format(".{:06}", frac);
  return s;
}

std::string value_text(const column_vector& c, uint32_t row) {
  scalar v = scalar_at(c, row);
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return std::get<bool>(v) ? "t" : "f";
    case 2: {
      int64_t x = std::get<int64_t>(v);
      if (c.type.id == type_id::date) return time_text(x * 86400000000LL, true);
      if (c.type.id == type_id::timestamp || c.type.id == type_id::timestamptz) return time_text(x, false);
      return std::to_string(x);
    }
    case 3:
      return fmt::format("{}", std::get<double>(v));
    case 4:
      return numeric_text(std::get<__int128>(v), c.type.scale);
    default:
      return std::get<std::string>(v);
  }
}

}  // namespace

std::string key_text(const table_schema& schema, const column_batch& rows, uint32_t row,
                     const std::vector<uint32_t>& columns) {
  std::string names, values;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) {
      names += ", ";
      values += ", ";
    }
    names += schema.columns[schema.primary_key[i]].name;
    values += value_text(rows.columns[columns[i]], row);
  }
  return "key (" + names + ")=(" + values + ")";
}

service_impl::service_impl(service_config config, io::fs& fs, meta::kv& kv, std::unique_ptr<pk_state> state)
    : config_(std::move(config)),
      fs_(fs),
      kv_(kv),
      root_(io::join_path(config_.data_dir, "tables")),
      state_(std::move(state)),
      cache_(config_.decoded_cache_bytes_max) {}

std::string service_impl::table_dir(uint64_t table_id) const { return io::join_path(root_, std::to_string(table_id)); }

std::string service_impl::bucket_dir(uint64_t table_id, uint64_t partition_id, uint32_t bucket) const {
  return fmt::format("{}/p{}/b{}", table_dir(table_id), partition_id, bucket);
}

storage::log_config service_impl::log_config() const {
  storage::log_config c;
  c.segment_bytes_max = config_.segment_bytes_max;
  c.segment_age_ms_max = INT64_MAX / 2;
  c.retention_ms = -1;
  c.retention_bytes = -1;
  c.entry_bytes_max = 512 * MiB;
  return c;
}

result<std::unique_ptr<storage::log>> service_impl::open_log(const std::string& dir) {
  STRATA_TRY(fs_.create_dirs(dir));
  return storage::log::open(fs_, dir, log_config());
}

result<std::shared_ptr<partition_rt>> service_impl::partition_for(table_rt& t, const std::string& key) {
  std::lock_guard lock(t.mu);
  if (auto it = t.partitions.find(key); it != t.partitions.end()) return it->second;
  if (t.dropped) {
    return make_error(errc::not_found, "table " + t.schema.name + " was dropped or truncated during the transaction; nothing was "
                                                                   "committed");
  }
  if (t.partitions.size() >= partitions_per_table_max) {
    return make_error(errc::limit_exceeded, "table " + t.schema.name + " already has " +
                                                std::to_string(partitions_per_table_max) +
                                                " partitions, the most allowed; partition by a coarser interval or "
                                                "by a column with fewer values");
  }
  auto bounds = bounds_of_key(t.schema, key);
  if (!bounds.ok()) return bounds.err();
  auto p = std::make_shared<partition_rt>();
  p->id = t.next_partition_id;
  p->key = key;
  p->bounds = std::move(bounds.value());
  p->buckets.resize(t.schema.buckets);
  auto op = put_partition(partition_record{t.id, p->id, key});
  STRATA_TRY(kv_.put(op.first, *op.second));
  ++t.next_partition_id;
  t.partitions.emplace(key, p);
  t.partitions_by_id.emplace(p->id, p);
  return p;
}

result<std::shared_ptr<bucket_rt>> service_impl::bucket_for(table_rt& t, partition_rt& p, uint32_t bucket) {
  std::lock_guard lock(t.mu);
  if (p.buckets[bucket]) return p.buckets[bucket];
  if (t.dropped) {
    return make_error(errc::not_found, "table " + t.schema.name + " was dropped or truncated during the transaction; nothing was "
                                                                   "committed");
  }
  auto b = std::make_shared<bucket_rt>();
  b->table_id = t.id;
  b->partition_id = p.id;
  b->index = bucket;
  b->dir = bucket_dir(t.id, p.id, bucket);
  auto log = open_log(b->dir);
  if (!log.ok()) return log.err();
  b->log = std::move(log.value());
  p.buckets[bucket] = b;
  return b;
}

result<std::shared_ptr<table_rt>> service_impl::find_table(const std::string& name) {
  std::lock_guard lock(catalog_mu_);
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    return make_error(errc::not_found, "table \"" + name + "\" does not exist; create it with CREATE TABLE");
  }
  return it->second;
}

table_info service_impl::info_of(table_rt& t) {
  table_info info;
  info.table_id = t.id;
  info.schema = t.schema;
  int64_t live = t.live_rows.load();
  info.row_count = live < 0 ? 0 : uint64_t(live);
  info.stored_bytes = t.stored_bytes.load();
  info.batch_count = t.batch_count.load();
  std::lock_guard lock(t.mu);
  info.partition_count = uint32_t(t.partitions.size());
  return info;
}

namespace {

std::shared_ptr<table_rt> make_table_rt(uint64_t id, int64_t created_ms, const table_schema& schema) {
  auto t = std::make_shared<table_rt>();
  t->id = id;
  t->created_ms = created_ms;
  t->schema = schema;
  t->bucket_key = !schema.bucket_key.empty() ? schema.bucket_key : schema.primary_key;
  return t;
}

}  // namespace

result<table_info> service_impl::create_table(const table_schema& schema, bool if_not_exists,
                                              const std::vector<sequence_def>& owned) {
  if (schema.name.starts_with(rewrite_name_prefix)) {
    return make_error(errc::invalid_argument, "table names may not start with byte 0x01; choose another name");
  }
  return create_table_named(schema, if_not_exists, owned);
}

namespace {

error relation_exists(const std::string& name) {
  return make_error(errc::already_exists,
                    "relation \"" + name + "\" already exists; choose another name or drop the existing one first");
}

}  // namespace

result<table_info> service_impl::create_table_named(const table_schema& schema, bool if_not_exists,
                                                    const std::vector<sequence_def>& owned) {
  STRATA_TRY(validate(schema));
  std::shared_ptr<table_rt> t;
  {
    std::lock_guard lock(catalog_mu_);
    if (auto it = tables_.find(schema.name); it != tables_.end()) {
      if (!if_not_exists) return relation_exists(schema.name);
      t = it->second;
    } else {
      if (sequences_.exists(schema.name)) return relation_exists(schema.name);
      std::vector<kv_op> ops;
      for (const sequence_def& s : owned) {
        if (tables_.count(s.name) != 0 || sequences_.exists(s.name) || s.name == schema.name) {
          return relation_exists(s.name);
        }
        ops.push_back(sequences_.create_op(s));
      }
      uint64_t id = next_table_id_;
      int64_t created_ms = now_us() / 1000;
      ops.push_back(put_table(table_record{id, created_ms, schema}));
      ops.push_back(put_next_table_id(id + 1));
      STRATA_TRY(kv_.write_batch(ops));
      for (const sequence_def& s : owned) sequences_.created(s);
      next_table_id_ = id + 1;
      t = make_table_rt(id, created_ms, schema);
      tables_.emplace(schema.name, t);
    }
  }
  return info_of(*t);
}

status service_impl::drop_table(const std::string& name, bool if_exists) {
  std::shared_ptr<table_rt> t;
  {
    std::lock_guard lock(catalog_mu_);
    auto it = tables_.find(name);
    if (it == tables_.end()) {
      if (if_exists) return {};
      return make_error(errc::not_found, "table \"" + name + "\" does not exist; check the name with \\dt");
    }
    t = it->second;
    std::vector<kv_op> ops{remove_table(name)};
    {
      std::lock_guard tl(t->mu);
      for (const auto& [key, p] : t->partitions) ops.push_back(remove_partition(t->id, key));
    }
    const auto owned = sequences_.owned_by(name);
    for (const auto& s : owned) ops.push_back(sequences_.remove_op(s));
    STRATA_TRY(kv_.write_batch(ops));
    for (const auto& s : owned) sequences_.removed(s);
    {
      std::lock_guard tl(t->mu);
      t->dropped = true;
    }
    tables_.erase(it);
  }
  release_storage(*t);
  return {};
}

status service_impl::create_sequence(const sequence_def& def, bool if_not_exists) {
  std::lock_guard lock(catalog_mu_);
  if (tables_.count(def.name) != 0) return relation_exists(def.name);
  if (sequences_.exists(def.name)) return if_not_exists ? status{} : status(relation_exists(def.name));
  if (sequences_.size() >= sequences_max) {
    return make_error(errc::limit_exceeded, fmt::format("there are {} sequences already, the most a server keeps; "
                                                        "drop one first", sequences_max));
  }
  STRATA_TRY(kv_.write_batch({sequences_.create_op(def)}));
  sequences_.created(def);
  return {};
}

status service_impl::drop_sequences(const std::vector<std::string>& names, bool if_exists) {
  std::lock_guard lock(catalog_mu_);
  std::vector<kv_op> ops;
  std::vector<std::string> dropping;
  for (const auto& name : names) {
    auto info = sequences_.describe(name);
    if (!info.ok()) {
      if (if_exists) continue;
      return make_error(errc::not_found, "sequence \"" + name + "\" does not exist");
    }
    if (!info->def.owned_table.empty() && tables_.count(info->def.owned_table) != 0) {
      return make_error(errc::invalid_argument,
                        fmt::format("cannot drop sequence {} because column {} of table {} uses it; drop the table "
                                    "(or the column) instead",
                                    name, info->def.owned_column, info->def.owned_table));
    }
    ops.push_back(sequences_.remove_op(name));
    dropping.push_back(name);
  }
  if (ops.empty()) return {};
  STRATA_TRY(kv_.write_batch(ops));
  for (const auto& name : dropping) sequences_.removed(name);
  return {};
}

status service_impl::truncate_tables(const std::vector<std::string>& names) {
  std::vector<std::shared_ptr<table_rt>> emptied;
  {
    std::lock_guard lock(catalog_mu_);
    std::vector<kv_op> ops;
    std::vector<std::shared_ptr<table_rt>> fresh;
    uint64_t id = next_table_id_;
    const int64_t created_ms = now_us() / 1000;
    for (const auto& name : names) {
      auto it = tables_.find(name);
      if (it == tables_.end()) {
        return make_error(errc::not_found, "table \"" + name + "\" does not exist; check the name with \\dt");
      }
      auto& t = it->second;
      if (std::find(emptied.begin(), emptied.end(), t) != emptied.end()) continue;  // named twice
      {
        std::lock_guard tl(t->mu);
        for (const auto& [key, p] : t->partitions) ops.push_back(remove_partition(t->id, key));
      }
      ops.push_back(put_table(table_record{id, created_ms, t->schema}));  // replaces the record of that name
      fresh.push_back(make_table_rt(id, created_ms, t->schema));
      emptied.push_back(t);
      ++id;
    }
    ops.push_back(put_next_table_id(id));
    STRATA_TRY(kv_.write_batch(ops));
    next_table_id_ = id;
    for (size_t i = 0; i < emptied.size(); ++i) {
      {
        std::lock_guard tl(emptied[i]->mu);
        emptied[i]->dropped = true;
      }
      tables_[emptied[i]->schema.name] = fresh[i];
    }
  }
  for (const auto& t : emptied) release_storage(*t);
  return {};
}

void service_impl::release_storage(table_rt& t) {
  for (const auto& p : t.partition_list()) {
    for (const auto& b : t.buckets_of(*p)) {
      std::lock_guard write(b->write_mu);
      b->wait_idle();  // a commit still making its rows durable applies them first
      std::lock_guard log(b->log_mu);
      b->dropped = true;
      b->log.reset();
    }
  }
  // The catalog no longer names the table: a failure below leaves files that
  // the next open removes.
  if (auto s = state_->drop_table(t.id); !s.ok()) spdlog::warn("tables: {}", s.err().message);
  if (auto s = fs_.remove_all(table_dir(t.id)); !s.ok()) spdlog::warn("tables: {}", s.err().message);
}

result<table_info> service_impl::describe(const std::string& name) {
  auto t = find_table(name);
  if (!t.ok()) return t.err();
  return info_of(**t);
}

std::vector<std::shared_ptr<table_rt>> service_impl::all_tables() {
  std::lock_guard lock(catalog_mu_);
  std::vector<std::shared_ptr<table_rt>> all;
  for (auto& [name, t] : tables_) all.push_back(t);
  return all;
}

std::vector<table_info> service_impl::list_tables() {
  std::vector<table_info> out;
  for (auto& t : all_tables()) out.push_back(info_of(*t));
  return out;
}

std::unique_ptr<transaction> service_impl::begin() { return std::make_unique<transaction_impl>(*this); }

result<std::unique_ptr<table_scan>> service_impl::scan(const std::string& table, const scan_spec& spec,
                                                       const transaction* txn) {
  auto t = find_table(table);
  if (!t.ok()) return t.err();
  if (spec.table_id != 0 && spec.table_id != (*t)->id) {
    return make_error(errc::unavailable, "table \"" + table + "\" was changed since the statement was planned");
  }
  const auto* ti = dynamic_cast<const transaction_impl*>(txn);
  const table_buffer* buf = ti ? ti->buffer_of((*t)->id) : nullptr;
  if (buf == nullptr || spec.changelog) return plan_scan(*t, spec, nullptr, cache_);
  txn_overlay overlay;
  column_batch current;
  if (!(*t)->is_pk()) {
    overlay.rows = &buf->rows;
    return plan_scan(*t, spec, &overlay, cache_);
  }
  std::vector<uint32_t> rows;
  for (const pk_pending& p : buf->pending) {
    if (p.state == pk_pending::kind::noop) continue;
    if (p.state == pk_pending::kind::upsert) rows.push_back(p.row);
    auto stored = state_->get((*t)->id, p.key);
    if (!stored.ok()) return stored.err();
    if (stored->has_value()) overlay.hidden.push_back((*stored)->at);
  }
  current = gather(buf->rows, rows);
  overlay.rows = &current;
  return plan_scan(*t, spec, &overlay, cache_);
}

status service_impl::flush_all() {
  for (auto& t : all_tables()) {
    for (const auto& p : t->partition_list()) {
      for (const auto& b : t->buckets_of(*p)) {
        std::shared_ptr<storage::log> log;
        {
          std::lock_guard lock(b->write_mu);
          if (b->dropped || b->failed || !b->log) continue;
          log = b->log;
        }
        STRATA_TRY(b->ensure_durable(*log, log->end_offset().value));
      }
    }
  }
  return state_->persist();
}

status service_impl::remove_orphans() {
  auto names = fs_.list(root_);
  if (!names.ok()) return names.err();
  std::set<uint64_t> live;
  for (auto& [name, t] : tables_) live.insert(t->id);
  for (const std::string& n : *names) {
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), id);
    if (ec != std::errc() || p != n.data() + n.size() || live.count(id) > 0) continue;
    spdlog::info("tables: removing {} of a dropped table", io::join_path(root_, n));
    STRATA_TRY(state_->drop_table(id));
    STRATA_TRY(fs_.remove_all(io::join_path(root_, n)));
  }
  return {};
}

result<std::unique_ptr<service>> service::open(service_config config, io::fs& fs, meta::kv& catalog_kv) {
  if (config.data_dir.empty()) return make_error(errc::invalid_argument, "tables: data_dir must be set");
  if (config.batch_rows_max == 0 || config.batch_rows_max > batch_rows_hard_max) {
    return make_error(errc::invalid_argument, "tables: batch_rows_max must be between 1 and 1048576");
  }
  std::string root = io::join_path(config.data_dir, "tables");
  STRATA_TRY(fs.create_dirs(root));
  // RocksDB goes to the real file system: the state is derived data.
  std::string state_dir = io::join_path(root, "state");
  auto posix = io::make_posix_fs();
  STRATA_TRY(posix->create_dirs(state_dir));
  auto state = pk_state::open(state_dir);
  if (!state.ok()) return state.err();
  auto svc = std::make_unique<service_impl>(std::move(config), fs, catalog_kv, std::move(state.value()));
  STRATA_TRY(svc->recover());
  return std::unique_ptr<service>(std::move(svc));
}

}  // namespace strata::tables
