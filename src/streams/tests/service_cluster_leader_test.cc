// Cluster mode, the leader side: acks=all, the ISR, the high watermark,
// fencing by leader epoch.
#include "streams/tests/service_cluster_fixture.h"

namespace strata::streams {


// ---- The leader ----

TEST_F(ServiceClusterTest, AppliesTheClusterStateAndLeads) {
  EXPECT_TRUE(svc_->clustered());
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  EXPECT_EQ(svc_->cluster_state().revision, 1);
  auto p = info();
  EXPECT_TRUE(p.hosted);
  EXPECT_EQ(p.leader, 1);
  EXPECT_EQ(p.leader_epoch, 1);
  EXPECT_EQ(p.replicas, (ids{1, 2, 3}));
  EXPECT_EQ(p.isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->describe_topic("t")->replication_factor, 3);
  EXPECT_TRUE(svc_->followed_partitions().empty());
  EXPECT_EQ(svc_->counters().leadership_gained, 1u);
  // An older state is ignored.
  svc_->apply_cluster(snapshot(0, std::vector<topic_spec>{}));
  EXPECT_TRUE(svc_->describe_topic("t").ok());
  auto lags = svc_->replication_lags();
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].replica, 2);
  EXPECT_EQ(lags[1].replica, 3);
  EXPECT_TRUE(lags[0].in_isr);
}

TEST_F(ServiceClusterTest, AcksAllWaitsForTheIsrAndConsumersSeeOnlyTheHighWatermark) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));

  // acks=1: answered after the leader's own flush, followers silent.
  auto a = produce_async(one("a"), /*acks_all=*/false);
  EXPECT_FALSE(a->has_value()) << "per_batch fsync: not before the leader's flush";
  ASSERT_TRUE(wait_for([&] { return a->has_value(); }));
  EXPECT_EQ((*a)->error, stream_error::none);
  EXPECT_EQ((*a)->base_offset, 0);
  EXPECT_EQ(info().log_end_offset, 1);
  EXPECT_EQ(info().high_watermark, 0) << "no follower has it yet";
  auto nothing = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(nothing.error, stream_error::none);
  EXPECT_EQ(nothing.high_watermark, 0);
  EXPECT_TRUE(nothing.records.empty());
  auto above = svc_->fetch("t", 0, 1, 1 << 20, true);
  EXPECT_EQ(above.error, stream_error::none) << "between the high watermark and the log end: nothing yet";
  EXPECT_TRUE(above.records.empty());
  EXPECT_EQ(svc_->fetch("t", 0, 2, 1 << 20, true).error, stream_error::offset_out_of_range) << "past the log end";
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 0);

  // acks=all: waits for both followers.
  auto b = produce_async(one("b"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  auto f2 = replica_fetch(2, 1, 1);  // 2 has a, asks for b
  EXPECT_EQ(f2.error, stream_error::none);
  EXPECT_EQ(base_offsets(f2.records), (std::vector<int64_t>{1})) << "followers read past the high watermark";
  EXPECT_EQ(stored_epoch(f2.records), 1) << "the leader writes its epoch into the batch";
  EXPECT_EQ(f2.high_watermark, 0) << "3 is in the ISR and not heard from";
  settle();
  EXPECT_FALSE(b->has_value());

  auto f3 = replica_fetch(3, 1, 1);
  EXPECT_EQ(f3.high_watermark, 1) << "a is on every ISR member";
  EXPECT_EQ(info().high_watermark, 1);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 1);
  auto only_a = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(only_a.high_watermark, 1);
  EXPECT_EQ(base_offsets(only_a.records), (std::vector<int64_t>{0})) << "b is above the high watermark";
  settle();
  EXPECT_FALSE(b->has_value()) << "b is on the leader only";

  replica_fetch(2, 1, 2);
  settle();
  EXPECT_FALSE(b->has_value()) << "b is on 1 and 2; 3 is still in the ISR";
  EXPECT_EQ(info().high_watermark, 1);

  auto at_end = replica_fetch(3, 1, 2);
  EXPECT_TRUE(at_end.records.empty()) << "a fetch at the leader's end reads nothing";
  ASSERT_TRUE(wait_for([&] { return b->has_value(); })) << "on every ISR member once the leader's flush is done";
  EXPECT_EQ((*b)->error, stream_error::none) << (*b)->message;
  EXPECT_EQ((*b)->base_offset, 1);
  EXPECT_EQ(info().high_watermark, 2);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 2);
  EXPECT_EQ(base_offsets(svc_->fetch("t", 0, 0, 1 << 20, true).records), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 0);

  for (auto& l : svc_->replication_lags()) {
    EXPECT_EQ(l.lag_offsets, 0) << "replica " << l.replica;
    EXPECT_TRUE(l.in_isr);
  }
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, AcksAllNeedsTheLeadersOwnFlushToo) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  fs_.fail_syncs(true);
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 1);
  replica_fetch(3, 1, 1);  // both followers have it; the leader cannot make it durable
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::storage_error);
  EXPECT_EQ(info().high_watermark, 0);
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 1 << 20, true).records.empty());
  fs_.fail_syncs(false);
}

