// Starting a peer or Strata server process and waiting for its port.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "process.h"

namespace strata::bench {

// Spawns argv with its output in log_path and waits until 127.0.0.1:port
// accepts connections. On failure the process is gone; its log stays.
result<std::unique_ptr<child_process>> start_server(const std::vector<std::string>& argv,
                                                    const std::string& log_path, uint16_t port,
                                                    int64_t timeout_ms);

// Stops a server (stop_signal, then SIGKILL after grace_ms); a null server is
// fine.
status stop_server(std::unique_ptr<child_process>& server, int64_t grace_ms, int stop_signal);

// `work_dir`/data, created if missing: where a server keeps its files.
std::string make_data_dir(const std::string& work_dir);

// The end of a server's log, for error reports.
std::string server_log_tail(const std::string& log_path);

// Polls `done` every few ms until it returns true; fails if the count `seen`
// stops moving for stall_timeout_ms first. `what` names the activity.
status wait_with_stall_check(const std::function<bool()>& done, const std::function<uint64_t()>& seen,
                             int64_t stall_timeout_ms, const std::string& what);

}  // namespace strata::bench
