// A session's write buffer: rows per table until commit. Log tables keep the
// rows as they came; primary-key tables keep one pending change per key (the
// last write wins) so lookups, ON CONFLICT checks and scans see the
// transaction's own writes.
#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "base/assert.h"
#include "tables/row_codec.h"
#include "tables/service_impl.h"

namespace strata::tables {
namespace {

std::vector<column_type> types_of(const table_schema& s) {
  std::vector<column_type> out;
  for (const column_def& c : s.columns) out.push_back(c.type);
  return out;
}

std::vector<uint32_t> iota_columns(size_t n) {
  std::vector<uint32_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = uint32_t(i);
  return out;
}

}  // namespace

const table_buffer* transaction_impl::buffer_of(uint64_t table_id) const {
  for (const auto& [name, b] : buffers_) {
    if (b.table->id == table_id) return &b;
  }
  return nullptr;
}

result<table_buffer*> transaction_impl::buffer_for(const std::string& table) {
  auto t = svc_.find_table(table);
  if (!t.ok()) return t.err();
  auto it = buffers_.find(table);
  if (it != buffers_.end()) {
    if (it->second.table != *t) {
      return make_error(errc::not_found, "table \"" + table + "\" was dropped or recreated during this transaction; "
                                                              "roll back and start again");
    }
    return &it->second;
  }
  table_buffer& b = buffers_[table];
  b.table = *t;
  b.rows = empty_batch(types_of((*t)->schema));
  return &b;
}

status transaction_impl::check_rows(const table_rt& t, const column_batch& rows) const {
  const table_schema& s = t.schema;
  if (rows.columns.size() != s.columns.size()) {
    return make_error(errc::invalid_argument, "insert into " + s.name + " has " + std::to_string(rows.columns.size()) +
                                                  " columns but the table has " + std::to_string(s.columns.size()));
  }
  for (size_t c = 0; c < s.columns.size(); ++c) {
    const column_vector& v = rows.columns[c];
    const column_def& d = s.columns[c];
    if (v.type.id != d.type.id || fixed_width(v.type) != fixed_width(d.type)) {
      return make_error(errc::invalid_argument, "column \"" + d.name + "\" is " + type_name(d.type) +
                                                    " but the rows hold " + type_name(v.type) + "; cast the values");
    }
    if (v.row_count != rows.row_count || v.valid.size() != rows.row_count) {
      return make_error(errc::invalid_argument, "insert into " + s.name + ": column \"" + d.name +
                                                    "\" has a different row count than the batch");
    }
    bool not_null = d.not_null;
    for (uint32_t k : s.primary_key) not_null = not_null || k == c;
    if (!not_null) continue;
    for (uint32_t r = 0; r < rows.row_count; ++r) {
      if (v.is_null(r)) {
        return make_error(errc::invalid_argument, "null value in column \"" + d.name + "\" of relation \"" + s.name +
                                                      "\" violates not-null constraint");
      }
    }
  }
  return {};
}

status transaction_impl::reserve_bytes(table_buffer& b, uint64_t bytes) {
  if (bytes_ + bytes > svc_.config().transaction_bytes_max) {
    return make_error(errc::limit_exceeded,
                      "the transaction buffers more than " + std::to_string(svc_.config().transaction_bytes_max >> 20) +
                          " MiB of rows; commit in smaller pieces");
  }
  bytes_ += bytes;
  b.bytes += bytes;
  return {};
}

status transaction_impl::look_up_keys(table_buffer& b, const std::vector<std::string>& keys, bool ask_stored,
                                      std::vector<uint8_t>& taken, std::vector<uint8_t>& stored_absent) {
  std::vector<std::string_view> to_store;
  std::vector<uint32_t> rows_of;
  for (uint32_t r = 0; r < keys.size(); ++r) {
    if (auto it = b.index.find(keys[r]); it != b.index.end()) {
      taken[r] = b.pending[it->second].state == pk_pending::kind::upsert ? 1 : 0;
      continue;
    }
    if (!ask_stored) continue;
    to_store.push_back(keys[r]);
    rows_of.push_back(r);
  }
  std::vector<uint8_t> found(to_store.size(), 0);
  STRATA_TRY(svc_.state().contains(b.table->id, to_store, found));
  for (size_t i = 0; i < rows_of.size(); ++i) {
    taken[rows_of[i]] = found[i];
    stored_absent[rows_of[i]] = found[i] ? 0 : 1;
  }
  return {};
}

result<write_result> transaction_impl::insert(const std::string& table, const column_batch& rows, on_conflict action) {
  auto b = buffer_for(table);
  if (!b.ok()) return b.err();
  table_buffer& buf = **b;
  STRATA_TRY(check_rows(*buf.table, rows));
  if (rows.row_count == 0) return write_result{};
  if (buf.table->is_pk()) return insert_pk(buf, rows, action);
  if (action != on_conflict::error && action != on_conflict::error_at_commit) {
    return make_error(errc::invalid_argument, "ON CONFLICT needs a primary key; " + table + " is a log table");
  }
  STRATA_TRY(reserve_bytes(buf, rows.memory_bytes()));
  append_batch(buf.rows, rows);
  return write_result{rows.row_count};
}

result<write_result> transaction_impl::insert_pk(table_buffer& buf, const column_batch& rows, on_conflict action) {
  const table_schema& s = buf.table->schema;
  std::vector<std::string> keys(rows.row_count);
  uint64_t key_bytes = 0;
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    keys[r] = encode_values(rows, r, s.primary_key);
    key_bytes += keys[r].size() + sizeof(pk_pending) + 32;
  }
  uint64_t version = buf.table->state_version.load();
  if (!buf.checked_at) buf.checked_at = version;
  if (*buf.checked_at != version) buf.checks_stale = true;
  // replace needs no check: commit compares with the stored row.
  std::vector<uint8_t> taken(rows.row_count, 0);
  std::vector<uint8_t> absent(rows.row_count, 0);
  if (action != on_conflict::replace) {
    STRATA_TRY(look_up_keys(buf, keys, action != on_conflict::error_at_commit, taken, absent));
  }
  if (action == on_conflict::error_at_commit) action = on_conflict::error;
  std::vector<uint8_t> accept(rows.row_count, 0);
  std::unordered_map<std::string_view, uint32_t> seen;  // key -> last accepted row of this write
  seen.reserve(rows.row_count);
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    auto prior = seen.find(keys[r]);
    const bool dup = prior != seen.end() || (action != on_conflict::replace && taken[r]);
    if (action == on_conflict::error && dup) {
      return make_error(errc::already_exists, "duplicate key value violates unique constraint \"" + s.name +
                                                  "_pkey\": " + key_text(s, rows, r, s.primary_key) +
                                                  " already exists");
    }
    if (action == on_conflict::do_nothing && dup) continue;
    if (action == on_conflict::replace && prior != seen.end()) accept[prior->second] = 0;  // last one wins
    accept[r] = 1;
    seen[keys[r]] = r;
  }
  STRATA_TRY(reserve_bytes(buf, rows.memory_bytes() + key_bytes));
  std::vector<uint32_t> accepted;
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    if (accept[r]) accepted.push_back(r);
  }
  const uint32_t first_row = buf.rows.row_count;
  for (size_t c = 0; c < rows.columns.size(); ++c) append_rows(buf.rows.columns[c], rows.columns[c], accepted);
  buf.rows.row_count += uint32_t(accepted.size());
  buf.index.reserve(buf.index.size() + accepted.size());
  for (uint32_t i = 0; i < accepted.size(); ++i) {
    const uint32_t r = accepted[i];
    const uint32_t row = first_row + i;
    auto [it, added] = buf.index.try_emplace(keys[r], buf.pending.size());
    if (added) {
      buf.pending.push_back(pk_pending{std::move(keys[r]), row, pk_pending::kind::upsert, action, absent[r] != 0});
      continue;
    }
    pk_pending& p = buf.pending[it->second];
    if (p.state == pk_pending::kind::remove) p.mode = on_conflict::replace;
    p.state = pk_pending::kind::upsert;
    p.row = row;
  }
  const uint64_t written = action == on_conflict::replace ? rows.row_count : accepted.size();
  return write_result{written};
}

