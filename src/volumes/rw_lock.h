// A reader-writer lock that lets a waiting writer in ahead of new readers.
// std::shared_mutex on glibc prefers readers, so a steady stream of NBD I/O
// (always some reader inside) would starve a snapshot forever.
#pragma once

#include <pthread.h>

#include "base/assert.h"

namespace strata::volumes {

class rw_lock {
 public:
  rw_lock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
    STRATA_ASSERT(rc == 0, "pthread_rwlock_init failed");
  }
  ~rw_lock() { pthread_rwlock_destroy(&lock_); }
  rw_lock(const rw_lock&) = delete;
  rw_lock& operator=(const rw_lock&) = delete;

  // The Lockable and SharedLockable names, for std::unique_lock / std::shared_lock.
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace strata::volumes
