#include "tables/sequences.h"

#include <set>

#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;

sequence_def def_of(const std::string& name, int64_t increment = 1, bool cycle = false) {
  sequence_def d;
  d.name = name;
  d.increment = increment;
  d.cycle = cycle;
  auto done = complete_sequence_def(d, false, false, false);
  EXPECT_TRUE(done.ok());
  return *done;
}

std::unique_ptr<sequence_store> loaded(meta::kv& kv) {
  auto s = std::make_unique<sequence_store>(kv);
  EXPECT_TRUE(s->load().ok());
  return s;
}

TEST(sequence_def_test, postgres_defaults_and_checks) {
  auto up = def_of("up");
  EXPECT_EQ(up.min_value, 1);
  EXPECT_EQ(up.max_value, INT64_MAX);
  EXPECT_EQ(up.start, 1);
  sequence_def small{.name = "s", .value_bytes = 2, .increment = -1};
  auto down = complete_sequence_def(small, false, false, false);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->min_value, INT16_MIN);
  EXPECT_EQ(down->max_value, -1);
  EXPECT_EQ(down->start, -1);

  sequence_def bad = up;
  bad.increment = 0;
  EXPECT_EQ(complete_sequence_def(bad, true, true, true).err().message, "INCREMENT must not be zero");
  bad = up;
  bad.value_bytes = 4;
  EXPECT_EQ(complete_sequence_def(bad, true, true, true).err().message,
            "MAXVALUE (9223372036854775807) is out of range for sequence data type integer");
  bad = up;
  bad.start = 0;
  EXPECT_EQ(complete_sequence_def(bad, true, true, true).err().message, "START value (0) cannot be less than MINVALUE (1)");
  bad = up;
  bad.min_value = 5;
  bad.max_value = 5;
  bad.start = 5;
  EXPECT_EQ(complete_sequence_def(bad, true, true, true).err().message, "MINVALUE (5) must be less than MAXVALUE (5)");
}

TEST(sequence_store_test, values_after_a_reload_never_repeat) {
  auto kv = meta::make_memory_kv();
  std::set<int64_t> seen;
  int64_t highest = 0;
  for (int restart = 0; restart < 5; ++restart) {
    sequence_store s(*kv);
    ASSERT_TRUE(s.load().ok());
    if (restart == 0) {
      ASSERT_TRUE(kv->write_batch({s.create_op(def_of("a"))}).ok());
      s.created(def_of("a"));
    }
    for (int i = 0; i < 10 + restart * 50; ++i) {
      auto v = s.next("a");
      ASSERT_TRUE(v.ok());
      EXPECT_GT(*v, highest);
      EXPECT_TRUE(seen.insert(*v).second);
      highest = *v;
    }
  }
  EXPECT_EQ(*seen.begin(), 1);
}

TEST(sequence_store_test, reserves_ahead_in_the_record) {
  auto kv = meta::make_memory_kv();
  sequence_store s(*kv);
  s.created(def_of("a"));
  ASSERT_TRUE(kv->write_batch({s.create_op(def_of("a"))}).ok());
  EXPECT_EQ(*s.next("a"), 1);
  // The record already counts the values reserved with the first one.
  EXPECT_EQ(loaded(*kv)->describe("a")->state.last_value, sequence_reserve_min);
  EXPECT_EQ(*loaded(*kv)->next("a"), sequence_reserve_min + 1);
  EXPECT_EQ(s.describe("a")->state.last_value, 1);
}

