#include "base/size_text.h"

#include <array>
#include <cstdio>
#include <limits>

namespace strata {
namespace {

struct unit {
  char letter;
  const char* name;
  uint64_t bytes;
};

constexpr std::array<unit, 4> units = {{
    {'T', "TiB", uint64_t{1} << 40},
    {'G', "GiB", uint64_t{1} << 30},
    {'M', "MiB", uint64_t{1} << 20},
    {'K', "KiB", uint64_t{1} << 10},
}};

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

// The multiplier named by `suffix` ("", "B", "K", "KiB", "kb", ...), or 0.
uint64_t multiplier(std::string_view suffix) {
  if (suffix.empty() || equals_ignoring_case(suffix, "B")) return 1;
  for (const unit& u : units) {
    if (upper(suffix.front()) != u.letter) continue;
    std::string_view rest = suffix.substr(1);
    if (rest.empty() || equals_ignoring_case(rest, "B") || equals_ignoring_case(rest, "iB")) return u.bytes;
  }
  return 0;
}

error not_a_size(std::string_view text) {
  return make_error(errc::invalid_argument,
                    std::string(text) + " is not a size; use e.g. 10G or 512M (K, M, G, T mean KiB, MiB, GiB, TiB)");
}

error too_large(std::string_view text) {
  return make_error(errc::invalid_argument,
                    std::string(text) + " is too large; a size must be below 16 EiB (2^64 bytes)");
}

}  // namespace

result<uint64_t> parse_size(std::string_view text) {
  if (text.size() > size_text_bytes_max) {
    return make_error(errc::invalid_argument,
                      "a size is at most " + std::to_string(size_text_bytes_max) + " characters, e.g. 10G or 512M");
  }
  size_t digits = 0;
  uint64_t value = 0;
  constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
  bool overflow = false;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
    if (value > (max - digit) / 10) overflow = true;
    value = value * 10 + digit;
    ++digits;
  }
  if (digits == 0) return not_a_size(text);
  std::string_view suffix = text.substr(digits);
  if (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  if (suffix.empty() && digits < text.size()) return not_a_size(text);  // a trailing space
  uint64_t scale = multiplier(suffix);
  if (scale == 0) return not_a_size(text);
  if (overflow || value > max / scale) return too_large(text);
  return value * scale;
}

std::string format_size(uint64_t bytes) {
  for (size_t i = 0; i < units.size(); ++i) {
    const unit& u = units[i];
    if (bytes < u.bytes) continue;
    if (bytes % u.bytes == 0) return std::to_string(bytes / u.bytes) + " " + u.name;
    double scaled = static_cast<double>(bytes) / static_cast<double>(u.bytes);
    // 1023.96 KiB would print as "1024.0 KiB": say "1.0 MiB" instead.
    if (scaled >= 1023.95 && i > 0) return std::string("1.0 ") + units[i - 1].name;
    char text[48];
    std::snprintf(text, sizeof(text), "%.1f %s", scaled, u.name);
    return text;
  }
  return std::to_string(bytes) + " B";
}

}  // namespace strata
