#include "dbclone/pool.h"

#include <fmt/format.h>

namespace strata::dbclone {
namespace {

bool is_dataset_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'; }

}  // namespace

status check_dataset_name(std::string_view name) {
  if (name.empty()) return make_error(errc::invalid_argument, "a dataset name must not be empty");
  if (name.size() > dataset_name_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("dataset name '{}...' is {} bytes long; the limit is {}",
                                                          name.substr(0, 32), name.size(), dataset_name_bytes_max));
  }
  if (name.front() == '.') {
    return make_error(errc::invalid_argument, fmt::format("dataset name '{}' must not start with '.'", name));
  }
  for (char c : name) {
    if (!is_dataset_char(c)) {
      return make_error(errc::invalid_argument,
                        fmt::format("dataset name '{}' may hold only a-z, 0-9, '.', '_' and '-'", name));
    }
  }
  return {};
}

}  // namespace strata::dbclone
