// log::reconfigure: new limits for the appends, rolls and retention passes
// that follow.
#include <gtest/gtest.h>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;

TEST(LogReconfigure, NewLimitsApplyToWhatFollows) {
  io::fault_fs fs;
  log_config cfg;
  auto opened = log::open(fs, "/data/log", cfg);
  ASSERT_TRUE(opened.ok()) << opened.err().message;
  auto& l = **opened;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(l.append(payload_for(l.end_offset().value, 100), 1, 1000).ok());
  EXPECT_EQ(l.segment_count(), 1u);

  cfg.segment_bytes_max = 500;  // 140-byte frames: 3 to a segment
  cfg.entry_bytes_max = 200;
  cfg.retention_bytes = 0;
  ASSERT_TRUE(l.reconfigure(cfg).ok());
  EXPECT_EQ(l.append(payload_for(l.end_offset().value, 300), 1, 1000).code(), errc::limit_exceeded);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(l.append(payload_for(l.end_offset().value, 100), 1, 1000).ok());
  EXPECT_GT(l.segment_count(), 2u) << "rolled by the new segment size";
  auto removed = l.enforce_retention(2000);
  ASSERT_TRUE(removed.ok());
  EXPECT_GT(*removed, 0);
  EXPECT_GT(l.start_offset().value, 0);

  log_config bad = cfg;
  bad.segment_age_ms_max = 0;
  EXPECT_EQ(l.reconfigure(bad).code(), errc::invalid_argument);
  EXPECT_EQ(l.append(payload_for(l.end_offset().value, 300), 1, 1000).code(), errc::limit_exceeded)
      << "a refused config changes nothing";
}

}  // namespace
}  // namespace strata::storage
