// An in-memory sql::engine for the pgwire tests. It understands a handful of
// scripted statements (case-insensitive, matched by prefix):
//   select ints N        N rows of one int4 column "n" (1..N)
//   select types         one row of every type (plus a text_only interval), then an all-NULL row
//   echo $1 $2 ...       one row echoing each parameter (text ones as text, binary ones as decoded)
//   fail                 prepare fails with 42601
//   fail at execute      execute fails with 22012
//   fail after N         N rows, then fetch fails with 22012
//   sleep                fetch waits until cancel() (then 57014), at most 10 s
//   set NAME = VALUE     a command that reports ParameterStatus NAME=VALUE
//   begin / commit / rollback   transaction state ('T', 'I'); errors inside a block make it 'E'
//   insert ...           a command, tag "INSERT 0 1"
//   copy in [csv]        COPY FROM STDIN of 2 columns; data is kept; a chunk containing "bad" fails
//   copy out N           COPY TO STDOUT of N lines "i\trow-i\n"
//   (whitespace only)    the empty statement
#pragma once

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "sql/session.h"

namespace strata::pgwire::testing {

struct fake_engine_state {
  std::mutex mu;
  std::string copied;                            // every COPY FROM STDIN's bytes, committed
  std::vector<std::string> aborted;              // abort reasons
  std::vector<std::vector<sql::parameter>> executions;  // parameters of every execute()
  std::vector<std::string> executed;                    // lower-cased text of every execute()
  std::vector<std::vector<uint32_t>> prepare_hints;     // hints of every prepare()
  int sessions_opened = 0;
  int sessions_closed = 0;
  std::atomic<int> sleeping{0};                  // sessions inside "sleep"
  // The fuzz target turns these down: "sleep" fails at once, counts are capped.
  bool sleep_enabled = true;
  uint64_t rows_max = UINT64_MAX;
};

class fake_engine final : public sql::engine {
 public:
  sql::outcome<std::unique_ptr<sql::session>> new_session(const sql::session_options& options) override;
  fake_engine_state& state() { return state_; }

 private:
  fake_engine_state state_;
};

}  // namespace strata::pgwire::testing
