// Checks of user-chosen names and sizes, with messages that say what is allowed.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace strata::volumes {

inline constexpr size_t name_bytes_max = 128;

// 1-128 of [A-Za-z0-9._-]; `what` ("volume", "snapshot") names it in the error.
status check_name(const std::string& name, const char* what);
// A positive multiple of block_bytes, at most bytes_max.
status check_size(uint64_t size_bytes, uint64_t bytes_max);

}  // namespace strata::volumes
