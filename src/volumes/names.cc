#include "volumes/names.h"

#include <fmt/format.h>

#include <algorithm>

#include "volumes/service.h"

namespace strata::volumes {

status check_name(const std::string& name, const char* what) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  if (name.empty() || name.size() > name_bytes_max || !std::all_of(name.begin(), name.end(), allowed)) {
    return make_error(errc::invalid_argument, fmt::format("{} name \"{}\" is not allowed; use 1 to {} letters, digits, "
                                                          "'.', '_' or '-'", what, name, name_bytes_max));
  }
  return {};
}

status check_size(uint64_t size_bytes, uint64_t bytes_max) {
  if (size_bytes == 0 || size_bytes % block_bytes != 0 || size_bytes > bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("size {} bytes is not allowed; use a positive multiple of "
                                                          "{} bytes up to {} bytes", size_bytes, block_bytes,
                                                          bytes_max));
  }
  return {};
}

}  // namespace strata::volumes