TEST_F(ServiceClusterTest, MinInsyncReplicasRefusesAcksAllWithoutWriting) {
  // RF 3: min.insync.replicas defaults to 2; the ISR is the leader alone.
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{
                                      {"t", {1, 2, 3}, 1, 1, {1}, {}},
                                      {"one", {1, 2, 3}, 1, 1, {1}, {{"min.insync.replicas", "1"}}},
                                      {"three", {1, 2, 3}, 1, 1, {1, 2}, {{"min.insync.replicas", "3"}}},
                                  }));
  auto refused = produce_async(one("a"), /*acks_all=*/true);
  ASSERT_TRUE(refused->has_value()) << "refused at once";
  EXPECT_EQ((*refused)->error, stream_error::not_enough_replicas);
  EXPECT_EQ(info().log_end_offset, 0) << "nothing was written";

  auto acks1 = produce(one("a"), /*acks_all=*/false);
  EXPECT_EQ(acks1.error, stream_error::none) << "acks=1 does not need the ISR";
  EXPECT_EQ(acks1.base_offset, 0);
  EXPECT_EQ(info().log_end_offset, 1);

  // min.insync.replicas=1: the leader alone acknowledges once it is durable.
  auto alone = produce(one("a"), /*acks_all=*/true, "one");
  EXPECT_EQ(alone.error, stream_error::none) << alone.message;
  EXPECT_TRUE(wait_for([&] { return info("one").high_watermark == 1; }));

  // min.insync.replicas=3 with an ISR of 2.
  auto three = produce_async(one("a"), /*acks_all=*/true, 30'000, "three");
  ASSERT_TRUE(three->has_value());
  EXPECT_EQ((*three)->error, stream_error::not_enough_replicas);
  EXPECT_EQ(info("three").log_end_offset, 0);
}

TEST_F(ServiceClusterTest, AnIsrShrinkBelowMinInsyncWhileWaitingAnswersNotEnoughReplicasAfterAppend) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  svc_->apply_cluster(snapshot(2, topic_spec{.isr = {1}}));  // the controller shrank it
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::not_enough_replicas_after_append);
  EXPECT_EQ(info().log_end_offset, 1) << "it was written";
  EXPECT_EQ(info().high_watermark, 1);
}

TEST_F(ServiceClusterTest, AcksAllTimesOutWhenFollowersAreSilent) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true, /*timeout_ms=*/500);
  sched_.advance(400);
  EXPECT_FALSE(b->has_value());
  sched_.advance(150);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->error, stream_error::request_timed_out);
  EXPECT_EQ(info().log_end_offset, 1) << "written; only the answer timed out";
  // The followers catching up later answers nothing twice.
  replica_fetch(2, 1, 1);
  replica_fetch(3, 1, 1);
  EXPECT_TRUE(wait_for([&] { return info().high_watermark == 1; }));
  expect_answered_at_most_once();
  EXPECT_TRUE(link_.proposals.empty()) << "within replica_lag_time_max_ms nobody is dropped";
}

