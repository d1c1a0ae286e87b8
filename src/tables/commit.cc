// The write path. A commit routes buffered rows to partitions and buckets,
// locks the touched buckets (in a fixed order), works out primary-key changes
// against the stored state, encodes batches, appends them to the bucket logs,
// fsyncs, applies primary-key state, and only then publishes the batches to
// scans. Every entry carries (txn id, part, part count) so that after a crash
// a commit whose parts are not all in the logs stays invisible.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "tables/row_codec.h"
#include "tables/service_impl.h"

namespace strata::tables {

class committer {
 public:
  committer(service_impl& svc, std::map<std::string, table_buffer>& buffers) : svc_(svc), buffers_(buffers) {}
  // A failed commit still ends its turns, so later commits of its buckets publish.
  ~committer() {
    for (work& w : works_) {
      if (!w.turn_pending) continue;
      w.bucket->wait_turn(w.ticket);
      w.bucket->end_turn();
    }
  }
  status run();

 private:
  struct part {
    std::vector<uint8_t> bytes;  // entry header + batch
    std::shared_ptr<const batch_directory> dir;
    uint32_t from = 0;
    uint32_t count = 0;
    int64_t base = -1;
  };
  struct work {
    std::shared_ptr<table_rt> table;
    std::shared_ptr<partition_rt> partition;
    std::shared_ptr<bucket_rt> bucket;
    const table_buffer* buf = nullptr;
    std::vector<uint32_t> rows;  // log tables: rows of buf->rows for this bucket
    bool all_rows = false;       // log tables: every buffered row, in order
    std::vector<const pk_pending*> pending;
    column_batch out;                // what is written
    std::vector<change_type> ops;    // pk tables
    std::vector<int64_t> key_of;     // pk tables: index into keys for +I/+U rows, -1 otherwise
    std::vector<const std::string*> keys;
    std::vector<row_location> cleared;
    std::vector<const std::string*> removed;
    int64_t live_delta = 0;
    std::vector<part> parts;
    // pk tables, once appended: per key, its new row (none: deleted), in key order.
    std::vector<std::pair<const std::string*, std::optional<stored_row>>> changes;
    std::shared_ptr<storage::log> log;  // taken with the ticket
    uint64_t ticket = 0;
    bool turn_pending = false;  // holds a ticket whose turn has not ended
  };

  status route_log_table(const table_buffer& buf);
  status route_pk_table(const table_buffer& buf);
  result<size_t> work_for(const table_buffer& buf, const std::string& partition_key, uint32_t bucket);
  result<size_t> work_for(const table_buffer& buf, const std::shared_ptr<partition_rt>& p, uint32_t bucket);
  status check_buckets();
  status compute_pk(work& w);
  status encode(work& w);
  status append(work& w);
  void collect_changes(work& w);
  void leave_unapplied(work& w);
  void forget_unapplied(work& w);
  status apply_state();
  void publish(work& w);
  void fail_buckets();

  service_impl& svc_;
  std::map<std::string, table_buffer>& buffers_;
  std::vector<work> works_;
  std::map<std::tuple<uint64_t, uint64_t, uint32_t>, size_t> work_index_;
  int64_t commit_ts_us_ = now_us();
  uint64_t txn_id_ = 0;
};

result<size_t> committer::work_for(const table_buffer& buf, const std::string& partition_key, uint32_t bucket) {
  auto p = svc_.partition_for(*buf.table, partition_key);
  if (!p.ok()) return p.err();
  return work_for(buf, *p, bucket);
}

result<size_t> committer::work_for(const table_buffer& buf, const std::shared_ptr<partition_rt>& p, uint32_t bucket) {
  auto key = std::make_tuple(buf.table->id, p->id, bucket);
  if (auto it = work_index_.find(key); it != work_index_.end()) return it->second;
  auto b = svc_.bucket_for(*buf.table, *p, bucket);
  if (!b.ok()) return b.err();
  work w;
  w.table = buf.table;
  w.partition = p;
  w.bucket = *b;
  w.buf = &buf;
  works_.push_back(std::move(w));
  work_index_.emplace(key, works_.size() - 1);
  return works_.size() - 1;
}

status committer::route_log_table(const table_buffer& buf) {
  const table_rt& t = *buf.table;
  const table_schema& s = t.schema;
  const column_batch& rows = buf.rows;
  uint32_t rr_bucket = t.bucket_key.empty() ? buf.table->round_robin.fetch_add(1) % s.buckets : 0;
  auto bucket_of_row = [&](uint32_t r) {
    return t.bucket_key.empty() ? rr_bucket : bucket_of(rows, r, t.bucket_key, s.buckets);
  };
  if (s.partitioning.kind == partition_kind::none && (t.bucket_key.empty() || s.buckets == 1)) {
    auto w = work_for(buf, std::string("all"), t.bucket_key.empty() ? rr_bucket : 0);
    if (!w.ok()) return w.err();
    works_[*w].all_rows = true;
    return {};
  }
  std::string last_key;
  std::shared_ptr<partition_rt> last_p;
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    auto key = partition_key_of(s, rows.columns[s.partitioning.column], r);
    if (!key.ok()) return key.err();
    if (!last_p || *key != last_key) {
      auto p = svc_.partition_for(*buf.table, *key);
      if (!p.ok()) return p.err();
      last_p = *p;
      last_key = *key;
    }
    auto w = work_for(buf, last_p, bucket_of_row(r));
    if (!w.ok()) return w.err();
    works_[*w].rows.push_back(r);
  }
  return {};
}

