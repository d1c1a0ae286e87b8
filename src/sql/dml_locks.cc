// Row locks taken by UPDATE, DELETE and upserts (PostgreSQL's READ
// COMMITTED writer): keys locked in order, then the rows read again under
// the locks when they changed meanwhile.
#include <algorithm>

#include <fmt/format.h>

#include "sql/dml_shared.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {

namespace {

error lock_error(tables::lock_status status, const std::string& table) {
  if (status == tables::lock_status::deadlock) {
    return error{"40P01", "deadlock detected", {}, "Another transaction waits for a row this one holds; run the transaction again."};
  }
  return error{"55P03", fmt::format("could not obtain lock on row in relation \"{}\"", table), {}, {}};
}

}  // namespace

error too_many_rereads(const std::string& table) {
  return error{"40001", "could not serialize access due to concurrent update", {},
               fmt::format("Rows of \"{}\" kept changing while this statement locked them; run it again.", table)};
}

outcome<std::vector<uint8_t>> session_impl::take_locks(tables::transaction& txn, const std::string& table,
                                                       const tables::column_batch& keys, tables::lock_strength strength,
                                                       tables::lock_wait wait) {
  auto got = txn.lock_keys(table, keys, strength, wait, [this] { return interrupted(); });
  if (!got.ok()) return tables_error(got.err());
  if (got->status == tables::lock_status::cancelled) return interrupted_error();
  if (got->status != tables::lock_status::locked) return lock_error(got->status, table);
  return std::move(got->skipped);
}

outcome<session_impl::locked_rows> session_impl::lock_in_order(tables::transaction& txn, const std::string& table,
                                                               const tables::table_schema& schema,
                                                               const tables::column_batch& images,
                                                               tables::lock_strength strength, tables::lock_wait wait,
                                                               uint64_t wanted,
                                                               const tables::transaction::rows_version& read_at) {
  const tables::column_batch keys = pick_columns(images, schema.primary_key);
  locked_rows out;
  uint32_t position = 0;
  while (position < keys.row_count && out.rows.size() < wanted) {
    // Rows past `wanted` stay unlocked, so a SKIP LOCKED ... LIMIT leaves them to others.
    const uint64_t missing = wanted - out.rows.size();
    const uint32_t take = uint32_t(std::min<uint64_t>(keys.row_count - position, missing));
    std::vector<uint32_t> slice(take);
    for (uint32_t i = 0; i < take; ++i) slice[i] = position + i;
    auto skipped = take_locks(txn, table, take == keys.row_count ? keys : pick_rows(keys, slice), strength, wait);
    if (!skipped.ok()) return skipped.err();
    for (uint32_t i = 0; i < take; ++i) {
      if (skipped.value()[i] == 0) out.rows.push_back(position + i);
    }
    position += take;
  }
  auto now = txn.version_of(table);
  if (!now.ok()) return tables_error(now.err());
  if (now.value() == read_at || out.rows.empty()) return out;
  auto changed = txn.changed_rows(table, out.rows.size() == images.row_count ? images : pick_rows(images, out.rows));
  if (!changed.ok()) return tables_error(changed.err());
  out.changed = std::any_of(changed->begin(), changed->end(), [](uint8_t c) { return c != 0; });
  return out;
}

namespace {

// The rows an UPDATE or DELETE read, one per key (UPDATE ... FROM may join a
// row more than once; it is changed once, as in PostgreSQL).
struct read_rows {
  tables::column_batch images;                 // every column, as read
  std::vector<tables::column_batch> new_rows;  // UPDATE: every column, as it will be
};

read_rows unique_rows(const std::vector<tables::column_batch>& batches, const tables::table_schema& schema,
                      bool with_new_rows) {
  const size_t n = schema.columns.size();
  std::vector<uint32_t> new_columns(n), old_columns(n), old_key;
  for (uint32_t i = 0; i < n; ++i) {
    new_columns[i] = i;
    old_columns[i] = uint32_t(with_new_rows ? n + i : i);
  }
  for (uint32_t k : schema.primary_key) old_key.push_back(old_columns[k]);
  std::unordered_set<std::string> seen;
  read_rows out;
  for (const auto& b : batches) {
    std::vector<uint32_t> keep;
    for (uint32_t r = 0; r < b.row_count; ++r) {
      if (seen.insert(row_key(b, old_key, r)).second) keep.push_back(r);
    }
    const auto unique = keep.size() == b.row_count ? b : pick_rows(b, keep);
    append_batch(pick_columns(unique, old_columns), 0, unique.row_count, out.images);
    if (with_new_rows) out.new_rows.push_back(pick_columns(unique, new_columns));
  }
  return out;
}

}  // namespace

outcome<session_impl::locked_rows> session_impl::read_locked(
    tables::transaction& txn, const std::string& table, const tables::table_schema& schema,
    tables::lock_strength strength, tables::lock_wait wait, uint64_t wanted,
    const std::function<outcome<const tables::column_batch*>()>& read) {
  for (int attempt = 0; attempt < locked_read_attempts_max; ++attempt) {
    auto read_at = txn.version_of(table);
    if (!read_at.ok()) return tables_error(read_at.err());
    auto images = read();
    if (!images.ok()) return images.err();
    if (images.value()->row_count == 0) return locked_rows{};
    auto locked = lock_in_order(txn, table, schema, *images.value(), strength, wait, wanted, read_at.value());
    if (!locked.ok() || !locked->changed) return locked;
  }
  return too_many_rereads(table);
}

outcome<session_impl::locked_read> session_impl::read_and_lock(const write_plan& plan, const statement& st,
                                                               const std::vector<parameter>& params,
                                                               tables::transaction& txn, tables::lock_strength strength) {
  const auto& schema = plan.schema;
  auto types = column_types(schema, all_columns(schema));
  const bool update = st.how == route::update;
  if (update) types.insert(types.end(), types.begin(), types.end());
  read_rows rows;
  auto locked = read_locked(txn, plan.table, schema, strength, tables::lock_wait::block, UINT64_MAX,
                            [&]() -> outcome<const tables::column_batch*> {
                              std::shared_ptr<duck_retry> retry;
                              auto result = run(*plan.source, st, params, true, &retry);
                              if (!result.ok()) return result.err();
                              auto batches = collect(result.value(), types, retry.get());
                              if (!batches.ok()) return batches.err();
                              rows = unique_rows(batches.value(), schema, update);
                              return &rows.images;
                            });
  if (!locked.ok()) return locked.err();
  return locked_read{std::move(rows.images), std::move(rows.new_rows)};
}

}  // namespace strata::sql::detail
