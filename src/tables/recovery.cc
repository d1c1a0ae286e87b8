// Opening the tables service after a clean shutdown or a crash: the catalog,
// every bucket log (storage::log truncates torn tails), the directories of
// the committed batches, primary-key state replay and the live-row bitmaps.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "tables/catalog.h"
#include "tables/row_codec.h"
#include "tables/service_impl.h"

namespace strata::tables {

struct recovered_entry {
  batch_meta meta;
  entry_header header;
};

struct recovered_bucket {
  std::shared_ptr<table_rt> table;
  std::shared_ptr<bucket_rt> bucket;
  std::vector<recovered_entry> entries;
};

struct recovery {
  service_impl& svc;
  std::vector<recovered_bucket> buckets;
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> parts_seen;  // (table, txn) -> parts found
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> parts_expected;  // (table, txn) -> the header's part_count
  std::set<uint64_t> groups_seen;                                     // txns whose entries say they wrote several tables
  std::set<uint64_t> groups_failed;                                   // of those, the ones that did not commit
  uint64_t max_txn_id = 0;
  static constexpr uint64_t read_bytes_max = 64 * MiB;

  status load_catalog();
  status open_buckets(const std::shared_ptr<table_rt>& t);
  status read_bucket(recovered_bucket& rb);
  void publish(recovered_bucket& rb);
  status replay(recovered_bucket& rb);
  status rebuild_liveness(table_rt& t);
  result<bool> state_ahead(const table_rt& t);
  status replay_table(table_rt& t);
  status recover_pk_table(table_rt& t);