status committer::route_pk_table(const table_buffer& buf) {
  const table_rt& t = *buf.table;
  const table_schema& s = t.schema;
  for (const pk_pending& p : buf.pending) {
    if (p.state == pk_pending::kind::noop) continue;
    if (p.state == pk_pending::kind::upsert) {
      auto key = partition_key_of(s, buf.rows.columns[s.partitioning.column], p.row);
      if (!key.ok()) return key.err();
      auto w = work_for(buf, *key, bucket_of(buf.rows, p.row, t.bucket_key, s.buckets));
      if (!w.ok()) return w.err();
      works_[*w].pending.push_back(&p);
      continue;
    }
    auto stored = svc_.state().get(t.id, p.key);
    if (!stored.ok()) return stored.err();
    if (!stored->has_value()) continue;  // deleted meanwhile
    std::shared_ptr<partition_rt> part;
    {
      std::lock_guard lock(buf.table->mu);
      auto it = buf.table->partitions_by_id.find((*stored)->at.partition_id);
      if (it != buf.table->partitions_by_id.end()) part = it->second;
    }
    if (!part) continue;
    auto w = work_for(buf, part, (*stored)->at.bucket);
    if (!w.ok()) return w.err();
    works_[*w].pending.push_back(&p);
  }
  return {};
}

status committer::check_buckets() {
  for (const work& w : works_) {
    if (w.table->rewriting) {
      return make_error(errc::unavailable, "table \"" + w.table->schema.name +
                                               "\" is being rewritten by ALTER TABLE; nothing was committed, retry "
                                               "when it finishes");
    }
    if (w.bucket->dropped || w.table->dropped) {
      return make_error(errc::not_found, "table \"" + w.table->schema.name +
                                             "\" was dropped or truncated during the transaction; nothing was committed");
    }
    if (w.bucket->failed) {
      return make_error(errc::io_error, "an earlier fsync of " + w.bucket->dir +
                                            " failed, so its state on disk is unknown; restart the server to recover");
    }
  }
  return {};
}

