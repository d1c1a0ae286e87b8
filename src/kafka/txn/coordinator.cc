#include "kafka/txn/coordinator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "kafka/groups/coordinator.h"
#include "meta/kv.h"
#include "streams/service.h"

namespace strata::kafka::txn {

namespace {

constexpr std::string_view kv_prefix = "kafka/txn/";
constexpr int format_version = 1;
constexpr int16_t epoch_max = std::numeric_limits<int16_t>::max() - 1;  // Kafka leaves the last epoch unused

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Group ids and offset metadata are whatever bytes the client sent, which a
// JSON string cannot always hold (dump() throws on invalid UTF-8): the record
// keeps them in hex. Topic names are ASCII (validate_topic_name).
std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

bool is_prepare(txn_state s) { return s == txn_state::prepare_commit || s == txn_state::prepare_abort; }
bool is_settled(txn_state s) {
  return s == txn_state::empty || s == txn_state::complete_commit || s == txn_state::complete_abort;
}

}  // namespace

const char* state_name(txn_state s) {
  switch (s) {
    case txn_state::empty: return "Empty";
    case txn_state::ongoing: return "Ongoing";
    case txn_state::prepare_commit: return "PrepareCommit";
    case txn_state::prepare_abort: return "PrepareAbort";
    case txn_state::complete_commit: return "CompleteCommit";
    case txn_state::complete_abort: return "CompleteAbort";
  }
  return "Unknown";
}

std::string encode_txn_metadata(const txn_metadata& m) {
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& tp : m.partitions) partitions.push_back({tp.topic, tp.partition});
  nlohmann::json offsets = nlohmann::json::array();
  for (const auto& o : m.pending_offsets) {
    offsets.push_back({{"group_hex", to_hex(o.group)}, {"topic", o.tp.topic}, {"partition", o.tp.partition},
                       {"offset", o.value.offset}, {"leader_epoch", o.value.leader_epoch},
                       {"metadata_hex", to_hex(o.value.metadata)}, {"timestamp_ms", o.value.commit_timestamp_ms}});
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : m.groups) groups.push_back(to_hex(g));
  nlohmann::json j = {{"version", format_version},
                      {"producer_id", m.producer_id},
                      {"producer_epoch", m.producer_epoch},
                      {"last_producer_epoch", m.last_producer_epoch},
                      {"timeout_ms", m.timeout_ms},
                      {"state", static_cast<int>(m.state)},
                      {"partitions", partitions},
                      {"groups_hex", groups},
                      {"pending_offsets", offsets},
                      {"start_ms", m.start_ms},
                      {"last_update_ms", m.last_update_ms}};
  return j.dump();
}

std::optional<txn_metadata> decode_txn_metadata(std::string_view transactional_id, std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    // Inside the try: value() throws for a version that is not a number.
    if (j.value("version", 0) != format_version) return std::nullopt;
    txn_metadata m;
    m.transactional_id = std::string(transactional_id);
    m.producer_id = j.at("producer_id").get<int64_t>();
    m.producer_epoch = j.at("producer_epoch").get<int16_t>();
    m.last_producer_epoch = j.at("last_producer_epoch").get<int16_t>();
    m.timeout_ms = j.at("timeout_ms").get<int32_t>();
    const int state = j.at("state").get<int>();
    if (state < 0 || state > static_cast<int>(txn_state::complete_abort)) return std::nullopt;
    m.state = static_cast<txn_state>(state);
    for (const auto& tp : j.at("partitions")) m.partitions.insert({tp.at(0).get<std::string>(), tp.at(1).get<int32_t>()});
    for (const auto& g : j.at("groups_hex")) {
      auto group = from_hex(g.get<std::string>());
      if (!group) return std::nullopt;
      m.groups.insert(std::move(*group));
    }
    for (const auto& o : j.at("pending_offsets")) {
      auto group = from_hex(o.at("group_hex").get<std::string>());
      auto metadata = from_hex(o.at("metadata_hex").get<std::string>());
      if (!group || !metadata) return std::nullopt;
      m.pending_offsets.push_back(
          {std::move(*group),
           {o.at("topic").get<std::string>(), o.at("partition").get<int32_t>()},
           {o.at("offset").get<int64_t>(), o.at("leader_epoch").get<int32_t>(), std::move(*metadata),
            o.at("timestamp_ms").get<int64_t>()}});
    }
    m.start_ms = j.at("start_ms").get<int64_t>();
    m.last_update_ms = j.at("last_update_ms").get<int64_t>();
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a record this version cannot read; the caller reports it
  }
}

