#include "cli/table.h"

#include <algorithm>

namespace strata::cli {
namespace {

void print_row(std::ostream& out, std::string_view indent, const std::vector<std::string>& cells,
               const std::vector<size_t>& widths) {
  out << indent;
  for (size_t i = 0; i < cells.size(); ++i) {
    out << cells[i];
    if (i + 1 < cells.size()) out << std::string(widths[i] - cells[i].size() + 2, ' ');
  }
  out << '\n';
}

}  // namespace

void table::print(std::ostream& out, std::string_view indent) const {
  std::vector<size_t> widths(headers_.size());
  auto widen = [&](const std::vector<std::string>& cells) {
    if (widths.size() < cells.size()) widths.resize(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());
  };
  widen(headers_);
  for (const auto& row : rows_) widen(row);
  if (!headers_.empty()) print_row(out, indent, headers_, widths);
  for (const auto& row : rows_) print_row(out, indent, row, widths);
}

}  // namespace strata::cli
