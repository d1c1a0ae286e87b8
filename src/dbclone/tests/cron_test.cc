#include "dbclone/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/utc_time.h"

namespace strata::dbclone {
namespace {

namespace chr = std::chrono;

constexpr int64_t minute_ms = 60'000;

int64_t utc_ms(int year, unsigned month, unsigned day, int hour = 0, int minute = 0) {
  chr::sys_days date{chr::year{year} / chr::month{month} / chr::day{day}};
  return chr::duration_cast<chr::milliseconds>(date.time_since_epoch()).count() +
         (int64_t{hour} * 60 + minute) * minute_ms;
}

// "2026-12-06 17:20 Sun" or "none", so failures read as dates.
std::string text_of(std::optional<int64_t> ms) {
  if (!ms) return "none";
  return format_utc_ms(*ms, "%Y-%m-%d %H:%M %a") + (*ms % minute_ms == 0 ? std::string() : " (not a whole minute)");
}

cron_schedule must_parse(std::string_view text) {
  auto schedule = cron_schedule::parse(text);
  EXPECT_TRUE(schedule.ok()) << text << ": " << (schedule.ok() ? "" : schedule.err().message);
  if (!schedule) return *cron_schedule::parse("* * * * *");
  return *schedule;
}

std::string next_text(std::string_view schedule, int64_t after_ms) {
  return text_of(must_parse(schedule).next_after_ms(after_ms));
}

std::string parse_error(std::string_view text) {
  auto schedule = cron_schedule::parse(text);
  if (schedule) return "parsed";
  EXPECT_EQ(schedule.code(), errc::invalid_argument);
  return schedule.err().message;
}

std::string expected_error(std::string_view text, std::string_view problem) {
  return "cron schedule \"" + std::string(text) + "\": " + std::string(problem) +
         " (expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"*/30 * * * *\")";
}

// Sunday 2026-12-06 17:20 UTC.
const int64_t base_ms = utc_ms(2026, 12, 6, 17, 20);

TEST(CronParse, ErrorsNameTheFieldAndShowTheForm) {
  EXPECT_EQ(parse_error("*/0 * * * *"), expected_error("*/0 * * * *", "minute step must be at least 1"));
  EXPECT_EQ(parse_error("* * * *"), expected_error("* * * *", "has 4 fields"));
  EXPECT_EQ(parse_error("* * * * * *"), expected_error("* * * * * *", "has 6 fields"));
  EXPECT_EQ(parse_error(""), expected_error("", "has 0 fields"));
  EXPECT_EQ(parse_error("   "), expected_error("", "has 0 fields"));
  EXPECT_EQ(parse_error("60 * * * *"), expected_error("60 * * * *", "minute 60 is out of range 0-59"));
  EXPECT_EQ(parse_error("0 24 * * *"), expected_error("0 24 * * *", "hour 24 is out of range 0-23"));
  EXPECT_EQ(parse_error("0 0 0 * *"), expected_error("0 0 0 * *", "day-of-month 0 is out of range 1-31"));
  EXPECT_EQ(parse_error("0 0 32 * *"), expected_error("0 0 32 * *", "day-of-month 32 is out of range 1-31"));
  EXPECT_EQ(parse_error("0 0 * 13 *"), expected_error("0 0 * 13 *", "month 13 is out of range 1-12"));
  EXPECT_EQ(parse_error("0 0 * 0 *"), expected_error("0 0 * 0 *", "month 0 is out of range 1-12"));
  EXPECT_EQ(parse_error("0 0 * * 8"), expected_error("0 0 * * 8", "day-of-week 8 is out of range 0-7"));
  EXPECT_EQ(parse_error("x * * * *"), expected_error("x * * * *", "minute \"x\" is not a number"));
  EXPECT_EQ(parse_error("0 0 * jan *"), expected_error("0 0 * jan *", "month \"jan\" is not a number"));
  EXPECT_EQ(parse_error("-1 * * * *"), expected_error("-1 * * * *", "minute \"\" is not a number"));
  EXPECT_EQ(parse_error("1-2-3 * * * *"), expected_error("1-2-3 * * * *", "minute \"2-3\" is not a number"));
  EXPECT_EQ(parse_error("99999 * * * *"), expected_error("99999 * * * *", "minute \"99999\" is not a number"));
  EXPECT_EQ(parse_error("30-10 * * * *"),
            expected_error("30-10 * * * *", "minute range 30-10 is reversed; write the smaller number first"));
  EXPECT_EQ(parse_error("1,,2 * * * *"), expected_error("1,,2 * * * *", "minute \"1,,2\" has an empty list item"));
  EXPECT_EQ(parse_error("0 1, * * *"), expected_error("0 1, * * *", "hour \"1,\" has an empty list item"));
  EXPECT_EQ(parse_error("*/x * * * *"), expected_error("*/x * * * *", "minute step \"x\" is not a number"));
  EXPECT_EQ(parse_error("*/ * * * *"), expected_error("*/ * * * *", "minute step \"\" is not a number"));
  EXPECT_EQ(parse_error("0 5/2 * * *"),
            expected_error("0 5/2 * * *", "hour step needs a range: write */2 or 5-23/2, not 5/2"));
  EXPECT_EQ(parse_error("0 0 30 2 *"), expected_error("0 0 30 2 *", "day-of-month \"30\" never occurs in month \"2\""));
  EXPECT_EQ(parse_error("0 0 31 4,6,9,11 *"),
            expected_error("0 0 31 4,6,9,11 *", "day-of-month \"31\" never occurs in month \"4,6,9,11\""));
  EXPECT_EQ(parse_error("@reboot"),
            expected_error("@reboot", "unknown macro; use @hourly, @daily, @weekly, @monthly, @yearly or @annually"));
  EXPECT_EQ(parse_error("@daily 5"),
            expected_error("@daily 5", "unknown macro; use @hourly, @daily, @weekly, @monthly, @yearly or @annually"));
  EXPECT_EQ(parse_error("\x01 * * * *"), expected_error("? * * * *", "minute \"?\" is not a number"));
}

TEST(CronParse, LengthIsBounded) {
  std::string longest = "0 0 * * *" + std::string(cron_text_bytes_max - 9, ' ');
  EXPECT_TRUE(cron_schedule::parse(longest).ok());
  std::string too_long = longest + " ";
  auto refused = cron_schedule::parse(too_long);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), errc::invalid_argument);
  EXPECT_EQ(refused.err().message,
            "cron schedule of 257 bytes is too long; at most 256 (expected 5 fields: minute hour day-of-month month "
            "day-of-week, e.g. \"*/30 * * * *\")");
}

