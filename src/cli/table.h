// Left-aligned text tables for human-readable command output.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace strata::cli {

class table {
 public:
  // No headers: rows only.
  explicit table(std::vector<std::string> headers = {}) : headers_(std::move(headers)) {}

  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  size_t rows() const { return rows_.size(); }

  // Columns are two spaces apart; the last column is not padded.
  void print(std::ostream& out, std::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace strata::cli