namespace {

// What needs a primary-key table: `what` for the message; `key_columns`,
// when given, is the width of the keys handed in.
status check_keyed(const table_rt& t, std::string_view what, std::optional<size_t> key_columns) {
  const table_schema& s = t.schema;
  if (!t.is_pk()) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} needs a primary key; {} is a log table", what, s.name));
  }
  if (key_columns && *key_columns != s.primary_key.size()) {
    return make_error(errc::invalid_argument, fmt::format("{} in {} needs the {} primary-key columns, not {}", what,
                                                          s.name, s.primary_key.size(), *key_columns));
  }
  return {};
}

}  // namespace

result<write_result> transaction_impl::remove(const std::string& table, const column_batch& keys) {
  auto b = buffer_for(table);
  if (!b.ok()) return b.err();
  table_buffer& buf = **b;
  STRATA_TRY(check_keyed(*buf.table, "DELETE and UPDATE", keys.columns.size()));
  const auto cols = iota_columns(keys.columns.size());
  uint64_t removed = 0;
  for (uint32_t r = 0; r < keys.row_count; ++r) {
    std::string key = encode_values(keys, r, cols);
    auto it = buf.index.find(key);
    if (it != buf.index.end()) {
      pk_pending& p = buf.pending[it->second];
      if (p.state != pk_pending::kind::upsert) continue;
      p.state = p.mode == on_conflict::replace ? pk_pending::kind::remove : pk_pending::kind::noop;
      ++removed;
      continue;
    }
    auto stored = svc_.state().get(buf.table->id, key);
    if (!stored.ok()) return stored.err();
    if (!stored->has_value()) continue;
    STRATA_TRY(reserve_bytes(buf, key.size() + sizeof(pk_pending) + 32));
    buf.index.emplace(key, buf.pending.size());
    buf.pending.push_back(pk_pending{std::move(key), 0, pk_pending::kind::remove, on_conflict::replace});
    ++removed;
  }
  return write_result{removed};
}

