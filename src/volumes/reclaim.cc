// Reclaiming space. A layer that no volume or snapshot names ("hidden") is
// deleted once no layer reads through it, and merged into its child when
// exactly one does: the child takes every block it does not hold itself, then
// points past the hidden layer, which is deleted. Copying runs under the
// shared topology lock, a few thousand blocks at a time, so I/O goes on; only
// relinking takes the exclusive lock. Every step is idempotent, and load()
// requests a pass, so a crash in the middle only repeats work.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <map>
#include <set>
#include <shared_mutex>

#include "io/fs.h"
#include "meta/kv.h"
#include "volumes/service_impl.h"

namespace strata::volumes {
namespace {

constexpr uint64_t merge_batch_blocks = 4096;  // blocks copied per hold of the shared lock

}  // namespace

void service_impl::request_reclaim() {
  {
    std::lock_guard lock(reclaim_mu_);
    reclaim_requested_ = true;
  }
  reclaim_cv_.notify_all();
}

void service_impl::wait_for_reclaim() {
  std::unique_lock lock(reclaim_mu_);
  reclaim_cv_.wait(lock, [&] { return stopping_ || (!reclaim_requested_ && !reclaim_busy_); });
}

void service_impl::reclaim_loop() {
  std::unique_lock lock(reclaim_mu_);
  while (true) {
    reclaim_cv_.wait(lock, [&] { return stopping_ || reclaim_requested_; });
    if (stopping_) return;
    reclaim_requested_ = false;
    reclaim_busy_ = true;
    lock.unlock();
    while (reclaim_step()) {
      std::lock_guard stop_check(reclaim_mu_);
      if (stopping_) break;
    }
    lock.lock();
    reclaim_busy_ = false;
    reclaim_cv_.notify_all();
  }
}

bool service_impl::reclaim_step() {
  std::shared_ptr<layer> hidden;
  std::shared_ptr<layer> only_child;
  {
    std::unique_lock lock(topology_);
    std::set<uint64_t> named;
    for (const auto& [name, v] : volumes_) named.insert(v->top->id());
    for (const auto& [key, s] : snapshots_) named.insert(s->frozen->id());
    std::map<uint64_t, std::vector<std::shared_ptr<layer>>> children;
    for (const auto& [id, l] : layers_) {
      if (l->parent) children[l->parent->id()].push_back(l);
    }
    for (const auto& [id, l] : layers_) {
      if (named.count(id) > 0) continue;
      auto& kids = children[id];
      if (kids.empty()) {
        // Dropping a leaf wins over a merge found earlier; that merge's child
        // must not stay paired with this unrelated layer.
        hidden = l;
        only_child.reset();
        break;
      }
      if (kids.size() == 1 && !hidden) {
        hidden = l;
        only_child = kids.front();
      }
    }
    if (!hidden) return false;
    if (!only_child) {
      if (auto s = drop_layer(hidden); !s.ok()) {
        spdlog::error("volumes: cannot delete unused layer {}: {}", layer_id_text(hidden->id()), s.err().message);
        return false;
      }
      return true;
    }
  }
  if (auto s = merge_into_child(hidden, only_child); !s.ok()) {
    spdlog::error("volumes: cannot merge layer {} into {}: {}; retried at the next start", layer_id_text(hidden->id()),
                  layer_id_text(only_child->id()), s.err().message);
    return false;
  }
  return true;
}

// Under the exclusive topology lock.
status service_impl::drop_layer(const std::shared_ptr<layer>& hidden) {
  STRATA_TRY(kv_.write_batch({remove_layer(hidden->id())}));
  layers_.erase(hidden->id());
  hidden->parent.reset();
  STRATA_TRY(hidden->remove_files());
  STRATA_TRY(fs_.sync_dir(env_.dir));
  spdlog::info("volumes: deleted unused layer {}", layer_id_text(hidden->id()));
  return {};
}

status service_impl::merge_into_child(const std::shared_ptr<layer>& hidden, const std::shared_ptr<layer>& child) {
  uint64_t end = std::min(hidden->size_blocks(), child->size_blocks());
  uint64_t copied = 0;
  std::array<uint8_t, block_bytes> buf{};
  uint64_t block = 0;
  while (block < end) {
    std::shared_lock lock(topology_);
    uint64_t batch_end = std::min(end, block + merge_batch_blocks);
    for (block = hidden->map().next_present(block, batch_end); block < batch_end;
         block = hidden->map().next_present(block + 1, batch_end)) {
      stripe_locks::guard locked(stripes_, child->id(), block, 1);
      if (child->state(block) != block_state::absent) continue;
      if (hidden->state(block) == block_state::zero) {
        STRATA_TRY(child->punch_blocks(block, 1));
      } else {
        STRATA_TRY(hidden->read(block * block_bytes, buf));
        STRATA_TRY(child->write_blocks(block, buf));
      }
      ++copied;
    }
  }
  STRATA_TRY(child->flush());
  std::unique_lock lock(topology_);
  std::shared_ptr<layer> grandparent = hidden->parent;
  STRATA_TRY(kv_.write_batch({put_layer(layer_record{child->id(), grandparent ? grandparent->id() : 0,
                                                     child->size_blocks()}),
                              remove_layer(hidden->id())}));
  child->parent = grandparent;
  layers_.erase(hidden->id());
  hidden->parent.reset();
  STRATA_TRY(hidden->remove_files());
  STRATA_TRY(fs_.sync_dir(env_.dir));
  spdlog::info("volumes: merged unused layer {} into {} ({} blocks copied) and deleted it",
               layer_id_text(hidden->id()), layer_id_text(child->id()), copied);
  return {};
}

}  // namespace strata::volumes
