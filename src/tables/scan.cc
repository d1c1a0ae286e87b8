#include "tables/scan.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace strata::tables {
namespace {

struct unit {
  std::shared_ptr<bucket_rt> bucket;  // null for the overlay unit
  std::vector<batch_meta> batches;
  std::shared_ptr<const scan_chunk> overlay;
};

struct scan_state {
  std::shared_ptr<table_rt> table;
  std::vector<uint32_t> columns;  // output columns (changelog numbering when changelog)
  bool changelog = false;
  std::vector<unit> units;
  decoded_cache* cache = nullptr;
  uint64_t estimated_rows = 0;
  uint64_t batches_skipped = 0;
  uint32_t partitions_pruned = 0;
};

column_vector ops_text(const batch_directory& dir, std::span<const uint8_t> batch) {
  column_vector out(column_type{type_id::text});
  out.reserve(dir.row_count, uint64_t(dir.row_count) * 2);
  if (!dir.has_ops) {
    for (uint32_t i = 0; i < dir.row_count; ++i) out.append_bytes("+I");
    return out;
  }
  auto ops = decode_ops(batch, dir);
  if (!ops.ok()) return out;  // caller checks row_count
  for (change_type t : *ops) out.append_bytes(change_type_code(t));
  return out;
}

class cursor_impl final : public scan_cursor {
 public:
  cursor_impl(std::shared_ptr<scan_state> state, size_t unit) : state_(std::move(state)), unit_(state_->units[unit]) {}

  result<bool> next(scan_chunk& out) override {
    while (next_batch_ < unit_.batches.size()) {
      const batch_meta& b = unit_.batches[next_batch_++];
      if (!state_->changelog && b.live_count == 0) continue;
      STRATA_TRY(fill(b, out));
      return true;
    }
    if (unit_.overlay && !overlay_done_) {
      overlay_done_ = true;
      out = *unit_.overlay;
      return true;
    }
    return false;
  }

 private:
  status load(const batch_meta& b) {
    if (payload_.has_value()) return {};
    auto r = unit_.bucket->read_entry(b);
    if (!r.ok()) return r.err();
    payload_ = std::move(r.value());
    return {};
  }

  std::span<const uint8_t> batch_bytes() const { return payload_->entries[0].payload.subspan(entry_header_bytes); }

  result<std::shared_ptr<const column_vector>> cached(const batch_meta& b, uint32_t column) {
    chunk_key key{state_->table->id, unit_.bucket->partition_id, unit_.bucket->index, column, b.base_offset};
    if (auto hit = state_->cache->get(key)) return hit;
    STRATA_TRY(load(b));
    if (column == ops_column) {
      column_vector v = ops_text(*b.dir, batch_bytes());
      if (v.row_count != b.row_count) {
        return make_error(errc::corrupt, "the change types of a batch in " + unit_.bucket->dir + " do not decode");
      }
      return state_->cache->put(key, std::move(v));
    }
    auto v = decode_column(batch_bytes(), *b.dir, column);
    if (!v.ok()) return v.err();
    return state_->cache->put(key, std::move(v.value()));
  }

  std::shared_ptr<const column_vector> offsets_column(const batch_meta& b) {
    column_vector v(column_type{type_id::int64});
    v.valid.assign(b.row_count, 1);
    v.fixed.resize(size_t(b.row_count) * 8);
    for (uint32_t i = 0; i < b.row_count; ++i) {
      int64_t o = b.base_offset + i;
      std::memcpy(v.fixed.data() + size_t(i) * 8, &o, 8);
    }
    v.row_count = b.row_count;
    return std::make_shared<const column_vector>(std::move(v));
  }

  std::shared_ptr<const column_vector> commit_ts_column(const batch_meta& b) {
    column_vector v(column_type{type_id::timestamptz});
    v.valid.assign(b.row_count, 1);
    v.fixed.resize(size_t(b.row_count) * 8);
    int64_t ts = b.dir->commit_ts_us;
    for (uint32_t i = 0; i < b.row_count; ++i) std::memcpy(v.fixed.data() + size_t(i) * 8, &ts, 8);
    v.row_count = b.row_count;
    return std::make_shared<const column_vector>(std::move(v));
  }