struct coordinator::entry {
  txn_metadata meta;
  int64_t deadline_ms = 0;  // scheduler time at which an Ongoing transaction times out
  std::vector<std::function<void(error_code)>> end_waiters;  // EndTxn calls answered when it completes
  std::set<topic_partition> markers_pending;  // partitions whose marker is not durable yet
  bool markers_running = false;
  scheduler::timer_id retry_timer = 0;
};

coordinator::coordinator(scheduler& sched, meta::kv& kv, streams::service& streams, groups::coordinator& groups, txn_config cfg)
    : sched_(sched), kv_(kv), streams_(streams), groups_(groups), cfg_(cfg) {}

coordinator::~coordinator() {
  *alive_ = false;
  if (timeout_timer_) sched_.cancel(timeout_timer_);
  for (auto& [id, e] : entries_) {
    if (e->retry_timer) sched_.cancel(e->retry_timer);
  }
}

status coordinator::load() {
  std::vector<std::string> unreadable;
  STRATA_TRY(kv_.scan_prefix(kv_prefix, [&](std::string_view key, std::string_view value) {
    const std::string_view id = key.substr(kv_prefix.size());
    auto m = decode_txn_metadata(id, value);
    if (!m) {
      unreadable.emplace_back(key);
      return;
    }
    auto e = std::make_unique<entry>();
    e->meta = std::move(*m);
    const int64_t elapsed_ms = std::max<int64_t>(0, wall_clock_ms() - e->meta.start_ms);
    e->deadline_ms = sched_.now_ms() + std::max<int64_t>(0, e->meta.timeout_ms - elapsed_ms);
    by_producer_[e->meta.producer_id] = std::string(id);
    entries_.emplace(std::string(id), std::move(e));
  }));
  if (!unreadable.empty()) {
    return make_error(errc::corrupt, fmt::format("transaction state {} cannot be read (docs/formats/kafka-transactions.md); "
                                                 "restore the data dir from a backup",
                                                 unreadable.front()));
  }
  size_t resumed = 0;
  for (auto& [id, e] : entries_) {
    if (!is_prepare(e->meta.state)) continue;
    e->markers_pending = e->meta.partitions;
    write_markers(id);
    ++resumed;
  }
  if (!entries_.empty()) spdlog::info("transactions: {} transactional ids loaded, {} unfinished commits or aborts resumed", entries_.size(), resumed);
  schedule_timeout_check();
  return {};
}

coordinator::entry* coordinator::find_entry(std::string_view transactional_id) {
  auto it = entries_.find(transactional_id);
  return it == entries_.end() ? nullptr : it->second.get();
}

const txn_metadata* coordinator::find(std::string_view transactional_id) const {
  auto it = entries_.find(transactional_id);
  return it == entries_.end() ? nullptr : &it->second->meta;
}

std::vector<const txn_metadata*> coordinator::all() const {
  std::vector<const txn_metadata*> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(&e->meta);
  return out;
}

status coordinator::persist(const txn_metadata& m) {
  auto s = kv_.put(std::string(kv_prefix) + m.transactional_id, encode_txn_metadata(m));
  if (!s.ok()) spdlog::warn("storing the state of transactional id {}: {}", m.transactional_id, s.err().message);
  return s;
}

result<int64_t> coordinator::new_producer_id() {
  auto id = streams_.init_producer_id(-1, -1);
  if (id.error != streams::stream_error::none) return make_error(errc::io_error, "no producer id could be allocated");
  return id.producer_id;
}

error_code coordinator::check_producer(const entry& e, int64_t producer_id, int16_t producer_epoch) const {
  if (producer_id != e.meta.producer_id) return error_code::invalid_producer_id_mapping;
  if (producer_epoch != e.meta.producer_epoch) return error_code::producer_fenced;
  return error_code::none;
}

