#include "dbclone/cron.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <vector>

namespace strata::dbclone {
namespace {

namespace chr = std::chrono;

constexpr std::string_view expected_form =
    "expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"*/30 * * * *\"";
constexpr std::string_view whitespace = " \t\r\n";
constexpr int64_t ms_per_minute = 60'000;
constexpr int64_t minutes_per_day = 24 * 60;
constexpr size_t number_digits_max = 4;

struct field_spec {
  const char* name;
  int min;
  int max;
};

constexpr field_spec minute_field{"minute", 0, 59};
constexpr field_spec hour_field{"hour", 0, 23};
constexpr field_spec day_of_month_field{"day-of-month", 1, 31};
constexpr field_spec month_field{"month", 1, 12};
constexpr field_spec day_of_week_field{"day-of-week", 0, 7};

struct macro {
  std::string_view name;
  std::string_view schedule;
};

constexpr std::array<macro, 7> macros = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

// Days in each month of a leap year (index 1-12): the most a day-of-month can reach.
constexpr std::array<int, 13> month_days_max = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

// The schedule text with control characters shown as '?', for messages.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

error schedule_error(std::string_view text, std::string_view problem) {
  return make_error(errc::invalid_argument,
                    printable(fmt::format("cron schedule \"{}\": {} ({})", text, problem, expected_form)));
}

std::string_view trim(std::string_view text) {
  size_t first = text.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(whitespace);
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t start = text.find_first_not_of(whitespace);
  while (start != std::string_view::npos) {
    size_t end = text.find_first_of(whitespace, start);
    fields.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? end : text.find_first_not_of(whitespace, end);
  }
  return fields;
}

// Digits only, at most number_digits_max of them; nullopt otherwise.
std::optional<int> parse_digits(std::string_view digits) {
  if (digits.empty() || digits.size() > number_digits_max) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// Parses one field's items; `problem` receives what is wrong with it.
class field_parser {
 public:
  field_parser(const field_spec& spec, std::string_view field) : spec_(spec), field_(field) {}

  // Bit i set when value i matches; nullopt with problem() set on an error.
  std::optional<uint64_t> parse() {
    uint64_t bits = 0;
    for (std::string_view item : split(field_, ',')) {
      if (item.empty()) return fail(fmt::format("{} \"{}\" has an empty list item", spec_.name, field_));
      auto item_bits = parse_item(item);
      if (!item_bits) return std::nullopt;
      bits |= *item_bits;
    }
    return bits;
  }

  const std::string& problem() const { return problem_; }

 private:
  std::optional<uint64_t> fail(std::string problem) {
    problem_ = std::move(problem);
    return std::nullopt;
  }

  std::optional<int> number(std::string_view digits) {
    auto value = parse_digits(digits);
    if (!value) {
      fail(fmt::format("{} \"{}\" is not a number", spec_.name, digits));
      return std::nullopt;
    }
    if (*value < spec_.min || *value > spec_.max) {
      fail(fmt::format("{} {} is out of range {}-{}", spec_.name, *value, spec_.min, spec_.max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<int> step(std::string_view digits) {
    auto value = parse_digits(digits);
    if (!value) {
      fail(fmt::format("{} step \"{}\" is not a number", spec_.name, digits));
      return std::nullopt;
    }
    if (*value < 1) {
      fail(fmt::format("{} step must be at least 1", spec_.name));
      return std::nullopt;
    }
    return value;
  }

  // "*", "N", "A-B", "*/S" or "A-B/S".
  std::optional<uint64_t> parse_item(std::string_view item) {
    size_t slash = item.find('/');
    std::string_view base = item.substr(0, slash);
    int every = 1;
    if (slash != std::string_view::npos) {
      auto s = step(item.substr(slash + 1));
      if (!s) return std::nullopt;
      every = *s;
    }
    int first = spec_.min;
    int last = spec_.max;
    if (base != "*") {
      size_t dash = base.find('-');
      auto a = number(base.substr(0, dash));
      if (!a) return std::nullopt;
      first = last = *a;
      if (dash != std::string_view::npos) {
        auto b = number(base.substr(dash + 1));
        if (!b) return std::nullopt;
        last = *b;
        if (first > last) {
          return fail(fmt::format("{} range {} is reversed; write the smaller number first", spec_.name, base));
        }
      } else if (slash != std::string_view::npos) {
        return fail(fmt::format("{} step needs a range: write */{} or {}-{}/{}, not {}", spec_.name, every, first,
                                spec_.max, every, item));
      }
    }
    uint64_t bits = 0;
    for (int value = first; value <= last; value += every) bits |= uint64_t{1} << value;
    return bits;
  }

  const field_spec& spec_;
  std::string_view field_;
  std::string problem_;
};

// Whether some month of `months` has a day of `days_of_month`.
bool day_can_occur(const std::bitset<32>& days_of_month, const std::bitset<13>& months) {
  for (int month = 1; month <= 12; ++month) {
    if (!months[month]) continue;
    for (int day = 1; day <= month_days_max[month]; ++day) {
      if (days_of_month[day]) return true;
    }
  }
  return false;
}

int64_t floor_div(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

int64_t epoch_ms_of(chr::sys_days day) { return chr::duration_cast<chr::milliseconds>(day.time_since_epoch()).count(); }

// Epoch ms of 0001-01-01T00:00:00Z and of the last ms of 9999-12-31.
const int64_t earliest_ms = epoch_ms_of(chr::sys_days{chr::year{1} / 1 / 1});
const int64_t latest_ms = epoch_ms_of(chr::sys_days{chr::year{10000} / 1 / 1}) - 1;

// Days since the epoch of the first day of the month after `day`'s.
int64_t first_day_of_next_month(const chr::year_month_day& day) {
  chr::year_month next = day.year() / day.month() + chr::months{1};
  return chr::sys_days{next / 1}.time_since_epoch().count();
}

}  // namespace

result<cron_schedule> cron_schedule::parse(std::string_view text) {
  if (text.size() > cron_text_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("cron schedule of {} bytes is too long; at most {} ({})",
                                                          text.size(), cron_text_bytes_max, expected_form));
  }
  std::string_view trimmed = trim(text);
  std::string_view expanded = trimmed;
  if (trimmed.starts_with('@')) {
    auto it = std::find_if(macros.begin(), macros.end(), [&](const macro& m) { return m.name == trimmed; });
    if (it == macros.end()) {
      return schedule_error(trimmed, "unknown macro; use @hourly, @daily, @weekly, @monthly, @yearly or @annually");
    }
    expanded = it->schedule;
  }
  std::vector<std::string_view> fields = split_fields(expanded);
  if (fields.size() != 5) return schedule_error(trimmed, fmt::format("has {} fields", fields.size()));

  cron_schedule schedule;
  schedule.text_ = std::string(trimmed);
  const std::array<const field_spec*, 5> specs = {&minute_field, &hour_field, &day_of_month_field, &month_field,
                                                  &day_of_week_field};
  std::array<uint64_t, 5> bits{};
  for (size_t i = 0; i < fields.size(); ++i) {
    field_parser parser(*specs[i], fields[i]);
    auto field_bits = parser.parse();
    if (!field_bits) return schedule_error(trimmed, parser.problem());
    bits[i] = *field_bits;
  }
  constexpr uint64_t sunday_7 = uint64_t{1} << 7;
  if (bits[4] & sunday_7) bits[4] = (bits[4] & ~sunday_7) | 1;
  schedule.minutes_ = std::bitset<60>(bits[0]);
  schedule.hours_ = std::bitset<24>(bits[1]);
  schedule.days_of_month_ = std::bitset<32>(bits[2]);
  schedule.months_ = std::bitset<13>(bits[3]);
  schedule.days_of_week_ = std::bitset<7>(bits[4]);
  schedule.day_of_month_star_ = fields[2].starts_with('*');
  schedule.day_of_week_star_ = fields[4].starts_with('*');

  bool either_day = !schedule.day_of_month_star_ && !schedule.day_of_week_star_;
  if (!either_day && !day_can_occur(schedule.days_of_month_, schedule.months_)) {
    return schedule_error(trimmed,
                          fmt::format("day-of-month \"{}\" never occurs in month \"{}\"", fields[2], fields[3]));
  }
  return schedule;
}

bool cron_schedule::day_matches(unsigned day_of_month, unsigned month, unsigned day_of_week) const {
  if (!months_[month]) return false;
  bool dom = days_of_month_[day_of_month];
  bool dow = days_of_week_[day_of_week];
  if (day_of_month_star_ || day_of_week_star_) return dom && dow;
  return dom || dow;
}

std::optional<int> cron_schedule::first_minute_at_or_after(int minute_of_day) const {
  for (int hour = minute_of_day / 60; hour < 24; ++hour) {
    if (!hours_[hour]) continue;
    int first_minute = hour == minute_of_day / 60 ? minute_of_day % 60 : 0;
    for (int minute = first_minute; minute < 60; ++minute) {
      if (minutes_[minute]) return hour * 60 + minute;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> cron_schedule::next_after_ms(int64_t after_ms) const {
  if (after_ms < earliest_ms || after_ms > latest_ms) return std::nullopt;
  int64_t start_minute = floor_div(after_ms, ms_per_minute) + 1;
  int64_t day = floor_div(start_minute, minutes_per_day);
  int minute_of_day = static_cast<int>(start_minute - day * minutes_per_day);
  const int64_t last_day = day + cron_search_horizon_days;
  while (day <= last_day) {
    chr::sys_days civil{chr::days{day}};
    chr::year_month_day date{civil};
    if (!months_[static_cast<unsigned>(date.month())]) {
      day = first_day_of_next_month(date);
      minute_of_day = 0;
      continue;
    }
    unsigned day_of_week = chr::weekday{civil}.c_encoding();
    if (day_matches(static_cast<unsigned>(date.day()), static_cast<unsigned>(date.month()), day_of_week)) {
      if (auto minute = first_minute_at_or_after(minute_of_day)) {
        return (day * minutes_per_day + *minute) * ms_per_minute;
      }
    }
    ++day;
    minute_of_day = 0;
  }
  return std::nullopt;
}

}  // namespace strata::dbclone
