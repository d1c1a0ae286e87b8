#include "metrics/text_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace strata::metrics {
namespace {

bool is_alpha_or_underscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = is_alpha_or_underscore(c) || c == ':' || (i > 0 && is_digit(c));
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(is_alpha_or_underscore(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc{}) return "NaN";  // cannot happen with 64 bytes; keep the scrape parseable
  return std::string(buf, end);
}

std::string label_key(labels set) {
  std::sort(set.begin(), set.end(), [](const label& a, const label& b) { return a.first < b.first; });
  std::string key;
  for (const auto& [name, value] : set) {
    if (!key.empty()) key += ',';
    key += name;
    key += "=\"";
    key += escape_label_value(value);
    key += '"';
  }
  return key;
}

bool valid_labels(const labels& set, std::string_view reserved) {
  std::set<std::string_view> seen;
  for (const auto& [name, value] : set) {
    if (!valid_label_name(name) || name == reserved || !seen.insert(name).second) return false;
  }
  return true;
}

std::string sample_line(std::string_view name, std::string_view key, std::string_view extra, std::string_view value) {
  std::string line(name);
  if (!key.empty() || !extra.empty()) {
    line += '{';
    line += key;
    if (!key.empty() && !extra.empty()) line += ',';
    line += extra;
    line += '}';
  }
  line += ' ';
  line += value;
  line += '\n';
  return line;
}

}  // namespace strata::metrics
