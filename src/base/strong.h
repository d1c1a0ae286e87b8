// strong<Tag, T>: a distinct type per meaning (a log offset is not a file
// position), so the compiler rejects mixing them up.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace strata {

template <class Tag, class T>
struct strong {
  T value{};

  constexpr strong() = default;
  constexpr explicit strong(T v) : value(v) {}
  constexpr auto operator<=>(const strong&) const = default;
  constexpr strong operator+(T delta) const { return strong(value + delta); }
  constexpr strong operator-(T delta) const { return strong(value - delta); }
  constexpr T operator-(strong other) const { return value - other.value; }
};

// A position in a storage log: the index of a record, dense from 0.
using log_offset = strong<struct log_offset_tag, int64_t>;

}  // namespace strata

template <class Tag, class T>
struct std::hash<strata::strong<Tag, T>> {
  size_t operator()(const strata::strong<Tag, T>& s) const noexcept { return std::hash<T>{}(s.value); }
};