TEST_F(ServiceClusterTest, ShrinksTheIsrWhenAFollowerStopsFetchingAndExpandsItWhenItCatchesUp) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);
  // 2 keeps fetching at the leader's end; 3 is silent.
  for (int i = 0; i < 12; ++i) {
    sched_.advance(100);
    replica_fetch(2, 1, 1);
  }
  ASSERT_EQ(link_.proposals.size(), 1u) << "one proposal, not one per tick while it is pending";
  EXPECT_EQ(link_.proposals[0].isr, (ids{1, 2}));
  EXPECT_EQ(link_.proposals[0].current.isr, (ids{1, 2, 3}));
  EXPECT_EQ(link_.proposals[0].current.revision, 1) << "compared against the state it was made from";
  EXPECT_EQ(link_.proposals[0].current.leader, 1);
  EXPECT_EQ(link_.proposals[0].current.leader_epoch, 1);

  // acks=all meanwhile: 3 is still in the ISR, so it holds the high watermark.
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 2);
  settle();
  EXPECT_FALSE(b->has_value());
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));

  // The coordinator refuses (another change won): nothing changes, and the
  // next tick proposes again.
  link_.answer(make_error(errc::unavailable, "revision changed"));
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->counters().isr_shrinks, 0u);
  sched_.advance(100);
  replica_fetch(2, 1, 2);
  ASSERT_EQ(link_.proposals.size(), 2u);
  EXPECT_EQ(link_.proposals[1].isr, (ids{1, 2}));
  EXPECT_FALSE(b->has_value());

  // Accepted: the high watermark moves with the remaining ISR.
  link_.answer({});
  EXPECT_EQ(svc_->counters().isr_shrinks, 1u);
  EXPECT_EQ(info().isr, (ids{1, 2}));
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::none) << (*b)->message;
  EXPECT_EQ((*b)->base_offset, 1);
  EXPECT_EQ(info().high_watermark, 2);
  bool saw_3 = false;
  for (auto& l : svc_->replication_lags()) {
    if (l.replica != 3) continue;
    saw_3 = true;
    EXPECT_FALSE(l.in_isr);
    EXPECT_EQ(l.lag_offsets, 2);
    EXPECT_GT(l.lag_seconds, 1.0);
  }
  EXPECT_TRUE(saw_3);

  // The coordinator's state catches up with the change.
  svc_->apply_cluster(snapshot(2, topic_spec{.isr = {1, 2}}));
  EXPECT_EQ(link_.pending(), 0u);

  // 3 comes back: a fetch below the high watermark is not enough...
  replica_fetch(3, 1, 1);
  EXPECT_EQ(link_.proposals.size(), 2u);
  EXPECT_EQ(info().high_watermark, 2) << "a follower outside the ISR does not hold it";
  // ...one at the leader's end is.
  replica_fetch(3, 1, 2);
  ASSERT_EQ(link_.proposals.size(), 3u);
  EXPECT_EQ(link_.proposals[2].isr, (ids{1, 2, 3}));
  EXPECT_EQ(link_.proposals[2].current.isr, (ids{1, 2}));
  EXPECT_EQ(link_.proposals[2].current.revision, 2);
  link_.answer({});
  EXPECT_EQ(svc_->counters().isr_expands, 1u);
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, AnIsrAnswerAfterLosingLeadershipChangesNothing) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  sched_.advance(lag_max_ms + 200);  // both followers silent
  ASSERT_EQ(link_.proposals.size(), 1u);
  EXPECT_EQ(link_.proposals[0].isr, (ids{1}));
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = 2, .epoch = 2}));
  link_.answer({});
  auto p = info();
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.isr, (ids{1, 2, 3})) << "the new leader's state, not the old proposal";
}

