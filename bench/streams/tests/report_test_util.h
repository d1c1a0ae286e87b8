// Test helpers shared by the report tests of bench/streams and bench/cluster.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "report.h"

namespace strata::bench {

// The ratio line labelled `label`; a test failure (and an empty line) when
// there is none.
inline const ratio_line& by_label(const std::vector<ratio_line>& lines, const std::string& label) {
  for (const auto& l : lines) {
    if (l.label == label) return l;
  }
  static const ratio_line none;
  ADD_FAILURE() << "no line " << label;
  return none;
}

}  // namespace strata::bench
