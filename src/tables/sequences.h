// Sequences: PostgreSQL's CREATE SEQUENCE objects, and what serial and
// identity columns draw their values from. Each is one record in the catalog
// kv (docs/formats/table-storage.md, "Sequence records").
//
// Durability: a value is handed out only after the record says that values up
// to it may have been used (as PostgreSQL logs 32 values ahead), so after a
// crash no value is handed out twice; the values reserved but never handed
// out are skipped, as in PostgreSQL. Sequences are not transactional:
// ROLLBACK does not give values back.
//
// Threading: every method is safe from any thread; one mutex per store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::tables {

inline constexpr uint32_t sequences_max = 100'000;
// Values reserved per durable write: this many at first, doubling while
// writes come quickly, so a bulk INSERT into a serial column costs a few
// syncs instead of one per 32 rows.
inline constexpr int64_t sequence_reserve_min = 32;
inline constexpr int64_t sequence_reserve_max = 65536;

struct sequence_def {
  std::string name;
  uint8_t value_bytes = 8;  // AS smallint (2), integer (4) or bigint (8)
  int64_t increment = 1;
  int64_t min_value = 1;
  int64_t max_value = INT64_MAX;
  int64_t start = 1;
  int64_t cache = 1;
  bool cycle = false;
  // OWNED BY table.column: dropped with the table. Empty: free-standing.
  std::string owned_table = {};
  std::string owned_column = {};

  bool operator==(const sequence_def&) const = default;
};

struct sequence_state {
  int64_t last_value = 1;
  bool is_called = false;  // false: the next nextval returns last_value itself
};

struct sequence_info {
  sequence_def def;
  sequence_state state;
};

// The smallest and largest value of a sequence of 2, 4 or 8 bytes.
std::pair<int64_t, int64_t> sequence_type_bounds(uint8_t value_bytes);

// The type's bounds, and PostgreSQL's defaults for the unset ones: an
// ascending sequence runs from 1 to the type's maximum, a descending one
// from -1 down to its minimum, starting at the end it leaves from. Checks
// what PostgreSQL checks (errc::invalid_argument with its words).
result<sequence_def> complete_sequence_def(sequence_def def, bool min_given, bool max_given, bool start_given);

class sequence_store {
 public:
  explicit sequence_store(meta::kv& kv) : kv_(kv) {}

  // Reads every record; errc::corrupt names a record that does not parse.
  status load();

  bool exists(const std::string& name) const;
  size_t size() const;
  std::vector<sequence_info> list() const;
  result<sequence_info> describe(const std::string& name) const;

  // The kv writes that create or remove sequences, for the caller to batch
  // with its own (a table and the sequences it owns go in one write), and
  // what to apply once that write succeeded.
  std::pair<std::string, std::optional<std::string>> create_op(const sequence_def& def) const;
  std::pair<std::string, std::optional<std::string>> remove_op(const std::string& name) const;
  void created(const sequence_def& def);
  void removed(const std::string& name);
  // The names of the sequences owned by a column of `table`.
  std::vector<std::string> owned_by(const std::string& table) const;

  // A sequence whose owner changes with its table (ALTER TABLE): the new
  // table and column, or an empty table when its column is dropped, which
  // drops the sequence.
  struct owner_change {
    std::string sequence;
    std::string table;
    std::string column;
  };
  // Writes `ops` in one kv batch together with the records of `changes`,
  // under the store's lock so that no nextval reservation lands in between,
  // then applies the changes.
  status write_with_owners(std::vector<std::pair<std::string, std::optional<std::string>>> ops,
                           const std::vector<owner_change>& changes);

  // nextval: errc::not_found, or errc::limit_exceeded past the end of a
  // sequence without CYCLE.
  result<int64_t> next(const std::string& name);
  // setval(name, value, is_called): errc::invalid_argument out of bounds.
  result<int64_t> set(const std::string& name, int64_t value, bool is_called);
  // ALTER SEQUENCE: `change` gets the definition and returns the new one
  // (run under the store's lock); `restart` sets the next value (an empty
  // inner value: the new definition's start).
  status alter(const std::string& name, const std::function<result<sequence_def>(const sequence_def&)>& change,
               std::optional<std::optional<int64_t>> restart);

 private:
  struct entry {
    sequence_def def;
    sequence_state state;  // what nextval last returned (or will return first)
    // Values after `state` that the durable record already counts as used,
    // so nextval may hand them out without a write.
    int64_t reserved = 0;
    int64_t reserve_count = sequence_reserve_min;
    int64_t last_reserve_ms = 0;
  };
  // Writes the record with `state` as the point a restart resumes from.
  status persist(const sequence_def& def, const sequence_state& state);
  meta::kv& kv_;
  mutable std::mutex mu_;
  std::map<std::string, entry> entries_;
};

}  // namespace strata::tables
