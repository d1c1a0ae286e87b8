// Primary-key state: one RocksDB instance under <data_dir>/tables/state that
// maps (table, encoded key) to where the key's current row lives and the row
// itself, plus per bucket the log offset the state is applied up to. The
// bucket logs are the source of truth: state writes skip RocksDB's WAL, and
// open() replays each bucket log from its applied offset.
// Layout: docs/formats/table-storage.md ("Primary-key state").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rocksdb {
class DB;
}

namespace strata::tables {

struct row_location {
  uint64_t partition_id = 0;
  uint32_t bucket = 0;
  int64_t offset = 0;  // log offset of the row (entry base + row index)
};

struct stored_row {
  row_location at;
  std::string row;  // encode_row() of every column
};

class pk_state {
 public:
  static result<std::unique_ptr<pk_state>> open(const std::string& dir);
  ~pk_state();
  pk_state(const pk_state&) = delete;
  pk_state& operator=(const pk_state&) = delete;

  result<std::optional<stored_row>> get(uint64_t table_id, std::string_view key);
  // found[i] = 1 when keys[i] is stored: one batched lookup, far cheaper per
  // key than get() for the many keys of a bulk insert.
  status contains(uint64_t table_id, std::span<const std::string_view> keys, std::span<uint8_t> found);
  // get() of every key, as one batched lookup.
  result<std::vector<std::optional<stored_row>>> get_many(uint64_t table_id, std::span<const std::string_view> keys);
  // 0 when the bucket has no record yet.
  result<int64_t> applied_upto(uint64_t table_id, uint64_t partition_id, uint32_t bucket);

  // Changes applied atomically by apply().
  class batch {
   public:
    batch();
    ~batch();
    void put(uint64_t table_id, std::string_view key, const stored_row& row);
    void remove(uint64_t table_id, std::string_view key);
    void set_applied(uint64_t table_id, uint64_t partition_id, uint32_t bucket, int64_t offset);
    size_t count() const;

   private:
    friend class pk_state;
    struct impl;
    std::unique_ptr<impl> impl_;
  };
  status apply(batch& b);

  // fn(encoded key, row) for every key of the table, in key order.
  status for_each(uint64_t table_id, const std::function<status(std::string_view, const stored_row&)>& fn);
  status drop_table(uint64_t table_id);
  // Writes the memtable out, so a clean restart replays nothing.
  status persist();

 private:
  // fn(i, value of keys[i] or null when absent), over MultiGet in slices.
  status multi_get(uint64_t table_id, std::span<const std::string_view> keys,
                   const std::function<status(size_t, const std::string_view*)>& fn);
  explicit pk_state(rocksdb::DB* db);
  rocksdb::DB* db_;
};

}  // namespace strata::tables
