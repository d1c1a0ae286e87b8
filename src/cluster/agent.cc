#include "cluster/agent.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <tuple>
#include <utility>

#include "cluster/controller.h"

namespace strata::cluster {
namespace {

constexpr int64_t error_log_interval_ms = 5000;
constexpr int64_t handoff_retry_ms = 50;
constexpr int64_t old_registration_slack_ms = 1000;  // etcd expires leases late (seen: up to 0.6 s)
constexpr int64_t registration_retry_ms = 100;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool has_prefix(const std::string& key, const char* prefix) { return key.rfind(prefix, 0) == 0; }

std::optional<int32_t> parse_int32(std::string_view text) {
  int32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < 0) return std::nullopt;
  return v;
}

struct bad_record {
  std::string key;
  int64_t mod_revision = 0;
  error why;
};

struct built_view {
  cluster_view view;
  int64_t controller_revision = 0;
  std::vector<bad_record> bad;
};

status add_node(const kv_entry& e, cluster_view& view) {
  auto id = parse_int32(std::string_view(e.key).substr(std::string_view(nodes_prefix).size()));
  if (!id) return make_error(errc::corrupt, fmt::format("{} is not a node key", e.key));
  auto n = decode_node(e.value);
  if (!n) return n.err();
  if (n->id != *id) return make_error(errc::corrupt, fmt::format("{} holds the record of node {}", e.key, n->id));
  view.nodes.push_back(std::move(*n));
  return {};
}

status add_topic(const kv_entry& e, cluster_view& view) {
  auto t = decode_topic(e.key.substr(std::string_view(topics_prefix).size()), e.value);
  if (!t) return t.err();
  t->revision = e.mod_revision;
  view.topics.push_back(std::move(*t));
  return {};
}

status add_partition(const kv_entry& e, cluster_view& view) {
  std::string rest = e.key.substr(std::string_view(partitions_prefix).size());
  size_t slash = rest.rfind('/');
  std::optional<int32_t> index;
  if (slash != std::string::npos && slash > 0) index = parse_int32(std::string_view(rest).substr(slash + 1));
  if (!index) return make_error(errc::corrupt, fmt::format("{} is not a partition key", e.key));
  auto p = decode_partition(rest.substr(0, slash), *index, e.value);
  if (!p) return p.err();
  p->revision = e.mod_revision;
  view.partitions.push_back(std::move(*p));
  return {};
}

status add_entry(const kv_entry& e, built_view& out) {
  if (has_prefix(e.key, nodes_prefix)) return add_node(e, out.view);
  if (has_prefix(e.key, topics_prefix)) return add_topic(e, out.view);
  if (has_prefix(e.key, partitions_prefix)) return add_partition(e, out.view);
  if (e.key == controller_key) {
    auto id = decode_controller(e.value);
    if (!id) return id.err();
    out.view.controller = *id;
    out.controller_revision = e.mod_revision;
  }
  if (e.key == throttle_key) {
    auto t = decode_throttle(e.value);
    if (!t) return t.err();
    out.view.throttle = {t->bytes_per_second, e.mod_revision};
  }
  return {};  // a key of a later version: not ours to judge
}

// The view of one read of the whole prefix. Records that fail to decode are
// left out (and reported in `bad`): one bad record must not stop the cluster.
built_view build_view(const range_result& r) {
  built_view out;
  out.view.revision = r.revision;
  for (const kv_entry& e : r.entries) {
    status s = add_entry(e, out);
    if (!s) out.bad.push_back(bad_record{e.key, e.mod_revision, s.err()});
  }
  cluster_view& v = out.view;
  std::sort(v.nodes.begin(), v.nodes.end(), [](const node_info& a, const node_info& b) { return a.id < b.id; });
  std::sort(v.topics.begin(), v.topics.end(),
            [](const topic_state& a, const topic_state& b) { return a.name < b.name; });
  std::sort(v.partitions.begin(), v.partitions.end(), [](const partition_state& a, const partition_state& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

const partition_state* find_partition(const cluster_view& view, const std::string& topic, int32_t partition) {
  for (const partition_state& p : view.partitions) {
    if (p.topic == topic && p.partition == partition) return &p;
  }
  return nullptr;
}

txn_op put_partition(const partition_state& p) {
  return txn_op::put(partition_key(p.topic, p.partition), encode_partition(p));
}

partition_state initial_partition(const std::string& topic, int32_t index, const std::vector<node_id>& replicas) {
  partition_state p;
  p.topic = topic;
  p.partition = index;
  p.replicas = replicas;
  p.leader = replicas.front();
  p.leader_epoch = 0;
  p.isr = replicas;
  return p;
}

status check_assignment(const std::string& topic, const std::vector<std::vector<node_id>>& assignment,
                        int64_t expected) {
  if (static_cast<int64_t>(assignment.size()) != expected) {
    return make_error(errc::invalid_argument, fmt::format("topic {}: {} partition(s) need an assignment each; {} given",
                                                          topic, expected, assignment.size()));
  }
  for (const auto& replicas : assignment) {
    if (replicas.empty())
      return make_error(errc::invalid_argument, fmt::format("topic {}: a partition has no replicas", topic));
  }
  return {};
}

}  // namespace

agent::agent(coordinator& coord, agent_config config, std::function<void(const cluster_view&)> on_view)
    : coord_(coord), config_(std::move(config)), on_view_(std::move(on_view)) {}

agent::~agent() { stop(); }

status agent::start() {
  {
    std::lock_guard lock(mutex_);
    STRATA_ASSERT(!running_, "cluster agent started twice");
  }
  auto lease = coord_.grant_lease(config_.session_ttl_ms);
  if (!lease) return lease.err();
  lease_ = *lease;
  status registered = register_waiting_for_old();
  if (!registered) {
    (void)coord_.revoke_lease(lease_);
    lease_ = 0;
    return registered;
  }
  registered_ = true;
  lease_confirmed_ms_ = now_ms();
  next_keep_alive_ms_ = now_ms() + std::max<int64_t>(1, config_.session_ttl_ms / 3);
  campaign();
  auto first = poll();
  if (!first) {
    (void)coord_.revoke_lease(lease_);
    lease_ = 0;
    registered_ = false;
    return first.err();
  }
  spdlog::info("cluster: node {} registered ({}:{}); {} live node(s), controller {}", config_.self.id,
               config_.self.host, config_.self.kafka_port, first->nodes.size(), first->controller);
  {
    std::lock_guard lock(mutex_);
    running_ = true;
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void agent::stop() {
  halt_thread();
  if (lease_ != 0) {
    status revoked = coord_.revoke_lease(lease_);
    if (!revoked && revoked.code() != errc::not_found) {
      spdlog::warn("cluster: node {} could not revoke its lease ({}); its keys go when the lease expires",
                   config_.self.id, revoked.err().message);
    }
    lease_ = 0;
  }
  registered_ = false;
}

void agent::stop_without_revoke() {
  halt_thread();
  lease_ = 0;
  registered_ = false;
}

void agent::halt_thread() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard lock(mutex_);
  running_ = false;
}

void agent::run() {
  int64_t next_poll_ms = 0;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (poll_again_ || now_ms() >= next_poll_ms) {
      poll_again_ = false;
      tick();
      next_poll_ms = now_ms() + config_.poll_interval_ms;
    }
    run_jobs();
    lock.lock();
    if (!poll_again_) {
      wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, next_poll_ms - now_ms())),
                     [this] { return stopping_ || !jobs_.empty(); });
    }
  }
  std::deque<job> left = std::move(jobs_);
  jobs_.clear();
  lock.unlock();
  for (job& j : left) j.done(make_error(errc::unavailable, "the cluster agent is stopping"));
}