status committer::compute_pk(work& w) {
  const table_schema& s = w.table->schema;
  std::vector<column_type> types;
  for (const column_def& c : s.columns) types.push_back(c.type);
  w.out = empty_batch(types);
  auto add_row = [&](change_type op, int64_t key) {
    w.ops.push_back(op);
    w.key_of.push_back(key);
  };
  // Buffered rows are copied in runs, one pass per column, not row by row.
  std::vector<uint32_t> run;
  auto end_run = [&] {
    for (size_t c = 0; c < types.size(); ++c) append_rows(w.out.columns[c], w.buf->rows.columns[c], run);
    w.out.row_count += uint32_t(run.size());
    run.clear();
  };
  // Keys of commits appended but not yet applied are read from the bucket's
  // `unapplied` first. The other keys are read in one batch; the bucket's
  // write lock is held, so no commit changes them in between.
  std::vector<std::string_view> ask;
  std::vector<int64_t> asked_as(w.pending.size(), -1);  // index into `stored`, -1: known absent or unapplied
  std::vector<std::optional<stored_row>> unapplied_rows;
  std::vector<int64_t> unapplied_as(w.pending.size(), -1);
  {
    std::lock_guard lock(w.bucket->unapplied_mu);
    // No commit applied since the buffer's checks: keys found absent then
    // are absent now, unless a commit still unapplied wrote them.
    const bool checks_valid = !w.buf->checks_stale && w.buf->checked_at &&
                              *w.buf->checked_at == w.table->state_version.load();
    for (size_t i = 0; i < w.pending.size(); ++i) {
      const pk_pending& p = *w.pending[i];
      if (auto it = w.bucket->unapplied.find(p.key); it != w.bucket->unapplied.end()) {
        unapplied_as[i] = int64_t(unapplied_rows.size());
        unapplied_rows.push_back(it->second.row);
        continue;
      }
      if (checks_valid && p.known_absent && p.state == pk_pending::kind::upsert) continue;
      asked_as[i] = int64_t(ask.size());
      ask.push_back(p.key);
    }
  }
  auto stored_rows = svc_.state().get_many(w.table->id, ask);
  if (!stored_rows.ok()) return stored_rows.err();
  for (size_t i = 0; i < w.pending.size(); ++i) {
    const pk_pending* p = w.pending[i];
    const std::optional<stored_row>* stored = unapplied_as[i] >= 0 ? &unapplied_rows[size_t(unapplied_as[i])]
                                              : asked_as[i] < 0    ? nullptr
                                                                   : &(*stored_rows)[size_t(asked_as[i])];
    const bool exists = stored != nullptr && stored->has_value();
    if (!exists && p->state == pk_pending::kind::remove) continue;
    if (!exists) {
      ++w.live_delta;
      run.push_back(p->row);
      w.keys.push_back(&p->key);
      add_row(change_type::insert, int64_t(w.keys.size() - 1));
      continue;
    }
    if (p->state == pk_pending::kind::remove) {
      end_run();
      STRATA_TRY(decode_row_into((*stored)->row, w.out));
      add_row(change_type::remove, -1);
      w.cleared.push_back((*stored)->at);
      w.removed.push_back(&p->key);
      --w.live_delta;
      continue;
    }
    if (p->mode == on_conflict::error) {
      return make_error(errc::already_exists, "duplicate key value violates unique constraint \"" + s.name +
                                                  "_pkey\": " + key_text(s, w.buf->rows, p->row, s.primary_key) +
                                                  " already exists");
    }
    if (p->mode == on_conflict::do_nothing) continue;
    end_run();
    STRATA_TRY(decode_row_into((*stored)->row, w.out));
    add_row(change_type::update_before, -1);
    w.cleared.push_back((*stored)->at);
    run.push_back(p->row);
    w.keys.push_back(&p->key);
    add_row(change_type::update_after, int64_t(w.keys.size() - 1));
  }
  end_run();
  return {};
}

status committer::encode(work& w) {
  const service_config& cfg = svc_.config();
  if (!w.table->is_pk()) {
    if (w.all_rows) {
      w.out = std::move(const_cast<table_buffer*>(w.buf)->rows);  // the buffer is cleared after commit anyway
    } else {
      w.out = gather(w.buf->rows, w.rows);
    }
  }
  const uint32_t total = w.out.row_count;
  for (uint32_t from = 0; from < total; from += cfg.batch_rows_max) {
    uint32_t count = std::min(cfg.batch_rows_max, total - from);
    column_batch piece_storage;
    const column_batch* piece = &w.out;
    if (count != total) {
      piece_storage = slice(w.out, from, count);
      piece = &piece_storage;
    }
    std::vector<change_type> ops;
    if (w.table->is_pk()) ops.assign(w.ops.begin() + from, w.ops.begin() + from + count);
    auto encoded = encode_batch(*piece, w.table->is_pk() ? &ops : nullptr, commit_ts_us_, cfg.zstd_level);
    if (!encoded.ok()) return encoded.err();
    part pt;
    pt.from = from;
    pt.count = count;
    pt.bytes.resize(entry_header_bytes + encoded->size());
    std::memcpy(pt.bytes.data() + entry_header_bytes, encoded->data(), encoded->size());
    auto dir = read_directory(std::span<const uint8_t>(pt.bytes).subspan(entry_header_bytes));
    if (!dir.ok()) return dir.err();
    pt.dir = std::make_shared<const batch_directory>(std::move(dir.value()));
    w.parts.push_back(std::move(pt));
  }
  return {};
}

