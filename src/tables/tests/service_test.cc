#include <atomic>
#include <thread>

#include "tables/catalog.h"
#include "tables/service_impl.h"
#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;

using service_test = service_fixture;

TEST_F(service_test, create_describe_list_drop) {
  auto info = svc_->create_table(log_schema("events"), false);
  ASSERT_TRUE(info.ok()) << info.err().message;
  EXPECT_GT(info->table_id, 0u);
  EXPECT_EQ(info->schema.columns.size(), 3u);

  auto again = svc_->create_table(log_schema("events"), false);
  EXPECT_EQ(again.code(), errc::already_exists);
  auto quiet = svc_->create_table(log_schema("events"), true);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->table_id, info->table_id);

  ASSERT_TRUE(svc_->create_table(pk_schema("accounts"), false).ok());
  auto list = svc_->list_tables();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].schema.name, "accounts");
  EXPECT_EQ(list[1].schema.name, "events");

  commit_rows(*svc_, "events", range_rows(0, 10));
  auto d = svc_->describe("events");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->row_count, 10u);
  EXPECT_EQ(d->batch_count, 1u);
  EXPECT_EQ(d->partition_count, 1u);
  EXPECT_GT(d->stored_bytes, 0u);

  must(svc_->drop_table("events", false));
  EXPECT_EQ(svc_->describe("events").code(), errc::not_found);
  EXPECT_EQ(svc_->drop_table("events", false).code(), errc::not_found);
  must(svc_->drop_table("events", true));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/tables/" + std::to_string(info->table_id)));

  // A new table of the same name starts empty, with a new id.
  auto fresh = svc_->create_table(log_schema("events"), false);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->table_id, info->table_id);
  EXPECT_TRUE(scan_all(*svc_, "events").empty());
}

// TRUNCATE swaps each table for an empty one of the same schema in one
// catalog write; the old storage goes, also after a reopen, and a transaction
// that wrote to the old table cannot commit into nothing.
TEST_F(service_test, truncate_empties_tables_atomically_and_for_good) {
  auto events = svc_->create_table(log_schema("events"), false);
  auto accounts = svc_->create_table(pk_schema("accounts"), false);
  ASSERT_TRUE(events.ok() && accounts.ok());
  commit_rows(*svc_, "events", range_rows(0, 10));
  commit_rows(*svc_, "accounts", range_rows(0, 10));
  auto pending = svc_->begin();
  ASSERT_TRUE(pending->insert("events", range_rows(100, 101), on_conflict::error).ok());

  EXPECT_EQ(svc_->truncate_tables({"events", "nope"}).code(), errc::not_found);
  EXPECT_EQ(scan_all(*svc_, "events").size(), 10u);  // a failed TRUNCATE changes nothing
  must(svc_->truncate_tables({"events", "accounts", "events"}));
  EXPECT_TRUE(scan_all(*svc_, "events").empty());
  EXPECT_TRUE(scan_all(*svc_, "accounts").empty());
  EXPECT_EQ(svc_->describe("accounts")->schema.primary_key, accounts->schema.primary_key);
  EXPECT_NE(svc_->describe("events")->table_id, events->table_id);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/tables/" + std::to_string(events->table_id)));
  EXPECT_EQ(pending->commit().code(), errc::not_found);

  commit_rows(*svc_, "accounts", range_rows(5, 8));  // keys 5..7 are new again
  svc_.reset();
  svc_ = open_service(dir_.path(), *fs_, *kv_);
  ASSERT_NE(svc_, nullptr);
  EXPECT_TRUE(scan_all(*svc_, "events").empty());
  EXPECT_EQ(scan_all(*svc_, "accounts").size(), 3u);
}

