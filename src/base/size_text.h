// Human-readable byte sizes: "10G" in, "10 GiB" out. The CLI parses --size
// with it and the admin API the "size" field, so both accept the same text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strata {

// Longer text is refused before it is looked at.
inline constexpr size_t size_text_bytes_max = 64;

// Digits, optionally followed (after at most one space) by a unit: K, M, G or
// T (any case), each optionally followed by "iB" or "B", meaning KiB, MiB,
// GiB, TiB (powers of 1024, as qemu-img reads them); "B" alone means bytes.
// "10G", "10 GiB", "512m", "4096", "4096B". Fractions, signs and values past
// 2^64-1 bytes are errc::invalid_argument; the message quotes the text and
// gives an example, e.g. "10X is not a size; use e.g. 10G or 512M".
result<uint64_t> parse_size(std::string_view text);

// The largest unit that fits: "0 B", "512 B", "10 GiB", "1.5 MiB" (one
// decimal, rounded, when not a whole number of that unit).
std::string format_size(uint64_t bytes);

}  // namespace strata