void agent::tick() {
  keep_lease();
  if (registered_ && seen_controller_ == no_leader) campaign();
  auto view = poll();
  if (!view) {
    note_error("reading the cluster state", view.err());
    return;
  }
  if (registered_ && view->controller == config_.self.id) lead_partitions(*view);
}

void agent::keep_lease() {
  int64_t now = now_ms();
  if (lease_ != 0 && registered_ && now < next_keep_alive_ms_) return;
  if (lease_ != 0) {
    status kept = coord_.keep_alive(lease_);
    if (kept.code() == errc::not_found) {
      spdlog::warn(
          "cluster: node {} lost its lease (the coordinator did not hear from it for {} ms); registering again",
          config_.self.id, config_.session_ttl_ms);
      lease_ = 0;
      registered_ = false;
    } else if (!kept) {
      note_error("renewing the node lease", kept.err());
      return;
    } else {
      lease_confirmed_ms_ = now;
      std::lock_guard lock(mutex_);
      ++stats_.lease_renewals;
    }
  }
  if (lease_ == 0) {
    auto lease = coord_.grant_lease(config_.session_ttl_ms);
    if (!lease) {
      note_error("granting a node lease", lease.err());
      return;
    }
    lease_ = *lease;
  }
  next_keep_alive_ms_ = now + std::max<int64_t>(1, config_.session_ttl_ms / 3);
  if (registered_) return;
  status s = register_node();
  if (!s) {
    note_error("registering the node", s.err());
    return;
  }
  registered_ = true;
  lease_confirmed_ms_ = now;
  poll_again_ = true;
  spdlog::info("cluster: node {} registered again under a new lease", config_.self.id);
}

