#include "tables/pk_state.h"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/assert.h"

namespace strata::tables {
namespace {

constexpr char key_tag = 'k';
constexpr char applied_tag = 'a';

void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(char((v >> (i * 8)) & 0xff));
}

std::string table_prefix(char tag, uint64_t table_id) {
  std::string k(1, tag);
  put_be64(k, table_id);
  return k;
}

std::string row_key(uint64_t table_id, std::string_view key) {
  std::string k = table_prefix(key_tag, table_id);
  k.append(key);
  return k;
}

std::string applied_key(uint64_t table_id, uint64_t partition_id, uint32_t bucket) {
  std::string k = table_prefix(applied_tag, table_id);
  put_be64(k, partition_id);
  put_be64(k, bucket);
  return k;
}

std::string encode_stored(const stored_row& r) {
  std::string v(20, '\0');
  std::memcpy(v.data(), &r.at.partition_id, 8);
  std::memcpy(v.data() + 8, &r.at.bucket, 4);
  std::memcpy(v.data() + 12, &r.at.offset, 8);
  v.append(r.row);
  return v;
}

std::optional<stored_row> decode_stored(std::string_view v) {
  if (v.size() < 20) return std::nullopt;
  stored_row r;
  std::memcpy(&r.at.partition_id, v.data(), 8);
  std::memcpy(&r.at.bucket, v.data() + 8, 4);
  std::memcpy(&r.at.offset, v.data() + 12, 8);
  r.row.assign(v.substr(20));
  return r;
}

error rocks_error(const rocksdb::Status& s, const char* what) {
  errc code = s.IsNoSpace() ? errc::no_space : (s.IsCorruption() ? errc::corrupt : errc::io_error);
  return make_error(code, std::string("primary-key state: ") + what + " failed: " + s.ToString() +
                              (code == errc::no_space ? "; free disk space and retry" : ""));
}

error corrupt_value() {
  return make_error(errc::corrupt, "primary-key state holds a malformed record; remove <data_dir>/tables/state and "
                                   "restart to rebuild it from the bucket logs");
}

}  // namespace

struct pk_state::batch::impl {
  rocksdb::WriteBatch wb;
};

pk_state::batch::batch() : impl_(std::make_unique<impl>()) {}
pk_state::batch::~batch() = default;

void pk_state::batch::put(uint64_t table_id, std::string_view key, const stored_row& row) {
  // Key and value go in as parts: no joined copies per row on the write path.
  std::string prefix = table_prefix(key_tag, table_id);
  std::string head = encode_stored(stored_row{row.at, {}});
  const rocksdb::Slice key_parts[2] = {prefix, rocksdb::Slice(key.data(), key.size())};
  const rocksdb::Slice value_parts[2] = {head, row.row};
  (void)impl_->wb.Put(rocksdb::SliceParts(key_parts, 2), rocksdb::SliceParts(value_parts, 2));
}

void pk_state::batch::remove(uint64_t table_id, std::string_view key) {
  (void)impl_->wb.Delete(row_key(table_id, key));
}

void pk_state::batch::set_applied(uint64_t table_id, uint64_t partition_id, uint32_t bucket, int64_t offset) {
  std::string v(8, '\0');
  std::memcpy(v.data(), &offset, 8);
  (void)impl_->wb.Put(applied_key(table_id, partition_id, bucket), v);
}

size_t pk_state::batch::count() const { return size_t(impl_->wb.Count()); }

pk_state::pk_state(rocksdb::DB* db) : db_(db) {}
pk_state::~pk_state() { delete db_; }

result<std::unique_ptr<pk_state>> pk_state::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  options.manual_wal_flush = false;
  // Bulk loads look up keys that do not exist yet: bloom filters answer those
  // without searching the memtable or reading blocks.
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  // LZ4 where this RocksDB has it: flushing a bulk load's state with snappy
  // cost a tenth of the load's CPU.
  for (rocksdb::CompressionType c : rocksdb::GetSupportedCompressions()) {
    if (c == rocksdb::kLZ4Compression) options.compression = c;
  }
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return rocks_error(s, ("opening " + dir).c_str());
  return std::unique_ptr<pk_state>(new pk_state(db));
}

