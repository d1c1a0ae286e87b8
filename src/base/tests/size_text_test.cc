#include "base/size_text.h"

#include <gtest/gtest.h>

#include <string>

namespace strata {
namespace {

uint64_t parsed(std::string_view text) {
  auto r = parse_size(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.err().message);
  return r.ok() ? *r : 0;
}

std::string failure(std::string_view text) {
  auto r = parse_size(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? *r : 0);
  if (r.ok()) return "";
  EXPECT_EQ(r.code(), errc::invalid_argument);
  return r.err().message;
}

TEST(ParseSize, PlainDigitsAreBytes) {
  EXPECT_EQ(parsed("0"), 0u);
  EXPECT_EQ(parsed("4096"), 4096u);
  EXPECT_EQ(parsed("4096B"), 4096u);
  EXPECT_EQ(parsed("4096 b"), 4096u);
  EXPECT_EQ(parsed("007"), 7u);
}

TEST(ParseSize, UnitsArePowersOf1024InAnySpelling) {
  EXPECT_EQ(parsed("1K"), 1024u);
  EXPECT_EQ(parsed("512M"), 512ull << 20);
  EXPECT_EQ(parsed("10G"), 10ull << 30);
  EXPECT_EQ(parsed("10g"), 10ull << 30);
  EXPECT_EQ(parsed("10GB"), 10ull << 30);
  EXPECT_EQ(parsed("10GiB"), 10ull << 30);
  EXPECT_EQ(parsed("10gib"), 10ull << 30);
  EXPECT_EQ(parsed("10 GiB"), 10ull << 30);
  EXPECT_EQ(parsed("3T"), 3ull << 40);
  EXPECT_EQ(parsed("3tb"), 3ull << 40);
  EXPECT_EQ(parsed("2kib"), 2048u);
}

TEST(ParseSize, GarbageIsRefusedWithAnExample) {
  EXPECT_EQ(failure("10X"), "10X is not a size; use e.g. 10G or 512M (K, M, G, T mean KiB, MiB, GiB, TiB)");
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", " ", "G", "-1", "+1", "1.5G", "1,024", "10 ", " 10", "10  G", "10GG", "10Gi", "10iB", "10GiBs", "0x10",
           "10P", "1e9", "10\tG", std::string_view("1\0G", 3)}) {
    EXPECT_NE(failure(bad).find("is not a size; use e.g. 10G or 512M"), std::string::npos) << bad;
  }
}

TEST(ParseSize, OverflowIsRefusedNotWrapped) {
  EXPECT_EQ(parsed("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(failure("18446744073709551616"),
            "18446744073709551616 is too large; a size must be below 16 EiB (2^64 bytes)");
  EXPECT_NE(failure("99999999999999999999999G").find("is too large"), std::string::npos);
  EXPECT_EQ(parsed("16777215T"), 16777215ull << 40);
  EXPECT_NE(failure("16777216T").find("is too large"), std::string::npos);  // exactly 2^64
  EXPECT_NE(failure("17179869184G").find("is too large"), std::string::npos);
}

TEST(ParseSize, LongTextIsRefusedUnread) {
  std::string long_text(size_text_bytes_max + 1, '1');
  EXPECT_EQ(failure(long_text), "a size is at most 64 characters, e.g. 10G or 512M");
  EXPECT_EQ(parsed(std::string(size_text_bytes_max - 1, '0') + "1"), 1u);
}

TEST(FormatSize, PicksTheLargestUnit) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(512), "512 B");
  EXPECT_EQ(format_size(1023), "1023 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(10ull << 30), "10 GiB");
  EXPECT_EQ(format_size((3ull << 40) + (1ull << 39)), "3.5 TiB");
  EXPECT_EQ(format_size(2048ull << 40), "2048 TiB");
  EXPECT_EQ(format_size((1ull << 20) - 1), "1.0 MiB");
  EXPECT_EQ(format_size((1ull << 20) + 1), "1.0 MiB");
  EXPECT_EQ(format_size((1ull << 30) + (100ull << 20)), "1.1 GiB");
}

TEST(FormatSize, WholeUnitsParseBack) {
  for (uint64_t bytes : {0ull, 1ull, 4096ull, 512ull << 20, 10ull << 30, 7ull << 40}) {
    EXPECT_EQ(parsed(format_size(bytes)), bytes) << format_size(bytes);
  }
}

}  // namespace
}  // namespace strata
