#include "volumes/layer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "io/fs.h"
#include "volumes/service.h"

namespace strata::volumes {
namespace {

std::string data_path(const layer_env& env, uint64_t id) { return io::join_path(env.dir, layer_id_text(id) + ".data"); }
std::string map_path(const layer_env& env, uint64_t id) { return io::join_path(env.dir, layer_id_text(id) + ".map"); }

// The page cache keeps a buffered write in folios as large as the write
// (ext4 on recent kernels), and a later 4 KiB write into a folio costs time
// in proportion to the folio's size. Measured on ext4, Linux 6.18: after a
// file is filled with 1 MiB writes each random 4 KiB overwrite took ~30 us of
// CPU, against ~2 us after 4 KiB writes and ~4.5 us after 64 KiB writes.
// So buffered writes go down in pieces of at most this size: a 1 MiB write
// then costs 16 calls instead of 1 and 10-20% more kernel time (still several
// GB/s). Direct writes skip the page cache, so they go down whole.
constexpr size_t buffered_write_piece_bytes_max = 64 * KiB;

result<std::unique_ptr<io::file>> open_data_file(layer_env& env, uint64_t id, io::open_mode mode) {
  const std::string path = data_path(env, id);
  return env.direct_io ? env.fs.open_direct(path, mode) : env.fs.open(path, mode);
}

// A failure leaves a prefix of `data` written, as one write would.
status write_in_pieces(io::file& file, uint64_t offset, std::span<const uint8_t> data, size_t piece_bytes_max) {
  while (!data.empty()) {
    auto piece = data.first(std::min(data.size(), piece_bytes_max));
    STRATA_TRY(file.write_at(offset, piece));
    offset += piece.size();
    data = data.subspan(piece.size());
  }
  return {};
}

}  // namespace

std::string layer_id_text(uint64_t id) { return fmt::format("{:016x}", id); }

layer::layer(layer_env& env, uint64_t id, uint64_t size_blocks) : env_(env), id_(id), map_(size_blocks) {}

layer::~layer() = default;

result<std::shared_ptr<layer>> layer::create(layer_env& env, uint64_t id, uint64_t size_blocks) {
  std::shared_ptr<layer> l(new layer(env, id, size_blocks));
  auto data = open_data_file(env, id, io::open_mode::create_exclusive);
  if (!data.ok()) return data.err();
  l->data_ = std::move(*data);
  auto journal = map_journal::create(env.fs, map_path(env, id), id);
  if (!journal.ok()) return journal.err();
  l->journal_ = std::move(*journal);
  l->checkpoint_bytes_ = l->journal_->size_bytes();
  return l;
}

result<std::shared_ptr<layer>> layer::open(layer_env& env, uint64_t id, uint64_t size_blocks) {
  std::shared_ptr<layer> l(new layer(env, id, size_blocks));
  auto data = open_data_file(env, id, io::open_mode::read_write);
  if (!data.ok()) return data.err();
  l->data_ = std::move(*data);
  replay_report report;
  auto journal = map_journal::open(env.fs, map_path(env, id), id, l->map_, &report);
  if (!journal.ok()) return journal.err();
  l->journal_ = std::move(*journal);
  l->checkpoint_bytes_ = l->journal_->size_bytes();
  return l;
}

status layer::check_usable() const {
  if (failed_.load()) {
    return make_error(errc::io_error, fmt::format("layer {} had a failed disk sync, so what its file holds is "
                                                  "unknown; restart the server to recover from its journal",
                                                  layer_id_text(id_)));
  }
  return {};
}

status layer::read(uint64_t offset, std::span<uint8_t> out) {
  io::read_request r = read_request(offset, out);
  r.got = data_->read_at(offset, out);
  return finish_read(r);
}

io::read_request layer::read_request(uint64_t offset, std::span<uint8_t> out) const {
  return io::read_request{data_.get(), offset, out};
}

status layer::finish_read(const io::read_request& done) {
  if (!done.got.ok()) return done.got.err();
  const size_t n = *done.got;
  if (n < done.out.size()) std::memset(done.out.data() + n, 0, done.out.size() - n);
  return {};
}

bool layer::queue(map_record record) {
  std::lock_guard lock(pending_mu_);
  if (!pending_.empty()) {
    map_record& last = pending_.back();
    if (last.state == record.state && last.first_block + last.block_count == record.first_block) {
      last.block_count += record.block_count;
      return false;
    }
  }
  pending_.push_back(record);
  return pending_.size() >= env_.pending_records_max;
}

status layer::flush_due(bool due) { return due ? flush() : status{}; }

status layer::write_blocks(uint64_t first_block, std::span<const uint8_t> data) {
  STRATA_ASSERT(data.size() % block_bytes == 0, "write_blocks takes whole blocks");
  STRATA_TRY(check_usable());
  uint64_t count = data.size() / block_bytes;
  const size_t piece_bytes_max = env_.direct_io ? data.size() : buffered_write_piece_bytes_max;
  STRATA_TRY(write_in_pieces(*data_, first_block * block_bytes, data, piece_bytes_max));
  dirty_.store(true);  // after the write, so a flush that misses this flag started after it
  env_.counters.disk_write_bytes += data.size();
  if (all_data(first_block, count)) return {};  // an overwrite in place: the map does not change
  map_.set(first_block, count, block_state::data);
  return flush_due(queue(map_record{block_state::data, first_block, count}));
}

bool layer::all_data(uint64_t first_block, uint64_t count) const {
  for (uint64_t b = first_block; b < first_block + count; ++b) {
    if (map_.get(b) != block_state::data) return false;
  }
  return true;
}

status layer::write_in_place(uint64_t offset, std::span<const uint8_t> data) {
  STRATA_TRY(check_usable());
  STRATA_TRY(data_->write_at(offset, data));
  dirty_.store(true);
  env_.counters.disk_write_bytes += data.size();
  return {};
}

status layer::punch_blocks(uint64_t first_block, uint64_t count) {
  STRATA_TRY(check_usable());
  STRATA_TRY(data_->punch_hole(first_block * block_bytes, count * block_bytes));
  dirty_.store(true);
  map_.set(first_block, count, block_state::zero);
  return flush_due(queue(map_record{block_state::zero, first_block, count}));
}

status layer::zero_allocated_blocks(uint64_t first_block, uint64_t count) {
  STRATA_TRY(check_usable());
  STRATA_TRY(data_->zero_range(first_block * block_bytes, count * block_bytes));
  dirty_.store(true);
  map_.set(first_block, count, block_state::data);
  return flush_due(queue(map_record{block_state::data, first_block, count}));
}

status layer::flush() {
  std::lock_guard flush_lock(flush_mu_);
  STRATA_TRY(check_usable());
  std::vector<map_record> records;
  {
    std::lock_guard lock(pending_mu_);
    records.swap(pending_);
  }
  bool dirty = dirty_.exchange(false);
  if (!dirty && records.empty()) return {};
  if (auto synced = data_->sync(); !synced.ok()) {
    failed_.store(true);
    return synced;
  }
  auto appended = journal_->append(records);
  if (!appended.ok()) {
    failed_.store(true);
    return appended.err();
  }
  env_.counters.map_write_bytes += *appended;
  ++env_.counters.flushes;
  return checkpoint_if_due();
}

// Called under flush_mu_. The runs are taken before the data sync, so every
// block they call data had its bytes written before that sync.
status layer::checkpoint_if_due() {
  uint64_t journal_bytes = journal_->size_bytes();
  if (journal_bytes < checkpoint_bytes_ * 2 + env_.checkpoint_growth_bytes_min) return {};
  auto runs = runs_of(map_);
  if (auto synced = data_->sync(); !synced.ok()) {
    failed_.store(true);
    return synced;
  }
  auto written = journal_->checkpoint(runs);
  if (!written.ok()) {
    failed_.store(true);
    return written.err();
  }
  env_.counters.map_write_bytes += *written;
  checkpoint_bytes_ = *written;
  spdlog::debug("volumes: layer {} map checkpointed: {} runs, journal {} -> {} bytes", layer_id_text(id_), runs.size(),
                journal_bytes, *written);
  return {};
}

status layer::remove_files() {
  std::lock_guard flush_lock(flush_mu_);
  journal_.reset();
  if (data_) (void)data_->close();
  data_.reset();
  if (auto s = env_.fs.remove(data_path(env_, id_)); !s.ok() && s.code() != errc::not_found) return s;
  if (auto s = env_.fs.remove(map_path(env_, id_)); !s.ok() && s.code() != errc::not_found) return s;
  return {};
}

}  // namespace strata::volumes
