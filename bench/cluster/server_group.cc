#include "server_group.h"

#include <fmt/format.h>

#include "net_util.h"

namespace strata::bench {

void server_group::add(node_spec spec) { nodes_.push_back(node{std::move(spec), nullptr, false}); }

status server_group::start(int64_t timeout_ms) {
  for (auto& n : nodes_) {
    auto child = child_process::spawn(n.spec.argv, n.spec.log_path);
    if (!child) {
      return make_error(child.code(), fmt::format("{} {}: {}", what_, n.spec.name, child.err().message));
    }
    n.proc = std::move(*child);
    n.killed = false;
  }
  for (auto& n : nodes_) {
    auto* proc = n.proc.get();
    auto ready = wait_for_port(n.spec.port, timeout_ms, [proc] { return !proc->exited(); });
    if (!ready) {
      return make_error(ready.code(), fmt::format("{} {} ({}) did not start: {}", what_, n.spec.name, n.spec.argv[0],
                                                  ready.err().message));
    }
  }
  return {};
}

result<pid_t> server_group::pid_of(const std::string& name) const {
  for (const auto& n : nodes_) {
    if (n.spec.name == name && n.proc && !n.killed) {
      return n.proc->pid();
    }
  }
  return make_error(errc::not_found, fmt::format("{}: no running node named '{}'", what_, name));
}

void server_group::mark_killed(const std::string& name) {
  for (auto& n : nodes_) {
    if (n.spec.name == name && n.proc) {
      n.killed = true;
      n.proc.reset();  // kills what is left of its group and reaps it
    }
  }
}

status server_group::stop(int64_t grace_ms, int stop_signal) {
  status first;
  for (auto& n : nodes_) {
    if (!n.proc || n.killed) {
      continue;
    }
    auto stopped = n.proc->stop(grace_ms, stop_signal);
    n.proc.reset();
    if (!stopped && first.ok()) {
      first = make_error(stopped.code(), fmt::format("{} {}: {}", what_, n.spec.name, stopped.err().message));
    }
  }
  return first;
}

std::vector<std::string> server_group::endpoints() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) {
    out.push_back(fmt::format("127.0.0.1:{}", n.spec.port));
  }
  return out;
}

std::string server_group::log_tails(size_t bytes_each) const {
  std::string out;
  for (const auto& n : nodes_) {
    out += fmt::format("--- {} {} ({}) ---\n{}\n", what_, n.spec.name, n.spec.log_path,
                       file_tail(n.spec.log_path, bytes_each));
  }
  return out;
}

}  // namespace strata::bench
