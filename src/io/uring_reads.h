// uring_reads: hands a batch of reads to the kernel in one system call
// through a ring (io_uring) owned by the calling thread. The block layer then
// passes the batch to the device together: on a virtual disk that is one
// device notification for the batch instead of one per read, which is what
// bounds small direct reads issued one pread at a time.
//
// Each thread sets up its ring on first use and keeps it until it exits. A
// kernel or sandbox without io_uring makes available() false, and run() then
// does nothing, so callers fall back to plain reads.
#pragma once

#include <cstdint>
#include <span>

namespace strata::io::uring {

// The ring's depth: a batch larger than this goes in several submissions.
inline constexpr unsigned ring_entries = 64;
// read_op::result before the op ran (run() left it to the caller).
inline constexpr int64_t not_run = INT64_MIN;

struct read_op {
  int fd = -1;
  uint64_t offset = 0;
  uint8_t* data = nullptr;
  uint32_t bytes = 0;
  int64_t result = not_run;  // bytes read (short at end of file) or -errno
};

// Whether io_uring works here; checked once per process.
bool available();

// Runs the ops on this thread's ring and waits for all of them. Ops it could
// not submit keep result == not_run (a ring that fails is dropped, and the
// thread's later calls submit nothing).
void run(std::span<read_op> ops);

}  // namespace strata::io::uring