void coordinator::init_producer_id(const std::string& transactional_id, int32_t timeout_ms, int64_t producer_id,
                                   int16_t producer_epoch, std::function<void(producer_identity)> done) {
  auto fail = [&](error_code e) { done(producer_identity{e, -1, -1}); };
  if (transactional_id.empty()) return fail(error_code::invalid_request);
  if (timeout_ms <= 0 || timeout_ms > cfg_.transaction_timeout_max_ms) return fail(error_code::invalid_transaction_timeout);
  entry* e = find_entry(transactional_id);
  if (!e) {
    if (producer_id != -1) return fail(error_code::invalid_producer_id_mapping);
    if (entries_.size() >= cfg_.transactional_ids_max) {
      spdlog::warn("transactions: refusing transactional id {}: {} ids are known, the limit", transactional_id, entries_.size());
      return fail(error_code::unknown_server_error);
    }
    auto id = new_producer_id();
    if (!id.ok()) return fail(error_code::coordinator_not_available);
    txn_metadata m;
    m.transactional_id = transactional_id;
    m.producer_id = *id;
    m.producer_epoch = 0;
    m.timeout_ms = timeout_ms;
    m.last_update_ms = wall_clock_ms();
    if (!persist(m).ok()) return fail(error_code::coordinator_not_available);
    auto fresh = std::make_unique<entry>();
    fresh->meta = std::move(m);
    e = fresh.get();
    entries_.emplace(transactional_id, std::move(fresh));
    by_producer_[e->meta.producer_id] = transactional_id;
    return done(producer_identity{error_code::none, e->meta.producer_id, e->meta.producer_epoch});
  }
  txn_metadata& m = e->meta;
  if (producer_id != -1) {
    // KIP-360: a producer bumping its own session. Its epoch is the current
    // one, or the one before a bump whose answer it never saw.
    if (producer_id != m.producer_id) return fail(error_code::producer_fenced);
    const bool retry_of_bump = producer_epoch == m.last_producer_epoch && is_settled(m.state);
    if (retry_of_bump) return done(producer_identity{error_code::none, m.producer_id, m.producer_epoch});
    if (producer_epoch != m.producer_epoch) return fail(error_code::producer_fenced);
  }
  if (is_prepare(m.state)) return fail(error_code::concurrent_transactions);
  if (m.state == txn_state::ongoing) {
    // A new session of this id: the old one's transaction is aborted and the
    // old producer fenced; the client retries once the abort completes.
    begin_end(*e, /*commit=*/false, /*bump_epoch=*/true);
    return fail(error_code::concurrent_transactions);
  }
  txn_metadata next = m;
  if (m.producer_epoch >= epoch_max) {
    auto id = new_producer_id();
    if (!id.ok()) return fail(error_code::coordinator_not_available);
    next.producer_id = *id;
    next.producer_epoch = 0;
    next.last_producer_epoch = -1;
  } else {
    // Only a producer bumping its own session may retry with the epoch
    // before the bump; a new session forgets it, so the session it replaces
    // cannot claim the new epoch that way (as Kafka clears lastProducerEpoch).
    next.last_producer_epoch = producer_id != -1 ? m.producer_epoch : int16_t{-1};
    next.producer_epoch = static_cast<int16_t>(m.producer_epoch + 1);
  }
  next.timeout_ms = timeout_ms;
  next.state = txn_state::empty;
  next.partitions.clear();
  next.groups.clear();
  next.pending_offsets.clear();
  next.start_ms = -1;
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) return fail(error_code::coordinator_not_available);
  if (next.producer_id != m.producer_id) {
    by_producer_.erase(m.producer_id);
    by_producer_[next.producer_id] = transactional_id;
  }
  m = std::move(next);
  done(producer_identity{error_code::none, m.producer_id, m.producer_epoch});
}

namespace {

// The transaction becomes Ongoing with its first partition or group.
void start_if_settled(txn_metadata& m, int64_t& deadline_ms, int64_t now_mono_ms) {
  if (m.state == txn_state::ongoing) return;
  m.state = txn_state::ongoing;
  m.partitions.clear();
  m.groups.clear();
  m.pending_offsets.clear();
  m.start_ms = wall_clock_ms();
  deadline_ms = now_mono_ms + m.timeout_ms;
}

}  // namespace