TEST(CronParse, TextIsKeptTrimmed) {
  EXPECT_EQ(must_parse("  */30 *\t* * *  ").text(), "*/30 *\t* * *");
  EXPECT_EQ(must_parse("@daily").text(), "@daily");
}

TEST(CronParse, FeasibleDaysAreAccepted) {
  must_parse("0 0 29 2 *");        // leap years only
  must_parse("0 0 30 2 1");        // day-of-week also restricted: every Monday
  must_parse("0 0 30,31 2,3 *");   // March has them
  must_parse("0 0 1-31 * 0-7");    // Sunday twice over
  must_parse("\t0\t0 * * *\r\n");  // a line read from a file
}

TEST(CronNext, EveryMinuteIsTheNextWholeMinuteStrictlyAfter) {
  EXPECT_EQ(next_text("* * * * *", base_ms), "2026-12-06 17:21 Sun");
  EXPECT_EQ(next_text("* * * * *", base_ms - 1), "2026-12-06 17:20 Sun");
  EXPECT_EQ(next_text("* * * * *", base_ms + 59'999), "2026-12-06 17:21 Sun");
  EXPECT_EQ(must_parse("* * * * *").next_after_ms(base_ms), base_ms + minute_ms);
}

TEST(CronNext, NumbersListsRangesAndSteps) {
  EXPECT_EQ(next_text("30 * * * *", base_ms), "2026-12-06 17:30 Sun");
  EXPECT_EQ(next_text("10 * * * *", base_ms), "2026-12-06 18:10 Sun");
  EXPECT_EQ(next_text("5,25,45 * * * *", base_ms), "2026-12-06 17:25 Sun");
  EXPECT_EQ(next_text("0-10 18 * * *", base_ms), "2026-12-06 18:00 Sun");
  EXPECT_EQ(next_text("*/15 * * * *", base_ms), "2026-12-06 17:30 Sun");
  EXPECT_EQ(next_text("*/30 * * * *", utc_ms(2026, 12, 6, 17, 30)), "2026-12-06 18:00 Sun");
  EXPECT_EQ(next_text("0 8-18/2 * * *", base_ms), "2026-12-06 18:00 Sun");
  EXPECT_EQ(next_text("0 8-18/2 * * *", utc_ms(2026, 12, 6, 18)), "2026-12-07 08:00 Mon");
  EXPECT_EQ(next_text("0 9-17/4 * * *", utc_ms(2026, 12, 6, 13)), "2026-12-06 17:00 Sun");
  EXPECT_EQ(next_text("0 */7 * * *", base_ms), "2026-12-06 21:00 Sun");
  EXPECT_EQ(next_text("0 */100 * * *", base_ms), "2026-12-07 00:00 Mon");
  EXPECT_EQ(next_text("1,2,40-42/2,*/50 * * * *", base_ms), "2026-12-06 17:40 Sun");
  EXPECT_EQ(next_text("0 3 * * *", base_ms), "2026-12-07 03:00 Mon");
  EXPECT_EQ(next_text("0 0 * 3 *", base_ms), "2027-03-01 00:00 Mon");
  EXPECT_EQ(next_text("0 0 1 1,7 *", base_ms), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next_text("0 0 1 */5 *", base_ms), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next_text("0 0 15 */11 *", base_ms), "2026-12-15 00:00 Tue");
}

TEST(CronNext, DayOfWeekWithSundayAsZeroOrSeven) {
  EXPECT_EQ(next_text("0 12 * * 0", base_ms), "2026-12-13 12:00 Sun");
  EXPECT_EQ(next_text("0 12 * * 7", base_ms), "2026-12-13 12:00 Sun");
  EXPECT_EQ(next_text("0 18 * * 7", base_ms), "2026-12-06 18:00 Sun");
  EXPECT_EQ(next_text("0 0 * * 1-5", base_ms), "2026-12-07 00:00 Mon");
  EXPECT_EQ(next_text("0 0 * * 6", base_ms), "2026-12-12 00:00 Sat");
  EXPECT_EQ(next_text("0 0 * * 5-7", utc_ms(2026, 12, 7)), "2026-12-11 00:00 Fri");
  EXPECT_EQ(next_text("0 0 * * */2", utc_ms(2026, 12, 6, 1)), "2026-12-08 00:00 Tue");
}

TEST(CronNext, Macros) {
  EXPECT_EQ(next_text("@hourly", base_ms), "2026-12-06 18:00 Sun");
  EXPECT_EQ(next_text("@daily", base_ms), "2026-12-07 00:00 Mon");
  EXPECT_EQ(next_text("@midnight", base_ms), "2026-12-07 00:00 Mon");
  EXPECT_EQ(next_text("@weekly", base_ms), "2026-12-13 00:00 Sun");
  EXPECT_EQ(next_text("@monthly", base_ms), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next_text("@yearly", base_ms), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next_text("@annually", base_ms), "2027-01-01 00:00 Fri");
  EXPECT_EQ(next_text("@yearly", utc_ms(2027, 1, 1)), "2028-01-01 00:00 Sat");
}

TEST(CronNext, MonthEndsAndLeapYears) {
  EXPECT_EQ(next_text("0 0 31 * *", utc_ms(2026, 12, 31)), "2027-01-31 00:00 Sun");
  EXPECT_EQ(next_text("0 0 31 * *", utc_ms(2027, 1, 31)), "2027-03-31 00:00 Wed");
  EXPECT_EQ(next_text("0 0 30 * *", utc_ms(2027, 1, 30)), "2027-03-30 00:00 Tue");
  EXPECT_EQ(next_text("59 23 28-31 2 *", utc_ms(2027, 2, 28, 23, 59)), "2028-02-28 23:59 Mon");
  EXPECT_EQ(next_text("0 0 29 2 *", base_ms), "2028-02-29 00:00 Tue");
  EXPECT_EQ(next_text("0 0 29 2 *", utc_ms(2028, 2, 29)), "2032-02-29 00:00 Sun");
  // 2100 is not a leap year (divisible by 100, not by 400); 2000 was.
  EXPECT_EQ(next_text("0 0 29 2 *", utc_ms(2097, 1, 1)), "2104-02-29 00:00 Fri");
  EXPECT_EQ(next_text("0 0 29 2 *", utc_ms(1999, 1, 1)), "2000-02-29 00:00 Tue");
  EXPECT_EQ(next_text("0 0 1 3 *", utc_ms(2028, 2, 29, 23, 59)), "2028-03-01 00:00 Wed");
  EXPECT_EQ(next_text("* * * * *", utc_ms(2028, 2, 29, 23, 59)), "2028-03-01 00:00 Wed");
  EXPECT_EQ(next_text("* * * * *", utc_ms(2026, 12, 31, 23, 59)), "2027-01-01 00:00 Fri");
}

TEST(CronNext, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 13th and every Friday.
  EXPECT_EQ(next_text("0 0 13 * 5", base_ms), "2026-12-11 00:00 Fri");
  EXPECT_EQ(next_text("0 0 13 * 5", utc_ms(2026, 12, 11)), "2026-12-13 00:00 Sun");
  EXPECT_EQ(next_text("0 0 13 * 5", utc_ms(2026, 12, 13)), "2026-12-18 00:00 Fri");
  // The 1st and every Monday, only in March.
  EXPECT_EQ(next_text("0 0 1 3 1", base_ms), "2027-03-01 00:00 Mon");
  EXPECT_EQ(next_text("0 0 1 3 1", utc_ms(2027, 3, 1)), "2027-03-08 00:00 Mon");
  // Feb 30 can never be, but Mondays in February can.
  EXPECT_EQ(next_text("0 0 30 2 1", base_ms), "2027-02-01 00:00 Mon");
}

TEST(CronNext, BothMustMatchWhenEitherStartsWithAStar) {
  EXPECT_EQ(next_text("0 0 * * 5", base_ms), "2026-12-11 00:00 Fri");
  EXPECT_EQ(next_text("0 0 13 * *", base_ms), "2026-12-13 00:00 Sun");
  // Day-of-month "*/2" is star-like: odd days that are Fridays.
  EXPECT_EQ(next_text("0 0 */2 * 5", base_ms), "2026-12-11 00:00 Fri");
  EXPECT_EQ(next_text("0 0 */2 * 5", utc_ms(2026, 12, 11)), "2026-12-25 00:00 Fri");
  // Day-of-week "*/7" is Sunday only, yet star-like: a Sunday the 13th.
  EXPECT_EQ(next_text("0 0 13 * */7", base_ms), "2026-12-13 00:00 Sun");
  EXPECT_EQ(next_text("0 0 13 * */7", utc_ms(2026, 12, 13)), "2027-06-13 00:00 Sun");
}

TEST(CronNext, RareCombinationsBeyondTheHorizonAreNone) {
  // Feb 29 on a Sunday-only (day-of-week starts with '*'): next in 2032, within
  // the horizon; then 2060, beyond it.
  auto schedule = must_parse("0 0 29 2 */7");
  EXPECT_EQ(text_of(schedule.next_after_ms(base_ms)), "2032-02-29 00:00 Sun");
  EXPECT_EQ(text_of(schedule.next_after_ms(utc_ms(2032, 2, 29))), "none");
}

TEST(CronNext, NegativeAndExtremeTimes) {
  EXPECT_EQ(next_text("0 0 * * *", -1), "1970-01-01 00:00 Thu");
  EXPECT_EQ(next_text("30 * * * *", utc_ms(1969, 7, 20, 20, 17)), "1969-07-20 20:30 Sun");
  EXPECT_EQ(next_text("* * * * *", -minute_ms - 1), "1969-12-31 23:59 Wed");
  auto daily = must_parse("@daily");
  EXPECT_EQ(daily.next_after_ms(INT64_MAX), std::nullopt);
  EXPECT_EQ(daily.next_after_ms(INT64_MIN), std::nullopt);
  EXPECT_EQ(text_of(daily.next_after_ms(utc_ms(9999, 12, 31, 12))), "10000-01-01 00:00 Sat");
}

TEST(CronNext, SearchIsFast) {
  // Feb 29 across 2100: eight years ahead, found by skipping whole months and days.
  auto schedule = must_parse("59 23 29 2 *");
  auto start = chr::steady_clock::now();
  int64_t after_ms = utc_ms(2096, 3, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(schedule.next_after_ms(after_ms).has_value());
  EXPECT_LT(chr::steady_clock::now() - start, chr::seconds(2));
  EXPECT_EQ(text_of(schedule.next_after_ms(after_ms)), "2104-02-29 23:59 Fri");
}

}  // namespace
}  // namespace strata::dbclone
