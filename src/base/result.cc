#include "base/result.h"

namespace strata {

const char* errc_name(errc code) {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::corrupt: return "corrupt";
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::timed_out: return "timed_out";
    case errc::unavailable: return "unavailable";
    case errc::unsupported: return "unsupported";
    case errc::internal: return "internal";
  }
  return "unknown";
}

}  // namespace strata
