// Turns an errno value into a strata::error that names the operation and path.
#pragma once

#include <string>

#include "base/result.h"

namespace strata::io {

// ENOSPC/EDQUOT -> no_space, ENOENT -> not_found, EEXIST -> already_exists,
// anything else -> io_error.
errc errc_from_errno(int err);
error errno_error(int err, const char* operation, const std::string& path);

}  // namespace strata::io