  status fill(const batch_meta& b, scan_chunk& out) {
    payload_.reset();
    out.row_count = b.row_count;
    out.columns.clear();
    out.selection.clear();
    for (uint32_t c : state_->columns) {
      if (state_->changelog && c < changelog_system_columns) {
        if (c == 0) {
          auto v = cached(b, ops_column);
          if (!v.ok()) return v.err();
          out.columns.push_back(std::move(v.value()));
        } else {
          out.columns.push_back(c == 1 ? offsets_column(b) : commit_ts_column(b));
        }
        continue;
      }
      auto v = cached(b, state_->changelog ? c - changelog_system_columns : c);
      if (!v.ok()) return v.err();
      if ((*v)->row_count != b.row_count) {
        return make_error(errc::corrupt, "a column chunk in " + unit_.bucket->dir + " has the wrong row count");
      }
      out.columns.push_back(std::move(v.value()));
    }
    if (!state_->changelog && b.live && b.live_count < b.row_count) {
      out.selection.reserve(b.live_count);
      for (uint32_t i = 0; i < b.row_count; ++i) {
        if (bit_is_set(*b.live, i)) out.selection.push_back(i);
      }
    }
    payload_.reset();
    return {};
  }

  std::shared_ptr<scan_state> state_;
  const unit& unit_;
  size_t next_batch_ = 0;
  bool overlay_done_ = false;
  std::optional<storage::read_result> payload_;
};

// Folds one chunk's statistics (over `rows` rows) into a column's.
void merge_stats(const column_type& type, const chunk_stats& chunk, uint32_t rows, column_statistics& into,
                 bool& unknown) {
  into.null_count += chunk.null_count;
  uint32_t values = rows - std::min(rows, chunk.null_count);
  if (values == 0) return;
  if (!chunk.min || !chunk.max) {
    unknown = true;
  } else if (!unknown) {
    if (into.value_count == 0 || compare_scalars(type, *chunk.min, into.min) < 0) into.min = *chunk.min;
    if (into.value_count == 0 || compare_scalars(type, *chunk.max, into.max) > 0) into.max = *chunk.max;
  }
  into.value_count += values;
}

std::vector<column_statistics> merged_stats(const scan_state& s) {
  const uint32_t system = s.changelog ? changelog_system_columns : 0;
  const auto& columns = s.table->schema.columns;
  std::vector<column_statistics> out(s.columns.size());
  std::vector<uint8_t> unknown(s.columns.size(), 0);
  for (size_t i = 0; i < s.columns.size(); ++i) unknown[i] = s.columns[i] < system ? 1 : 0;
  for (const unit& u : s.units) {
    for (size_t i = 0; i < s.columns.size(); ++i) {
      const uint32_t c = s.columns[i];
      bool flag = unknown[i] != 0;
      if (c < system) {  // change_type, log_offset, commit_ts: never NULL, no min/max kept
        for (const batch_meta& b : u.batches) out[i].value_count += b.row_count;
        continue;
      }
      const column_type& type = columns[c - system].type;
      for (const batch_meta& b : u.batches) {
        if (c - system >= b.dir->columns.size()) {
          flag = true;
          continue;
        }
        merge_stats(type, b.dir->columns[c - system].stats, b.row_count, out[i], flag);
      }
      if (u.overlay && i < u.overlay->columns.size()) {
        const column_vector& rows = *u.overlay->columns[i];
        merge_stats(type, compute_stats(rows), rows.row_count, out[i], flag);
      }
      unknown[i] = flag ? 1 : 0;
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].has_min_max = unknown[i] == 0 && out[i].value_count > 0;
    if (!out[i].has_min_max) out[i].min = out[i].max = scalar{};
  }
  return out;
}

class scan_impl final : public table_scan {
 public:
  explicit scan_impl(std::shared_ptr<scan_state> s) : state_(std::move(s)) {}
  size_t unit_count() const override { return state_->units.size(); }
  result<std::unique_ptr<scan_cursor>> open_unit(size_t unit) override {
    if (unit >= state_->units.size()) {
      return make_error(errc::invalid_argument, "scan unit " + std::to_string(unit) + " is out of range");
    }
    return std::unique_ptr<scan_cursor>(std::make_unique<cursor_impl>(state_, unit));
  }
  uint64_t estimated_rows() const override { return state_->estimated_rows; }
  std::vector<column_statistics> column_stats() const override { return merged_stats(*state_); }
  uint64_t batches_skipped() const override { return state_->batches_skipped; }
  uint32_t partitions_pruned() const override { return state_->partitions_pruned; }

