#include "base/utc_time.h"

#include <ctime>

namespace strata {

std::string format_utc_ms(int64_t epoch_ms, const char* strftime_format) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return "";
  char text[128];
  size_t size = std::strftime(text, sizeof text, strftime_format, &utc);
  return std::string(text, size);
}

}  // namespace strata