  bool complete(const recovered_bucket& rb, const recovered_entry& e) const {
    if (e.header.group && groups_failed.count(e.header.txn_id) > 0) return false;
    auto it = parts_seen.find({rb.table->id, e.header.txn_id});
    return it != parts_seen.end() && it->second == e.header.part_count;
  }
  // A group committed when its record says so and every table that still
  // exists holds all of its parts there.
  void settle_groups();
};

status recovery::load_catalog() {
  auto cat = load_table_catalog(svc.kv_);
  if (!cat.ok()) return cat.err();
  svc.next_table_id_ = cat->next_table_id;
  std::map<uint64_t, std::shared_ptr<table_rt>> by_id;
  std::vector<kv_op> interrupted_rewrites;
  for (const table_record& r : cat->tables) {
    if (r.schema.name.starts_with(rewrite_name_prefix)) {
      // A rewrite that did not reach its swap: the old table is intact. Its
      // staged files go with remove_orphans(), its partition records stay
      // harmless (as after an interrupted drop).
      interrupted_rewrites.push_back(remove_table(r.schema.name));
      continue;
    }
    auto t = std::make_shared<table_rt>();
    t->id = r.id;
    t->created_ms = r.created_ms;
    t->schema = r.schema;
    t->bucket_key = !r.schema.bucket_key.empty() ? r.schema.bucket_key : r.schema.primary_key;
    svc.tables_.emplace(r.schema.name, t);
    by_id.emplace(r.id, t);
    svc.next_table_id_ = std::max(svc.next_table_id_, r.id + 1);
  }
  if (!interrupted_rewrites.empty()) STRATA_TRY(svc.kv_.write_batch(interrupted_rewrites));
  for (const partition_record& r : cat->partitions) {
    auto it = by_id.find(r.table_id);
    if (it == by_id.end()) continue;  // left by an interrupted drop; harmless
    table_rt& t = *it->second;
    auto bounds = bounds_of_key(t.schema, r.key);
    if (!bounds.ok()) return bounds.err();
    auto p = std::make_shared<partition_rt>();
    p->id = r.id;
    p->key = r.key;
    p->bounds = std::move(bounds.value());
    p->buckets.resize(t.schema.buckets);
    t.partitions.emplace(r.key, p);
    t.partitions_by_id.emplace(r.id, p);
    t.next_partition_id = std::max(t.next_partition_id, r.id + 1);
  }
  return {};
}

status recovery::open_buckets(const std::shared_ptr<table_rt>& t) {
  for (auto& [key, p] : t->partitions) {
    std::string pdir = fmt::format("{}/p{}", svc.table_dir(t->id), p->id);
    auto exists = svc.fs_.exists(pdir);
    if (!exists.ok()) return exists.err();
    if (!*exists) continue;
    for (uint32_t b = 0; b < t->schema.buckets; ++b) {
      std::string bdir = svc.bucket_dir(t->id, p->id, b);
      auto bexists = svc.fs_.exists(bdir);
      if (!bexists.ok()) return bexists.err();
      if (!*bexists) continue;
      auto bucket = std::make_shared<bucket_rt>();
      bucket->table_id = t->id;
      bucket->partition_id = p->id;
      bucket->index = b;
      bucket->dir = bdir;
      auto log = svc.open_log(bdir);
      if (!log.ok()) return log.err();
      bucket->log = std::move(log.value());
      p->buckets[b] = bucket;
      buckets.push_back(recovered_bucket{t, bucket, {}});
    }
  }
  return {};
}

status recovery::read_bucket(recovered_bucket& rb) {
  storage::log& log = *rb.bucket->log;
  log_offset from = log.start_offset();
  const log_offset end = log.end_offset();
  while (from < end) {
    auto r = log.read(from, read_bytes_max, end, /*min_one=*/true);
    if (!r.ok()) return r.err();
    if (r->entries.empty()) break;
    for (const storage::entry_view& e : r->entries) {
      auto h = decode_entry_header(e.payload);
      if (!h.ok()) return make_error(h.err().code, h.err().message + " (" + rb.bucket->dir + ")");
      auto dir = read_directory(e.payload.subspan(entry_header_bytes));
      if (!dir.ok()) return make_error(dir.err().code, dir.err().message + " (" + rb.bucket->dir + ")");
      if (dir->row_count != e.record_count) {
        return make_error(errc::corrupt, "a batch in " + rb.bucket->dir + " disagrees with its log entry on the row count");
      }
      recovered_entry re;
      re.header = *h;
      re.meta.base_offset = e.base_offset.value;
      re.meta.row_count = e.record_count;
      re.meta.stored_bytes = e.payload.size();
      re.meta.dir = std::make_shared<const batch_directory>(std::move(dir.value()));
      rb.entries.push_back(std::move(re));
      ++parts_seen[{rb.table->id, h->txn_id}];
      parts_expected[{rb.table->id, h->txn_id}] = h->part_count;
      if (h->group) groups_seen.insert(h->txn_id);
      max_txn_id = std::max(max_txn_id, h->txn_id);
      from = e.base_offset + e.record_count;
    }
  }
  return {};
}

void recovery::settle_groups() {
  for (uint64_t txn : groups_seen) {
    if (!svc.groups_.committed(txn)) groups_failed.insert(txn);
  }
  for (const auto& [at, expected] : parts_expected) {
    if (groups_seen.count(at.second) > 0 && parts_seen[at] != expected) groups_failed.insert(at.second);
  }
  for (uint64_t txn : groups_failed) spdlog::warn("tables: commit {} did not finish on every table it wrote; it is skipped on all of them", txn);
}

void recovery::publish(recovered_bucket& rb) {
  table_rt& t = *rb.table;
  std::lock_guard lock(rb.bucket->meta_mu);
  for (const recovered_entry& e : rb.entries) {
    if (!complete(rb, e)) {
      spdlog::warn("tables: skipping an incomplete commit at offset {} of {}", e.meta.base_offset, rb.bucket->dir);
      continue;
    }
    batch_meta m = e.meta;
    m.live_count = t.is_pk() ? 0 : m.row_count;
    rb.bucket->batches.push_back(m);
    if (!t.is_pk()) t.live_rows += m.row_count;
    t.stored_bytes += m.stored_bytes;
    ++t.batch_count;
  }
}

status recovery::replay(recovered_bucket& rb) {
  table_rt& t = *rb.table;
  bucket_rt& b = *rb.bucket;
  auto applied = svc.state_->applied_upto(t.id, b.partition_id, b.index);
  if (!applied.ok()) return applied.err();
  std::vector<column_type> types;
  for (const column_def& c : t.schema.columns) types.push_back(c.type);
  for (const recovered_entry& e : rb.entries) {
    if (e.meta.base_offset < *applied || !complete(rb, e)) continue;
    auto r = b.read_entry(e.meta);
    if (!r.ok()) return r.err();
    auto bytes = r->entries[0].payload.subspan(entry_header_bytes);
    column_batch rows;
    rows.row_count = e.meta.row_count;
    for (uint32_t c = 0; c < types.size(); ++c) {
      auto v = decode_column(bytes, *e.meta.dir, c);
      if (!v.ok()) return v.err();
      rows.columns.push_back(std::move(v.value()));
    }
    auto ops = decode_ops(bytes, *e.meta.dir);
    if (!ops.ok()) return ops.err();
    pk_state::batch wb;
    for (uint32_t i = 0; i < rows.row_count; ++i) {
      std::string key = encode_values(rows, i, t.schema.primary_key);
      change_type op = (*ops)[i];
      if (op == change_type::insert || op == change_type::update_after) {
        wb.put(t.id, key, stored_row{row_location{b.partition_id, b.index, e.meta.base_offset + i}, encode_row(rows, i)});
      } else if (op == change_type::remove) {
        wb.remove(t.id, key);
      }
    }
    wb.set_applied(t.id, b.partition_id, b.index, e.meta.base_offset + e.meta.row_count);
    STRATA_TRY(svc.state_->apply(wb));
  }
  return {};
}

status recovery::rebuild_liveness(table_rt& t) {
  int64_t live = 0;
  STRATA_TRY(svc.state_->for_each(t.id, [&](std::string_view, const stored_row& r) -> status {
    auto p = t.partitions_by_id.find(r.at.partition_id);
    std::shared_ptr<bucket_rt> b;
    if (p != t.partitions_by_id.end() && r.at.bucket < p->second->buckets.size()) b = p->second->buckets[r.at.bucket];
    if (!b) {
      return make_error(errc::corrupt, "primary-key state of table " + t.schema.name +
                                           " points at a bucket that has no log; remove <data_dir>/tables/state and "
                                           "restart to rebuild it");
    }
    std::lock_guard lock(b->meta_mu);
    if (!b->set_live_recovering(r.at.offset)) {
      return make_error(errc::corrupt, "primary-key state of table " + t.schema.name + " points at log offset " +
                                           std::to_string(r.at.offset) + " of " + b->dir +
                                           ", which holds no committed row; remove <data_dir>/tables/state and "
                                           "restart to rebuild it");
    }
    ++live;
    return {};
  }));
  t.live_rows = live;
  return {};
}

// The state is ahead of a log when the log lost a tail the state had applied
// (a torn or truncated segment); then the table's state is derived afresh.
result<bool> recovery::state_ahead(const table_rt& t) {
  for (const recovered_bucket& rb : buckets) {
    if (rb.table.get() != &t) continue;
    auto applied = svc.state_->applied_upto(t.id, rb.bucket->partition_id, rb.bucket->index);
    if (!applied.ok()) return applied.err();
    if (*applied > rb.bucket->log->end_offset().value) return true;
  }
  return false;
}

status recovery::replay_table(table_rt& t) {
  for (recovered_bucket& rb : buckets) {
    if (rb.table.get() == &t) STRATA_TRY(replay(rb));
  }
  return {};
}

status recovery::recover_pk_table(table_rt& t) {
  auto ahead = state_ahead(t);
  if (!ahead.ok()) return ahead.err();
  if (*ahead) {
    spdlog::warn("tables: the primary-key state of {} is ahead of its logs; rebuilding it from the logs", t.schema.name);
    STRATA_TRY(svc.state_->drop_table(t.id));
  }
  STRATA_TRY(replay_table(t));
  auto s = rebuild_liveness(t);
  if (s.ok() || s.code() != errc::corrupt) return s;
  spdlog::warn("tables: {}; rebuilding the state of {} from its logs", s.err().message, t.schema.name);
  for (recovered_bucket& rb : buckets) {
    if (rb.table.get() != &t) continue;
    std::lock_guard lock(rb.bucket->meta_mu);
    for (batch_meta& m : rb.bucket->batches) {
      m.live.reset();
      m.live_count = 0;
    }
  }
  STRATA_TRY(svc.state_->drop_table(t.id));
  STRATA_TRY(replay_table(t));
  return rebuild_liveness(t);
}

status service_impl::recover() {
  recovery rec{*this, {}, {}, {}, {}, {}, 0};
  STRATA_TRY(groups_.load());
  STRATA_TRY(sequences_.load());
  STRATA_TRY(rec.load_catalog());
  STRATA_TRY(remove_orphans());
  for (auto& [name, t] : tables_) STRATA_TRY(rec.open_buckets(t));
  for (recovered_bucket& rb : rec.buckets) STRATA_TRY(rec.read_bucket(rb));
  rec.settle_groups();
  for (recovered_bucket& rb : rec.buckets) rec.publish(rb);
  for (auto& [name, t] : tables_) {
    if (t->is_pk()) STRATA_TRY(rec.recover_pk_table(*t));
  }
  next_txn_id_ = std::max(rec.max_txn_id + 1, groups_.first_free_id());
  // From now on a failed group is known by its aborted record, whatever its
  // tables' logs hold later.
  return groups_.resolve_after_recovery(rec.groups_failed, next_txn_id_.load());
}

}  // namespace strata::tables
