// The process that log_crash_test.py kills. Two modes:
//
//   log_crash_writer write DIR [SEGMENT_BYTES]
//     Opens (recovering) the log in DIR on real files and appends entries
//     forever, one record each, flushing after every append and then
//     printing "acked <offset>" for it.
//   log_crash_writer verify DIR ACKED_THROUGH
//     Reads the whole log and checks that offsets are contiguous from 0,
//     that every entry's payload is exactly what the writer wrote for that
//     offset, and that every offset up to ACKED_THROUGH (-1: none) is there.
//     Prints "verified <entries> entries, end <offset>"; exits 1 on any fault.
//
// A payload is recognizable from its offset alone: 8 bytes of offset, 4 of
// length, then bytes drawn from a generator seeded by the offset.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/fs.h"
#include "storage/log.h"

namespace {

using strata::log_offset;
using strata::storage::log;
using strata::storage::log_config;

constexpr size_t payload_bytes_max = 12 * 1024;

std::vector<uint8_t> payload_for(int64_t offset) {
  uint64_t x = static_cast<uint64_t>(offset) * 0x9E3779B97F4A7C15ULL + 0x1234567;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  size_t size = 12 + next() % payload_bytes_max;
  std::vector<uint8_t> p(size);
  std::memcpy(p.data(), &offset, 8);
  uint32_t size32 = static_cast<uint32_t>(size);
  std::memcpy(p.data() + 8, &size32, 4);
  for (size_t i = 12; i < size; ++i) p[i] = static_cast<uint8_t>(next());
  return p;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "log_crash_writer: %s\n", what.c_str());
  return 1;
}

int write_forever(strata::io::fs& fs, const std::string& dir, log_config cfg) {
  auto opened = log::open(fs, dir, cfg);
  if (!opened.ok()) return fail("open: " + opened.err().message);
  auto& l = **opened;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("start %" PRId64 "\n", l.end_offset().value);
  for (;;) {
    int64_t offset = l.end_offset().value;
    auto appended = l.append(payload_for(offset), 1, offset);
    if (!appended.ok()) return fail("append: " + appended.err().message);
    auto flushed = l.flush();
    if (!flushed.ok()) return fail("flush: " + flushed.err().message);
    if (flushed->value <= offset) return fail("flush did not cover the append");
    std::printf("acked %" PRId64 "\n", offset);
  }
}

int verify(strata::io::fs& fs, const std::string& dir, log_config cfg, int64_t acked_through) {
  auto opened = log::open(fs, dir, cfg);
  if (!opened.ok()) return fail("open: " + opened.err().message);
  auto& l = **opened;
  if (l.start_offset().value != 0) return fail("log start moved to " + std::to_string(l.start_offset().value));
  int64_t at = 0;
  while (at < l.end_offset().value) {
    auto r = l.read(log_offset(at), 1 << 20, l.end_offset(), true);
    if (!r.ok()) return fail("read at " + std::to_string(at) + ": " + r.err().message);
    if (r->entries.empty()) return fail("no entry at " + std::to_string(at));
    for (const auto& e : r->entries) {
      if (e.base_offset.value != at || e.record_count != 1) return fail("offsets not contiguous at " + std::to_string(at));
      auto want = payload_for(at);
      if (e.payload.size() != want.size() || std::memcmp(e.payload.data(), want.data(), want.size()) != 0) {
        return fail("payload of offset " + std::to_string(at) + " is not what was written");
      }
      ++at;
    }
  }
  if (at <= acked_through) {
    return fail("acknowledged offsets " + std::to_string(at) + ".." + std::to_string(acked_through) + " are missing");
  }
  std::printf("verified %" PRId64 " entries, end %" PRId64 "\n", at, l.end_offset().value);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s write DIR [SEGMENT_BYTES] | verify DIR ACKED_THROUGH\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  std::string dir = argv[2];
  auto fs = strata::io::make_posix_fs();
  log_config cfg;
  cfg.segment_bytes_max = 256 * 1024;
  cfg.retention_ms = -1;
  if (mode == "write") {
    if (argc > 3) cfg.segment_bytes_max = std::strtoull(argv[3], nullptr, 10);
    return write_forever(*fs, dir, cfg);
  }
  if (mode == "verify" && argc > 3) return verify(*fs, dir, cfg, std::strtoll(argv[3], nullptr, 10));
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
