// Cluster mode, the follower side (appends, truncation, epochs), topics
// through the cluster, and a single node unchanged.
#include "streams/tests/service_cluster_fixture.h"

namespace strata::streams {

// ---- The follower ----

TEST_F(ServiceClusterSyncFollowerTest, AFollowerAppendsTheLeadersBatchesAndRecordsTheirEpochs) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2}));
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->leader, 2);
  EXPECT_EQ(f->leader_epoch, 1);
  EXPECT_EQ(f->log_end_offset, 0);
  EXPECT_EQ(f->latest_local_epoch, -1);
  EXPECT_TRUE(f->ready);

  std::optional<result<int64_t>> first;
  svc_->append_replicated("t", 0, 1, concat({leader_batch(0, 1), leader_batch(1, 1, 2)}), /*leader_hw=*/2,
                          [&](result<int64_t> r) { first.emplace(std::move(r)); });
  EXPECT_FALSE(first.has_value()) << "answered once durable, not before the flush";
  EXPECT_EQ(info().log_end_offset, 3);
  ASSERT_TRUE(wait_for([&] { return first.has_value(); }));
  auto& end = *first;
  ASSERT_TRUE(end.ok()) << end.err().message;
  EXPECT_EQ(*end, 3);
  EXPECT_EQ(followed()->log_end_offset, 3);
  EXPECT_EQ(followed()->latest_local_epoch, 1);
  EXPECT_EQ(info().log_end_offset, 3);
  EXPECT_EQ(info().high_watermark, 2) << "the leader's, bounded by what is durable here";

  // A batch that does not continue the log.
  auto gap = append_replicated(1, leader_batch(5, 1), 3);
  EXPECT_EQ(gap.code(), errc::invalid_argument);
  auto overlap = append_replicated(1, leader_batch(2, 1), 3);
  EXPECT_EQ(overlap.code(), errc::invalid_argument);
  EXPECT_EQ(info().log_end_offset, 3);
  // A corrupt batch.
  auto bad = leader_batch(3, 1);
  bad.back() ^= 0xFF;
  EXPECT_EQ(append_replicated(1, bad, 3).code(), errc::corrupt);
  // The wrong leader epoch, or a partition this node does not follow.
  EXPECT_EQ(append_replicated(2, leader_batch(3, 1), 3).code(), errc::unavailable);
  EXPECT_EQ(info().log_end_offset, 3);

  // A partial last batch is left for the next fetch.
  auto next = leader_batch(4, 1);
  auto partial = concat({leader_batch(3, 1), std::vector<uint8_t>(next.begin(), next.begin() + 30)});
  auto cut = append_replicated(1, partial, 3);
  ASSERT_TRUE(cut.ok()) << cut.err().message;
  EXPECT_EQ(*cut, 4);

  // A batch from a newer leader epoch is recorded as that epoch's start.
  auto newer = append_replicated(1, leader_batch(4, 3), 4);
  ASSERT_TRUE(newer.ok()) << newer.err().message;
  EXPECT_EQ(*newer, 5);
  EXPECT_EQ(followed()->latest_local_epoch, 3);

  // Empty input: nothing appended, the end is answered.
  auto empty = append_replicated(1, {}, 5);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 5);
  EXPECT_EQ(info().high_watermark, 5);

  // Now this node leads at epoch 4: its epochs answer OffsetForLeaderEpoch.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4}));
  EXPECT_TRUE(svc_->followed_partitions().empty());
  auto e3 = svc_->end_offset_for_epoch("t", 0, 4, 3);
  EXPECT_EQ(e3.leader_epoch, 3);
  EXPECT_EQ(e3.end_offset, 5) << "epoch 3 ends where this node's epoch 4 starts";
  auto e2 = svc_->end_offset_for_epoch("t", 0, 4, 2);
  EXPECT_EQ(e2.leader_epoch, 1) << "the largest epoch <= 2 it knows";
  EXPECT_EQ(e2.end_offset, 4);
  auto e4 = svc_->end_offset_for_epoch("t", 0, 4, 4);
  EXPECT_EQ(e4.leader_epoch, 4);
  EXPECT_EQ(e4.end_offset, 5);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 5);
}