// ALTER TABLE ADD PRIMARY KEY's rewrite: a log table becomes a primary-key
// table with the same rows; duplicates leave it as it was; and what a crash
// before the swap leaves is dropped at the next open.
TEST_F(service_test, rewrite_turns_a_log_table_into_a_primary_key_table) {
  auto before = svc_->create_table(log_schema("t", 2), false);
  ASSERT_TRUE(before.ok());
  commit_rows(*svc_, "t", range_rows(0, 2500));
  table_schema keyed = pk_schema("t", 2);
  auto after = rewrite_table(*svc_, "t", keyed);
  ASSERT_TRUE(after.ok()) << after.err().message;
  EXPECT_EQ(after->schema.kind, table_kind::primary_key);
  EXPECT_EQ(after->schema.name, "t");
  EXPECT_NE(after->table_id, before->table_id);
  auto rows = scan_all(*svc_, "t");
  ASSERT_EQ(rows.size(), 2500u);
  EXPECT_EQ(sum_ids(rows), 2499 * 2500 / 2);
  EXPECT_EQ(svc_->list_tables().size(), 1u);  // no staged table left
  auto dup = svc_->begin();
  EXPECT_EQ(dup->insert("t", range_rows(7, 8), on_conflict::error).code(), errc::already_exists);

  ASSERT_TRUE(svc_->create_table(log_schema("d"), false).ok());
  commit_rows(*svc_, "d", range_rows(0, 5));
  commit_rows(*svc_, "d", range_rows(3, 4));
  auto refused = rewrite_table(*svc_, "d", pk_schema("d"));
  EXPECT_EQ(refused.code(), errc::already_exists);
  EXPECT_NE(refused.err().message.find("could not create unique index \"d_pkey\""), std::string::npos)
      << refused.err().message;
  EXPECT_EQ(svc_->describe("d")->schema.kind, table_kind::log);
  EXPECT_EQ(scan_all(*svc_, "d").size(), 6u);
  commit_rows(*svc_, "d", range_rows(9, 10));  // writable again

  table_schema staged = pk_schema(std::string(rewrite_name_prefix) + "99");
  EXPECT_EQ(svc_->create_table(staged, false).code(), errc::invalid_argument);
  must(kv_->write_batch({put_table(table_record{999, 0, staged})}));  // as a crash mid-rewrite leaves it
  svc_.reset();
  svc_ = open_service(dir_.path(), *fs_, *kv_);
  ASSERT_NE(svc_, nullptr);
  EXPECT_EQ(svc_->list_tables().size(), 2u);
  EXPECT_EQ(scan_all(*svc_, "t").size(), 2500u);
  EXPECT_EQ(svc_->describe("t")->schema.kind, table_kind::primary_key);
}

sequence_def owned_sequence(const std::string& name, const std::string& table, const std::string& column) {
  return sequence_def{.name = name, .owned_table = table, .owned_column = column};
}

// ALTER TABLE without a rewrite: RENAME TO and RENAME COLUMN change only the
// catalog record (same id, same rows); the owned sequence follows its column
// and keeps counting; a change that would need the rows checked is refused.
TEST_F(service_test, alter_in_place_renames_and_sequences_follow) {
  ASSERT_TRUE(svc_->create_table(pk_schema("t"), false, {owned_sequence("t_id_seq", "t", "id")}).ok());
  commit_rows(*svc_, "t", range_rows(0, 10));
  ASSERT_EQ(*svc_->sequences().next("t_id_seq"), 1);
  const uint64_t id = svc_->describe("t")->table_id;
  table_change change{.target = pk_schema("u")};
  change.target.columns[0].name = "key";
  change.target.columns[1].not_null = false;
  change.continues = {0u, 1u, 2u};
  auto renamed = svc_->alter_table("t", change);
  ASSERT_TRUE(renamed.ok()) << renamed.err().message;
  EXPECT_EQ(renamed->table_id, id);
  EXPECT_EQ(svc_->describe("t").code(), errc::not_found);
  EXPECT_EQ(scan_all(*svc_, "u").size(), 10u);
  auto seq = svc_->sequences().describe("t_id_seq");
  EXPECT_EQ(seq->def.owned_table, "u");
  EXPECT_EQ(seq->def.owned_column, "key");

  table_change stale{.target = renamed->schema, .continues = {0u, 1u, 2u}, .base = pk_schema("u")};
  EXPECT_EQ(svc_->alter_table("u", stale).code(), errc::unavailable);  // computed before the rename above
  table_change tighter{.target = renamed->schema, .continues = {0u, 1u, 2u}};
  tighter.target.columns[2].not_null = true;
  EXPECT_EQ(svc_->alter_table("u", tighter).code(), errc::internal);  // SET NOT NULL needs the rows checked
  ASSERT_TRUE(svc_->create_table(log_schema("taken"), false).ok());
  table_change clash{.target = renamed->schema, .continues = {0u, 1u, 2u}};
  clash.target.name = "taken";
  EXPECT_EQ(svc_->alter_table("u", clash).code(), errc::already_exists);

  svc_.reset();
  svc_ = open_service(dir_.path(), *fs_, *kv_);
  ASSERT_NE(svc_, nullptr);
  EXPECT_EQ(svc_->describe("u")->schema.columns[0].name, "key");
  EXPECT_EQ(scan_all(*svc_, "u").size(), 10u);
  EXPECT_EQ(*svc_->sequences().next("t_id_seq"), 2);  // no value handed out twice
  EXPECT_EQ(svc_->sequences().describe("t_id_seq")->def.owned_column, "key");
}

