// rewrite_table: ALTER TABLE changes that need every row again (ADD PRIMARY
// KEY on a log table). The rows go into a staged table under a name no SQL
// can reach, through ordinary transactions (so the new key is checked as any
// insert checks it), and one catalog write then gives the staged table the
// old one's name. Until that write nothing visible changes; a crash before
// it leaves the staged table to the next open, which drops it.
#include <fmt/format.h>

#include "tables/catalog.h"
#include "tables/row_codec.h"
#include "tables/service_impl.h"

namespace strata::tables {
namespace {

// The key part of a duplicate-key error ("Key (id)=(1)"), for the message
// PostgreSQL gives when a new key finds duplicates.
error duplicate_key_error(const std::string& table, const error& e) {
  const auto from = e.message.find(": Key ");
  const auto to = e.message.rfind(" already exists");
  std::string key = from != std::string::npos && to != std::string::npos && to > from
                        ? e.message.substr(from + 2, to - from - 2)
                        : std::string("a key");
  return make_error(errc::already_exists,
                    fmt::format("could not create unique index \"{}_pkey\": {} is duplicated", table, key));
}

}  // namespace

result<table_info> service_impl::alter_table(const std::string& name, const table_change& change) {
  const table_schema& target = change.target;
  STRATA_TRY(validate(target));
  if (target.name.starts_with(rewrite_name_prefix)) {
    return make_error(errc::invalid_argument, fmt::format("table names may not start with \"{}\"", rewrite_name_prefix));
  }
  auto found = find_table(name);
  if (!found.ok()) return found.err();
  std::shared_ptr<table_rt> old = *found;
  // One ALTER TABLE at a time per table, each on the definition it was computed from.
  if (old->altering.exchange(true)) {
    return make_error(errc::unavailable, "table \"" + name + "\" is being altered; retry when that finishes");
  }
  struct end_exclusion {
    table_rt& t;
    ~end_exclusion() { t.altering = t.rewriting = false; }
  } exclusion{*old};
  table_schema current;
  {
    std::lock_guard tl(old->mu);
    current = old->schema;
  }
  if (change.base && *change.base != current) {
    return make_error(errc::unavailable, "table \"" + name + "\" was altered meanwhile; run the ALTER TABLE again");
  }
  STRATA_TRY(check_change(current, change));
  if (!change.rewrite) return swap_in(old, nullptr, change);
  old->rewriting = true;
  // A commit that passed its check before the flag is still appending
  // (write_mu) or publishing: wait for each, so none is left in flight.
  for (const auto& p : old->partition_list()) {
    for (const auto& b : old->buckets_of(*p)) {
      std::lock_guard write(b->write_mu);
      b->wait_idle();
    }
  }
  table_schema staged = target;
  staged.name = fmt::format("{}{}", rewrite_name_prefix, old->id);
  (void)drop_table(staged.name, true);  // one a failed rewrite left behind
  auto done = [&]() -> result<table_info> {
    STRATA_TRY(create_table_named(staged, false));
    status copied = change.fill ? change.fill(staged.name) : copy_rows(name, staged.name);
    if (!copied.ok()) {
      (void)drop_table(staged.name, true);
      if (copied.code() == errc::already_exists) return duplicate_key_error(name, copied.err());
      error e = copied.err();
      for (auto at = e.message.find(staged.name); at != std::string::npos; at = e.message.find(staged.name)) {
        e.message.replace(at, staged.name.size(), name);  // errors name the table the user knows
      }
      return e;
    }
    std::shared_ptr<table_rt> fresh;
    {
      std::lock_guard lock(catalog_mu_);
      auto it = tables_.find(staged.name);
      if (it == tables_.end()) return make_error(errc::internal, "the staged table of a rewrite is gone");
      fresh = it->second;
    }
    return swap_in(old, fresh, change);
  }();
  return done;
}

// A change without a rewrite keeps every column's values and type, and adds
// no check that the stored rows would have to pass.
status service_impl::check_change(const table_schema& current, const table_change& change) {
  const table_schema& target = change.target;
  if (change.continues.size() != target.columns.size()) {
    return make_error(errc::internal, "a table change names a source for each new column");
  }
  for (const auto& c : change.continues) {
    if (c && *c >= current.columns.size()) return make_error(errc::internal, "a table change names a missing column");
  }
  if (change.rewrite) return {};
  bool same = target.columns.size() == current.columns.size() && target.kind == current.kind &&
              target.primary_key == current.primary_key && target.bucket_key == current.bucket_key &&
              target.buckets == current.buckets && target.partitioning == current.partitioning;
  for (uint32_t i = 0; same && i < target.columns.size(); ++i) {
    const auto& from = change.continues[i];
    same = from == i && target.columns[i].type == current.columns[i].type &&
           (!target.columns[i].not_null || current.columns[i].not_null);
  }
  if (!same) return make_error(errc::internal, "this table change needs a rewrite");
  return {};
}

// The sequences `table` owns after the change: renamed with their column,
// dropped with it, and the adopted ones.
std::vector<sequence_store::owner_change> service_impl::owner_changes(const table_schema& current,
                                                                      const table_change& change) {
  std::vector<sequence_store::owner_change> out;
  const table_schema& target = change.target;
  for (const auto& name : sequences_.owned_by(current.name)) {
    auto info = sequences_.describe(name);
    if (!info.ok()) continue;
    sequence_store::owner_change c{name, "", ""};
    for (uint32_t j = 0; j < target.columns.size(); ++j) {
      const auto& from = change.continues[j];
      if (from && current.columns[*from].name == info->def.owned_column) c = {name, target.name, target.columns[j].name};
    }
    out.push_back(std::move(c));
  }
  for (const auto& [sequence, column] : change.adopt) out.push_back({sequence, target.name, column});
  return out;
}

status service_impl::copy_rows(const std::string& from, const std::string& to) {
  auto scan = this->scan(from, scan_spec{}, nullptr);
  if (!scan.ok()) return scan.err();
  auto txn = begin();
  for (size_t u = 0; u < (*scan)->unit_count(); ++u) {
    auto cursor = (*scan)->open_unit(u);
    if (!cursor.ok()) return cursor.err();
    scan_chunk chunk;
    for (;;) {
      auto more = (*cursor)->next(chunk);
      if (!more.ok()) return more.err();
      if (!*more) break;
      column_batch rows;
      rows.row_count = chunk.live_rows();
      for (const auto& c : chunk.columns) {
        column_vector out(c->type);
        if (chunk.selection.empty()) {
          append_range(out, *c, 0, chunk.row_count);
        } else {
          append_rows(out, *c, chunk.selection);
        }
        rows.columns.push_back(std::move(out));
      }
      auto wrote = txn->insert(to, rows, on_conflict::error);
      if (!wrote.ok()) return wrote.err();
      if (txn->buffered_bytes() >= rewrite_commit_bytes) {
        STRATA_TRY(txn->commit());
        txn = begin();
      }
    }
  }
  return txn->commit();
}

// The one catalog write of alter_table: the table record under its new
// definition (the staged table's, for a rewrite), the sequences it owns,
// and the old storage released.
result<table_info> service_impl::swap_in(const std::shared_ptr<table_rt>& old, const std::shared_ptr<table_rt>& fresh,
                                         const table_change& change) {
  const table_schema& target = change.target;
  table_rt& kept = fresh ? *fresh : *old;
  {
    std::lock_guard lock(catalog_mu_);
    const std::string name = old->schema.name;
    if (target.name != name && (tables_.count(target.name) != 0 || sequences_.exists(target.name))) {
      return make_error(errc::already_exists, fmt::format("relation \"{}\" already exists", target.name));
    }
    std::vector<kv_op> ops;
    if (fresh) ops.push_back(remove_table(fresh->schema.name));
    if (target.name != name) ops.push_back(remove_table(name));
    ops.push_back(put_table(table_record{kept.id, kept.created_ms, target}));
    if (fresh) {
      std::lock_guard tl(old->mu);
      for (const auto& [key, p] : old->partitions) ops.push_back(remove_partition(old->id, key));
    }
    STRATA_TRY(sequences_.write_with_owners(std::move(ops), owner_changes(old->schema, change)));
    if (fresh) {
      tables_.erase(fresh->schema.name);
      std::lock_guard tl(old->mu);
      old->dropped = true;
    }
    {
      std::lock_guard tl(kept.mu);
      kept.schema = target;
    }
    tables_.erase(name);
    tables_[target.name] = fresh ? fresh : old;
  }
  if (fresh) release_storage(*old);
  return info_of(kept);
}

}  // namespace strata::tables