// The default (Kafka's way): a follower answers once the batches are in its
// log, and its high watermark follows its own flushes.
TEST_F(ServiceClusterTest, ByDefaultAFollowerAnswersOnceAppended) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2}));
  std::optional<result<int64_t>> out;
  svc_->append_replicated("t", 0, 1, concat({leader_batch(0, 1), leader_batch(1, 1, 2)}), /*leader_hw=*/2,
                          [&](result<int64_t> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out.has_value()) << "answered at once";
  ASSERT_TRUE(out->ok()) << out->err().message;
  EXPECT_EQ(**out, 3);
  EXPECT_EQ(followed()->log_end_offset, 3);
  EXPECT_EQ(followed()->latest_local_epoch, 1);
  EXPECT_TRUE(wait_for([&] { return info().high_watermark == 2; })) << "the leader's, once flushed here";
  EXPECT_EQ(append_replicated(1, leader_batch(7, 1), 3).code(), errc::invalid_argument);
  auto more = append_replicated(1, leader_batch(3, 2), 4);
  ASSERT_TRUE(more.ok()) << more.err().message;
  EXPECT_EQ(*more, 4);
  EXPECT_EQ(followed()->latest_local_epoch, 2);
  EXPECT_TRUE(wait_for([&] { return info().high_watermark == 4; }));
}

TEST_F(ServiceClusterTest, AppendReplicatedOnAPartitionNotFollowedIsRefused) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{{}, {.name = "elsewhere", .replicas = {2, 3}, .leader = 2, .isr = {2, 3}}}));
  EXPECT_EQ(append_replicated(1, leader_batch(0, 1), 1).code(), errc::unavailable) << "this node leads t";
  std::optional<result<int64_t>> out;
  svc_->append_replicated("elsewhere", 0, 1, leader_batch(0, 1), 1, [&](result<int64_t> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->code(), errc::not_found);
  std::optional<status> cut;
  svc_->truncate_replica("nope", 0, 1, {}, [&](status s) { cut.emplace(std::move(s)); });
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->code(), errc::not_found);
  EXPECT_EQ(info().log_end_offset, 0);
}

