#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace strata::detail {

void assert_failed(const char* expr, const char* message, const char* file, int line) {
  std::fprintf(stderr, "strata: assertion failed: %s (%s) at %s:%d\n", expr, message, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace strata::detail
