// A fresh directory for tests on real files: under $TMPDIR, else /tmp.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace strata::io {

inline std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  EXPECT_NE(mkdtemp(path.data()), nullptr) << path;
  return path;
}

}  // namespace strata::io
