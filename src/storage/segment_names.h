// Recognizing a log directory's files by name: <20-digit base>.log,
// .index, .timeindex, and leftover *.tmp files of interrupted index writes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "io/fs.h"

namespace strata::storage {

enum class segment_file_kind { data, offset_index, time_index };

struct segment_file_name_parts {
  log_offset base;
  segment_file_kind kind;
};

// nullopt for names that are not segment files.
std::optional<segment_file_name_parts> parse_segment_file_name(const std::string& name);

// Removes *.tmp leftovers and index files whose data file is gone, then
// returns the base offsets of the data files, ascending.
result<std::vector<log_offset>> tidy_and_list_segments(io::fs& fs, const std::string& dir);

}  // namespace strata::storage
