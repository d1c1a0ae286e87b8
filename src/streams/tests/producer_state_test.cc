#include "streams/producer_state.h"

#include <gtest/gtest.h>

#include "streams/record_batch.h"

namespace strata::streams {

namespace {
batch_header batch(int64_t pid, int16_t epoch, int32_t seq, int32_t records) {
  batch_header h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = records - 1;
  h.record_count = records;
  return h;
}
using verdict = producer_state::verdict;
}  // namespace

TEST(ProducerState, AcceptsConsecutiveSequences) {
  producer_state s;
  EXPECT_EQ(s.check(batch(1, 0, 0, 5)).outcome, verdict::accept);
  s.record(batch(1, 0, 0, 5), 100);
  EXPECT_EQ(s.check(batch(1, 0, 5, 2)).outcome, verdict::accept);
}

TEST(ProducerState, RecognisesARetriedBatchAndItsOffset) {
  producer_state s;
  s.record(batch(1, 0, 0, 5), 100);
  s.record(batch(1, 0, 5, 5), 105);
  auto r = s.check(batch(1, 0, 0, 5));
  EXPECT_EQ(r.outcome, verdict::duplicate);
  EXPECT_EQ(r.duplicate_base_offset, 100);
  EXPECT_EQ(r.duplicate_next_offset, 105);
}

TEST(ProducerState, RefusesAGap) {
  producer_state s;
  s.record(batch(1, 0, 0, 5), 100);
  EXPECT_EQ(s.check(batch(1, 0, 6, 1)).outcome, verdict::out_of_order);
}

TEST(ProducerState, FencesAnOlderEpochAndResetsOnANewOne) {
  producer_state s;
  s.record(batch(1, 3, 0, 1), 0);
  EXPECT_EQ(s.check(batch(1, 2, 1, 1)).outcome, verdict::invalid_epoch);
  EXPECT_EQ(s.check(batch(1, 4, 0, 1)).outcome, verdict::accept);
  EXPECT_EQ(s.check(batch(1, 4, 7, 1)).outcome, verdict::out_of_order);
}

TEST(ProducerState, UnknownProducerMustStartAtZero) {
  producer_state s;
  EXPECT_EQ(s.check(batch(9, 0, 3, 1)).outcome, verdict::unknown_producer);
}

TEST(ProducerState, RemembersOnlyTheLastFiveBatches) {
  producer_state s;
  for (int i = 0; i < 7; ++i) s.record(batch(1, 0, i, 1), i);
  EXPECT_EQ(s.check(batch(1, 0, 0, 1)).outcome, verdict::out_of_order);
  EXPECT_EQ(s.check(batch(1, 0, 2, 1)).outcome, verdict::duplicate);
}

TEST(ProducerState, ForgetsTheLeastRecentlyWrittenProducerPastTheLimit) {
  producer_state s;
  s.producers_max = 2;
  s.record(batch(1, 0, 0, 1), 0);
  s.record(batch(2, 0, 0, 1), 1);
  s.record(batch(1, 0, 1, 1), 2);
  s.record(batch(3, 0, 0, 1), 3);
  EXPECT_EQ(s.producer_count(), 2u);
  EXPECT_EQ(s.check(batch(2, 0, 1, 1)).outcome, verdict::unknown_producer);
  EXPECT_EQ(s.check(batch(1, 0, 2, 1)).outcome, verdict::accept);
}

}  // namespace strata::streams