// A node restarted right after a crash finds its old registration still
// there until the old lease expires: it waits for that, within a bound.
status agent::register_waiting_for_old() {
  const int64_t deadline_ms = now_ms() + 2 * config_.session_ttl_ms + old_registration_slack_ms;
  bool logged = false;
  for (;;) {
    status s = register_node();
    if (s.code() != errc::already_exists || now_ms() >= deadline_ms) return s;
    if (!logged) {
      spdlog::info("cluster: node id {} is still registered by an earlier run; waiting for its lease to expire",
                   config_.self.id);
      logged = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(registration_retry_ms));
  }
}

int64_t agent::lease_unconfirmed_ms() const { return now_ms() - lease_confirmed_ms_.load(); }

status agent::register_node() {
  const node_info& self = config_.self;
  auto outcome =
      coord_.commit({txn_condition{node_key(self.id), 0}}, {txn_op::put(node_key(self.id), encode_node(self), lease_)});
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) {
    return make_error(errc::already_exists,
                      fmt::format("node id {} is in use by another live node; if this node restarted just now, its old "
                                  "registration expires within {} ms",
                                  self.id, config_.session_ttl_ms));
  }
  return {};
}

void agent::campaign() {
  auto outcome = coord_.commit({txn_condition{controller_key, 0}},
                               {txn_op::put(controller_key, encode_controller(config_.self.id), lease_)});
  if (outcome.code() == errc::not_found) {
    next_keep_alive_ms_ = 0;  // our lease is gone: the next tick replaces it before campaigning again
    return;
  }
  if (!outcome) {
    note_error("campaigning for controller", outcome.err());
    return;
  }
  if (!outcome->succeeded) return;
  spdlog::info("cluster: node {} is the controller", config_.self.id);
  next_preferred_check_ms_ = now_ms() + config_.preferred_leader_check_ms;
  poll_again_ = true;
  std::lock_guard lock(mutex_);
  ++stats_.controller_changes;
}

result<cluster_view> agent::poll() {
  auto read = coord_.range(cluster_prefix);
  if (!read) return read.err();
  built_view built = build_view(*read);
  std::map<std::string, int64_t> bad_keys;
  for (const bad_record& b : built.bad) {
    auto seen = bad_keys_.find(b.key);
    if (seen == bad_keys_.end() || seen->second != b.mod_revision) {
      spdlog::error("cluster: skipping {} (revision {}): {}", b.key, b.mod_revision, b.why.message);
    }
    bad_keys[b.key] = b.mod_revision;
  }
  bad_keys_ = std::move(bad_keys);
  seen_controller_ = built.view.controller;
  controller_revision_ = built.controller_revision;
  {
    std::lock_guard lock(mutex_);
    view_ = built.view;
  }
  if (built.view.revision != delivered_revision_) {
    delivered_revision_ = built.view.revision;
    if (on_view_) on_view_(built.view);
  }
  return std::move(built.view);
}