std::vector<error_code> coordinator::add_partitions(const std::string& transactional_id, int64_t producer_id,
                                                    int16_t producer_epoch, const std::vector<topic_partition>& partitions) {
  auto all = [&](error_code e) { return std::vector<error_code>(partitions.size(), e); };
  entry* e = find_entry(transactional_id);
  if (!e) return all(error_code::invalid_producer_id_mapping);
  if (auto bad = check_producer(*e, producer_id, producer_epoch); bad != error_code::none) return all(bad);
  if (is_prepare(e->meta.state)) return all(error_code::concurrent_transactions);
  std::vector<error_code> out(partitions.size(), error_code::none);
  bool unknown = false;
  for (size_t i = 0; i < partitions.size(); ++i) {
    auto topic = streams_.describe_topic(partitions[i].topic);
    const bool exists = topic.ok() && partitions[i].partition >= 0 &&
                        partitions[i].partition < static_cast<int32_t>(topic->partitions.size());
    if (!exists) {
      out[i] = error_code::unknown_topic_or_partition;
      unknown = true;
    }
  }
  if (unknown) {
    for (auto& code : out) {
      if (code == error_code::none) code = error_code::operation_not_attempted;
    }
    return out;
  }
  txn_metadata next = e->meta;
  int64_t deadline_ms = e->deadline_ms;
  start_if_settled(next, deadline_ms, sched_.now_ms());
  next.partitions.insert(partitions.begin(), partitions.end());
  if (next.partitions.size() > cfg_.partitions_per_txn_max) {
    spdlog::warn("transactions: {} would span {} partitions; the limit is {}", transactional_id, next.partitions.size(),
                 cfg_.partitions_per_txn_max);
    return all(error_code::invalid_request);
  }
  if (next == e->meta) return out;
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) return all(error_code::coordinator_not_available);
  e->meta = std::move(next);
  e->deadline_ms = deadline_ms;
  return out;
}

error_code coordinator::add_offsets(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                                    const std::string& group_id) {
  if (group_id.empty()) return error_code::invalid_group_id;
  entry* e = find_entry(transactional_id);
  if (!e) return error_code::invalid_producer_id_mapping;
  if (auto bad = check_producer(*e, producer_id, producer_epoch); bad != error_code::none) return bad;
  if (is_prepare(e->meta.state)) return error_code::concurrent_transactions;
  txn_metadata next = e->meta;
  int64_t deadline_ms = e->deadline_ms;
  start_if_settled(next, deadline_ms, sched_.now_ms());
  next.groups.insert(group_id);
  if (next.groups.size() > cfg_.groups_per_txn_max) return error_code::invalid_request;
  if (next == e->meta) return error_code::none;
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) return error_code::coordinator_not_available;
  e->meta = std::move(next);
  e->deadline_ms = deadline_ms;
  return error_code::none;
}

std::vector<error_code> coordinator::commit_offsets(const txn_offset_commit_request& req) {
  auto all = [&](error_code e) { return std::vector<error_code>(req.offsets.size(), e); };
  entry* e = find_entry(req.transactional_id);
  if (!e) return all(error_code::invalid_producer_id_mapping);
  if (auto bad = check_producer(*e, req.producer_id, req.producer_epoch); bad != error_code::none) return all(bad);
  if (is_prepare(e->meta.state)) return all(error_code::concurrent_transactions);
  // The group must be in the transaction (AddOffsetsToTxn), or its offsets
  // would never be committed.
  if (e->meta.state != txn_state::ongoing || !e->meta.groups.contains(req.group_id)) return all(error_code::invalid_txn_state);
  if (req.generation_id >= 0 || !req.member_id.empty()) {
    auto member = groups_.check_txn_member(req.group_id, req.generation_id, req.member_id, req.group_instance_id);
    if (member != error_code::none) return all(member);
  }
  std::vector<error_code> out(req.offsets.size(), error_code::none);
  txn_metadata next = e->meta;
  for (size_t i = 0; i < req.offsets.size(); ++i) {
    // Plain names, not a structured binding: clang 14 cannot capture one in the lambda below.
    const topic_partition& tp = req.offsets[i].first;
    const groups::committed_offset& value = req.offsets[i].second;
    if (value.metadata.size() > groups_.config().offset_metadata_bytes_max) {
      out[i] = error_code::offset_metadata_too_large;
      continue;
    }
    auto topic = streams_.describe_topic(tp.topic);
    if (!topic.ok() || tp.partition < 0 || tp.partition >= static_cast<int32_t>(topic->partitions.size())) {
      out[i] = error_code::unknown_topic_or_partition;
      continue;
    }
    auto same = std::find_if(next.pending_offsets.begin(), next.pending_offsets.end(),
                             [&](const pending_offset& p) { return p.group == req.group_id && p.tp == tp; });
    if (same != next.pending_offsets.end()) {
      same->value = value;
    } else {
      next.pending_offsets.push_back({req.group_id, tp, value});
    }
  }
  if (next.pending_offsets.size() > cfg_.pending_offsets_per_txn_max) return all(error_code::invalid_request);
  if (next == e->meta) return out;
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) return all(error_code::coordinator_not_available);
  e->meta = std::move(next);
  return out;
}

