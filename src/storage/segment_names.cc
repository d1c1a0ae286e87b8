#include "storage/segment_names.h"

#include <algorithm>
#include <set>

namespace strata::storage {
namespace {

constexpr size_t base_digits = 20;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::optional<segment_file_name_parts> parse_segment_file_name(const std::string& name) {
  if (name.size() <= base_digits) return std::nullopt;
  std::string digits = name.substr(0, base_digits);
  std::string suffix = name.substr(base_digits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  // 20 digits can exceed int64; the largest valid base has 19.
  if (digits[0] != '0') return std::nullopt;
  log_offset base(std::stoll(digits));
  if (suffix == ".log") return segment_file_name_parts{base, segment_file_kind::data};
  if (suffix == ".index") return segment_file_name_parts{base, segment_file_kind::offset_index};
  if (suffix == ".timeindex") return segment_file_name_parts{base, segment_file_kind::time_index};
  return std::nullopt;
}

result<std::vector<log_offset>> tidy_and_list_segments(io::fs& fs, const std::string& dir) {
  auto names = fs.list(dir);
  STRATA_TRY(names);
  std::set<log_offset> data_bases;
  for (const auto& name : *names) {
    auto parts = parse_segment_file_name(name);
    if (parts && parts->kind == segment_file_kind::data) data_bases.insert(parts->base);
  }
  for (const auto& name : *names) {
    auto parts = parse_segment_file_name(name);
    bool orphan_index = parts && parts->kind != segment_file_kind::data && !data_bases.contains(parts->base);
    bool leftover_tmp = ends_with(name, ".tmp") && parse_segment_file_name(name.substr(0, name.size() - 4));
    if (orphan_index || leftover_tmp) STRATA_TRY(fs.remove(io::join_path(dir, name)));
  }
  return std::vector<log_offset>(data_bases.begin(), data_bases.end());
}

}  // namespace strata::storage