// As controller: finishes the moves that can finish, then commits each change
// that plan_leadership asks for, and drops the replication throttle once no
// partition moves. Every write compares both the partition's revision and the
// controller key's, so that a node that lost the controller key between its
// read and its write changes nothing.
void agent::lead_partitions(const cluster_view& view) {
  int64_t now = now_ms();
  bool move_to_preferred = now >= next_preferred_check_ms_;
  if (move_to_preferred) next_preferred_check_ms_ = now + config_.preferred_leader_check_ms;
  auto completions = plan_move_completions(view);
  for (const partition_state& next : completions) {
    auto written = commit_as_controller(next);
    if (!written) return;
    if (*written) log_partition_change(view, next, "move finished");
  }
  if (!completions.empty()) return;  // the next poll plans leadership on the new replicas
  for (const partition_state& next : plan_leadership(view, move_to_preferred)) {
    auto written = commit_as_controller(next);
    if (!written) return;
    if (*written) log_partition_change(view, next, "");
  }
  bool moving = std::any_of(view.partitions.begin(), view.partitions.end(), [](auto& p) { return p.moving(); });
  if (!moving && view.throttle.revision != 0) {
    auto outcome = coord_.commit({txn_condition{throttle_key, view.throttle.revision},
                                  txn_condition{controller_key, controller_revision_}},
                                 {txn_op::remove(throttle_key)});
    if (!outcome) return note_error("removing the replication throttle", outcome.err());
    if (outcome->succeeded) spdlog::info("cluster: no partition is moving; replication throttle removed");
  }
}

// Whether the write won its compares (a lost compare is planned again at the
// next poll); nullopt when the coordinator failed (logged).
std::optional<bool> agent::commit_as_controller(const partition_state& next) {
  std::string key = partition_key(next.topic, next.partition);
  auto outcome = coord_.commit({txn_condition{key, next.revision}, txn_condition{controller_key, controller_revision_}},
                               {put_partition(next)});
  if (!outcome) {
    note_error("writing a partition's state as controller", outcome.err());
    return std::nullopt;
  }
  if (outcome->succeeded) poll_again_ = true;
  return outcome->succeeded;
}

void agent::log_partition_change(const cluster_view& view, const partition_state& next, const char* why) {
  const partition_state* before = find_partition(view, next.topic, next.partition);
  node_id old_leader = before ? before->leader : no_leader;
  if (*why) {
    spdlog::info("cluster: {}/{}: {}: replicas [{}], leader {} (epoch {}), isr [{}]", next.topic, next.partition, why,
                 fmt::join(next.replicas, ","), next.leader, next.leader_epoch, fmt::join(next.isr, ","));
  } else if (next.leader == old_leader) {
    spdlog::info("cluster: {}/{}: isr is now [{}]", next.topic, next.partition, fmt::join(next.isr, ","));
  } else if (next.leader == no_leader) {
    spdlog::warn("cluster: {}/{} is offline: no replica of its isr [{}] is alive", next.topic, next.partition,
                 fmt::join(next.isr, ","));
  }
  if (next.leader != old_leader && next.leader != no_leader) {
    if (!*why) {
      spdlog::info("cluster: {}/{}: leader {} -> {} (epoch {}, isr [{}])", next.topic, next.partition, old_leader,
                   next.leader, next.leader_epoch, fmt::join(next.isr, ","));
    }
    std::lock_guard lock(mutex_);
    ++stats_.leader_elections;
  }
}

result<int> agent::hand_off_leadership(int64_t timeout_ms) {
  const node_id self = config_.self.id;
  const int64_t deadline_ms = now_ms() + timeout_ms;
  int moved = 0;
  std::optional<error> last_error;
  while (true) {
    bool retry = false;
    auto read = coord_.range(cluster_prefix);
    if (!read) {
      last_error = read.err();
      retry = true;
    } else {
      cluster_view view = build_view(*read).view;
      for (const partition_state& p : view.partitions) {
        auto next = plan_leader_handoff(p, self, view);
        if (!next) continue;  // not ours, or no other isr member alive: it stays
        auto outcome =
            coord_.commit({txn_condition{partition_key(p.topic, p.partition), p.revision}}, {put_partition(*next)});
        if (!outcome) last_error = outcome.err();
        if (!outcome || !outcome->succeeded) {
          retry = true;
          continue;
        }
        ++moved;
        spdlog::info("cluster: {}/{}: node {} hands leadership to {} (epoch {})", p.topic, p.partition, self,
                     next->leader, next->leader_epoch);
      }
    }
    int64_t left_ms = deadline_ms - now_ms();
    if (!retry || left_ms <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left_ms, handoff_retry_ms)));
  }
  if (moved == 0 && last_error) return *last_error;
  return moved;
}

void agent::run_jobs() {
  while (true) {
    job next;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || jobs_.empty()) return;
      next = std::move(jobs_.front());
      jobs_.pop_front();
    }
    next.done(next.work());
  }
}

