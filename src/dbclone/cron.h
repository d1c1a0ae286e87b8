// Cron schedules for database-clone sources (snapshot_schedule,
// refresh_schedule): the classic 5 fields, always in UTC.
//
//   minute hour day-of-month month day-of-week
//   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
//
// Each field is `*` or a comma-separated list of items; an item is a number
// N, a range A-B, or either of `*` and A-B followed by a step /S ("*/15",
// "8-18/2"). Macros stand for whole schedules: @hourly "0 * * * *", @daily
// and @midnight "0 0 * * *", @weekly "0 0 * * 0", @monthly "0 0 1 * *",
// @yearly and @annually "0 0 1 1 *".
//
// Day-of-month and day-of-week follow Vixie cron: when both are restricted
// (neither starts with `*`), a day matches if EITHER matches ("0 0 1 * 1" is
// the 1st of each month and every Monday); otherwise both must match.
//
// A schedule whose day-of-month can never occur in its months ("0 0 30 2 *")
// is refused when parsed rather than silently never firing.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strata::dbclone {

// Longer schedule text is refused before it is looked at.
inline constexpr size_t cron_text_bytes_max = 256;

class cron_schedule {
 public:
  // errc::invalid_argument naming the wrong field and showing the expected form.
  static result<cron_schedule> parse(std::string_view text);

  // The first whole minute strictly after after_ms (unix epoch ms, UTC) that
  // the schedule matches, as epoch ms. nullopt when none lies within
  // cron_search_horizon_days (every schedule parse accepts matches within it,
  // except a day-of-week AND day-of-month combination that is rarer, such as
  // "Feb 29 on a Monday"), or when after_ms lies outside years 1-9999.
  std::optional<int64_t> next_after_ms(int64_t after_ms) const;

  // The text as given, without surrounding white space.
  const std::string& text() const { return text_; }

 private:
  bool day_matches(unsigned day_of_month, unsigned month, unsigned day_of_week) const;
  // The first minute of the day at or after minute_of_day that matches; nullopt if none.
  std::optional<int> first_minute_at_or_after(int minute_of_day) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 Sunday .. 6 Saturday
  bool day_of_month_star_ = true;  // the field starts with '*'
  bool day_of_week_star_ = true;
};

// 8 years and a day: Feb 29 recurs within 8 years even across 2100.
inline constexpr int64_t cron_search_horizon_days = 8 * 366 + 1;

}  // namespace strata::dbclone
