// meta::kv on RocksDB. Writes are synced to the WAL before they return, so a
// put that returned ok survives kill -9 and power loss.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>

#include "meta/kv.h"

namespace strata::meta {

namespace {

error from_rocksdb(const rocksdb::Status& s, const std::string& what) {
  std::string message = what + ": " + s.ToString();
  if (s.IsNoSpace()) return make_error(errc::no_space, message + " (free disk space and retry)");
  if (s.IsCorruption()) return make_error(errc::corrupt, message);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return make_error(errc::unavailable, message + " (is another process using this data dir?)");
  }
  if (s.IsIOError()) return make_error(errc::io_error, message);
  if (s.IsInvalidArgument()) return make_error(errc::invalid_argument, message);
  if (s.IsBusy() || s.IsTryAgain()) return make_error(errc::unavailable, message);
  return make_error(errc::internal, message);
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class rocksdb_kv final : public kv {
 public:
  explicit rocksdb_kv(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) { sync_.sync = true; }

  status put(std::string_view key, std::string_view value) override {
    auto s = db_->Put(sync_, slice(key), slice(value));
    if (!s.ok()) return from_rocksdb(s, "kv put");
    return {};
  }

  status remove(std::string_view key) override {
    auto s = db_->Delete(sync_, slice(key));
    if (!s.ok()) return from_rocksdb(s, "kv remove");
    return {};
  }

  status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      auto s = value ? batch.Put(key, *value) : batch.Delete(key);
      if (!s.ok()) return from_rocksdb(s, "kv batch");
    }
    auto s = db_->Write(sync_, &batch);
    if (!s.ok()) return from_rocksdb(s, "kv batch write");
    return {};
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), slice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return from_rocksdb(s, "kv get");
    return std::optional<std::string>(std::move(value));
  }

  status scan_prefix(std::string_view prefix,
                     const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
      auto key = it->key();
      if (!key.starts_with(slice(prefix))) break;
      auto value = it->value();
      fn(std::string_view(key.data(), key.size()), std::string_view(value.data(), value.size()));
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "kv scan");
    return {};
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions sync_;
};

}  // namespace

result<std::unique_ptr<kv>> kv::open_rocksdb(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 256;  // metadata is small; do not take the process's fd budget
  // RocksDB preallocates each WAL at about 1.1x the write buffer; with the
  // 64 MiB default, a fresh data dir would hold a 70 MiB file for a few KiB
  // of metadata.
  options.write_buffer_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return from_rocksdb(s, "opening metadata store " + dir);
  return std::unique_ptr<kv>(std::make_unique<rocksdb_kv>(std::unique_ptr<rocksdb::DB>(raw)));
}

}  // namespace strata::meta
