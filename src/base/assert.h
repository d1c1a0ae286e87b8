// Assertions are for bugs: a broken invariant stops the process with a message,
// in every build type. Expected failures are result<T> values (base/result.h).
#pragma once

namespace strata::detail {
[[noreturn]] void assert_failed(const char* expr, const char* message, const char* file, int line);
}

#define STRATA_ASSERT(cond, message)                                              \
  do {                                                                            \
    if (!(cond)) [[unlikely]] {                                                   \
      ::strata::detail::assert_failed(#cond, (message), __FILE__, __LINE__);      \
    }                                                                             \
  } while (0)