error_code coordinator::check_write(int64_t producer_id, int16_t producer_epoch, const topic_partition& tp) const {
  auto owner = by_producer_.find(producer_id);
  if (owner == by_producer_.end()) return error_code::invalid_producer_id_mapping;
  const txn_metadata& m = entries_.find(owner->second)->second->meta;
  if (producer_epoch != m.producer_epoch) return error_code::invalid_producer_epoch;
  if (m.state != txn_state::ongoing || !m.partitions.contains(tp)) return error_code::invalid_txn_state;
  return error_code::none;
}

bool coordinator::offset_pending(std::string_view group, const topic_partition& tp) const {
  for (const auto& [id, e] : entries_) {
    if (e->meta.state == txn_state::complete_commit || e->meta.state == txn_state::complete_abort) continue;
    for (const auto& p : e->meta.pending_offsets) {
      if (p.group == group && p.tp == tp) return true;
    }
  }
  return false;
}

void coordinator::end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
                          std::function<void(error_code)> done) {
  entry* e = find_entry(transactional_id);
  if (!e) return done(error_code::invalid_producer_id_mapping);
  if (auto bad = check_producer(*e, producer_id, producer_epoch); bad != error_code::none) return done(bad);
  const txn_state wanted_prepare = commit ? txn_state::prepare_commit : txn_state::prepare_abort;
  const txn_state wanted_complete = commit ? txn_state::complete_commit : txn_state::complete_abort;
  switch (e->meta.state) {
    case txn_state::ongoing: {
      const error_code started = begin_end(*e, commit, /*bump_epoch=*/false);
      if (started != error_code::none) return done(started);
      break;
    }
    case txn_state::prepare_commit:
    case txn_state::prepare_abort:
      if (e->meta.state != wanted_prepare) return done(error_code::invalid_txn_state);
      break;
    case txn_state::complete_commit:
    case txn_state::complete_abort:
      // A retried EndTxn whose answer was lost succeeds again.
      return done(e->meta.state == wanted_complete ? error_code::none : error_code::invalid_txn_state);
    case txn_state::empty:
      // Nothing was begun in this epoch, so an abort has nothing to undo.
      // librdkafka sends it when a kill lost its AddPartitionsToTxn, and
      // refusing it would be fatal to the producer (librdkafka issue #4849;
      // KIP-890 allows it too). A commit of nothing stays refused.
      return done(commit ? error_code::invalid_txn_state : error_code::none);
  }
  if (is_settled(e->meta.state)) return done(e->meta.state == wanted_complete ? error_code::none : error_code::invalid_txn_state);
  e->end_waiters.push_back(std::move(done));
}

error_code coordinator::begin_end(entry& e, bool commit, bool bump_epoch) {
  txn_metadata next = e.meta;
  if (bump_epoch && next.producer_epoch < epoch_max) {
    next.last_producer_epoch = next.producer_epoch;
    next.producer_epoch = static_cast<int16_t>(next.producer_epoch + 1);
  }
  next.state = commit ? txn_state::prepare_commit : txn_state::prepare_abort;
  if (!commit) next.pending_offsets.clear();
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) return error_code::coordinator_not_available;
  e.meta = std::move(next);
  e.markers_pending = e.meta.partitions;
  spdlog::debug("transactions: {} {} over {} partitions", e.meta.transactional_id, commit ? "commits" : "aborts",
                e.meta.partitions.size());
  write_markers(e.meta.transactional_id);
  return error_code::none;
}

