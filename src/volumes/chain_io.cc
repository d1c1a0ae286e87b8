#include "volumes/chain_io.h"

#include <algorithm>
#include <cstring>

namespace strata::volumes {
namespace {

// A run of blocks with one source: `holder` stores them, or (null) they read as zeros.
struct source_run {
  layer* holder = nullptr;
  uint64_t end_block = 0;  // exclusive
};

layer* holder_of(layer& top, uint64_t block) {
  for (layer* l = &top; l != nullptr; l = l->parent.get()) {
    block_state s = l->state(block);
    if (s == block_state::data) return l;
    if (s == block_state::zero) return nullptr;
  }
  return nullptr;
}

// The first block in [from, to) that any layer of the chain holds in any state.
uint64_t next_present_in_chain(layer& top, uint64_t from, uint64_t to) {
  uint64_t next = to;
  for (layer* l = &top; l != nullptr && next > from; l = l->parent.get()) next = l->map().next_present(from, next);
  return next;
}

source_run run_at(layer& top, uint64_t block, uint64_t end_block) {
  uint64_t present = next_present_in_chain(top, block, end_block);
  if (present > block) return {nullptr, present};
  layer* holder = holder_of(top, block);
  uint64_t b = block + 1;
  while (b < end_block && holder_of(top, b) == holder) ++b;
  return {holder, b};
}

uint64_t stripe_of(uint64_t layer_id, uint64_t block) {
  return (block + layer_id * 0x9e3779b97f4a7c15ULL) % stripe_locks::stripe_count;
}

status write_partial(layer& top, uint64_t block, uint64_t in_block, std::span<const uint8_t> bytes) {
  block_state s = top.state(block);
  if (s == block_state::data) return top.write_in_place(block * block_bytes + in_block, bytes);
  std::array<uint8_t, block_bytes> whole{};
  if (s == block_state::absent && top.parent) {
    auto below = read_chain(*top.parent, block * block_bytes, whole);
    if (!below.ok()) return below.err();
  }
  std::memcpy(whole.data() + in_block, bytes.data(), bytes.size());
  return top.write_blocks(block, whole);
}

status write_zero_blocks(layer& top, uint64_t first_block, uint64_t count) {
  static const std::array<uint8_t, 256 * block_bytes> zeros{};
  while (count > 0) {
    uint64_t n = std::min<uint64_t>(count, zeros.size() / block_bytes);
    STRATA_TRY(top.write_blocks(first_block, std::span(zeros.data(), n * block_bytes)));
    first_block += n;
    count -= n;
  }
  return {};
}

status zero_whole_blocks(layer& top, uint64_t first_block, uint64_t count, zero_options options) {
  if (count == 0) return {};
  if (options.may_punch) return top.punch_blocks(first_block, count);
  status fast = top.zero_allocated_blocks(first_block, count);
  if (fast.code() != errc::unsupported) return fast;
  if (options.fast_only) return fast;
  return write_zero_blocks(top, first_block, count);
}

// Describes [offset, offset+out.size()) of `top` as runs, zeroes the zero
// runs in `out`, and adds a file read for each run some layer holds.
std::vector<data_run> plan_chain_read(layer& top, uint64_t offset, std::span<uint8_t> out,
                                      std::vector<io::read_request>& file_reads) {
  std::vector<data_run> runs;
  uint64_t end = offset + out.size();
  uint64_t end_block = (end + block_bytes - 1) / block_bytes;
  uint64_t pos = offset;
  while (pos < end) {
    source_run run = run_at(top, pos / block_bytes, end_block);
    uint64_t run_end = std::min(end, run.end_block * block_bytes);
    auto part = out.subspan(pos - offset, run_end - pos);
    if (run.holder != nullptr) {
      file_reads.push_back(run.holder->read_request(pos, part));
    } else {
      std::memset(part.data(), 0, part.size());
    }
    bool zero = run.holder == nullptr;
    if (!runs.empty() && runs.back().zero == zero) {
      runs.back().length_bytes += part.size();
    } else {
      runs.push_back(data_run{part.size(), zero});
    }
    pos = run_end;
  }
  return runs;
}

}  // namespace

stripe_locks::guard::guard(stripe_locks& locks, uint64_t layer_id, uint64_t first_block, uint64_t block_count)
    : locks_(locks) {
  stripe_count_ = std::min(block_count, stripe_count);
  // Stripes are taken in ascending index order, so two guards never deadlock.
  first_stripe_ = stripe_count_ == stripe_count ? 0 : stripe_of(layer_id, first_block);
  uint64_t wrapped = first_stripe_ + stripe_count_ > stripe_count ? first_stripe_ + stripe_count_ - stripe_count : 0;
  for (uint64_t i = 0; i < wrapped; ++i) locks_.stripes_[i].lock();
  for (uint64_t i = first_stripe_; i < first_stripe_ + stripe_count_ - wrapped; ++i) locks_.stripes_[i].lock();
}

stripe_locks::guard::~guard() {
  for (uint64_t i = 0; i < stripe_count_; ++i) locks_.stripes_[(first_stripe_ + i) % stripe_count].unlock();
}

result<std::vector<data_run>> read_chain(layer& top, uint64_t offset, std::span<uint8_t> out) {
  chain_read one[1] = {chain_read{&top, offset, out}};
  read_chains(top.fs(), one);
  return std::move(one[0].runs);
}

void read_chains(io::fs& fs, std::span<chain_read> reads) {
  std::vector<io::read_request> file_reads;
  std::vector<chain_read*> owners;  // the chain read each file read serves
  for (auto& r : reads) {
    r.runs = plan_chain_read(*r.top, r.offset, r.out, file_reads);
    owners.resize(file_reads.size(), &r);
  }
  fs.read_batch(file_reads);
  for (size_t i = 0; i < file_reads.size(); ++i) {
    status done = layer::finish_read(file_reads[i]);
    if (!done.ok() && owners[i]->runs.ok()) owners[i]->runs = done.err();
  }
}

status write_chain(layer& top, stripe_locks& stripes, uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return {};
  uint64_t first = offset / block_bytes;
  uint64_t last = (offset + data.size() - 1) / block_bytes;
  stripe_locks::guard locked(stripes, top.id(), first, last - first + 1);
  uint64_t pos = offset;
  auto rest = data;
  while (!rest.empty()) {
    uint64_t block = pos / block_bytes;
    uint64_t in_block = pos % block_bytes;
    uint64_t n = 0;
    if (in_block == 0 && rest.size() >= block_bytes) {
      n = rest.size() / block_bytes * block_bytes;
      STRATA_TRY(top.write_blocks(block, rest.first(n)));
    } else {
      n = std::min<uint64_t>(block_bytes - in_block, rest.size());
      STRATA_TRY(write_partial(top, block, in_block, rest.first(n)));
    }
    pos += n;
    rest = rest.subspan(n);
  }
  return {};
}

status zero_chain(layer& top, stripe_locks& stripes, uint64_t offset, uint64_t length_bytes, zero_options options,
                  bool trim) {
  if (length_bytes == 0) return {};
  uint64_t end = offset + length_bytes;
  uint64_t first = offset / block_bytes;
  uint64_t last = (end - 1) / block_bytes;
  uint64_t full_first = (offset + block_bytes - 1) / block_bytes;
  uint64_t full_end = end / block_bytes;
  stripe_locks::guard locked(stripes, top.id(), first, last - first + 1);
  static const std::array<uint8_t, block_bytes> zeros{};
  auto zero_partial = [&](uint64_t from, uint64_t to) -> status {
    if (trim || from >= to) return {};
    return write_partial(top, from / block_bytes, from % block_bytes, std::span(zeros.data(), to - from));
  };
  if (full_first >= full_end) {  // no whole block: at most two partial ones
    uint64_t split = std::min(end, (first + 1) * block_bytes);
    STRATA_TRY(zero_partial(offset, split));
    return zero_partial(split, end);
  }
  STRATA_TRY(zero_partial(offset, full_first * block_bytes));
  STRATA_TRY(zero_whole_blocks(top, full_first, full_end - full_first, options));
  return zero_partial(full_end * block_bytes, end);
}

std::vector<block_extent> block_status_chain(layer& top, uint64_t offset, uint64_t length_bytes, size_t extents_max) {
  std::vector<block_extent> extents;
  uint64_t first = offset / block_bytes;
  uint64_t end = std::min(offset + length_bytes, (first + status_blocks_max) * block_bytes);
  uint64_t end_block = (end + block_bytes - 1) / block_bytes;
  uint64_t pos = offset;
  while (pos < end) {
    source_run run = run_at(top, pos / block_bytes, end_block);
    uint64_t run_end = std::min(end, run.end_block * block_bytes);
    bool hole = run.holder == nullptr;
    if (!extents.empty() && extents.back().hole == hole) {
      extents.back().length_bytes += run_end - pos;
    } else {
      if (extents.size() == extents_max) break;
      extents.push_back(block_extent{run_end - pos, hole, hole});
    }
    pos = run_end;
  }
  return extents;
}

}  // namespace strata::volumes