TEST_F(ServiceClusterTest, TruncateReplicaCutsTheDivergentTailAndRebuildsProducerState) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  // Epoch 1: offsets 0 and 1; epoch 3: offsets 2 and 3. Producer 7 wrote seq 0
  // at offset 0 and seq 1 at offset 2.
  auto end = append_replicated(3, concat({leader_batch(0, 1, 1, idempotent(7, 0)), leader_batch(1, 1),
                                          leader_batch(2, 3, 1, idempotent(7, 1)), leader_batch(3, 3)}),
                               0);
  ASSERT_TRUE(end.ok()) << end.err().message;
  ASSERT_EQ(*end, 4);
  ASSERT_EQ(followed()->latest_local_epoch, 3);

  // Nothing to cut: the leader's epoch 3 ends at or past this log's end.
  ASSERT_TRUE(truncate(3, {3, 9, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 4);
  EXPECT_EQ(svc_->counters().truncations, 0u);

  // The leader says: your epoch 3 is unknown to me; my largest epoch <= 3 is
  // 1 and it ends at 3. Epoch 1 ends at 2 here, so the cut is at 2 (KIP-279).
  std::optional<status> done;
  svc_->truncate_replica("t", 0, 3, {1, 3, -1}, [&](status s) { done.emplace(std::move(s)); });
  auto during = followed();
  ASSERT_TRUE(during.has_value());
  EXPECT_FALSE(during->ready) << "not ready while the cut runs";
  std::optional<result<int64_t>> refused;
  svc_->append_replicated("t", 0, 3, leader_batch(4, 3), 0, [&](result<int64_t> r) { refused.emplace(std::move(r)); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), errc::unavailable) << "no appends during a truncation";
  ASSERT_TRUE(wait_for([&] { return done.has_value(); }));
  ASSERT_TRUE(done->ok()) << done->err().message;
  auto after = followed();
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->ready);
  EXPECT_EQ(after->log_end_offset, 2);
  EXPECT_EQ(after->latest_local_epoch, 1) << "epoch 3 started at 2 and is gone";
  EXPECT_EQ(info().log_end_offset, 2);
  EXPECT_EQ(svc_->counters().truncations, 1u);

  // The follower continues from the cut.
  auto more = append_replicated(3, leader_batch(2, 2), 0);
  ASSERT_TRUE(more.ok()) << more.err().message;
  EXPECT_EQ(*more, 3);
  EXPECT_EQ(followed()->latest_local_epoch, 2);
  ASSERT_TRUE(truncate(3, {1, 2, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 2);

  // Leading now: producer 7's seq 1 was cut, so it is new, not a duplicate.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4, .isr = {1}}));
  auto seq1 = produce(one("x", idempotent(7, 1)), /*acks_all=*/false);
  EXPECT_EQ(seq1.error, stream_error::none) << seq1.message;
  EXPECT_EQ(seq1.base_offset, 2);
  EXPECT_EQ(info().log_end_offset, 3) << "appended, not taken for the cut batch";
  auto retry0 = produce(one("x", idempotent(7, 0)), /*acks_all=*/false);
  EXPECT_EQ(retry0.error, stream_error::none);
  EXPECT_EQ(retry0.base_offset, 0) << "seq 0 survived the cut: still a duplicate";
  EXPECT_EQ(info().log_end_offset, 3);
}

TEST_F(ServiceClusterTest, TruncateReplicaWithoutACommonEpochCutsToTheLogStart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  ASSERT_TRUE(append_replicated(3, concat({leader_batch(0, 3), leader_batch(1, 3)}), 0).ok());
  ASSERT_TRUE(truncate(3, {-1, -1, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 0);
  EXPECT_EQ(followed()->latest_local_epoch, -1);
  // And refused for a partition followed at another epoch.
  std::optional<status> stale;
  svc_->truncate_replica("t", 0, 2, {}, [&](status s) { stale.emplace(std::move(s)); });
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->code(), errc::unavailable);
}

TEST_F(ServiceClusterSyncFollowerTest, TruncateReplicaRestartsTheLogAtTheLeadersStart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 2}));
  ASSERT_TRUE(append_replicated(2, concat({leader_batch(0, 1), leader_batch(1, 2)}), 2).ok());
  EXPECT_EQ(info().high_watermark, 2);

  ASSERT_TRUE(truncate(2, {.restart_at = 10}).ok());
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->log_end_offset, 10);
  EXPECT_EQ(f->latest_local_epoch, -1) << "every epoch went with the data";
  auto p = info();
  EXPECT_EQ(p.log_start_offset, 10);
  EXPECT_EQ(p.log_end_offset, 10);
  EXPECT_LE(p.high_watermark, 10);
  EXPECT_EQ(svc_->counters().truncations, 1u);

  EXPECT_EQ(append_replicated(2, leader_batch(2, 2), 12).code(), errc::invalid_argument);
  auto end = append_replicated(2, leader_batch(10, 2), 11);
  ASSERT_TRUE(end.ok()) << end.err().message;
  EXPECT_EQ(*end, 11);
  EXPECT_EQ(followed()->latest_local_epoch, 2);
  EXPECT_EQ(info().high_watermark, 11);
}

// As Kafka, a consumer's fetch between the high watermark and the log end gets
// no records, not OFFSET_OUT_OF_RANGE (which makes the consumer reset its
// position). A new leader's high watermark starts at what it last heard as a
// follower, which can be below what consumers already read from the old
// leader, so this matters right after a failover.
TEST_F(ServiceClusterTest, AConsumerAheadOfANewLeadersHighWatermarkGetsNoRecordsNotOutOfRange) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2}));
  // The old leader had a high watermark of 3; this follower last heard 1.
  ASSERT_TRUE(append_replicated(1, concat({leader_batch(0, 1), leader_batch(1, 1), leader_batch(2, 1)}), 1).ok());
  ASSERT_TRUE(wait_for([&] { return info().high_watermark == 1; }));
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2}));
  ASSERT_EQ(info().high_watermark, 1);
  auto f = svc_->fetch("t", 0, 3, 1 << 20, true);  // a consumer that read 0..2 from the old leader
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_TRUE(f.records.empty());
  EXPECT_EQ(svc_->fetch("t", 0, 4, 1 << 20, true).error, stream_error::offset_out_of_range) << "past the log end";
}