// ALTER TABLE with a rewrite: the fill writes rows of the new shape into the
// staged table; a dropped column's sequence is dropped and an adopted one
// owned, in the swap's one catalog write; a failing fill changes nothing.
TEST_F(service_test, alter_with_a_rewrite_reshapes_rows_and_owned_sequences) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false, {owned_sequence("t_name_seq", "t", "name")}).ok());
  must(svc_->create_sequence(sequence_def{.name = "free"}, false));
  commit_rows(*svc_, "t", range_rows(0, 100));
  auto failing = [](const std::string&) -> status { return make_error(errc::invalid_argument, "no"); };
  table_schema two = log_schema("t");
  two.columns.erase(two.columns.begin() + 1);  // DROP COLUMN name
  two.columns.push_back(col("n", type_id::int64));
  table_change change{.target = two, .continues = {0u, 2u, std::nullopt}, .rewrite = true, .fill = failing,
                      .adopt = {{"free", "n"}}};
  EXPECT_EQ(svc_->alter_table("t", change).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->describe("t")->schema.columns.size(), 3u);
  EXPECT_TRUE(svc_->sequences().exists("t_name_seq"));
  EXPECT_EQ(svc_->list_tables().size(), 1u);

  change.fill = [&](const std::string& staged) -> status {
    column_batch rows;
    rows.row_count = 100;
    rows.columns = {column_vector(two.columns[0].type), column_vector(two.columns[1].type),
                    column_vector(two.columns[2].type)};
    for (int64_t i = 0; i < 100; ++i) {
      append_scalar(rows.columns[0], scalar(i));
      append_scalar(rows.columns[1], scalar(1.0));
      append_scalar(rows.columns[2], scalar(i * 2));
    }
    auto txn = svc_->begin();
    STRATA_TRY(txn->insert(staged, rows, on_conflict::error));
    return txn->commit();
  };
  auto done = svc_->alter_table("t", change);
  ASSERT_TRUE(done.ok()) << done.err().message;
  EXPECT_EQ(done->schema.columns[2].name, "n");
  auto rows = scan_all(*svc_, "t");
  ASSERT_EQ(rows.size(), 100u);
  EXPECT_EQ(sum_ids(rows, 2), 99 * 100);
  EXPECT_FALSE(svc_->sequences().exists("t_name_seq"));
  EXPECT_EQ(svc_->sequences().describe("free")->def.owned_column, "n");
  EXPECT_EQ(svc_->drop_sequences({"free"}, false).code(), errc::invalid_argument);  // owned now
}

// A scan planned against a table that was replaced since fails instead of
// reading rows of another shape.
TEST_F(service_test, scan_of_a_replaced_table_fails) {
  auto before = svc_->create_table(log_schema("t"), false);
  ASSERT_TRUE(before.ok());
  scan_spec spec;
  spec.table_id = before->table_id;
  EXPECT_TRUE(svc_->scan("t", spec, nullptr).ok());
  ASSERT_TRUE(rewrite_table(*svc_, "t", pk_schema("t")).ok());
  EXPECT_EQ(svc_->scan("t", spec, nullptr).code(), errc::unavailable);
}

// A savepoint is a copy of the buffered writes: restoring it undoes what
// followed, also into a fresh transaction after the first was rolled back.
TEST_F(service_test, savepoints_restore_the_buffered_writes) {
  ASSERT_TRUE(svc_->create_table(pk_schema("t"), false).ok());
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", range_rows(0, 3), on_conflict::error).ok());
  auto point = txn->save();
  const uint64_t bytes_at_save = txn->buffered_bytes();
  ASSERT_TRUE(txn->insert("t", range_rows(3, 6), on_conflict::error).ok());
  ASSERT_TRUE(txn->remove("t", keys_of({0})).ok());
  txn->restore(*point);
  EXPECT_EQ(txn->buffered_bytes(), bytes_at_save);
  EXPECT_EQ(scan_all(*svc_, "t", {}, txn.get()).size(), 3u);
  txn->rollback();
  auto again = svc_->begin();
  again->restore(*point);
  ASSERT_TRUE(again->commit().ok());
  EXPECT_EQ(sum_ids(scan_all(*svc_, "t")), 0 + 1 + 2);
}

