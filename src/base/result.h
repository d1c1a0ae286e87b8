// result<T>: the value or the error of an operation whose failure is expected
// (bad input, disk full, missing file). Bugs use STRATA_ASSERT instead.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace strata {

enum class errc {
  ok = 0,
  invalid_argument,   // the caller asked for something malformed or out of range
  not_found,          // the named thing does not exist
  already_exists,     // the named thing exists already
  corrupt,            // stored bytes failed a checksum or format check
  io_error,           // the operating system refused a read, write or sync
  no_space,           // the disk is full
  limit_exceeded,     // a configured limit (bytes, count, depth) would be exceeded
  timed_out,
  unavailable,        // the resource is busy or shutting down; retry later
  unsupported,        // a version or feature this build does not speak
  internal,           // a failure we cannot classify; a bug report is welcome
};

const char* errc_name(errc code);

struct error {
  errc code = errc::internal;
  std::string message;  // says what happened and, where it can, what to do
};

// Marker that converts to any result<T> holding an error.
inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(error err) : state_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    STRATA_ASSERT(ok(), "result::value() on an error");
    return std::get<0>(state_);
  }
  const T& value() const& {
    STRATA_ASSERT(ok(), "result::value() on an error");
    return std::get<0>(state_);
  }
  T&& value() && {
    STRATA_ASSERT(ok(), "result::value() on an error");
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const {
    STRATA_ASSERT(!ok(), "result::err() on a value");
    return std::get<1>(state_);
  }
  errc code() const { return ok() ? errc::ok : err().code; }

 private:
  std::variant<T, error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error err) : err_(std::move(err)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const error& err() const {
    STRATA_ASSERT(!ok_, "result::err() on a value");
    return err_;
  }
  errc code() const { return ok_ ? errc::ok : err_.code; }

 private:
  error err_;
  bool ok_ = true;
};

using status = result<void>;

}  // namespace strata

// Propagates an error from an expression returning result<...>.
#define STRATA_TRY(expr)                         \
  do {                                           \
    auto&& strata_try_result_ = (expr);          \
    if (!strata_try_result_.ok()) {              \
      return strata_try_result_.err();           \
    }                                            \
  } while (0)