TEST_F(ServiceClusterTest, AnAssignmentArrivingDuringATruncationWaitsForIt) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  ASSERT_TRUE(append_replicated(3, concat({leader_batch(0, 1), leader_batch(1, 3), leader_batch(2, 3)}), 0).ok());
  std::optional<status> done;
  svc_->truncate_replica("t", 0, 3, {1, 5, -1}, [&](status s) { done.emplace(std::move(s)); });
  // Elected while the cut runs: it takes effect once the cut is done.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4, .isr = {1}}));
  auto early = produce_async(one("x"), /*acks_all=*/false);
  ASSERT_TRUE(early->has_value());
  EXPECT_EQ((*early)->error, stream_error::not_leader_or_follower) << "still following until the cut is done";
  ASSERT_TRUE(wait_for([&] { return done.has_value(); }));
  ASSERT_TRUE(done->ok()) << done->err().message;
  EXPECT_TRUE(svc_->followed_partitions().empty());
  EXPECT_EQ(info().leader, 1);
  EXPECT_EQ(info().leader_epoch, 4);
  EXPECT_EQ(info().log_end_offset, 1);
  auto e1 = svc_->end_offset_for_epoch("t", 0, 4, 1);
  EXPECT_EQ(e1.leader_epoch, 1);
  EXPECT_EQ(e1.end_offset, 1) << "epoch 4 starts at the cut";
  EXPECT_EQ(produce(one("y"), /*acks_all=*/false).base_offset, 1);
}

TEST_F(ServiceClusterTest, LeaderEpochsSurviveARestart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.isr = {1}}));
  ASSERT_EQ(produce(one("a"), false).base_offset, 0);
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2, .isr = {1}}));
  ASSERT_EQ(produce(one("b"), false).base_offset, 1);
  svc_->shutdown();
  svc_.reset();
  sched_.run_pending();

  ASSERT_NO_FATAL_FAILURE(open_service());
  EXPECT_TRUE(svc_->list_topics().empty()) << "in cluster mode topics come from the cluster's state";
  svc_->attach_cluster(link_, replication_config{});
  svc_->apply_cluster(snapshot(3, topic_spec{.leader = 2, .epoch = 3, .isr = {1, 2}}));
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->log_end_offset, 2);
  EXPECT_EQ(f->latest_local_epoch, 2);
  svc_->apply_cluster(snapshot(4, topic_spec{.epoch = 4, .isr = {1}}));
  auto e1 = svc_->end_offset_for_epoch("t", 0, 4, 1);
  EXPECT_EQ(e1.leader_epoch, 1);
  EXPECT_EQ(e1.end_offset, 1);
  auto e2 = svc_->end_offset_for_epoch("t", 0, 4, 2);
  EXPECT_EQ(e2.leader_epoch, 2);
  EXPECT_EQ(e2.end_offset, 2);
}

// The high watermark is not kept across a restart (Kafka checkpoints it): a
// node elected again after a restart takes its whole durable log as
// committed, records no follower has, and consumers read them; if it fails
// again before a follower copies them, the next leader never had them.
// Disabled until the high watermark survives restarts.
TEST_F(ServiceClusterTest, ARestartedLeaderDoesNotExposeRecordsNoFollowerHas) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);  // durable here only
  ASSERT_EQ(info().high_watermark, 0);
  svc_->shutdown();
  svc_.reset();
  sched_.run_pending();
  service_config c;
  c.data_dir = "/data";
  c.cluster_mode = true;
  auto s = service::open(c, fs_, *kv_, sched_);
  ASSERT_TRUE(s.ok()) << s.err().message;
  svc_ = std::move(*s);
  svc_->attach_cluster(link_, replication_config{});
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2}));  // elected again
  EXPECT_EQ(info().high_watermark, 0);
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 1 << 20, true).records.empty());
}

// ---- Topics through the cluster ----