TEST_F(service_test, invalid_schema_is_refused) {
  table_schema s = log_schema("bad");
  s.buckets = 0;
  EXPECT_EQ(svc_->create_table(s, false).code(), errc::invalid_argument);
}

TEST_F(service_test, inserts_are_visible_and_split_into_batches) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  commit_rows(*svc_, "t", range_rows(0, 2500));  // batch_rows_max 1000: three batches
  commit_rows(*svc_, "t", range_rows(2500, 2600));
  auto rows = scan_all(*svc_, "t");
  ASSERT_EQ(rows.size(), 2600u);
  EXPECT_EQ(sum_ids(rows), 2599 * 2600 / 2);
  EXPECT_EQ(std::get<std::string>(rows[7][1]), "name7");
  EXPECT_EQ(svc_->describe("t")->batch_count, 4u);
  EXPECT_EQ(svc_->describe("t")->row_count, 2600u);
}

TEST_F(service_test, projection_returns_requested_columns_in_order) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  commit_rows(*svc_, "t", rows_of({{1, "a", 1.5}, {2, "b", 2.5}}));
  scan_spec spec;
  spec.columns = {2, 0};
  auto rows = scan_all(*svc_, "t", spec);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 2u);
  EXPECT_EQ(std::get<double>(rows[0][0]), 1.5);
  EXPECT_EQ(std::get<int64_t>(rows[0][1]), 1);
  spec.columns = {3};
  EXPECT_EQ(svc_->scan("t", spec, nullptr).code(), errc::invalid_argument);
}

TEST_F(service_test, statistics_skip_batches_with_the_same_answer) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  for (int i = 0; i < 10; ++i) commit_rows(*svc_, "t", range_rows(i * 100, i * 100 + 100));
  scan_spec spec;
  spec.predicates.push_back(column_predicate{0, column_predicate::op::ge, {scalar{int64_t(850)}}});
  table_scan* kept = nullptr;
  auto pruned = scan_all(*svc_, "t", spec, nullptr, &kept);
  std::unique_ptr<table_scan> scan(kept);
  EXPECT_EQ(scan->batches_skipped(), 8u);
  spec.use_statistics = false;
  auto full = scan_all(*svc_, "t", spec, nullptr, &kept);
  std::unique_ptr<table_scan> scan2(kept);
  EXPECT_EQ(scan2->batches_skipped(), 0u);
  auto filter = [](const std::vector<std::vector<scalar>>& rows) {
    int64_t n = 0;
    for (const auto& r : rows) n += std::get<int64_t>(r[0]) >= 850 ? 1 : 0;
    return n;
  };
  EXPECT_EQ(filter(pruned), 150);
  EXPECT_EQ(filter(full), 150);
  EXPECT_EQ(full.size(), 1000u);
}