result<std::optional<stored_row>> pk_state::get(uint64_t table_id, std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), row_key(table_id, key), &value);
  if (s.IsNotFound()) return std::optional<stored_row>();
  if (!s.ok()) return rocks_error(s, "a key lookup");
  auto r = decode_stored(value);
  if (!r) return corrupt_value();
  return std::optional<stored_row>(std::move(*r));
}

status pk_state::multi_get(uint64_t table_id, std::span<const std::string_view> keys,
                           const std::function<status(size_t, const std::string_view*)>& fn) {
  constexpr size_t keys_per_call_max = 1024;  // bounds the pinned values held at once
  std::vector<std::string> owned;
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values(keys_per_call_max);
  std::vector<rocksdb::Status> statuses(keys_per_call_max);
  for (size_t from = 0; from < keys.size(); from += keys_per_call_max) {
    const size_t n = std::min(keys_per_call_max, keys.size() - from);
    owned.clear();
    slices.clear();
    for (size_t i = 0; i < n; ++i) owned.push_back(row_key(table_id, keys[from + i]));
    for (const std::string& k : owned) slices.emplace_back(k);
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), n, slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound()) {
        STRATA_TRY(fn(from + i, nullptr));
      } else if (statuses[i].ok()) {
        const std::string_view value(values[i].data(), values[i].size());
        STRATA_TRY(fn(from + i, &value));
      } else {
        return rocks_error(statuses[i], "a batched key lookup");
      }
      values[i].Reset();
    }
  }
  return {};
}

status pk_state::contains(uint64_t table_id, std::span<const std::string_view> keys, std::span<uint8_t> found) {
  STRATA_ASSERT(keys.size() == found.size(), "contains: one answer per key");
  return multi_get(table_id, keys, [&](size_t i, const std::string_view* value) -> status {
    found[i] = value != nullptr ? 1 : 0;
    return {};
  });
}

result<std::vector<std::optional<stored_row>>> pk_state::get_many(uint64_t table_id,
                                                                   std::span<const std::string_view> keys) {
  std::vector<std::optional<stored_row>> out(keys.size());
  STRATA_TRY(multi_get(table_id, keys, [&](size_t i, const std::string_view* value) -> status {
    if (value == nullptr) return {};
    out[i] = decode_stored(*value);
    if (!out[i]) return corrupt_value();
    return {};
  }));
  return out;
}

result<int64_t> pk_state::applied_upto(uint64_t table_id, uint64_t partition_id, uint32_t bucket) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), applied_key(table_id, partition_id, bucket), &value);
  if (s.IsNotFound()) return int64_t(0);
  if (!s.ok()) return rocks_error(s, "reading an applied offset");
  if (value.size() != 8) return corrupt_value();
  int64_t v;
  std::memcpy(&v, value.data(), 8);
  return v;
}

status pk_state::apply(batch& b) {
  rocksdb::WriteOptions wo;
  // No WAL: the bucket logs are fsynced first and the applied offsets travel in
  // the same batch, so a crash loses a suffix of batches that replay restores.
  wo.disableWAL = true;
  rocksdb::Status s = db_->Write(wo, &b.impl_->wb);
  if (!s.ok()) return rocks_error(s, "a state write");
  return {};
}

status pk_state::for_each(uint64_t table_id, const std::function<status(std::string_view, const stored_row&)>& fn) {
  std::string prefix = table_prefix(key_tag, table_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto r = decode_stored(std::string_view(it->value().data(), it->value().size()));
    if (!r) return corrupt_value();
    std::string_view key(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    STRATA_TRY(fn(key, *r));
  }
  if (!it->status().ok()) return rocks_error(it->status(), "a state scan");
  return {};
}

status pk_state::drop_table(uint64_t table_id) {
  for (char tag : {key_tag, applied_tag}) {
    std::string from = table_prefix(tag, table_id);
    std::string to = table_prefix(tag, table_id + 1);
    rocksdb::Status s = db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(), from, to);
    if (!s.ok()) return rocks_error(s, "dropping a table's state");
  }
  return {};
}

status pk_state::persist() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  rocksdb::Status s = db_->Flush(fo);
  if (!s.ok()) return rocks_error(s, "flushing the state");
  return {};
}

}  // namespace strata::tables
