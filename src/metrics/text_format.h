// Pieces of the Prometheus text exposition format, version 0.0.4: name rules,
// escaping and number formatting. The registry composes them into a scrape.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::metrics {

using label = std::pair<std::string, std::string>;
using labels = std::vector<label>;

inline constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved by Prometheus).
bool valid_label_name(std::string_view name);

// Label values escape backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// HELP text escapes backslash and newline.
std::string escape_help(std::string_view help);

// Shortest text that reads back as the same double; +Inf, -Inf and NaN as
// Prometheus spells them.
std::string format_value(double value);

// `a="x",b="y"` with labels sorted by name, so the same set in any order names
// the same series. Empty for no labels. The caller validates the names.
std::string label_key(labels sorted_or_not);

// True if the names are valid, none repeats and none equals `reserved`.
bool valid_labels(const labels& set, std::string_view reserved = {});

// `name{key} value\n`, or `name value\n` for an empty key. `extra` (such as
// `le="0.5"`) is appended to the label key.
std::string sample_line(std::string_view name, std::string_view key, std::string_view extra, std::string_view value);

}  // namespace strata::metrics
