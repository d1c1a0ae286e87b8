// The servers of one system in the cluster benchmark (three Strata nodes and
// their etcd, or three nats-servers): started together, one of them killed
// with SIGKILL during the failover run, the rest stopped at the end. Built
// on bench/streams' child_process, so none outlives the benchmark.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "process.h"

namespace strata::bench {

struct node_spec {
  std::string name;  // what the target's stream_leader() answers: "1" (Kafka broker id), "n2" (NATS server name)
  std::vector<std::string> argv;
  std::string log_path;
  uint16_t port = 0;  // 127.0.0.1:port accepts once the node serves
};

class server_group {
 public:
  explicit server_group(std::string what) : what_(std::move(what)) {}

  void add(node_spec spec);
  // Spawns every node (main thread only), then waits until each accepts.
  status start(int64_t timeout_ms);
  // The process id of a running node, for kill(2) from another thread.
  result<pid_t> pid_of(const std::string& name) const;
  // After a SIGKILL: reaps the node, and stop() leaves it alone.
  void mark_killed(const std::string& name);
  // Stops each running node in order (stop_signal, SIGKILL after grace_ms);
  // returns the first failure.
  status stop(int64_t grace_ms, int stop_signal);
  // "127.0.0.1:port" of every node, in order.
  std::vector<std::string> endpoints() const;
  // The end of every node's log, for error reports.
  std::string log_tails(size_t bytes_each) const;

 private:
  struct node {
    node_spec spec;
    std::unique_ptr<child_process> proc;
    bool killed = false;
  };
  std::string what_;
  std::vector<node> nodes_;
};

}  // namespace strata::bench
