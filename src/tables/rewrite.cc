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

// Rows copied per transaction; well under transaction_bytes_max.
constexpr uint64_t copy_commit_bytes = 32ULL << 20;

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

result<table_info> service_impl::rewrite_table(const std::string& name, const table_schema& target_in) {
  table_schema target = target_in;
  target.name = name;
  STRATA_TRY(validate(target));
  auto found = find_table(name);
  if (!found.ok()) return found.err();
  std::shared_ptr<table_rt> old = *found;
  if (old->schema.columns.size() != target.columns.size()) {
    return make_error(errc::invalid_argument, "a rewrite keeps the table's columns");
  }
  if (old->rewriting.exchange(true)) {
    return make_error(errc::unavailable, "table \"" + name + "\" is already being rewritten; retry when it finishes");
  }
  // A commit that passed its check before the flag holds its buckets' write
  // locks until it is published: take each once so none is left in flight.
  for (const auto& p : old->partition_list()) {
    for (const auto& b : old->buckets_of(*p)) std::lock_guard wait(b->write_mu);
  }
  table_schema staged = target;
  staged.name = fmt::format("{}{}", rewrite_name_prefix, old->id);
  (void)drop_table(staged.name, true);  // one a failed rewrite left behind
  auto done = [&]() -> result<table_info> {
    STRATA_TRY(create_table_named(staged, false));
    if (status copied = copy_rows(name, staged.name); !copied.ok()) {
      (void)drop_table(staged.name, true);
      if (copied.code() == errc::already_exists) return duplicate_key_error(name, copied.err());
      error e = copied.err();
      for (auto at = e.message.find(staged.name); at != std::string::npos; at = e.message.find(staged.name)) {
        e.message.replace(at, staged.name.size(), name);  // errors name the table the user knows
      }
      return e;
    }
    return swap_in(old, staged.name, target);
  }();
  old->rewriting = false;
  return done;
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
      if (txn->buffered_bytes() >= copy_commit_bytes) {
        STRATA_TRY(txn->commit());
        txn = begin();
      }
    }
  }
  return txn->commit();
}

result<table_info> service_impl::swap_in(const std::shared_ptr<table_rt>& old, const std::string& staged,
                                         const table_schema& target) {
  std::shared_ptr<table_rt> fresh;
  {
    std::lock_guard lock(catalog_mu_);
    auto it = tables_.find(staged);
    if (it == tables_.end()) return make_error(errc::internal, "the staged table of a rewrite is gone");
    fresh = it->second;
    std::vector<kv_op> ops{remove_table(staged), put_table(table_record{fresh->id, fresh->created_ms, target})};
    {
      std::lock_guard tl(old->mu);
      for (const auto& [key, p] : old->partitions) ops.push_back(remove_partition(old->id, key));
    }
    STRATA_TRY(kv_.write_batch(ops));
    {
      std::lock_guard tl(fresh->mu);
      fresh->schema = target;
    }
    {
      std::lock_guard tl(old->mu);
      old->dropped = true;
    }
    tables_.erase(it);
    tables_[target.name] = fresh;
  }
  release_storage(*old);
  return info_of(*fresh);
}

}  // namespace strata::tables
