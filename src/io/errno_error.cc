#include "io/errno_error.h"

#include <cerrno>
#include <cstring>

namespace strata::io {

errc errc_from_errno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT: return errc::no_space;
    case ENOENT: return errc::not_found;
    case EEXIST: return errc::already_exists;
    default: return errc::io_error;
  }
}

error errno_error(int err, const char* operation, const std::string& path) {
  std::string msg = std::string(operation) + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) msg += " (free disk space, then retry)";
  return make_error(errc_from_errno(err), std::move(msg));
}

}  // namespace strata::io
