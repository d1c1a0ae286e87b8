// An exclusive lock on the data dir (flock on <data-dir>/LOCK), held for the
// life of the server, so two processes never write the same files. The lock
// dies with the process, including on kill -9.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"

namespace strata::app {

class data_dir_lock {
 public:
  static result<std::unique_ptr<data_dir_lock>> acquire(const std::string& data_dir);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

 private:
  explicit data_dir_lock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace strata::app