result<transaction::lookup_result> transaction_impl::lookup(const std::string& table, const column_batch& keys) {
  auto t = svc_.find_table(table);
  if (!t.ok()) return t.err();
  const table_schema& s = (*t)->schema;
  STRATA_TRY(check_keyed(**t, "a key lookup", keys.columns.size()));
  const table_buffer* buf = buffer_of((*t)->id);
  const auto cols = iota_columns(keys.columns.size());
  lookup_result out;
  out.rows = empty_batch(types_of(s));
  out.found.assign(keys.row_count, 0);
  for (uint32_t r = 0; r < keys.row_count; ++r) {
    std::string key = encode_values(keys, r, cols);
    if (buf != nullptr) {
      if (auto it = buf->index.find(key); it != buf->index.end()) {
        const pk_pending& p = buf->pending[it->second];
        if (p.state != pk_pending::kind::upsert) continue;
        for (size_t c = 0; c < out.rows.columns.size(); ++c) append_range(out.rows.columns[c], buf->rows.columns[c], p.row, 1);
        ++out.rows.row_count;
        out.found[r] = 1;
        continue;
      }
    }
    auto stored = svc_.state().get((*t)->id, key);
    if (!stored.ok()) return stored.err();
    if (!stored->has_value()) continue;
    STRATA_TRY(decode_row_into((*stored)->row, out.rows));
    out.found[r] = 1;
  }
  return out;
}

result<void> transaction_impl::commit() {
  auto s = svc_.commit(buffers_);
  buffers_.clear();
  bytes_ = 0;
  // After the commit is visible, so a waiter that gets a lock reads the new rows.
  if (locks_) svc_.locks().release_all(locks_->id);
  locks_.reset();
  return s;
}

void transaction_impl::rollback() {
  buffers_.clear();
  bytes_ = 0;
  locks_.reset();
}

namespace {
struct buffered_copy final : transaction::savepoint {
  std::map<std::string, table_buffer> buffers;
  uint64_t bytes = 0;
  std::shared_ptr<lock_owner> locks;
};
}  // namespace

std::shared_ptr<const transaction::savepoint> transaction_impl::save() const {
  auto copy = std::make_shared<buffered_copy>();
  copy->buffers = buffers_;
  copy->bytes = bytes_;
  copy->locks = locks_;
  return copy;
}

void transaction_impl::restore(const savepoint& point) {
  const auto* copy = dynamic_cast<const buffered_copy*>(&point);
  STRATA_ASSERT(copy != nullptr, "a savepoint comes from a transaction of this service");
  buffers_ = copy->buffers;
  bytes_ = copy->bytes;
  // The rows restored were written under these locks; keep holding them.
  if (copy->locks) locks_ = copy->locks;
}

result<transaction::lock_report> transaction_impl::lock_keys(const std::string& table, const column_batch& keys,
                                                             lock_strength strength, lock_wait wait,
                                                             const std::function<bool()>& stop) {
  auto t = svc_.find_table(table);
  if (!t.ok()) return t.err();
  STRATA_TRY(check_keyed(**t, "locking rows", keys.columns.size()));
  const auto cols = iota_columns(keys.columns.size());
  std::vector<std::string> encoded(keys.row_count);
  for (uint32_t r = 0; r < keys.row_count; ++r) encoded[r] = encode_values(keys, r, cols);
  if (!locks_) locks_ = std::make_shared<lock_owner>(svc_.locks(), svc_.next_lock_owner());
  lock_report out;
  out.status = svc_.locks().lock(locks_->id, (*t)->id, encoded, strength, wait, stop, out.skipped);
  return out;
}

result<transaction::rows_version> transaction_impl::version_of(const std::string& table) {
  auto t = svc_.find_table(table);
  if (!t.ok()) return t.err();
  return rows_version{(*t)->id, (*t)->state_version.load()};
}

result<std::vector<uint8_t>> transaction_impl::changed_rows(const std::string& table, const column_batch& rows) {
  auto t = svc_.find_table(table);
  if (!t.ok()) return t.err();
  const table_schema& s = (*t)->schema;
  STRATA_TRY(check_keyed(**t, "comparing row versions", std::nullopt));
  STRATA_TRY(check_rows(**t, rows));
  const table_buffer* buf = buffer_of((*t)->id);
  std::vector<uint8_t> changed(rows.row_count, 1);
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    const std::string key = encode_values(rows, r, s.primary_key);
    const std::string image = encode_row(rows, r);
    if (buf != nullptr) {
      if (auto it = buf->index.find(key); it != buf->index.end()) {
        const pk_pending& p = buf->pending[it->second];
        changed[r] = p.state == pk_pending::kind::upsert && encode_row(buf->rows, p.row) == image ? 0 : 1;
        continue;
      }
    }
    auto stored = svc_.state().get((*t)->id, key);
    if (!stored.ok()) return stored.err();
    changed[r] = stored->has_value() && (*stored)->row == image ? 0 : 1;
  }
  return changed;
}

}  // namespace strata::tables