TEST_F(service_test, column_stats_bound_the_rows_a_scan_reads) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  commit_rows(*svc_, "t", range_rows(0, 100, 1.0));
  commit_rows(*svc_, "t", range_rows(500, 600, 2.5));
  column_batch with_null = range_rows(700, 702, -4.0);
  with_null.columns[1] = column_vector(column_type{type_id::text});
  with_null.columns[1].append_null();
  with_null.columns[1].append_bytes("aaa");
  commit_rows(*svc_, "t", with_null);

  scan_spec spec;
  spec.columns = {2, 0, 1};
  auto scan = svc_->scan("t", spec, nullptr);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ((*scan)->estimated_rows(), 202u);
  auto stats = (*scan)->column_stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_TRUE(stats[0].has_min_max);
  EXPECT_EQ(std::get<double>(stats[0].min), -4.0);
  EXPECT_EQ(std::get<double>(stats[0].max), 2.5);
  EXPECT_EQ(std::get<int64_t>(stats[1].min), 0);
  EXPECT_EQ(std::get<int64_t>(stats[1].max), 701);
  EXPECT_EQ(stats[1].null_count, 0u);
  EXPECT_EQ(stats[1].value_count, 202u);
  EXPECT_TRUE(stats[2].has_min_max);
  EXPECT_EQ(std::get<std::string>(stats[2].min), "aaa");
  EXPECT_EQ(std::get<std::string>(stats[2].max), "name99");
  EXPECT_EQ(stats[2].null_count, 1u);
  EXPECT_EQ(stats[2].value_count, 201u);

  // Pruned batches do not count; a transaction's own rows do.
  spec.predicates.push_back(column_predicate{0, column_predicate::op::ge, {scalar{int64_t(550)}}});
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", range_rows(5000, 5003, 9.0), on_conflict::error).ok());
  auto pruned = svc_->scan("t", spec, txn.get());
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ((*pruned)->estimated_rows(), 105u);
  stats = (*pruned)->column_stats();
  EXPECT_EQ(std::get<int64_t>(stats[1].min), 500);
  EXPECT_EQ(std::get<int64_t>(stats[1].max), 5002);
  EXPECT_EQ(std::get<double>(stats[0].max), 9.0);
  EXPECT_EQ(stats[2].null_count, 1u);
  txn->rollback();

  // A string longer than the kept statistics makes min/max unknown, not wrong.
  commit_rows(*svc_, "t", rows_of({row{9, std::string(200, 'z'), 0.0}}));
  auto after = svc_->scan("t", scan_spec{}, nullptr);
  ASSERT_TRUE(after.ok());
  stats = (*after)->column_stats();
  EXPECT_FALSE(stats[1].has_min_max);
  EXPECT_EQ(stats[1].value_count, 202u);  // 203 rows, one NULL name
  EXPECT_TRUE(stats[0].has_min_max);
}

TEST_F(service_test, column_stats_of_an_empty_table_and_a_changelog) {
  ASSERT_TRUE(svc_->create_table(pk_schema("p"), false).ok());
  auto empty = svc_->scan("p", scan_spec{}, nullptr);
  ASSERT_TRUE(empty.ok());
  auto stats = (*empty)->column_stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_FALSE(stats[0].has_min_max);
  EXPECT_EQ(stats[0].value_count, 0u);
  commit_rows(*svc_, "p", range_rows(10, 20));
  commit_rows(*svc_, "p", range_rows(15, 16, 7.0), on_conflict::replace);
  scan_spec spec;
  spec.changelog = true;
  spec.columns = {1, 3};  // log_offset, id
  auto log = svc_->scan("p", spec, nullptr);
  ASSERT_TRUE(log.ok());
  stats = (*log)->column_stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_FALSE(stats[0].has_min_max);
  EXPECT_EQ(stats[0].null_count, 0u);
  EXPECT_TRUE(stats[1].has_min_max);
  EXPECT_EQ(std::get<int64_t>(stats[1].min), 10);
  EXPECT_EQ(std::get<int64_t>(stats[1].max), 19);
}

TEST_F(service_test, rollback_discards_and_overlay_shows_own_rows) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  commit_rows(*svc_, "t", range_rows(0, 5));
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", range_rows(5, 8), on_conflict::error).ok());
  EXPECT_GT(txn->buffered_bytes(), 0u);
  EXPECT_EQ(scan_all(*svc_, "t", {}, txn.get()).size(), 8u);
  EXPECT_EQ(scan_all(*svc_, "t").size(), 5u);
  txn->rollback();
  EXPECT_EQ(txn->buffered_bytes(), 0u);
  EXPECT_EQ(scan_all(*svc_, "t", {}, txn.get()).size(), 5u);
  ASSERT_TRUE(txn->commit().ok());
  EXPECT_EQ(scan_all(*svc_, "t").size(), 5u);
}

TEST_F(service_test, log_tables_refuse_on_conflict_and_bad_rows) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  auto txn = svc_->begin();
  EXPECT_EQ(txn->insert("t", range_rows(0, 2), on_conflict::replace).code(), errc::invalid_argument);
  EXPECT_EQ(txn->remove("t", keys_of({1})).code(), errc::invalid_argument);
  column_batch wrong = range_rows(0, 2);
  wrong.columns.pop_back();
  EXPECT_EQ(txn->insert("t", wrong, on_conflict::error).code(), errc::invalid_argument);
  EXPECT_EQ(txn->insert("missing", range_rows(0, 2), on_conflict::error).code(), errc::not_found);
}

