#include <gtest/gtest.h>

#include "tables/row_codec.h"

namespace strata::tables {
namespace {

TEST(row_codec, every_scalar_kind_round_trips) {
  std::vector<scalar> values{scalar{},           scalar{true},          scalar{false},
                             scalar{int64_t(-5)}, scalar{INT64_MAX},    scalar{2.25},
                             scalar{(__int128)-123456789012345678LL * 1000}, scalar{std::string("h\0i", 3)}};
  std::string enc;
  for (const scalar& v : values) encode_scalar(v, enc);
  std::string_view in = enc;
  for (const scalar& v : values) {
    auto d = decode_scalar(in);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(*d == v);
  }
  EXPECT_TRUE(in.empty());
  std::string_view cut = std::string_view(enc).substr(0, enc.size() - 1);
  while (!cut.empty()) {
    auto d = decode_scalar(cut);
    if (!d.ok()) {
      EXPECT_EQ(d.code(), errc::corrupt);
      return;
    }
  }
  FAIL() << "a truncated encoding decoded";
}

TEST(row_codec, integer_encodings_sort_like_values) {
  std::vector<int64_t> xs{INT64_MIN, -1000, -1, 0, 1, 255, 256, 1 << 20, INT64_MAX};
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    std::string a, b;
    encode_scalar(scalar{xs[i]}, a);
    encode_scalar(scalar{xs[i + 1]}, b);
    EXPECT_LT(a, b) << xs[i] << " vs " << xs[i + 1];
  }
}

TEST(row_codec, rows_round_trip_and_keys_ignore_integer_width) {
  column_batch b;
  b.columns.emplace_back(column_type{type_id::int32});
  b.columns.emplace_back(column_type{type_id::text});
  b.columns.emplace_back(column_type{type_id::numeric, 30, 2});
  int32_t i = 42;
  __int128 n = (__int128)1 << 100;
  b.columns[0].append_fixed(&i);
  b.columns[1].append_null();
  b.columns[2].append_fixed(&n);
  b.row_count = 1;
  column_batch out = empty_batch({b.columns[0].type, b.columns[1].type, b.columns[2].type});
  ASSERT_TRUE(decode_row_into(encode_row(b, 0), out).ok());
  ASSERT_EQ(out.row_count, 1u);
  EXPECT_EQ(out.columns[0].get<int32_t>(0), 42);
  EXPECT_TRUE(out.columns[1].is_null(0));
  EXPECT_TRUE(out.columns[2].get<__int128>(0) == n);
  EXPECT_FALSE(decode_row_into(encode_row(b, 0) + "x", out).ok());

  column_batch wide;
  wide.columns.emplace_back(column_type{type_id::int64});
  int64_t j = 42;
  wide.columns[0].append_fixed(&j);
  wide.row_count = 1;
  std::vector<uint32_t> first{0};
  EXPECT_EQ(encode_values(b, 0, first), encode_values(wide, 0, first));
  EXPECT_EQ(bucket_of(b, 0, first, 16), bucket_of(wide, 0, first, 16));
}

// encode_row reads columns directly; its bytes must stay those of the scalar
// encoding, which the stored state and bucket hashes were written with.
TEST(row_codec, rows_encode_like_their_scalars_for_every_type) {
  const std::vector<column_type> types{
      {type_id::boolean}, {type_id::int16},       {type_id::int32},       {type_id::int64},   {type_id::float32},
      {type_id::float64}, {type_id::numeric, 12, 2}, {type_id::numeric, 30, 4}, {type_id::text}, {type_id::bytea},
      {type_id::json},    {type_id::date},        {type_id::timestamp},   {type_id::timestamptz}};
  const std::vector<scalar> values{scalar{true},     scalar{int64_t(-7)}, scalar{int64_t(1) << 20},
                                   scalar{INT64_MIN}, scalar{1.5},          scalar{-2.25},
                                   scalar{__int128(-12345)}, scalar{(__int128)1 << 90}, scalar{std::string("t\0x")},
                                   scalar{std::string("\x00\xff", 2)}, scalar{std::string("{}")}, scalar{int64_t(-3)},
                                   scalar{int64_t(1700000000000000)}, scalar{int64_t(-1)}};
  column_batch b = empty_batch(types);
  for (size_t c = 0; c < types.size(); ++c) {
    append_scalar(b.columns[c], values[c]);
    append_scalar(b.columns[c], scalar{});
  }
  b.row_count = 2;
  for (uint32_t r = 0; r < 2; ++r) {
    std::string expected;
    for (const column_vector& c : b.columns) encode_scalar(scalar_at(c, r), expected);
    EXPECT_EQ(encode_row(b, r), expected) << "row " << r;
  }
}

TEST(row_codec, gather_slice_and_append_copy_values) {
  column_batch b;
  b.columns.emplace_back(column_type{type_id::text});
  b.columns.emplace_back(column_type{type_id::int64});
  for (int64_t k = 0; k < 6; ++k) {
    if (k == 3) {
      b.columns[0].append_null();
    } else {
      b.columns[0].append_bytes("v" + std::to_string(k));
    }
    b.columns[1].append_fixed(&k);
  }
  b.row_count = 6;
  std::vector<uint32_t> pick{5, 3, 0};
  column_batch g = gather(b, pick);
  ASSERT_EQ(g.row_count, 3u);
  EXPECT_EQ(g.columns[0].get_bytes(0), "v5");
  EXPECT_TRUE(g.columns[0].is_null(1));
  EXPECT_EQ(g.columns[1].get<int64_t>(2), 0);
  column_batch s = slice(b, 2, 3);
  EXPECT_EQ(s.columns[0].get_bytes(0), "v2");
  EXPECT_EQ(s.columns[0].get_bytes(2), "v4");
  append_batch(s, g);
  EXPECT_EQ(s.row_count, 6u);
  EXPECT_EQ(s.columns[0].row_count, 6u);
  EXPECT_EQ(s.columns[0].get_bytes(3), "v5");
  EXPECT_EQ(s.columns[0].offsets.size(), 7u);
}

}  // namespace
}  // namespace strata::tables