void agent::enqueue(job j) {
  {
    std::lock_guard lock(mutex_);
    if (running_ && !stopping_) {
      jobs_.push_back(std::move(j));
      wake_.notify_all();
      return;
    }
  }
  j.done(make_error(errc::unavailable, "the cluster agent is not running"));
}

void agent::create_topic(topic_state topic, std::vector<std::vector<node_id>> assignment,
                         std::function<void(status)> done) {
  enqueue(job{[this, topic = std::move(topic), assignment = std::move(assignment)] {
                return do_create_topic(topic, assignment);
              },
              std::move(done)});
}

void agent::delete_topic(std::string name, std::function<void(status)> done) {
  enqueue(job{[this, name = std::move(name)] { return do_delete_topic(name); }, std::move(done)});
}

void agent::add_partitions(std::string name, int32_t new_total, std::vector<std::vector<node_id>> assignment_of_new,
                           std::function<void(status)> done) {
  enqueue(job{[this, name = std::move(name), new_total, assignment = std::move(assignment_of_new)] {
                return do_add_partitions(name, new_total, assignment);
              },
              std::move(done)});
}

void agent::alter_topic_configs(std::string name, std::map<std::string, std::string> configs,
                                std::function<void(status)> done) {
  enqueue(job{[this, name = std::move(name), configs = std::move(configs)] { return do_alter_topic_configs(name, configs); },
              std::move(done)});
}

void agent::change_partition(partition_state proposed, std::function<void(status)> done) {
  enqueue(job{[this, proposed = std::move(proposed)] { return do_change_partition(proposed); }, std::move(done)});
}

status agent::do_create_topic(const topic_state& topic, const std::vector<std::vector<node_id>>& assignment) {
  if (topic.name.empty()) return make_error(errc::invalid_argument, "a topic needs a name");
  if (topic.partitions < 1) {
    return make_error(errc::invalid_argument, fmt::format("topic {} needs at least one partition", topic.name));
  }
  STRATA_TRY(check_assignment(topic.name, assignment, topic.partitions));
  std::vector<txn_op> ops{txn_op::put(topic_key(topic.name), encode_topic(topic))};
  for (int32_t i = 0; i < topic.partitions; ++i)
    ops.push_back(put_partition(initial_partition(topic.name, i, assignment[i])));
  auto outcome = coord_.commit({txn_condition{topic_key(topic.name), 0}}, ops);
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) return make_error(errc::already_exists, fmt::format("topic {} exists already", topic.name));
  poll_again_ = true;
  spdlog::info("cluster: created topic {} ({} partition(s), replication factor {})", topic.name, topic.partitions,
               topic.replication_factor);
  return {};
}

status agent::do_delete_topic(const std::string& name) {
  auto topic = coord_.get(topic_key(name));
  if (!topic) return topic.err();
  if (!*topic) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  auto partitions = coord_.range(fmt::format("{}{}/", partitions_prefix, name));
  if (!partitions) return partitions.err();
  std::vector<txn_op> ops{txn_op::remove(topic_key(name))};
  for (const kv_entry& e : partitions->entries) ops.push_back(txn_op::remove(e.key));
  auto outcome = coord_.commit({txn_condition{topic_key(name), (*topic)->mod_revision}}, ops);
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) {
    return make_error(errc::unavailable, fmt::format("topic {} changed while it was being deleted; retry", name));
  }
  poll_again_ = true;
  spdlog::info("cluster: deleted topic {}", name);
  return {};
}

status agent::do_add_partitions(const std::string& name, int32_t new_total,
                                const std::vector<std::vector<node_id>>& assignment_of_new) {
  auto entry = coord_.get(topic_key(name));
  if (!entry) return entry.err();
  if (!*entry) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  auto topic = decode_topic(name, (*entry)->value);
  if (!topic) return topic.err();
  const int32_t current = topic->partitions;
  if (new_total <= current) {
    return make_error(
        errc::invalid_argument,
        fmt::format("topic {} has {} partition(s); the new total {} must be larger", name, current, new_total));
  }
  STRATA_TRY(check_assignment(name, assignment_of_new, int64_t{new_total} - current));
  topic->partitions = new_total;
  std::vector<txn_op> ops{txn_op::put(topic_key(name), encode_topic(*topic))};
  for (int32_t i = current; i < new_total; ++i) {
    ops.push_back(put_partition(initial_partition(name, i, assignment_of_new[i - current])));
  }
  auto outcome = coord_.commit({txn_condition{topic_key(name), (*entry)->mod_revision}}, ops);
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) {
    return make_error(errc::unavailable, fmt::format("topic {} changed while partitions were added; retry", name));
  }
  poll_again_ = true;
  spdlog::info("cluster: topic {} grew from {} to {} partitions", name, current, new_total);
  return {};
}