 private:
  std::shared_ptr<scan_state> state_;
};

// Hides the rows a transaction overrides, in the scan's private copy of the bitmaps.
void hide_rows(std::vector<batch_meta>& batches, const std::vector<int64_t>& offsets) {
  std::map<size_t, std::shared_ptr<std::vector<uint64_t>>> copies;  // one private copy per batch
  for (int64_t o : offsets) {
    auto it = std::upper_bound(batches.begin(), batches.end(), o,
                               [](int64_t x, const batch_meta& b) { return x < b.base_offset; });
    if (it == batches.begin()) continue;
    --it;
    auto row = uint32_t(o - it->base_offset);
    if (row >= it->row_count || !it->live || !bit_is_set(*it->live, row)) continue;
    auto& copy = copies[size_t(it - batches.begin())];
    if (!copy) {
      copy = std::make_shared<std::vector<uint64_t>>(*it->live);
      it->live = copy;
    }
    (*copy)[row / 64] &= ~(uint64_t(1) << (row % 64));
    --it->live_count;
  }
}

std::shared_ptr<const scan_chunk> project_overlay(const column_batch& rows, const std::vector<uint32_t>& columns) {
  auto chunk = std::make_shared<scan_chunk>();
  chunk->row_count = rows.row_count;
  for (uint32_t c : columns) chunk->columns.push_back(std::make_shared<const column_vector>(rows.columns[c]));
  return chunk;
}

bool batch_may_match(const batch_meta& b, const std::vector<column_predicate>& preds) {
  for (const column_predicate& p : preds) {
    if (p.column < b.dir->columns.size() && !may_match(b.dir->columns[p.column], b.row_count, p)) return false;
  }
  return true;
}

void add_bucket_units(scan_state& s, const std::shared_ptr<bucket_rt>& bucket, std::vector<batch_meta> batches,
                      const std::vector<column_predicate>& preds, bool use_statistics) {
  unit current{bucket, {}, nullptr};
  uint64_t rows = 0;
  for (batch_meta& b : batches) {
    if (!s.changelog && b.live_count == 0) continue;
    if (use_statistics && !batch_may_match(b, preds)) {
      ++s.batches_skipped;
      continue;
    }
    rows += s.changelog ? b.row_count : b.live_count;
    s.estimated_rows += s.changelog ? b.row_count : b.live_count;
    current.batches.push_back(std::move(b));
    if (rows >= unit_rows_target || current.batches.size() >= unit_batches_max) {
      s.units.push_back(std::move(current));
      current = unit{bucket, {}, nullptr};
      rows = 0;
    }
  }
  if (!current.batches.empty()) s.units.push_back(std::move(current));
}

}  // namespace

result<std::unique_ptr<table_scan>> plan_scan(std::shared_ptr<table_rt> table, const scan_spec& spec,
                                              const txn_overlay* overlay, decoded_cache& cache) {
  auto s = std::make_shared<scan_state>();
  s->table = table;
  s->cache = &cache;
  s->changelog = spec.changelog;
  const table_schema& schema = table->schema;
  const uint32_t system = spec.changelog ? changelog_system_columns : 0;
  const auto column_count = uint32_t(schema.columns.size()) + system;
  s->columns = spec.columns;
  if (s->columns.empty()) {
    for (uint32_t c = 0; c < column_count; ++c) s->columns.push_back(c);
  }
  for (uint32_t c : s->columns) {
    if (c >= column_count) {
      return make_error(errc::invalid_argument, "scan of " + schema.name + " asks for column " + std::to_string(c) +
                                                    " but it has " + std::to_string(column_count));
    }
  }
  // Predicates renumbered to table columns; ones on system columns only filter exactly upstream.
  std::vector<column_predicate> preds;
  for (const column_predicate& p : spec.predicates) {
    if (p.column < system || p.column >= column_count) continue;
    preds.push_back(p);
    preds.back().column -= system;
  }
  std::vector<int64_t> no_hidden;
  for (const auto& p : table->partition_list()) {
    bool keep = true;
    if (spec.use_statistics) {
      for (const column_predicate& pred : preds) keep = keep && partition_may_match(schema, p->bounds, pred);
    }
    if (!keep) {
      ++s->partitions_pruned;
      continue;
    }
    for (const auto& bucket : table->buckets_of(*p)) {
      std::vector<batch_meta> batches = bucket->snapshot();
      if (overlay != nullptr && !spec.changelog && !overlay->hidden.empty()) {
        std::vector<int64_t> offsets;
        for (const row_location& at : overlay->hidden) {
          if (at.partition_id == p->id && at.bucket == bucket->index) offsets.push_back(at.offset);
        }
        hide_rows(batches, offsets);
      }
      add_bucket_units(*s, bucket, std::move(batches), preds, spec.use_statistics);
    }
  }
  if (overlay != nullptr && !spec.changelog && overlay->rows != nullptr && overlay->rows->row_count > 0) {
    s->units.push_back(unit{nullptr, {}, project_overlay(*overlay->rows, s->columns)});
    s->estimated_rows += overlay->rows->row_count;
  }
  return std::unique_ptr<table_scan>(std::make_unique<scan_impl>(std::move(s)));
}

}  // namespace strata::tables
