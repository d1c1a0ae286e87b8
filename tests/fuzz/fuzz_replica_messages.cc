// libFuzzer target: arbitrary bytes as a leader's response frame (after its
// size prefix), read by the follower's decoders of replication
// (kafka/replica/messages.h): decode_fetch and decode_offset_for_leader_epoch.
//
// Both decoders get every input, with the correlation id the input starts
// with (so the fuzzer reaches the bodies) and with another one (which must be
// refused). Besides the sanitizers, the target checks that a decoded Fetch
// response's records are a view inside the input, and that a decoder never
// returns more partitions than the input has bytes.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "kafka/replica/messages.h"

namespace {

using namespace strata;

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "replica message decoder contract violated: %s\n", what);
  std::abort();
}

int32_t load_be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
}

void check_fetch(std::span<const uint8_t> frame, int32_t correlation_id, bool must_fail) {
  auto decoded = kafka::replica::decode_fetch(frame, correlation_id);
  if (!decoded.ok()) return;
  if (must_fail) violation("decode_fetch accepted a wrong correlation id");
  if (decoded->size() > frame.size()) violation("decode_fetch returned more partitions than bytes");
  for (auto& p : *decoded) {
    if (p.records.empty()) continue;
    if (p.records.data() < frame.data() || p.records.data() + p.records.size() > frame.data() + frame.size()) {
      violation("decode_fetch returned records outside the frame");
    }
  }
}

void check_epochs(std::span<const uint8_t> frame, int32_t correlation_id, bool must_fail) {
  auto decoded = kafka::replica::decode_offset_for_leader_epoch(frame, correlation_id);
  if (!decoded.ok()) return;
  if (must_fail) violation("decode_offset_for_leader_epoch accepted a wrong correlation id");
  if (decoded->size() > frame.size()) violation("decode_offset_for_leader_epoch returned more partitions than bytes");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly the input's size, so that ASan sees any read past it.
  std::vector<uint8_t> frame(data, data + size);
  const int32_t correlation_id = size >= 4 ? load_be32(frame.data()) : 0;
  const int32_t other_id = correlation_id ^ 0x5a5a5a5a;
  check_fetch(frame, correlation_id, /*must_fail=*/false);
  check_fetch(frame, other_id, /*must_fail=*/true);
  check_epochs(frame, correlation_id, /*must_fail=*/false);
  check_epochs(frame, other_id, /*must_fail=*/true);
  return 0;
}