status agent::do_alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs) {
  auto entry = coord_.get(topic_key(name));
  if (!entry) return entry.err();
  if (!*entry) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  auto topic = decode_topic(name, (*entry)->value);
  if (!topic) return topic.err();
  topic->configs = configs;
  auto outcome = coord_.commit({txn_condition{topic_key(name), (*entry)->mod_revision}},
                               {txn_op::put(topic_key(name), encode_topic(*topic))});
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) {
    return make_error(errc::unavailable, fmt::format("topic {} changed while its configs were altered; retry", name));
  }
  poll_again_ = true;
  spdlog::info("cluster: topic {} configs changed", name);
  return {};
}

status agent::do_change_partition(const partition_state& proposed) {
  std::string key = partition_key(proposed.topic, proposed.partition);
  if (proposed.revision <= 0) {
    return make_error(errc::invalid_argument, fmt::format("{}: a change must carry the revision it was based on", key));
  }
  auto outcome = coord_.commit({txn_condition{key, proposed.revision}}, {put_partition(proposed)});
  if (!outcome) return outcome.err();
  if (!outcome->succeeded) {
    return make_error(errc::unavailable, fmt::format("{}: partition state changed; retry", key));
  }
  poll_again_ = true;
  return {};
}

void agent::rebalance(rebalance_request request, std::function<void(result<rebalance_plan>)> done) {
  auto plan = std::make_shared<rebalance_plan>();
  enqueue(job{[this, request, plan] { return do_rebalance(request, *plan); },
              [plan, done = std::move(done)](status s) {
                if (!s) return done(s.err());
                done(std::move(*plan));
              }});
}

status agent::do_rebalance(const rebalance_request& request, rebalance_plan& plan) {
  if (request.throttle_bytes_per_second < 0) {
    return make_error(errc::invalid_argument, "the replication throttle must be 0 (unlimited) or more bytes per second");
  }
  auto view = poll();
  if (!view) return view.err();
  plan = plan_rebalance(*view);
  if (request.dry_run || plan.changes.empty()) return {};
  if (request.throttle_bytes_per_second > 0) {
    auto outcome = coord_.commit({}, {txn_op::put(throttle_key, encode_throttle({request.throttle_bytes_per_second, 0}))});
    if (!outcome) return outcome.err();
  }
  std::vector<partition_state> written;
  for (const partition_state& next : plan.changes) {
    auto outcome = coord_.commit({txn_condition{partition_key(next.topic, next.partition), next.revision}},
                                 {put_partition(next)});
    if (!outcome) return outcome.err();
    if (outcome->succeeded) {
      written.push_back(next);
      spdlog::info("cluster: {}/{}: moving to replicas [{}]", next.topic, next.partition,
                   fmt::join(next.moving() ? next.target_replicas : next.replicas, ","));
    } else {
      ++plan.skipped;
    }
  }
  plan.changes = std::move(written);
  tally_moves(*view, plan);
  poll_again_ = true;
  return {};
}

cluster_view agent::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

bool agent::is_controller() const {
  std::lock_guard lock(mutex_);
  return view_.controller == config_.self.id;
}

agent_stats agent::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void agent::note_error(const char* what, const error& e) {
  int64_t now = now_ms();
  if (last_error_log_ms_ != 0 && now - last_error_log_ms_ < error_log_interval_ms) {
    ++errors_not_logged_;
    return;
  }
  spdlog::warn("cluster: node {}: {} failed: {} ({}); retrying every poll{}", config_.self.id, what, e.message,
               errc_name(e.code),
               errors_not_logged_ ? fmt::format(" ({} similar error(s) not logged)", errors_not_logged_) : "");
  last_error_log_ms_ = now;
  errors_not_logged_ = 0;
}

}  // namespace strata::cluster
