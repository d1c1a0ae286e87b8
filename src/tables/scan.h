// Scans: planning (partition pruning, batch skipping by statistics, cutting
// buckets into units, capturing the live-row bitmaps) and the cursors that
// read batches through the decoded cache.
#pragma once

#include <memory>
#include <vector>

#include "base/result.h"
#include "tables/decoded_cache.h"
#include "tables/pk_state.h"
#include "tables/service.h"
#include "tables/table_state.h"

namespace strata::tables {

// What a transaction adds to its own scans.
struct txn_overlay {
  const column_batch* rows = nullptr;  // buffered rows, every table column; may be null
  std::vector<row_location> hidden;    // stored rows the transaction replaced or deleted
};

inline constexpr uint32_t unit_rows_target = 131072;
inline constexpr uint32_t unit_batches_max = 64;

result<std::unique_ptr<table_scan>> plan_scan(std::shared_ptr<table_rt> table, const scan_spec& spec,
                                              const txn_overlay* overlay, decoded_cache& cache);

}  // namespace strata::tables