TEST_F(ServiceClusterTest, AnIsrChangeAnsweredInsideTheProposalIsApplied) {
  link_.answer_at_once = status{};
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);
  for (int i = 0; i < 12; ++i) {
    sched_.advance(100);
    replica_fetch(2, 1, 1);  // at the leader's end
  }
  ASSERT_EQ(link_.proposals.size(), 1u);
  EXPECT_EQ(link_.proposals[0].isr, (ids{1, 2}));
  EXPECT_EQ(info().isr, (ids{1, 2}));
  EXPECT_EQ(svc_->counters().isr_shrinks, 1u);
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 2);
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::none);
  replica_fetch(3, 1, 2);
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->counters().isr_expands, 1u);
}

TEST_F(ServiceClusterTest, FencedLeadershipAnswersWaitersAndRefusesUntilTheNextClusterState) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);
  auto b = produce_async(one("b"), /*acks_all=*/true);
  int woken = 0;
  svc_->watch("t", 0, [&] { ++woken; });
  svc_->fence_leadership();  // the lease lapsed
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(woken, 1) << "long polls end";
  EXPECT_EQ(info().leader, -1);
  auto refused = produce_async(one("c"), /*acks_all=*/false);
  ASSERT_TRUE(refused->has_value());
  EXPECT_EQ((*refused)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->fetch("t", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(replica_fetch(2, 1, 0).error, stream_error::not_leader_or_follower);
  EXPECT_TRUE(svc_->followed_partitions().empty());

  // The same state read again: it leads again, at the same epoch.
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  EXPECT_EQ(info().leader, 1);
  EXPECT_EQ(info().leader_epoch, 1);
  EXPECT_EQ(produce(one("c"), /*acks_all=*/false).base_offset, 2);
  auto e = svc_->end_offset_for_epoch("t", 0, 1, 1);
  EXPECT_EQ(e.leader_epoch, 1);
  EXPECT_EQ(e.end_offset, 3);
  expect_answered_at_most_once();
}

// ---- Not the leader; leader epochs ----

TEST_F(ServiceClusterTest, AFollowerRefusesClientsAndFollowersAsNotLeader) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{{.leader = 2}, {.name = "elsewhere", .replicas = {2, 3}, .leader = 2, .isr = {2, 3}}}));
  auto produced = produce_async(one("a"), /*acks_all=*/false);
  ASSERT_TRUE(produced->has_value());
  EXPECT_EQ((*produced)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->fetch("t", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(replica_fetch(3, 1, 0).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 1, 1).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(info().log_end_offset, 0);

  // A partition with no replica here.
  auto elsewhere = info("elsewhere");
  EXPECT_FALSE(elsewhere.hosted);
  EXPECT_EQ(elsewhere.leader, 2);
  auto p = produce_async(one("a"), /*acks_all=*/true, 30'000, "elsewhere");
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->fetch("elsewhere", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);
  auto list = svc_->followed_partitions();
  ASSERT_EQ(list.size(), 1u) << "only t is followed here";
  EXPECT_EQ(list[0].topic, "t");

  EXPECT_EQ(svc_->fetch("nope", 0, 0, 1 << 20, true).error, stream_error::unknown_topic_or_partition);
  EXPECT_EQ(svc_->fetch_for_replica("nope", 0, 2, 1, 0, 1 << 20).error, stream_error::unknown_topic_or_partition);
}

TEST_F(ServiceClusterTest, ReplicaFetchesAndEpochQueriesAreFencedByLeaderEpoch) {
  svc_->apply_cluster(snapshot(1, topic_spec{.epoch = 5}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).error, stream_error::none);
  EXPECT_EQ(replica_fetch(2, 4, 0).error, stream_error::fenced_leader_epoch);
  EXPECT_EQ(replica_fetch(2, 6, 0).error, stream_error::unknown_leader_epoch);
  EXPECT_EQ(info().high_watermark, 0) << "a refused fetch counts for nothing";
  auto ok = replica_fetch(2, 5, 0);
  EXPECT_EQ(ok.error, stream_error::none);
  EXPECT_EQ(base_offsets(ok.records), (std::vector<int64_t>{0}));
  EXPECT_EQ(replica_fetch(2, -1, 0).error, stream_error::none) << "no epoch given: not checked";
  EXPECT_EQ(replica_fetch(4, 5, 0).error, stream_error::not_leader_or_follower) << "not a replica";
  EXPECT_EQ(replica_fetch(2, 5, 7).error, stream_error::offset_out_of_range) << "past the leader's end";

  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 4, 5).error, stream_error::fenced_leader_epoch);
  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 6, 5).error, stream_error::unknown_leader_epoch);
  auto e = svc_->end_offset_for_epoch("t", 0, 5, 5);
  EXPECT_EQ(e.error, stream_error::none);
  EXPECT_EQ(e.leader_epoch, 5);
  EXPECT_EQ(e.end_offset, 1);
}

