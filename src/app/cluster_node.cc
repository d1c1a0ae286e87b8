#include "app/cluster_node.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <type_traits>

#include "cluster/agent.h"
#include "cluster/controller.h"
#include "cluster/coordinator.h"
#include "kafka/replica/fetcher.h"
#include "metrics/registry.h"
#include "streams/catalog.h"
#include "streams/service.h"

namespace strata::app {

namespace {

constexpr int64_t handoff_timeout_ms = 5000;
constexpr int64_t request_timeout_ms = 5000;
constexpr int64_t view_wait_step_ms = 10;
constexpr int64_t session_check_ms = 100;

std::vector<std::string> split_endpoints(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

streams::cluster_snapshot to_snapshot(const cluster::cluster_view& view, int32_t self) {
  streams::cluster_snapshot s;
  s.revision = view.revision;
  s.self = self;
  s.controller = view.controller;
  for (auto& n : view.nodes) s.brokers.push_back({n.id, n.host, n.kafka_port, n.replication_port, n.listener_ports});
  for (auto& t : view.topics) {
    streams::cluster_topic ct{t.name, {}, t.partitions, t.replication_factor, t.configs, {}};
    if (!streams::parse_topic_id_hex(t.id_hex, ct.id)) {
      spdlog::warn("cluster: topic {} has an unreadable id {}; skipped", t.name, t.id_hex);
      continue;
    }
    s.topics.push_back(std::move(ct));
  }
  for (auto& p : view.partitions) {
    s.partitions.push_back(
        {p.topic, p.partition, p.replicas, p.leader, p.leader_epoch, p.isr, p.revision, p.target_replicas});
  }
  s.catch_up_bytes_per_second = view.throttle.bytes_per_second;
  return s;
}

// Waits for an agent job's answer, which runs on the agent thread.
template <typename T = void>
result<T> wait_for(const std::type_identity_t<std::function<void(std::function<void(result<T>)>)>>& start) {
  auto promise = std::make_shared<std::promise<result<T>>>();
  auto answer = promise->get_future();
  start([promise](result<T> r) { promise->set_value(std::move(r)); });
  if (answer.wait_for(std::chrono::milliseconds(request_timeout_ms)) != std::future_status::ready) {
    return make_error(errc::timed_out, "the cluster's coordinator did not answer in time; is etcd reachable?");
  }
  return answer.get();
}

class node_impl final : public cluster_node, public streams::cluster_link {
 public:
  node_impl(const server_options& o, boost::asio::io_context& io, scheduler& sched, streams::service& streams,
            std::unique_ptr<cluster::coordinator> coord, cluster::agent_config agent_config, std::function<void()> on_applied,
            std::shared_ptr<boost::asio::ssl::context> fetcher_tls)
      : self_(o.node_id),
        sched_(sched),
        streams_(streams),
        on_applied_(std::move(on_applied)),
        coord_(std::move(coord)),
        fetchers_(io, streams, kafka::replica::fetcher_config{.node_id = o.node_id, .tls = std::move(fetcher_tls)}),
        agent_(*coord_, agent_config, [this](const cluster::cluster_view& view) { on_view(view); }) {}

  status start(const server_options& o) {
    streams_.attach_cluster(*this, streams::replication_config{o.replica_lag_time_max_ms, o.default_replication_factor,
                                                               o.replica_sync_before_ack});
    session_ttl_ms_ = o.cluster_session_ttl_ms;
    STRATA_TRY(agent_.start());
    watch_session();
    return {};
  }

  void add_metrics(metrics::registry& registry) {
    registry.add_collector([this](metrics::collector_sink& sink) {
      auto stats = agent_.stats();
      sink.counter("strata_cluster_leader_elections_total", "Partition leaders this node elected as controller.", {},
                   static_cast<double>(stats.leader_elections));
      sink.gauge("strata_cluster_controller", "1 when this node is the controller.", {}, agent_.is_controller() ? 1 : 0);
      sink.gauge("strata_cluster_live_nodes", "Nodes whose lease holds.", {}, static_cast<double>(agent_.view().nodes.size()));
      auto fetched = fetchers_.stats();
      sink.counter("strata_replica_fetch_bytes_total", "Bytes this node fetched from leaders as a follower.", {},
                   static_cast<double>(fetched.fetched_bytes));
      sink.counter("strata_replica_fetch_errors_total", "Failed fetches from leaders.", {}, static_cast<double>(fetched.errors));
    });
  }

  void hand_off_leadership() override {
    auto moved = agent_.hand_off_leadership(handoff_timeout_ms);
    if (!moved.ok()) {
      spdlog::warn("cluster: handing off leadership: {}", moved.err().message);
    } else {
      spdlog::info("cluster: moved leadership of {} partitions to other nodes", *moved);
    }
  }

  void stop_fetchers() override {
    fetchers_.stop();
    if (session_timer_) sched_.cancel(session_timer_);
    session_timer_ = 0;
  }
  void leave() override { agent_.stop(); }

  // streams::cluster_link
  result<streams::cluster_snapshot> create_topic(const streams::cluster_topic& topic) override {
    auto assignment = topic.assignment.empty()
                          ? cluster::assign_replicas(live_ids(), 0, topic.partitions, topic.replication_factor, random_seed())
                          : check_manual_assignment(topic);
    STRATA_TRY(assignment);
    cluster::topic_state t{topic.name, streams::topic_id_hex(topic.id), topic.partitions, topic.replication_factor, topic.configs, 0};
    STRATA_TRY(wait_for([&](auto done) { agent_.create_topic(t, *assignment, std::move(done)); }));
    return view_with(topic.name, topic.partitions);
  }

  status delete_topic(const std::string& name) override {
    return wait_for([&](auto done) { agent_.delete_topic(name, std::move(done)); });
  }

  result<streams::cluster_snapshot> add_partitions(const std::string& name, int32_t total) override {
    auto view = agent_.view();
    auto topic = std::find_if(view.topics.begin(), view.topics.end(), [&](auto& t) { return t.name == name; });
    if (topic == view.topics.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
    auto assignment = cluster::assign_replicas(live_ids(), topic->partitions, total - topic->partitions,
                                               topic->replication_factor, random_seed());
    STRATA_TRY(assignment);
    STRATA_TRY(wait_for([&](auto done) { agent_.add_partitions(name, total, *assignment, std::move(done)); }));
    return view_with(name, total);
  }

  result<streams::cluster_snapshot> alter_topic_configs(const std::string& name,
                                                       const std::map<std::string, std::string>& configs) override {
    STRATA_TRY(wait_for([&](auto done) { agent_.alter_topic_configs(name, configs, std::move(done)); }));
    return view_where(name, [&](const cluster::topic_state& t) { return t.configs == configs; });
  }

  result<admin::rebalance_outcome> rebalance(const admin::rebalance_options& options) override {
    auto plan = wait_for<cluster::rebalance_plan>([&](auto done) {
      agent_.rebalance({options.throttle_bytes_per_second, options.dry_run}, std::move(done));
    });
    STRATA_TRY(plan);
    const cluster::rebalance_plan& p = *plan;
    admin::rebalance_outcome out{{}, p.replicas_moved, p.preferred_changed, p.skipped};
    for (size_t i = 0; i < p.changes.size(); ++i) {
      const auto& next = p.changes[i];
      out.moves.push_back(admin::partition_move{next.topic, next.partition, p.replicas_before[i],
                                                next.moving() ? next.target_replicas : next.replicas});
    }
    return out;
  }

  void propose_isr(const streams::replica_assignment& current, std::vector<int32_t> isr,
                   std::function<void(status)> done) override {
    cluster::partition_state proposed{current.topic,        current.partition, current.replicas,
                                      current.leader,       current.leader_epoch, std::move(isr),
                                      current.target_replicas, current.revision};
    agent_.change_partition(std::move(proposed), [this, done = std::move(done)](status s) mutable {
      sched_.post([done = std::move(done), s = std::move(s)]() mutable { done(std::move(s)); });
    });
  }

 private:
  // A node that cannot renew its lease within the TTL may already have been
  // replaced as leader: it stops leading until its session is confirmed
  // again, then re-applies the last state it read.
  void watch_session() {
    session_timer_ = sched_.after(session_check_ms, [this] {
      session_timer_ = 0;
      const bool lapsed = agent_.lease_unconfirmed_ms() > session_ttl_ms_;
      if (lapsed && !fenced_) {
        fenced_ = true;
        streams_.fence_leadership();
      } else if (!lapsed && fenced_) {
        fenced_ = false;
        spdlog::info("cluster: this node's lease is confirmed again");
        if (last_snapshot_) streams_.apply_cluster(*last_snapshot_);
      }
      watch_session();
    });
  }

  void on_view(const cluster::cluster_view& view) {
    auto snapshot = std::make_shared<streams::cluster_snapshot>(to_snapshot(view, self_));
    sched_.post([this, snapshot] {
      last_snapshot_ = snapshot;
      if (fenced_) return;
      streams_.apply_cluster(*snapshot);
      fetchers_.refresh();
      if (on_applied_) on_applied_();
    });
  }

  std::vector<cluster::node_id> live_ids() const {
    std::vector<cluster::node_id> ids;
    for (auto& n : agent_.view().nodes) ids.push_back(n.id);
    return ids;
  }

  static uint32_t random_seed() { return std::random_device{}(); }

  // A CreateTopics replica assignment: every partition's replicas distinct,
  // as many for each, and on nodes that are alive now.
  result<std::vector<std::vector<cluster::node_id>>> check_manual_assignment(const streams::cluster_topic& topic) const {
    auto view = agent_.view();
    for (const auto& replicas : topic.assignment) {
      if (static_cast<int32_t>(replicas.size()) != topic.replication_factor) {
        return make_error(errc::invalid_argument,
                          fmt::format("every partition of {} needs {} replicas, as many as the first", topic.name,
                                      topic.replication_factor));
      }
      std::set<int32_t> distinct(replicas.begin(), replicas.end());
      if (distinct.size() != replicas.size()) {
        return make_error(errc::invalid_argument, fmt::format("a partition of {} names a node twice", topic.name));
      }
      for (int32_t id : replicas) {
        if (!view.alive(id)) {
          return make_error(errc::invalid_argument,
                            fmt::format("node {} is not a live member of the cluster; strata cluster status lists them", id));
        }
      }
    }
    return topic.assignment;
  }

  // The first view that shows the topic with `partitions` partitions: what
  // this node serves until the view it applies next.
  result<streams::cluster_snapshot> view_with(const std::string& topic, int32_t partitions) {
    return view_where(topic, [&](const cluster::topic_state& t) { return t.partitions >= partitions; });
  }

  // The first view in which the topic is as `written` says.
  result<streams::cluster_snapshot> view_where(const std::string& topic,
                                               const std::function<bool(const cluster::topic_state&)>& written) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto view = agent_.view();
      auto it = std::find_if(view.topics.begin(), view.topics.end(), [&](auto& t) { return t.name == topic; });
      if (it != view.topics.end() && written(*it)) return to_snapshot(view, self_);
      std::this_thread::sleep_for(std::chrono::milliseconds(view_wait_step_ms));
    }
    return make_error(errc::timed_out, fmt::format("topic {} was written but is not visible yet; retry", topic));
  }

  const int32_t self_;
  scheduler& sched_;
  streams::service& streams_;
  std::function<void()> on_applied_;
  int64_t session_ttl_ms_ = 0;
  scheduler::timer_id session_timer_ = 0;
  bool fenced_ = false;
  std::shared_ptr<streams::cluster_snapshot> last_snapshot_;
  std::unique_ptr<cluster::coordinator> coord_;
  kafka::replica::fetchers fetchers_;
  cluster::agent agent_;
};

}  // namespace

cluster::etcd_config etcd_settings(const server_options& o) {
  cluster::etcd_config etcd;
  etcd.endpoints = split_endpoints(o.cluster_etcd);
  etcd.tls = {o.etcd_tls_ca, o.etcd_tls_cert, o.etcd_tls_key};
  return etcd;
}

result<std::unique_ptr<cluster_node>> cluster_node::start(const server_options& o, const std::string& advertised_host,
                                                          int32_t kafka_port, int32_t replication_port,
                                                          std::map<std::string, int32_t> listener_ports,
                                                          std::shared_ptr<boost::asio::ssl::context> fetcher_tls,
                                                          boost::asio::io_context& io, scheduler& sched,
                                                          streams::service& streams, metrics::registry& registry,
                                                          std::function<void()> on_applied) {
  if (o.node_id < 0) return make_error(errc::invalid_argument, "--cluster-etcd needs --node-id N, unique in the cluster");
  auto coord = cluster::connect_etcd(etcd_settings(o));
  STRATA_TRY(coord);
  cluster::agent_config agent_config;
  agent_config.self = {o.node_id, advertised_host, kafka_port, 0, replication_port, std::move(listener_ports)};
  agent_config.session_ttl_ms = o.cluster_session_ttl_ms;
  agent_config.poll_interval_ms = o.cluster_poll_interval_ms;
  agent_config.preferred_leader_check_ms = o.leader_rebalance_interval_ms;
  auto node = std::make_unique<node_impl>(o, io, sched, streams, std::move(*coord), agent_config, std::move(on_applied),
                                          std::move(fetcher_tls));
  STRATA_TRY(node->start(o));
  node->add_metrics(registry);
  spdlog::info("cluster: node {} joined through etcd at {} (advertised as {}:{})", o.node_id, o.cluster_etcd, advertised_host,
               kafka_port);
  return std::unique_ptr<cluster_node>(std::move(node));
}

}  // namespace strata::app
