// libFuzzer target: the untrusted text the database-clone face parses from
// API requests and its own store: cron schedules, libpq conninfo strings (and
// their masking), object names, and the kv records.
//
// The first input byte picks the mode; the rest is the text:
//   0..63    a cron schedule: whatever parses must give a next run strictly
//            after the start, and parse again from its own text.
//   64..127  a conninfo: split (with and without a dbname override) and
//            masked; a split password never appears in the rest.
//   128..191 an object name and a dataset name check.
//   192..255 a clone, source, snapshot and branch record; what decodes must
//            encode and decode to the same record text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dbclone/conninfo.h"
#include "dbclone/cron.h"
#include "dbclone/pool.h"
#include "dbclone/records.h"
#include "dbclone/service.h"

namespace {

using namespace strata;
using namespace strata::dbclone;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_cron(const std::string& text) {
  auto parsed = cron_schedule::parse(text);
  if (!parsed.ok()) return;
  constexpr int64_t start_ms = 1'780'000'000'000;
  if (auto next = parsed->next_after_ms(start_ms)) check(*next > start_ms && *next % 60'000 == 0);
  check(cron_schedule::parse(parsed->text()).ok());
}

void fuzz_conninfo(const std::string& text) {
  auto parts = split_conninfo(text);
  if (parts.ok() && !parts->password.empty() && parts->password.size() > 3) {
    check(parts->without_password.find("password") == std::string::npos);
  }
  (void)split_conninfo(text, "dbname", "template1");
  (void)mask_conninfo(text);
}

template <class Decode>
void round_trip(const std::string& text, Decode decode) {
  auto first = decode(text);
  if (!first.ok()) return;
  std::string encoded = encode(*first);
  auto second = decode(encoded);
  check(second.ok());
  check(encode(*second) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode < 64) {
    fuzz_cron(text);
  } else if (mode < 128) {
    fuzz_conninfo(text);
  } else if (mode < 192) {
    (void)check_object_name(text, "clone id");
    (void)check_dataset_name(text);
  } else {
    round_trip(text, decode_clone);
    round_trip(text, decode_source);
    round_trip(text, decode_snapshot);
    round_trip(text, decode_branch);
  }
  return 0;
}
