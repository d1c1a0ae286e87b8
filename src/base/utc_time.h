// Wall-clock times as UTC text.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

// Unix epoch milliseconds (the fraction dropped) formatted by strftime(3) in
// UTC, e.g. format_utc_ms(ms, "%Y-%m-%dT%H:%M:%SZ") -> "2024-05-01T12:00:00Z".
// "" when the time cannot be formatted (the text would exceed 127 bytes).
std::string format_utc_ms(int64_t epoch_ms, const char* strftime_format);

}  // namespace strata
