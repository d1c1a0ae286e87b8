#include "kafka/groups/coordinator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <utility>

#include "meta/kv.h"

namespace strata::kafka::groups {

namespace {

// OFFSET_METADATA_TOO_LARGE, missing from kafka/protocol/api.h's error_code.

template <class F>
F take(F& f) {
  F out = std::move(f);
  f = nullptr;
  return out;
}

join_group_response join_error(error_code e, std::string member_id) {
  join_group_response r;
  r.error = e;
  r.member_id = std::move(member_id);
  return r;
}

sync_group_response sync_error(error_code e) {
  sync_group_response r;
  r.error = e;
  return r;
}

std::vector<const member*> by_join_order(const group& g) {
  std::vector<const member*> out;
  out.reserve(g.members.size());
  for (const auto& [id, m] : g.members) out.push_back(&m);
  std::sort(out.begin(), out.end(), [](const member* a, const member* b) { return a->join_order < b->join_order; });
  return out;
}

// Finds the member a request names, applying static-membership fencing: an
// instance id that belongs to another member id means this one was replaced.
error_code check_member(group& g, std::string_view member_id, const std::optional<std::string>& instance_id,
                        member** out) {
  if (instance_id) {
    member* owner = g.find_by_instance(*instance_id);
    if (owner && owner->id != member_id) return error_code::fenced_instance_id;
  }
  *out = g.find_member(member_id);
  return *out ? error_code::none : error_code::unknown_member_id;
}

error_code commit_error(errc code) {
  switch (code) {
    case errc::limit_exceeded: return error_code::invalid_commit_offset_size;
    case errc::no_space:
    case errc::io_error:
    case errc::unavailable: return error_code::coordinator_not_available;
    default: return error_code::unknown_server_error;
  }
}

// The topics in a member's ConsumerProtocolSubscription (any version starts
// with version, topics); nullopt if the bytes are not one.
std::optional<std::set<std::string>> subscription_topics(const std::vector<uint8_t>& metadata) {
  reader r(metadata);
  (void)r.i16();
  int32_t n = r.array_length(false);
  std::set<std::string> out;
  for (int32_t i = 0; i < n && r.ok(); ++i) out.insert(r.string(false));
  if (!r.ok() || n < 0) return std::nullopt;
  return out;
}

// Every topic any member may consume, over all the protocols it offered;
// nullopt when a member's metadata cannot be read.
std::optional<std::set<std::string>> subscribed_topics(const group& g) {
  std::set<std::string> out;
  for (const auto& [id, m] : g.members) {
    for (const auto& p : m.protocols) {
      auto topics = subscription_topics(p.metadata);
      if (!topics) return std::nullopt;
      out.insert(topics->begin(), topics->end());
    }
  }
  return out;
}

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

coordinator::coordinator(scheduler& sched, meta::kv& kv, coordinator_config cfg)
    : sched_(sched), cfg_(cfg), offsets_(kv, cfg.committed_offsets_max), rng_(std::random_device{}()) {}

coordinator::~coordinator() {
  for (auto& [id, g] : groups_) {
    cancel_timer(g->rebalance_timer);
    for (auto& [mid, m] : g->members) cancel_timer(m.session_timer);
    for (auto& [mid, timer] : g->pending_members) cancel_timer(timer);
  }
}

status coordinator::load() { return offsets_.load(); }

void coordinator::cancel_timer(scheduler::timer_id& id) {
  if (id != 0) sched_.cancel(id);
  id = 0;
}

group* coordinator::find_group(std::string_view id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const group* coordinator::find_group(std::string_view id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

// Groups without members are forgotten; their offsets stay in offsets_.
void coordinator::maybe_erase_group(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return;
  group& g = *it->second;
  if (g.state != group_state::empty || !g.members.empty() || !g.pending_members.empty()) return;
  cancel_timer(g.rebalance_timer);
  groups_.erase(it);
}

std::string coordinator::new_member_id(std::string_view prefix) {
  prefix = prefix.substr(0, cfg_.client_id_bytes_in_member_id_max);
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                   // uuid version 4
  lo = (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56);       // RFC 4122 variant
  char uuid[37];
  std::snprintf(uuid, sizeof(uuid), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return std::string(prefix) + "-" + uuid;
}

// ---- JoinGroup ------------------------------------------------------------

error_code coordinator::validate_join(const join_group_request& req) const {
  if (req.group_id.empty()) return error_code::invalid_group_id;
  if (req.session_timeout_ms < cfg_.session_timeout_min_ms || req.session_timeout_ms > cfg_.session_timeout_max_ms) {
    return error_code::invalid_session_timeout;
  }
  if (req.protocol_type.empty() || req.protocols.empty()) return error_code::inconsistent_group_protocol;
  if (req.protocols.size() > cfg_.protocols_per_member_max) return error_code::invalid_request;
  uint64_t metadata_bytes = 0;
  for (const auto& p : req.protocols) metadata_bytes += p.name.size() + p.metadata.size();
  if (metadata_bytes > cfg_.member_metadata_bytes_max) return error_code::invalid_request;
  return error_code::none;
}

void coordinator::join(join_group_request req, const join_context& ctx, join_callback done) {
  if (req.rebalance_timeout_ms <= 0) req.rebalance_timeout_ms = req.session_timeout_ms;
  if (foreign(req.group_id)) return done(join_error(error_code::not_coordinator, req.member_id));
  error_code err = validate_join(req);
  if (err != error_code::none) return done(join_error(err, req.member_id));
  group* g = find_group(req.group_id);
  if (!g) {
    if (!req.member_id.empty()) return done(join_error(error_code::unknown_member_id, req.member_id));
    if (groups_.size() >= cfg_.groups_max) return done(join_error(error_code::coordinator_not_available, ""));
    auto created = std::make_unique<group>();
    created->id = req.group_id;
    g = created.get();
    groups_.emplace(req.group_id, std::move(created));
  }
  const std::string group_id = g->id;
  if (!supports_protocols(*g, req.protocol_type, req.protocols)) {
    done(join_error(error_code::inconsistent_group_protocol, req.member_id));
  } else if (req.member_id.empty()) {
    join_new_member(*g, std::move(req), ctx, std::move(done));
  } else {
    join_known_member(*g, std::move(req), ctx, std::move(done));
  }
  maybe_erase_group(group_id);
}

void coordinator::join_new_member(group& g, join_group_request req, const join_context& ctx, join_callback done) {
  if (req.group_instance_id) {
    // A static member restarting under a new id replaces its old incarnation.
    if (member* old = g.find_by_instance(*req.group_instance_id)) {
      remove_member(g, old->id, error_code::fenced_instance_id);
    }
  }
  if (g.members.size() + g.pending_members.size() >= static_cast<size_t>(cfg_.group_max_size)) {
    return done(join_error(error_code::group_max_size_reached, ""));
  }
  std::string id = new_member_id(req.group_instance_id ? *req.group_instance_id : ctx.client_id);
  if (!req.group_instance_id && ctx.require_known_member_id) {
    add_pending_member(g, id, req.session_timeout_ms);
    return done(join_error(error_code::member_id_required, id));
  }
  add_member_and_rebalance(g, id, std::move(req), ctx, std::move(done));
}

void coordinator::join_known_member(group& g, join_group_request req, const join_context& ctx, join_callback done) {
  if (auto pending = g.pending_members.find(req.member_id); pending != g.pending_members.end()) {
    cancel_timer(pending->second);
    g.pending_members.erase(pending);
    std::string id = req.member_id;
    return add_member_and_rebalance(g, id, std::move(req), ctx, std::move(done));
  }
  member* m = nullptr;
  error_code err = check_member(g, req.member_id, req.group_instance_id, &m);
  if (err != error_code::none) return done(join_error(err, req.member_id));
  switch (g.state) {
    case group_state::preparing_rebalance:
      return update_member_and_rebalance(g, *m, std::move(req), std::move(done));
    case group_state::completing_rebalance:
    case group_state::stable: {
      // A follower that lost its JoinGroup response gets the current generation
      // again; the leader or a member with new protocols triggers a rebalance.
      bool leader_in_stable = g.state == group_state::stable && m->id == g.leader_id;
      if (leader_in_stable || !m->same_protocols(req.protocols)) {
        return update_member_and_rebalance(g, *m, std::move(req), std::move(done));
      }
      arm_session_timer(g, *m);
      return done(current_generation_response(g, *m));
    }
    case group_state::empty:
    case group_state::dead:
      return done(join_error(error_code::unknown_member_id, req.member_id));
  }
}

void coordinator::add_pending_member(group& g, const std::string& member_id, int32_t session_timeout_ms) {
  g.pending_members[member_id] = sched_.after(
      session_timeout_ms, [this, gid = g.id, member_id] { on_pending_timeout(gid, member_id); });
}

void coordinator::add_member_and_rebalance(group& g, const std::string& member_id, join_group_request req,
                                           const join_context& ctx, join_callback done) {
  member m;
  m.id = member_id;
  m.instance_id = std::move(req.group_instance_id);
  m.client_id = ctx.client_id;
  m.client_host = ctx.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = std::move(req.protocols);
  m.awaiting_join = std::move(done);
  m.join_order = g.next_join_order++;
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  auto [it, inserted] = g.members.emplace(member_id, std::move(m));
  STRATA_ASSERT(inserted, "member id issued twice");
  if (g.leader_id.empty()) g.leader_id = member_id;
  if (g.in_initial_delay) g.new_member_added = true;
  arm_session_timer(g, it->second);
  maybe_prepare_rebalance(g);
  try_complete_join(g);
}

void coordinator::update_member_and_rebalance(group& g, member& m, join_group_request req, join_callback done) {
  if (auto previous = take(m.awaiting_join)) previous(join_error(error_code::rebalance_in_progress, m.id));
  m.protocols = std::move(req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.awaiting_join = std::move(done);
  arm_session_timer(g, m);
  maybe_prepare_rebalance(g);
  try_complete_join(g);
}

join_group_response coordinator::current_generation_response(const group& g, const member& m) const {
  join_group_response r;
  r.generation_id = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader_id;
  r.member_id = m.id;
  if (m.id != g.leader_id || !g.protocol_name) return r;
  for (const member* each : by_join_order(g)) {
    const std::vector<uint8_t>* metadata = each->metadata_for(*g.protocol_name);
    STRATA_ASSERT(metadata != nullptr, "member lacks the selected protocol");
    r.members.push_back(join_group_member{each->id, each->instance_id, *metadata});
  }
  return r;
}

// ---- Rebalance ------------------------------------------------------------

void coordinator::maybe_prepare_rebalance(group& g) {
  if (g.state == group_state::empty || g.state == group_state::stable ||
      g.state == group_state::completing_rebalance) {
    prepare_rebalance(g);
  }
}

void coordinator::prepare_rebalance(group& g) {
  std::vector<sync_callback> interrupted;
  if (g.state == group_state::completing_rebalance) {
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      if (!m.awaiting_sync) continue;
      // It was waiting on us, so its session restarts when we answer.
      interrupted.push_back(take(m.awaiting_sync));
      arm_session_timer(g, m);
    }
  }
  const bool initial = g.state == group_state::empty;
  g.state = group_state::preparing_rebalance;
  cancel_timer(g.rebalance_timer);
  const int64_t timeout_ms = g.max_rebalance_timeout_ms();
  if (initial && cfg_.initial_rebalance_delay_ms > 0) {
    // Kafka's initial delay: wait for more of a starting fleet before the
    // first generation, extended while members keep arriving, within the
    // rebalance timeout.
    const int64_t delay_ms = std::min(cfg_.initial_rebalance_delay_ms, timeout_ms);
    g.in_initial_delay = true;
    g.new_member_added = false;
    g.initial_delay_remaining_ms = std::max<int64_t>(timeout_ms - cfg_.initial_rebalance_delay_ms, 0);
    g.rebalance_timer = sched_.after(delay_ms, [this, gid = g.id] { on_initial_delay_expired(gid); });
  } else {
    g.in_initial_delay = false;
    g.rebalance_timer = sched_.after(timeout_ms, [this, gid = g.id] { on_rebalance_timeout(gid); });
  }
  for (auto& cb : interrupted) cb(sync_error(error_code::rebalance_in_progress));
}

void coordinator::try_complete_join(group& g) {
  if (g.state == group_state::preparing_rebalance && !g.in_initial_delay && g.all_members_joined()) {
    complete_join(g);
  }
}

void coordinator::complete_join(group& g) {
  cancel_timer(g.rebalance_timer);
  g.in_initial_delay = false;
  std::vector<std::string> missing;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join) missing.push_back(id);
  }
  for (const auto& id : missing) erase_member(g, id, error_code::unknown_member_id);
  ++g.generation;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol_name.reset();
    g.leader_id.clear();
    return;
  }
  g.protocol_name = select_protocol(g);
  g.state = group_state::completing_rebalance;
  g.rebalance_timer = sched_.after(g.max_rebalance_timeout_ms(), [this, gid = g.id] { on_sync_timeout(gid); });
  std::vector<std::pair<join_callback, join_group_response>> replies;
  for (auto& [id, m] : g.members) {
    arm_session_timer(g, m);
    replies.emplace_back(take(m.awaiting_join), current_generation_response(g, m));
  }
  for (auto& [cb, resp] : replies) cb(std::move(resp));
}

void coordinator::on_initial_delay_expired(const std::string& group_id) {
  group* g = find_group(group_id);
  if (!g || g->state != group_state::preparing_rebalance || !g->in_initial_delay) return;
  g->rebalance_timer = 0;
  if (g->new_member_added && g->initial_delay_remaining_ms > 0) {
    const int64_t delay_ms = std::min(cfg_.initial_rebalance_delay_ms, g->initial_delay_remaining_ms);
    g->new_member_added = false;
    g->initial_delay_remaining_ms -= delay_ms;
    g->rebalance_timer = sched_.after(delay_ms, [this, group_id] { on_initial_delay_expired(group_id); });
    return;
  }
  complete_join(*g);
  maybe_erase_group(group_id);
}

void coordinator::on_rebalance_timeout(const std::string& group_id) {
  group* g = find_group(group_id);
  if (!g || g->state != group_state::preparing_rebalance) return;
  g->rebalance_timer = 0;
  complete_join(*g);
  maybe_erase_group(group_id);
}

// A leader that heartbeats but never sends its assignment would hold the
// group in CompletingRebalance forever: after the rebalance timeout, members
// that have not sent SyncGroup are dropped and the rest rebalance.
void coordinator::on_sync_timeout(const std::string& group_id) {
  group* g = find_group(group_id);
  if (!g || g->state != group_state::completing_rebalance) return;
  g->rebalance_timer = 0;
  std::vector<std::string> silent;
  for (const auto& [id, m] : g->members) {
    if (!m.awaiting_sync) silent.push_back(id);
  }
  for (const auto& id : silent) erase_member(*g, id, error_code::unknown_member_id);
  prepare_rebalance(*g);
  try_complete_join(*g);
  maybe_erase_group(group_id);
}

// ---- SyncGroup ------------------------------------------------------------

void coordinator::sync(sync_group_request req, sync_callback done) {
  if (foreign(req.group_id)) return done(sync_error(error_code::not_coordinator));
  group* g = find_group(req.group_id);
  if (!g) return done(sync_error(error_code::unknown_member_id));
  member* m = nullptr;
  error_code err = check_member(*g, req.member_id, req.group_instance_id, &m);
  if (err != error_code::none) return done(sync_error(err));
  if (req.generation_id != g->generation) return done(sync_error(error_code::illegal_generation));
  if ((req.protocol_type && *req.protocol_type != g->protocol_type) ||
      (req.protocol_name && req.protocol_name != g->protocol_name)) {
    return done(sync_error(error_code::inconsistent_group_protocol));
  }
  switch (g->state) {
    case group_state::empty:
    case group_state::dead: return done(sync_error(error_code::unknown_member_id));
    case group_state::preparing_rebalance: return done(sync_error(error_code::rebalance_in_progress));
    case group_state::completing_rebalance:
      if (auto previous = take(m->awaiting_sync)) previous(sync_error(error_code::rebalance_in_progress));
      m->awaiting_sync = std::move(done);
      arm_session_timer(*g, *m);
      if (m->id == g->leader_id) complete_sync(*g, req.assignments);
      return;
    case group_state::stable: {
      arm_session_timer(*g, *m);
      sync_group_response r;
      r.protocol_type = g->protocol_type;
      r.protocol_name = g->protocol_name;
      r.assignment = m->assignment;
      return done(std::move(r));
    }
  }
}

void coordinator::complete_sync(group& g, const std::vector<sync_assignment>& assignments) {
  cancel_timer(g.rebalance_timer);
  for (auto& [id, m] : g.members) m.assignment.clear();
  for (const auto& a : assignments) {
    if (member* target = g.find_member(a.member_id)) target->assignment = a.assignment;
  }
  g.state = group_state::stable;
  std::vector<std::pair<sync_callback, sync_group_response>> replies;
  for (auto& [id, m] : g.members) {
    if (!m.awaiting_sync) continue;
    arm_session_timer(g, m);
    sync_group_response r;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol_name;
    r.assignment = m.assignment;
    replies.emplace_back(take(m.awaiting_sync), std::move(r));
  }
  for (auto& [cb, resp] : replies) cb(std::move(resp));
}

// ---- Heartbeat, LeaveGroup, session expiry --------------------------------

error_code coordinator::heartbeat(const heartbeat_request& req) {
  if (foreign(req.group_id)) return error_code::not_coordinator;
  group* g = find_group(req.group_id);
  if (!g) return error_code::unknown_member_id;
  member* m = nullptr;
  error_code err = check_member(*g, req.member_id, req.group_instance_id, &m);
  if (err != error_code::none) return err;
  if (g->state == group_state::empty || g->state == group_state::dead) return error_code::unknown_member_id;
  if (req.generation_id != g->generation) return error_code::illegal_generation;
  arm_session_timer(*g, *m);
  // Between JoinGroup and SyncGroup a heartbeat is ordinary (as in Kafka 2.5+).
  if (g->state == group_state::preparing_rebalance) return error_code::rebalance_in_progress;
  return error_code::none;
}

leave_group_response coordinator::leave(const leave_group_request& req) {
  leave_group_response resp;
  if (req.group_id.empty() || foreign(req.group_id)) {
    resp.error = req.group_id.empty() ? error_code::invalid_group_id : error_code::not_coordinator;
    return resp;
  }
  group* g = find_group(req.group_id);
  for (const auto& who : req.members) {
    error_code e = g ? leave_one(*g, who) : error_code::unknown_member_id;
    resp.members.push_back(leave_member_result{who.member_id, who.group_instance_id, e});
  }
  maybe_erase_group(req.group_id);
  return resp;
}

error_code coordinator::leave_one(group& g, const leave_member& who) {
  if (who.group_instance_id) {
    member* m = g.find_by_instance(*who.group_instance_id);
    if (!m) return error_code::unknown_member_id;
    if (!who.member_id.empty() && m->id != who.member_id) return error_code::fenced_instance_id;
    remove_member(g, m->id, error_code::unknown_member_id);
    return error_code::none;
  }
  if (auto pending = g.pending_members.find(who.member_id); pending != g.pending_members.end()) {
    cancel_timer(pending->second);
    g.pending_members.erase(pending);
    try_complete_join(g);
    return error_code::none;
  }
  if (!g.find_member(who.member_id)) return error_code::unknown_member_id;
  remove_member(g, who.member_id, error_code::unknown_member_id);
  return error_code::none;
}

void coordinator::arm_session_timer(group& g, member& m) {
  cancel_timer(m.session_timer);
  m.session_timer = sched_.after(m.session_timeout_ms,
                                 [this, gid = g.id, mid = m.id] { on_session_timeout(gid, mid); });
}

void coordinator::on_session_timeout(const std::string& group_id, const std::string& member_id) {
  group* g = find_group(group_id);
  member* m = g ? g->find_member(member_id) : nullptr;
  if (!m) return;
  m->session_timer = 0;
  // A member whose JoinGroup or SyncGroup is parked is waiting on us, not silent.
  if (m->awaiting_join || m->awaiting_sync) return arm_session_timer(*g, *m);
  remove_member(*g, member_id, error_code::unknown_member_id);
  maybe_erase_group(group_id);
}

void coordinator::on_pending_timeout(const std::string& group_id, const std::string& member_id) {
  group* g = find_group(group_id);
  if (!g) return;
  auto it = g->pending_members.find(member_id);
  if (it == g->pending_members.end()) return;
  g->pending_members.erase(it);
  try_complete_join(*g);
  maybe_erase_group(group_id);
}

void coordinator::remove_member(group& g, std::string member_id, error_code reason) {
  erase_member(g, member_id, reason);
  if (g.state == group_state::stable || g.state == group_state::completing_rebalance) prepare_rebalance(g);
  try_complete_join(g);
}

// Drops a member without moving the group's state; answers its parked requests.
void coordinator::erase_member(group& g, std::string member_id, error_code reason) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  cancel_timer(it->second.session_timer);
  join_callback join_cb = take(it->second.awaiting_join);
  sync_callback sync_cb = take(it->second.awaiting_sync);
  g.members.erase(it);
  if (g.leader_id == member_id) {
    auto order = by_join_order(g);
    g.leader_id = order.empty() ? "" : order.front()->id;
  }
  if (join_cb) join_cb(join_error(reason, member_id));
  if (sync_cb) sync_cb(sync_error(reason));
}

// ---- Offsets --------------------------------------------------------------

error_code coordinator::validate_commit(const offset_commit_request& req) {
  if (req.group_id.empty()) return error_code::invalid_group_id;
  if (foreign(req.group_id)) return error_code::not_coordinator;
  group* g = find_group(req.group_id);
  // Without a live group only commits outside group management are accepted.
  if (!g) return req.generation_id < 0 ? error_code::none : error_code::illegal_generation;
  if (req.group_instance_id) {
    member* owner = g->find_by_instance(*req.group_instance_id);
    if (owner && owner->id != req.member_id) return error_code::fenced_instance_id;
  }
  if (req.generation_id < 0 && g->state == group_state::empty) return error_code::none;
  member* m = g->find_member(req.member_id);
  if (!m) return error_code::unknown_member_id;
  if (req.generation_id != g->generation) return error_code::illegal_generation;
  if (g->state == group_state::completing_rebalance) return error_code::rebalance_in_progress;
  arm_session_timer(*g, *m);
  return error_code::none;
}

error_code coordinator::check_txn_member(const std::string& group_id, int32_t generation_id, const std::string& member_id,
                                         const std::optional<std::string>& group_instance_id) {
  offset_commit_request req;
  req.group_id = group_id;
  req.generation_id = generation_id;
  req.member_id = member_id;
  req.group_instance_id = group_instance_id;
  return validate_commit(req);
}

coordinator::commit_plan coordinator::plan_commit(const offset_commit_request& req, const partition_exists_fn& exists) {
  const error_code group_error = validate_commit(req);
  const int64_t now_ms = wall_clock_ms();
  commit_plan plan;
  for (const auto& topic : req.topics) {
    auto& out = plan.resp.topics.emplace_back();
    out.name = topic.name;
    for (const auto& p : topic.partitions) {
      error_code e = group_error;
      if (e == error_code::none && p.metadata && p.metadata->size() > cfg_.offset_metadata_bytes_max) {
        e = error_code::offset_metadata_too_large;
      }
      if (e == error_code::none && exists && !exists(topic.name, p.partition)) {
        e = error_code::unknown_topic_or_partition;
      }
      out.partitions.push_back(offset_commit_partition_result{p.partition, e});
      if (e != error_code::none) continue;
      plan.entries.emplace_back(topic_partition{topic.name, p.partition},
                                committed_offset{p.offset, p.leader_epoch, p.metadata.value_or(""), now_ms});
      plan.slots.emplace_back(plan.resp.topics.size() - 1, out.partitions.size() - 1);
    }
  }
  return plan;
}

void coordinator::fail_slots(commit_plan& plan, error_code e) const {
  for (auto [t, p] : plan.slots) plan.resp.topics[t].partitions[p].error = e;
}

offset_commit_response coordinator::commit_offsets(const offset_commit_request& req, const partition_exists_fn& exists) {
  commit_plan plan = plan_commit(req, exists);
  if (plan.entries.empty()) return plan.resp;
  status stored = offsets_.commit(req.group_id, plan.entries);
  if (!stored.ok()) fail_slots(plan, commit_error(stored.code()));
  return plan.resp;
}

void coordinator::commit_offsets_replicated(const offset_commit_request& req, const partition_exists_fn& exists,
                                            std::function<void(offset_commit_response)> done) {
  if (!hooks_.replicate) return done(commit_offsets(req, exists));
  auto plan = std::make_shared<commit_plan>(plan_commit(req, exists));
  if (plan->entries.empty()) return done(plan->resp);
  hooks_.replicate(req.group_id, plan->entries, [this, plan, group = req.group_id, done = std::move(done)](error_code e) {
    if (e == error_code::none) {
      status stored = offsets_.commit(group, plan->entries);
      if (!stored.ok()) e = commit_error(stored.code());
    }
    if (e != error_code::none) fail_slots(*plan, e);
    done(plan->resp);
  });
}

offset_fetch_response coordinator::fetch_offsets(const offset_fetch_request& req) const {
  offset_fetch_response resp;
  if (req.group_id.empty()) resp.error = error_code::invalid_group_id;
  if (resp.error == error_code::none && foreign(req.group_id)) resp.error = error_code::not_coordinator;
  auto result_for = [&](int32_t partition, const committed_offset* c) {
    offset_fetch_partition_result r;
    r.partition = partition;
    r.metadata = "";
    r.error = resp.error;
    if (c && resp.error == error_code::none) {
      r.offset = c->offset;
      r.leader_epoch = c->leader_epoch;
      r.metadata = c->metadata;
    }
    return r;
  };
  if (req.topics) {
    for (const auto& t : *req.topics) {
      auto& out = resp.topics.emplace_back();
      out.name = t.name;
      for (int32_t p : t.partitions) out.partitions.push_back(result_for(p, offsets_.find(req.group_id, {t.name, p})));
    }
  } else if (const group_offsets* all = offsets_.find_group(req.group_id)) {
    for (const auto& [tp, c] : *all) {
      if (resp.topics.empty() || resp.topics.back().name != tp.topic) resp.topics.emplace_back().name = tp.topic;
      resp.topics.back().partitions.push_back(result_for(tp.partition, &c));
    }
  }
  return resp;
}

// ---- DeleteGroups, OffsetDelete -------------------------------------------

error_code coordinator::check_deletable(const std::string& group_id) const {
  if (group_id.empty()) return error_code::invalid_group_id;
  if (foreign(group_id)) return error_code::not_coordinator;
  if (hooks_.replicate) return error_code::invalid_request;
  if (!find_group(group_id) && !offsets_.find_group(group_id)) return error_code::group_id_not_found;
  return error_code::none;
}

error_code coordinator::delete_group(const std::string& group_id) {
  if (error_code e = check_deletable(group_id); e != error_code::none) return e;
  if (const group* g = find_group(group_id); g && (!g->members.empty() || !g->pending_members.empty())) {
    return error_code::non_empty_group;
  }
  if (const group_offsets* all = offsets_.find_group(group_id)) {
    std::vector<topic_partition> tps;
    for (const auto& [tp, c] : *all) tps.push_back(tp);
    if (status erased = offsets_.erase(group_id, tps); !erased.ok()) return commit_error(erased.code());
  }
  maybe_erase_group(group_id);
  return error_code::none;
}

offset_delete_result coordinator::delete_offsets(const std::string& group_id, const std::vector<topic_partition>& partitions) {
  offset_delete_result out;
  out.error = check_deletable(group_id);
  if (out.error != error_code::none) return out;
  std::set<std::string> subscribed;
  if (const group* g = find_group(group_id); g && !g->members.empty()) {
    auto topics = g->protocol_type == "consumer" ? subscribed_topics(*g) : std::nullopt;
    if (!topics) {
      out.error = error_code::non_empty_group;
      return out;
    }
    subscribed = std::move(*topics);
  }
  std::vector<topic_partition> doomed;
  for (const auto& tp : partitions) {
    const bool in_use = subscribed.contains(tp.topic);
    out.partitions.emplace_back(tp, in_use ? error_code::group_subscribed_to_topic : error_code::none);
    if (!in_use) doomed.push_back(tp);
  }
  if (status erased = offsets_.erase(group_id, doomed); !erased.ok()) {
    for (auto& [tp, e] : out.partitions) {
      if (e == error_code::none) e = commit_error(erased.code());
    }
  }
  return out;
}

// ---- ListGroups, DescribeGroups -------------------------------------------

list_groups_response coordinator::list_groups(const list_groups_request& req) const {
  std::vector<group_state> wanted;
  for (const auto& name : req.states_filter) {
    if (auto s = parse_group_state(name)) wanted.push_back(*s);
  }
  const bool filtered = !req.states_filter.empty();
  std::map<std::string, listed_group> listed;
  auto add = [&](const std::string& id, group_state s, const std::string& protocol_type) {
    if (filtered && std::find(wanted.begin(), wanted.end(), s) == wanted.end()) return;
    listed.insert_or_assign(id, listed_group{id, protocol_type, group_state_name(s)});
  };
  for (const auto& [id, offsets] : offsets_.all()) add(id, group_state::empty, "");
  for (const auto& [id, g] : groups_) add(id, g->state, g->protocol_type);
  list_groups_response resp;
  for (auto& [id, g] : listed) resp.groups.push_back(std::move(g));
  return resp;
}

described_group coordinator::describe_one(const std::string& group_id) const {
  described_group d;
  d.group_id = group_id;
  if (group_id.empty()) {
    d.error = error_code::invalid_group_id;
    return d;
  }
  const group* g = find_group(group_id);
  if (!g) {
    d.group_state = group_state_name(offsets_.find_group(group_id) ? group_state::empty : group_state::dead);
    return d;
  }
  const bool stable = g->state == group_state::stable;
  d.group_state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  if (stable && g->protocol_name) d.protocol_data = *g->protocol_name;
  for (const member* m : by_join_order(*g)) {
    described_member dm{m->id, m->instance_id, m->client_id, m->client_host, {}, {}};
    if (stable && g->protocol_name) {
      dm.metadata = *m->metadata_for(*g->protocol_name);
      dm.assignment = m->assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

describe_groups_response coordinator::describe_groups(const describe_groups_request& req) const {
  describe_groups_response resp;
  for (const auto& id : req.groups) resp.groups.push_back(describe_one(id));
  return resp;
}

}  // namespace strata::kafka::groups