TEST(sequence_store_test, limits_cycle_set_and_alter) {
  auto kv = meta::make_memory_kv();
  sequence_store s(*kv);
  sequence_def tiny = def_of("tiny");
  tiny.max_value = 2;
  s.created(tiny);
  EXPECT_EQ(*s.next("tiny"), 1);
  EXPECT_EQ(*s.next("tiny"), 2);
  auto over = s.next("tiny");
  EXPECT_EQ(over.err().code, errc::limit_exceeded);
  EXPECT_EQ(over.err().message, "nextval: reached maximum value of sequence \"tiny\" (2)");

  sequence_def round = def_of("round", -1, true);
  round.min_value = -2;
  s.created(round);
  EXPECT_EQ(*s.next("round"), -1);
  EXPECT_EQ(*s.next("round"), -2);
  EXPECT_EQ(*s.next("round"), -1);

  EXPECT_EQ(s.set("tiny", 3, true).err().message, "setval: value 3 is out of bounds for sequence \"tiny\" (1..2)");
  ASSERT_TRUE(s.set("tiny", 1, false).ok());
  EXPECT_EQ(*s.next("tiny"), 1);
  // setval was durable at once, and the next nextval reserved 2 as well, so
  // a restart counts 2 as used.
  EXPECT_EQ(loaded(*kv)->describe("tiny")->state.last_value, 2);
  EXPECT_EQ(loaded(*kv)->next("tiny").err().code, errc::limit_exceeded);

  auto grow = [](const sequence_def& d) -> result<sequence_def> {
    sequence_def out = d;
    out.max_value = 100;
    out.increment = 10;
    return out;
  };
  ASSERT_TRUE(s.alter("tiny", grow, 50).ok());
  EXPECT_EQ(*s.next("tiny"), 50);
  EXPECT_EQ(*s.next("tiny"), 60);
  EXPECT_EQ(s.alter("tiny", grow, 101).err().message, "RESTART value (101) cannot be greater than MAXVALUE (100)");
  EXPECT_EQ(s.next("gone").err().code, errc::not_found);
}

TEST(sequence_store_test, a_record_that_does_not_parse_is_corrupt) {
  auto kv = meta::make_memory_kv();
  ASSERT_TRUE(kv->put("tables/v1/sequence/x", "{\"version\":1}").ok());
  sequence_store s(*kv);
  EXPECT_EQ(s.load().err().code, errc::corrupt);
}

class sequences_service_test : public service_fixture {};

TEST_F(sequences_service_test, a_table_owns_its_sequences) {
  sequence_def owned = def_of("t_id_seq");
  owned.owned_table = "t";
  owned.owned_column = "id";
  ASSERT_TRUE(svc_->create_table(pk_schema("t"), false, {owned}).ok());
  EXPECT_EQ(*svc_->sequences().next("t_id_seq"), 1);
  EXPECT_EQ(svc_->drop_sequences({"t_id_seq"}, false).err().code, errc::invalid_argument);
  // Tables and sequences share names.
  EXPECT_EQ(svc_->create_sequence(def_of("t"), false).err().code, errc::already_exists);
  EXPECT_EQ(svc_->create_table(pk_schema("t_id_seq"), false).err().code, errc::already_exists);
  ASSERT_TRUE(svc_->drop_table("t", false).ok());
  EXPECT_FALSE(svc_->sequences().exists("t_id_seq"));
}

TEST_F(sequences_service_test, drop_checks_every_name_first) {
  ASSERT_TRUE(svc_->create_sequence(def_of("a"), false).ok());
  ASSERT_TRUE(svc_->create_sequence(def_of("a"), true).ok());
  EXPECT_EQ(svc_->drop_sequences({"a", "missing"}, false).err().code, errc::not_found);
  EXPECT_TRUE(svc_->sequences().exists("a"));
  ASSERT_TRUE(svc_->drop_sequences({"a", "missing"}, true).ok());
  EXPECT_FALSE(svc_->sequences().exists("a"));
}

TEST(sequences_recovery_test, sequences_survive_a_reopen) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  int64_t last = 0;
  {
    auto svc = open_service(dir.path(), *fs, *kv);
    sequence_def owned = def_of("t_id_seq");
    owned.owned_table = "t";
    owned.owned_column = "id";
    ASSERT_TRUE(svc->create_table(pk_schema("t"), false, {owned}).ok());
    for (int i = 0; i < 40; ++i) last = *svc->sequences().next("t_id_seq");
  }
  auto svc = open_service(dir.path(), *fs, *kv);
  auto next = svc->sequences().next("t_id_seq");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, last);
  ASSERT_TRUE(svc->drop_table("t", false).ok());
  EXPECT_FALSE(svc->sequences().exists("t_id_seq"));
}

}  // namespace
}  // namespace strata::tables