TEST_F(ServiceClusterTest, CreateTopicGoesThroughTheClusterAndServesWhatItWrote) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{}));
  auto created = svc_->create_topic("new", 2, {{"min.insync.replicas", "1"}});
  ASSERT_TRUE(created.ok()) << created.err().message;
  ASSERT_EQ(link_.created.size(), 1u);
  EXPECT_EQ(link_.created[0].name, "new");
  EXPECT_EQ(link_.created[0].partitions, 2);
  EXPECT_EQ(link_.created[0].replication_factor, 3) << "the default, capped by 3 live brokers";
  EXPECT_EQ(link_.created[0].configs.at("min.insync.replicas"), "1");
  ASSERT_EQ(created->partitions.size(), 2u);
  EXPECT_EQ(created->partitions[0].leader, 1);
  EXPECT_EQ(created->partitions[1].leader, 2);
  EXPECT_EQ(created->replication_factor, 3);
  auto list = svc_->followed_partitions();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].topic, "new");
  EXPECT_EQ(list[0].partition, 1);
  EXPECT_EQ(produce(one("a"), /*acks_all=*/false, "new").base_offset, 0);

  EXPECT_EQ(svc_->create_topic("new", 1, {}).code(), errc::already_exists);
  EXPECT_EQ(svc_->create_topic("bad", 1, {{"no.such.config", "1"}}).code(), errc::invalid_argument);
  EXPECT_EQ(link_.created.size(), 1u) << "refused before asking the cluster";
  ASSERT_TRUE(svc_->create_topic("rf1", 1, {}, 1).ok());
  EXPECT_EQ(link_.created.back().replication_factor, 1);

  // A state read before the creation does not delete it.
  svc_->apply_cluster(snapshot(2, std::vector<topic_spec>{}));
  EXPECT_TRUE(svc_->describe_topic("new").ok());
  // A newer state without it does.
  svc_->apply_cluster(snapshot(500, std::vector<topic_spec>{}));
  EXPECT_EQ(svc_->describe_topic("new").code(), errc::not_found);
  EXPECT_TRUE(svc_->list_topics().empty());

  svc_->apply_cluster(snapshot(501, topic_spec{}));
  ASSERT_TRUE(svc_->delete_topic("t").ok());
  EXPECT_EQ(link_.deleted, (std::vector<std::string>{"t"}));
  EXPECT_EQ(svc_->describe_topic("t").code(), errc::not_found);
}

// ---- A single node ----

TEST(ServiceSingleNode, WithoutClusterModeNothingChanges) {
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  manual_scheduler sched;
  service_config c;
  c.data_dir = "/data";
  auto opened = service::open(c, fs, *kv, sched);
  ASSERT_TRUE(opened.ok());
  auto& svc = **opened;
  EXPECT_FALSE(svc.clustered());
  EXPECT_EQ(svc.create_topic("t", 1, {}, 3).code(), errc::invalid_argument) << "one replica on one node";
  ASSERT_TRUE(svc.create_topic("t", 1, {}).ok());
  auto produce = [&](const std::vector<uint8_t>& batch, bool acks_all) {
    std::optional<produce_result> out;
    svc.produce("t", 0, batch, acks_all, [&](produce_result r) { out = std::move(r); });
    for (int i = 0; i < 2000 && !out; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched.run_pending();
    }
    return out.value_or(produce_result{stream_error::storage_error, "never completed"});
  };
  EXPECT_EQ(produce(one("a"), true).base_offset, 0) << "acks=all: the node's own flush";
  EXPECT_EQ(produce(one("b"), false).base_offset, 1);
  auto f = svc.fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.high_watermark, 2) << "the flushed offset";
  EXPECT_EQ(base_offsets(f.records), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(stored_epoch(f.records), 0);
  EXPECT_EQ(svc.list_offset("t", 0, -1).offset, 2);

  auto e = svc.end_offset_for_epoch("t", 0, -1, 0);
  EXPECT_EQ(e.error, stream_error::none);
  EXPECT_EQ(e.leader_epoch, 0);
  EXPECT_EQ(e.end_offset, 2);
  auto none = svc.end_offset_for_epoch("t", 0, -1, -1);
  EXPECT_EQ(none.leader_epoch, -1);
  EXPECT_EQ(none.end_offset, -1);
  EXPECT_EQ(svc.end_offset_for_epoch("nope", 0, -1, 0).error, stream_error::unknown_topic_or_partition);

  auto p = svc.describe_topic("t")->partitions[0];
  EXPECT_EQ(p.leader, 0);
  EXPECT_EQ(p.leader_epoch, 0);
  EXPECT_EQ(p.replicas, (ids{0}));
  EXPECT_EQ(p.isr, (ids{0}));
  EXPECT_TRUE(svc.followed_partitions().empty());
  EXPECT_TRUE(svc.replication_lags().empty());
  EXPECT_EQ(svc.counters().leadership_gained, 0u);
  EXPECT_EQ(svc.fetch_for_replica("t", 0, 2, 0, 0, 1 << 20).error, stream_error::not_leader_or_follower)
      << "a single node has no followers";
  svc.apply_cluster(snapshot(5, std::vector<topic_spec>{}));  // ignored without attach_cluster
  EXPECT_TRUE(svc.describe_topic("t").ok());
  svc.shutdown();
  sched.run_pending();
}

}  // namespace strata::streams
