// Partition moves (strata cluster rebalance) as one node's streams service
// sees them: a leader tracks the replicas a move adds and proposes them into
// the isr, keeps the move's target in its proposals, sends catching-up
// replicas no faster than the throttle, and a node dropped from a partition
// removes its copy.
#include "streams/catalog.h"
#include "streams/tests/service_cluster_fixture.h"

namespace strata::streams {

namespace {

std::string partition_dir(const std::string& topic) {
  return "/data/topics/" + topic + "-" + topic_id_hex(topic_id_of(topic)) + "/0";
}

size_t batches_in(const fetch_result& r) { return base_offsets(r.records).size(); }

}  // namespace

TEST_F(ServiceClusterTest, ALeaderTracksTheReplicaAMoveAddsAndProposesItIntoTheIsr) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce(one("k"), /*acks_all=*/false).error, stream_error::none);
  replica_fetch(2, 1, 3);
  replica_fetch(3, 1, 3);
  ASSERT_TRUE(wait_for([&] { return info().high_watermark == 3; }));
  EXPECT_EQ(replica_fetch(4, 1, 0).error, stream_error::not_leader_or_follower) << "4 is no replica yet";

  svc_->apply_cluster(snapshot(2, topic_spec{.replicas = {1, 2, 4, 3}, .target = {1, 2, 4}}));
  EXPECT_EQ(info().target_replicas, (ids{1, 2, 4}));
  auto first = replica_fetch(4, 1, 0);
  ASSERT_EQ(first.error, stream_error::none);
  EXPECT_EQ(batches_in(first), 3u);
  EXPECT_EQ(link_.proposals.size(), 0u) << "4 has not caught up";
  replica_fetch(4, 1, 3);
  ASSERT_EQ(link_.proposals.size(), 1u);
  EXPECT_EQ(link_.proposals[0].isr, (ids{1, 2, 3, 4}));
  EXPECT_EQ(link_.proposals[0].current.target_replicas, (ids{1, 2, 4})) << "an isr change keeps the move";
  EXPECT_EQ(link_.proposals[0].current.replicas, (ids{1, 2, 4, 3}));
}

TEST_F(ServiceClusterTest, OnlyReplicasOutsideTheIsrAreThrottled) {
  const topic_spec moving{.replicas = {1, 2, 4}, .isr = {1, 2}, .target = {1, 2, 4}};
  svc_->apply_cluster(snapshot(1, moving));
  const size_t batch_bytes = one("k").size();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(produce(one("k"), false).error, stream_error::none);
  auto throttled = snapshot(2, moving);
  throttled.catch_up_bytes_per_second = static_cast<int64_t>(batch_bytes * 3);
  svc_->apply_cluster(throttled);
  auto catching_up = replica_fetch(4, 1, 0);
  ASSERT_EQ(catching_up.error, stream_error::none);
  EXPECT_EQ(batches_in(catching_up), 3u) << "one second's worth";
  EXPECT_EQ(batches_in(replica_fetch(4, 1, 3)), 0u) << "the bucket is empty";
  EXPECT_EQ(batches_in(replica_fetch(2, 1, 0)), 10u) << "an isr member is never throttled";
  sched_.advance(1000);
  EXPECT_EQ(batches_in(replica_fetch(4, 1, 3)), 3u);
  svc_->apply_cluster(snapshot(3, moving));
  EXPECT_EQ(batches_in(replica_fetch(4, 1, 6)), 4u) << "no throttle in the state: unlimited";
}

TEST_F(ServiceClusterTest, ANodeDroppedFromAPartitionRemovesItsCopy) {
  svc_->apply_cluster(snapshot(1, topic_spec{.replicas = {2, 1, 3}, .leader = 2}));
  ASSERT_TRUE(append_replicated(1, leader_batch(0, 1), 1).ok());
  ASSERT_TRUE(info().hosted);
  ASSERT_TRUE(*fs_.exists(partition_dir("t")));

  svc_->apply_cluster(snapshot(2, topic_spec{.replicas = {2, 3, 4}, .leader = 2, .isr = {2, 3, 4}}));
  EXPECT_FALSE(info().hosted);
  EXPECT_TRUE(wait_for([&] { return !*fs_.exists(partition_dir("t")); })) << "its files go";
  EXPECT_FALSE(followed().has_value());
  EXPECT_EQ(svc_->fetch("t", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);

  svc_->apply_cluster(snapshot(3, topic_spec{.replicas = {2, 3, 1}, .leader = 2, .isr = {2, 3}}));
  ASSERT_TRUE(info().hosted) << "added back: a fresh, empty copy";
  EXPECT_EQ(info().log_end_offset, 0);
}

}  // namespace strata::streams
