#include "io/uring_reads.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "base/assert.h"

namespace strata::io::uring {
namespace {

class thread_ring {
 public:
  thread_ring() { usable_ = io_uring_queue_init(ring_entries, &ring_, 0) == 0; }
  ~thread_ring() { drop(); }
  thread_ring(const thread_ring&) = delete;
  thread_ring& operator=(const thread_ring&) = delete;

  bool usable() const { return usable_; }

  // Submits up to ring_entries ops and waits for each one's completion.
  void run_wave(std::span<read_op> ops) {
    unsigned queued = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      io_uring_prep_read(sqe, ops[i].fd, ops[i].data, ops[i].bytes, ops[i].offset);
      io_uring_sqe_set_data64(sqe, i);
      ++queued;
    }
    int submitted = io_uring_submit_and_wait(&ring_, queued);
    while (submitted == -EINTR) submitted = io_uring_submit_and_wait(&ring_, queued);
    const unsigned to_reap = submitted > 0 ? static_cast<unsigned>(submitted) : 0;
    for (unsigned reaped = 0; reaped < to_reap;) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR) continue;
      // Returning early would let the kernel fill buffers the caller frees.
      STRATA_ASSERT(rc == 0, "waiting on a ring with submitted reads fails only on a bug");
      ops[io_uring_cqe_get_data64(cqe)].result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      ++reaped;
    }
    // SQEs the kernel did not take would go out with a later batch, after
    // their buffers are gone: drop the ring instead; the caller reads those.
    if (static_cast<unsigned>(std::max(submitted, 0)) < queued) drop();
  }

 private:
  void drop() {
    if (!usable_) return;
    usable_ = false;
    io_uring_queue_exit(&ring_);  // waits for anything still in flight
  }

  io_uring ring_{};
  bool usable_ = false;
};

}  // namespace

bool available() {
  static const bool works = [] {
    thread_ring probe;
    return probe.usable();
  }();
  return works;
}

void run(std::span<read_op> ops) {
  if (ops.empty() || !available()) return;
  thread_local std::optional<thread_ring> ring;
  if (!ring) ring.emplace();
  for (size_t from = 0; from < ops.size() && ring->usable(); from += ring_entries) {
    ring->run_wave(ops.subspan(from, std::min<size_t>(ring_entries, ops.size() - from)));
  }
}

}  // namespace strata::io::uring