TEST_F(service_test, not_null_is_enforced) {
  table_schema s = log_schema("t");
  s.columns[1].not_null = true;
  ASSERT_TRUE(svc_->create_table(s, false).ok());
  column_batch rows = range_rows(0, 1);
  rows.columns[1] = column_vector(column_type{type_id::text});
  rows.columns[1].append_null();
  auto txn = svc_->begin();
  auto w = txn->insert("t", rows, on_conflict::error);
  ASSERT_EQ(w.code(), errc::invalid_argument);
  EXPECT_NE(w.err().message.find("not-null"), std::string::npos);
}

TEST_F(service_test, transaction_limit_says_to_commit_in_pieces) {
  service_config cfg;
  cfg.data_dir = dir_.path() + "/small";
  cfg.transaction_bytes_max = 4096;
  auto kv = meta::make_memory_kv();
  auto svc = service::open(cfg, *fs_, *kv);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE((*svc)->create_table(log_schema("t"), false).ok());
  auto txn = (*svc)->begin();
  auto w = txn->insert("t", range_rows(0, 1000), on_conflict::error);
  ASSERT_EQ(w.code(), errc::limit_exceeded);
  EXPECT_NE(w.err().message.find("smaller pieces"), std::string::npos);
}

TEST_F(service_test, buckets_spread_rows_and_scan_in_parallel_units) {
  table_schema s = log_schema("t", 4);
  s.bucket_key = {0};
  ASSERT_TRUE(svc_->create_table(s, false).ok());
  commit_rows(*svc_, "t", range_rows(0, 4000));
  auto scan = svc_->scan("t", {}, nullptr);
  ASSERT_TRUE(scan.ok());
  EXPECT_GE((*scan)->unit_count(), 4u);
  EXPECT_EQ((*scan)->estimated_rows(), 4000u);
  auto rows = scan_all(*svc_, "t");
  EXPECT_EQ(rows.size(), 4000u);
  EXPECT_EQ(sum_ids(rows), 3999 * 4000 / 2);
}

TEST_F(service_test, scan_survives_drop) {
  ASSERT_TRUE(svc_->create_table(log_schema("t"), false).ok());
  commit_rows(*svc_, "t", range_rows(0, 3000));
  auto scan = svc_->scan("t", {}, nullptr);
  ASSERT_TRUE(scan.ok());
  must(svc_->drop_table("t", false));
  // Reading after the drop either serves cached chunks or fails cleanly.
  for (size_t u = 0; u < (*scan)->unit_count(); ++u) {
    auto c = (*scan)->open_unit(u);
    ASSERT_TRUE(c.ok());
    scan_chunk chunk;
    while (true) {
      auto more = (*c)->next(chunk);
      if (!more.ok()) {
        EXPECT_EQ(more.code(), errc::not_found);
        break;
      }
      if (!*more) break;
    }
  }
}

TEST_F(service_test, concurrent_writers_and_scanners) {
  table_schema s = log_schema("t", 2);
  ASSERT_TRUE(svc_->create_table(s, false).ok());
  ASSERT_TRUE(svc_->create_table(pk_schema("k", 2), false).ok());
  constexpr int writers = 4, commits = 25, rows_per_commit = 40;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int c = 0; c < commits; ++c) {
        int64_t base = (int64_t(w) * commits + c) * rows_per_commit;
        auto txn = svc_->begin();
        bool ok = txn->insert("t", range_rows(base, base + rows_per_commit), on_conflict::error).ok() &&
                  txn->insert("k", range_rows(base % 500, base % 500 + rows_per_commit), on_conflict::replace).ok() &&
                  txn->commit().ok();
        if (!ok) ++failures;
      }
    });
  }
  std::thread scanner([&] {
    size_t last = 0;
    while (!done) {
      size_t n = scan_all(*svc_, "t").size();
      if (n < last || n % rows_per_commit != 0) ++failures;
      last = n;
      auto k = scan_all(*svc_, "k");
      std::set<int64_t> ids;
      for (auto& r : k) ids.insert(std::get<int64_t>(r[0]));
      if (ids.size() != k.size()) ++failures;  // a key seen twice
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  scanner.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int64_t total = int64_t(writers) * commits * rows_per_commit;
  auto rows = scan_all(*svc_, "t");
  EXPECT_EQ(int64_t(rows.size()), total);
  EXPECT_EQ(sum_ids(rows), total * (total - 1) / 2);
  EXPECT_EQ(svc_->describe("t")->row_count, uint64_t(total));
  auto keys = scan_all(*svc_, "k");
  EXPECT_EQ(keys.size(), svc_->describe("k")->row_count);
  EXPECT_EQ(keys.size(), 520u);  // ids 0..519: bases are multiples of 40 mod 500
}

}  // namespace
}  // namespace strata::tables