status committer::append(work& w) {
  std::lock_guard lock(w.bucket->log_mu);
  for (part& pt : w.parts) {
    auto r = w.log->append(pt.bytes, pt.count, commit_ts_us_ / 1000);
    if (!r.ok()) {
      if (r.code() == errc::no_space) {
        return make_error(errc::no_space, "the disk is full (" + r.err().message +
                                              "); nothing of this transaction was committed; free disk space and retry");
      }
      return r.err();
    }
    pt.base = r->base_offset.value;
  }
  return {};
}

void committer::collect_changes(work& w) {
  for (const std::string* key : w.removed) w.changes.emplace_back(key, std::nullopt);
  for (const part& pt : w.parts) {
    for (uint32_t i = 0; i < pt.count; ++i) {
      int64_t k = w.key_of[pt.from + i];
      if (k < 0) continue;
      row_location at{w.partition->id, w.bucket->index, pt.base + i};
      w.changes.emplace_back(w.keys[size_t(k)], stored_row{at, encode_row(w.out, pt.from + i)});
    }
  }
  // In key order: RocksDB inserts neighbouring keys much faster.
  std::sort(w.changes.begin(), w.changes.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
}

void committer::leave_unapplied(work& w) {
  std::lock_guard lock(w.bucket->unapplied_mu);
  for (const auto& [key, row] : w.changes) w.bucket->unapplied[*key] = bucket_rt::unapplied_key{w.ticket, row};
}

void committer::forget_unapplied(work& w) {
  std::lock_guard lock(w.bucket->unapplied_mu);
  // After the state and the batches: a commit that reads the old version
  // also sees these keys here, and one that reads the new version finds
  // them in the state (the row-lock re-check relies on it as well).
  ++w.table->state_version;
  for (const auto& change : w.changes) {
    auto it = w.bucket->unapplied.find(*change.first);
    if (it != w.bucket->unapplied.end() && it->second.ticket == w.ticket) w.bucket->unapplied.erase(it);
  }
}

status committer::apply_state() {
  pk_state::batch wb;
  for (work& w : works_) {
    if (!w.table->is_pk() || w.parts.empty()) continue;
    for (const auto& [key, row] : w.changes) {
      if (row) {
        wb.put(w.table->id, *key, *row);
      } else {
        wb.remove(w.table->id, *key);
      }
    }
    const part& last = w.parts.back();
    wb.set_applied(w.table->id, w.partition->id, w.bucket->index, last.base + last.count);
  }
  if (wb.count() == 0) return {};
  return svc_.state().apply(wb);
}

void committer::fail_buckets() {
  for (work& w : works_) {
    if (w.table->is_pk()) w.bucket->failed = true;
  }
}

void committer::publish(work& w) {
  table_rt& t = *w.table;
  bucket_rt& b = *w.bucket;
  std::lock_guard lock(b.meta_mu);
  for (const part& pt : w.parts) {
    batch_meta m;
    m.base_offset = pt.base;
    m.row_count = pt.count;
    m.stored_bytes = pt.bytes.size();
    m.dir = pt.dir;
    if (t.is_pk()) {
      auto bits = std::make_shared<std::vector<uint64_t>>(bitmap_words(pt.count), 0);
      for (uint32_t i = 0; i < pt.count; ++i) {
        if (w.key_of[pt.from + i] < 0) continue;
        (*bits)[i / 64] |= uint64_t(1) << (i % 64);
        ++m.live_count;
      }
      m.live = std::move(bits);
    } else {
      m.live_count = pt.count;
    }
    b.batches.push_back(std::move(m));
    t.stored_bytes += pt.bytes.size();
    ++t.batch_count;
  }
  std::vector<int64_t> cleared;
  cleared.reserve(w.cleared.size());
  for (const row_location& at : w.cleared) cleared.push_back(at.offset);
  b.clear_live_locked(cleared);
  t.live_rows += t.is_pk() ? w.live_delta : int64_t(w.out.row_count);
}

status committer::run() {
  for (auto& [name, buf] : buffers_) {
    if (buf.table->is_pk()) {
      STRATA_TRY(route_pk_table(buf));
    } else if (buf.rows.row_count > 0) {
      STRATA_TRY(route_log_table(buf));
    }
  }
  if (works_.empty()) return {};
  bool any_pk = false;
  for (work& w : works_) {
    if (w.table->is_pk()) {
      any_pk = true;
    } else {
      STRATA_TRY(encode(w));  // needs no lock: log-table rows do not depend on stored state
    }
  }
  std::vector<size_t> order(works_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const work& x = works_[a];
    const work& y = works_[b];
    return std::make_tuple(x.table->id, x.partition->id, x.bucket->index) <
           std::make_tuple(y.table->id, y.partition->id, y.bucket->index);
  });
  std::vector<std::unique_lock<std::mutex>> locks;
  for (size_t i : order) locks.emplace_back(works_[i].bucket->write_mu);
  STRATA_TRY(check_buckets());
  for (work& w : works_) {
    if (!w.table->is_pk()) continue;
    STRATA_TRY(compute_pk(w));
    STRATA_TRY(encode(w));
  }
  std::map<uint64_t, uint32_t> parts_per_table;
  for (const work& w : works_) parts_per_table[w.table->id] += uint32_t(w.parts.size());
  const bool group = parts_per_table.size() > 1;
  txn_id_ = group ? svc_.groups().begin(svc_.next_txn_id_) : svc_.next_txn_id_.fetch_add(1);
  // A group that returns before its record is written did not commit.
  struct settle_group {
    commit_groups* groups;
    uint64_t txn_id;
    ~settle_group() {
      if (groups != nullptr) groups->abort(txn_id);
    }
  } unsettled{group ? &svc_.groups() : nullptr, txn_id_};
  std::map<uint64_t, uint32_t> next_part;
  for (size_t i : order) {
    work& w = works_[i];
    for (part& pt : w.parts) {
      entry_header h{txn_id_, next_part[w.table->id]++, parts_per_table[w.table->id], group};
      encode_entry_header(h, pt.bytes.data());
    }
    w.ticket = w.bucket->next_ticket++;
    w.turn_pending = true;
    w.log = w.bucket->log;
  }
  for (size_t i : order) STRATA_TRY(append(works_[i]));
  for (work& w : works_) {
    if (!w.table->is_pk() || w.parts.empty()) continue;
    collect_changes(w);
    leave_unapplied(w);
  }
  // Later commits append, and read these keys from `unapplied`, while this
  // one syncs (group commit).
  locks.clear();
  // From here a failure leaves keys in `unapplied` that later commits may
  // have built on: their buckets refuse writes until a restart recovers them.
  struct fail_unless_done {
    committer* c;
    ~fail_unless_done() {
      if (c != nullptr) c->fail_buckets();
    }
  } failing{any_pk ? this : nullptr};
  for (size_t i : order) {
    work& w = works_[i];
    if (w.parts.empty()) continue;
    const part& last = w.parts.back();
    auto s = w.bucket->ensure_durable(*w.log, last.base + last.count);
    if (!s.ok()) return make_error(s.code(), s.err().message + "; the commit may or may not survive the restart");
  }
  if (group) {
    // Every part is durable; this record is what makes the tables' parts one commit.
    if (auto s = svc_.groups().record(txn_id_); !s.ok()) {
      return make_error(s.code(), s.err().message + "; the commit was rolled back");
    }
    unsettled.groups = nullptr;
  }
  // In ticket order per bucket: the state and the batches follow the logs.
  for (size_t i : order) {
    work& w = works_[i];
    w.bucket->wait_turn(w.ticket);
    // An earlier commit whose keys these rows were computed from failed.
    if (w.table->is_pk() && w.bucket->failed) {
      return make_error(errc::io_error, "an earlier commit to " + w.bucket->dir +
                                            " failed, so this one was not applied; restart the server to recover");
    }
  }
  if (auto s = apply_state(); !s.ok()) {
    return make_error(s.code(), s.err().message + "; restart the server to rebuild the primary-key state");
  }
  failing.c = nullptr;
  for (size_t i : order) publish(works_[i]);
  for (work& w : works_) {
    if (w.table->is_pk() && !w.parts.empty()) forget_unapplied(w);
  }
  for (size_t i : order) {
    works_[i].turn_pending = false;
    works_[i].bucket->end_turn();
  }
  return {};
}

status service_impl::commit(std::map<std::string, table_buffer>& buffers) {
  committer c(*this, buffers);
  return c.run();
}

}  // namespace strata::tables