void coordinator::write_markers(const std::string& transactional_id) {
  entry* e = find_entry(transactional_id);
  if (!e || e->markers_running) return;
  if (e->markers_pending.empty()) return on_markers_written(transactional_id);
  e->markers_running = true;
  const streams::txn_marker marker{e->meta.producer_id, e->meta.producer_epoch, e->meta.state == txn_state::prepare_commit, 0};
  auto outstanding = std::make_shared<size_t>(e->markers_pending.size());
  auto failed = std::make_shared<bool>(false);
  const std::vector<topic_partition> targets(e->markers_pending.begin(), e->markers_pending.end());
  for (const auto& tp : targets) {
    streams_.write_txn_marker(tp.topic, tp.partition, marker,
                              [this, alive = alive_, transactional_id, tp, outstanding, failed](streams::stream_error err) {
                                if (!*alive) return;
                                entry* owner = find_entry(transactional_id);
                                if (!owner) return;
                                // A deleted partition has nothing left to mark.
                                if (err == streams::stream_error::none || err == streams::stream_error::unknown_topic_or_partition) {
                                  owner->markers_pending.erase(tp);
                                } else {
                                  spdlog::warn("transactions: marker for {} in {}-{} failed; retrying", transactional_id, tp.topic,
                                               tp.partition);
                                  *failed = true;
                                }
                                if (--*outstanding > 0) return;
                                owner->markers_running = false;
                                if (*failed) {
                                  owner->retry_timer = sched_.after(cfg_.marker_retry_interval_ms, [this, transactional_id] {
                                    if (entry* again = find_entry(transactional_id)) again->retry_timer = 0;
                                    write_markers(transactional_id);
                                  });
                                  return;
                                }
                                on_markers_written(transactional_id);
                              });
  }
}

// Every marker is durable: a commit's offsets are stored, then the
// transaction completes.
void coordinator::on_markers_written(const std::string& transactional_id) {
  entry* e = find_entry(transactional_id);
  if (!e) return;
  const bool commit = e->meta.state == txn_state::prepare_commit;
  if (commit) {
    std::map<std::string, groups::offset_entries> by_group;
    for (const auto& p : e->meta.pending_offsets) by_group[p.group].emplace_back(p.tp, p.value);
    for (const auto& [group, entries] : by_group) {
      if (auto s = groups_.restore_offsets(group, entries); !s.ok()) {
        spdlog::warn("transactions: storing the offsets of {} for group {}: {}; retrying", transactional_id, group, s.err().message);
        e->retry_timer = sched_.after(cfg_.marker_retry_interval_ms, [this, transactional_id] {
          if (entry* again = find_entry(transactional_id)) again->retry_timer = 0;
          on_markers_written(transactional_id);
        });
        return;
      }
    }
  }
  txn_metadata next = e->meta;
  next.state = commit ? txn_state::complete_commit : txn_state::complete_abort;
  next.partitions.clear();
  next.groups.clear();
  next.pending_offsets.clear();
  next.last_update_ms = wall_clock_ms();
  if (!persist(next).ok()) {
    e->retry_timer = sched_.after(cfg_.marker_retry_interval_ms, [this, transactional_id] {
      if (entry* again = find_entry(transactional_id)) again->retry_timer = 0;
      on_markers_written(transactional_id);
    });
    return;
  }
  e->meta = std::move(next);
  finish_waiters(*e, error_code::none);
}

void coordinator::finish_waiters(entry& e, error_code error) {
  auto waiters = std::move(e.end_waiters);
  e.end_waiters.clear();
  for (auto& w : waiters) w(error);
}

void coordinator::schedule_timeout_check() {
  timeout_timer_ = sched_.after(cfg_.timeout_check_interval_ms, [this] {
    timeout_timer_ = 0;
    check_timeouts();
    schedule_timeout_check();
  });
}

// An Ongoing transaction past its timeout is aborted with a bumped epoch, so
// the producer that let it lapse is fenced.
void coordinator::check_timeouts() {
  const int64_t now = sched_.now_ms();
  for (auto& [id, e] : entries_) {
    if (e->meta.state != txn_state::ongoing || now < e->deadline_ms) continue;
    spdlog::info("transactions: {} passed its timeout of {} ms; aborting it and fencing producer {} epoch {}", id,
                 e->meta.timeout_ms, e->meta.producer_id, e->meta.producer_epoch);
    (void)begin_end(*e, /*commit=*/false, /*bump_epoch=*/true);
  }
}

}  // namespace strata::kafka::txn