namespace strata::tables {
namespace {

using namespace testing;

TEST(service_more, log_table_changelog_is_all_inserts_with_offsets) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_TRUE(svc->create_table(log_schema("t"), false).ok());
  commit_rows(*svc, "t", range_rows(0, 3));
  commit_rows(*svc, "t", range_rows(3, 5));
  scan_spec spec;
  spec.changelog = true;
  auto rows = scan_all(*svc, "t", spec);
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 6u);
    EXPECT_EQ(std::get<std::string>(rows[i][0]), "+I");
    EXPECT_EQ(std::get<int64_t>(rows[i][1]), int64_t(i));
    EXPECT_GT(std::get<int64_t>(rows[i][2]), 0);  // commit_ts
    EXPECT_EQ(std::get<int64_t>(rows[i][3]), int64_t(i));
  }
  EXPECT_EQ(changelog_columns(log_schema("t")).size(), 6u);
}

TEST(service_more, hot_scans_come_from_the_decoded_cache) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_TRUE(svc->create_table(log_schema("t"), false).ok());
  commit_rows(*svc, "t", range_rows(0, 3000));
  auto first = svc->scan("t", {}, nullptr);
  auto second = svc->scan("t", {}, nullptr);
  ASSERT_TRUE(first.ok() && second.ok());
  auto chunks = [](table_scan& s) {
    std::vector<std::shared_ptr<const column_vector>> out;
    for (size_t u = 0; u < s.unit_count(); ++u) {
      auto c = s.open_unit(u);
      scan_chunk chunk;
      while (*(*c)->next(chunk)) out.insert(out.end(), chunk.columns.begin(), chunk.columns.end());
    }
    return out;
  };
  auto a = chunks(**first);
  auto b = chunks(**second);
  ASSERT_EQ(a.size(), 9u);  // 3 batches x 3 columns
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].get(), b[i].get()) << "chunk " << i << " was decoded twice";
}

TEST(service_more, drop_and_recreate_while_writers_run) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_TRUE(svc->create_table(pk_schema("t", 2), false).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        auto txn = svc->begin();
        if (txn->insert("t", range_rows(w * 1000 + i % 100, w * 1000 + i % 100 + 5), on_conflict::replace).ok()) {
          (void)txn->commit();  // may fail: the table was dropped
        }
        // Scans race with the drop: they may fail with not_found, never crash.
        auto scan = svc->scan("t", {}, nullptr);
        if (!scan.ok()) {
          if (scan.code() != errc::not_found) ++bad;
          continue;
        }
        for (size_t u = 0; u < (*scan)->unit_count(); ++u) {
          auto c = (*scan)->open_unit(u);
          scan_chunk chunk;
          while (true) {
            auto more = (*c)->next(chunk);
            if (!more.ok() && more.code() != errc::not_found) ++bad;
            if (!more.ok() || !*more) break;
          }
        }
      }
    });
  }
  for (int round = 0; round < 10; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    must(svc->drop_table("t", false));
    ASSERT_TRUE(svc->create_table(pk_schema("t", 2), false).ok());
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(bad.load(), 0);
  // The last incarnation is consistent: counts match, keys are unique.
  auto rows = scan_all(*svc, "t");
  std::set<int64_t> ids;
  for (auto& r : rows) ids.insert(std::get<int64_t>(r[0]));
  EXPECT_EQ(ids.size(), rows.size());
  EXPECT_EQ(svc->describe("t")->row_count, rows.size());
  svc.reset();
  auto again = open_service(dir.path(), *fs, *kv);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(scan_all(*again, "t").size(), rows.size());
}

}  // namespace
}  // namespace strata::tables