TEST_F(ServiceClusterTest, LosingLeadershipAnswersWaitingProducersNotLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  auto c = produce_async(one("c"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = 2, .epoch = 2}));
  ASSERT_TRUE(b->has_value());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*b)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ((*c)->error, stream_error::not_leader_or_follower);
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->leader, 2);
  EXPECT_EQ(f->leader_epoch, 2);
  EXPECT_EQ(replica_fetch(2, 2, 0).error, stream_error::not_leader_or_follower);
  settle();
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, NoLeaderAtAllAnswersWaitingProducersNotLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = -1, .epoch = 2}));
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(info().leader, -1);
  EXPECT_TRUE(svc_->followed_partitions().empty());
  auto again = produce_async(one("c"), /*acks_all=*/false);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->error, stream_error::not_leader_or_follower);
}

TEST_F(ServiceClusterTest, EndOffsetForEpochOnTheLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{.isr = {1}}));
  ASSERT_EQ(produce(one("a"), false).base_offset, 0);
  ASSERT_EQ(produce(one("b"), false).base_offset, 1);
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2, .isr = {1}}));  // re-elected at a new epoch
  EXPECT_EQ(svc_->counters().leadership_gained, 2u);
  ASSERT_EQ(produce(one("c"), false).base_offset, 2);

  auto latest = svc_->end_offset_for_epoch("t", 0, 2, 2);
  EXPECT_EQ(latest.error, stream_error::none);
  EXPECT_EQ(latest.leader_epoch, 2);
  EXPECT_EQ(latest.end_offset, 3) << "the latest epoch ends at the log end";
  auto older = svc_->end_offset_for_epoch("t", 0, 2, 1);
  EXPECT_EQ(older.leader_epoch, 1);
  EXPECT_EQ(older.end_offset, 2) << "an older epoch ends where the next starts";
  auto below = svc_->end_offset_for_epoch("t", 0, -1, 0);
  EXPECT_EQ(below.leader_epoch, 0);
  EXPECT_EQ(below.end_offset, 0) << "below the first epoch: where the known epochs begin";
  auto above = svc_->end_offset_for_epoch("t", 0, 2, 3);
  EXPECT_EQ(above.leader_epoch, -1);
  EXPECT_EQ(above.end_offset, -1);

  // Each batch carries the epoch it was written in.
  auto all = replica_fetch(2, 2, 0);
  std::vector<int32_t> epochs;
  std::span<const uint8_t> rest(all.records);
  while (auto h = read_batch_header(rest)) {
    epochs.push_back(stored_epoch(rest));
    rest = rest.subspan(h->total_bytes());
  }
  EXPECT_EQ(epochs, (std::vector<int32_t>{1, 1, 2}));
}

}  // namespace strata::streams
