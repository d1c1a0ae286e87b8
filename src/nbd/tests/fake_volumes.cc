#include "nbd/tests/fake_volumes.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace strata::nbd::testing {

namespace {

using volumes::block_bytes;

error unsupported_call() { return make_error(errc::unsupported, "the fake volumes service only serves exports"); }

class fake_handle final : public volumes::export_handle {
 public:
  fake_handle(std::shared_ptr<fake_disk> disk, std::shared_ptr<std::atomic<uint32_t>> open)
      : disk_(std::move(disk)), open_(std::move(open)), size_(disk_->bytes.size()) {
    ++*open_;
  }
  ~fake_handle() override { --*open_; }

  const std::string& name() const override { return disk_->name; }
  uint64_t size_bytes() const override { return size_; }
  bool read_only() const override { return disk_->read_only; }

  result<std::vector<volumes::data_run>> read(uint64_t offset, std::span<uint8_t> out) override {
    if (disk_->read_delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(disk_->read_delay_ms));
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected("read", offset, out.size(), false));
    STRATA_TRY(check_range(offset, out.size()));
    std::vector<volumes::data_run> runs;
    for (uint64_t at = offset; at < offset + out.size();) {
      uint64_t block = at / block_bytes;
      uint64_t end = std::min<uint64_t>((block + 1) * block_bytes, offset + out.size());
      bool zero = !disk_->allocated[block];
      if (zero) {
        std::memset(out.data() + (at - offset), disk_->garbage_in_holes ? 0x5A : 0, end - at);
      } else {
        std::memcpy(out.data() + (at - offset), disk_->bytes.data() + at, end - at);
      }
      if (!runs.empty() && runs.back().zero == zero) {
        runs.back().length_bytes += end - at;
      } else {
        runs.push_back({end - at, zero});
      }
      at = end;
    }
    return runs;
  }

  void read_batch(std::span<volumes::read_call> calls) override {
    {
      std::lock_guard lock(disk_->mu);
      disk_->read_batches.push_back(calls.size());
    }
    for (auto& c : calls) c.runs = read(c.offset, c.out);
  }

  bool batches_reads() const override { return disk_->batches_reads; }

  status write(uint64_t offset, std::span<const uint8_t> data, bool fua) override {
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected("write", offset, data.size(), fua));
    STRATA_TRY(check_writable());
    STRATA_TRY(check_range(offset, data.size()));
    std::memcpy(disk_->bytes.data() + offset, data.data(), data.size());
    mark(offset, data.size(), true);
    ++disk_->writes;
    if (fua) ++disk_->fua_writes;
    return {};
  }

  status write_zeroes(uint64_t offset, uint64_t length, volumes::zero_options options, bool fua) override {
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected(fmt::format("write_zeroes{}{}", options.may_punch ? "" : " no_hole",
                                    options.fast_only ? " fast" : ""),
                        offset, length, fua));
    STRATA_TRY(check_writable());
    STRATA_TRY(check_range(offset, length));
    if (options.fast_only && !options.may_punch) {
      return make_error(errc::unsupported, "zeroes that must stay allocated are written, not punched");
    }
    std::memset(disk_->bytes.data() + offset, 0, length);
    if (options.may_punch) {
      release_whole_blocks(offset, length);
    } else {
      mark(offset, length, true);
    }
    if (fua) ++disk_->fua_writes;
    return {};
  }

  status trim(uint64_t offset, uint64_t length, bool fua) override {
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected("trim", offset, length, fua));
    STRATA_TRY(check_writable());
    STRATA_TRY(check_range(offset, length));
    release_whole_blocks(offset, length);
    return {};
  }

  status flush() override {
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected("flush", 0, 0, false));
    ++disk_->flushes;
    return {};
  }

  result<std::vector<volumes::block_extent>> block_status(uint64_t offset, uint64_t length, size_t extents_max) override {
    std::lock_guard lock(disk_->mu);
    STRATA_TRY(injected("block_status", offset, length, false));
    STRATA_TRY(check_range(offset, length));
    std::vector<volumes::block_extent> out;
    for (uint64_t at = offset; at < offset + length;) {
      uint64_t block = at / block_bytes;
      uint64_t end = std::min<uint64_t>((block + 1) * block_bytes, offset + length);
      bool hole = !disk_->allocated[block];
      if (!out.empty() && out.back().hole == hole) {
        out.back().length_bytes += end - at;
      } else {
        if (out.size() == extents_max) break;
        out.push_back({end - at, hole, hole});
      }
      at = end;
    }
    return out;
  }

 private:
  status injected(const std::string& call, uint64_t offset, uint64_t length, bool fua) {
    disk_->calls.push_back(fmt::format("{} {}+{}{}", call, offset, length, fua ? " fua" : ""));
    if (!disk_->fail_next) return {};
    error e = std::move(*disk_->fail_next);
    disk_->fail_next.reset();
    return e;
  }
  status check_writable() const {
    if (disk_->read_only) return make_error(errc::invalid_argument, "export is read-only");
    return {};
  }
  status check_range(uint64_t offset, uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      return make_error(errc::invalid_argument, fmt::format("range {}+{} is past the end ({})", offset, length, size_));
    }
    return {};
  }
  void mark(uint64_t offset, uint64_t length, bool allocated) {
    if (length == 0) return;
    for (uint64_t b = offset / block_bytes; b <= (offset + length - 1) / block_bytes; ++b) disk_->allocated[b] = allocated;
  }
  void release_whole_blocks(uint64_t offset, uint64_t length) {
    uint64_t first = (offset + block_bytes - 1) / block_bytes;
    uint64_t end = (offset + length) / block_bytes;
    if ((offset + length) == size_) end = disk_->allocated.size();  // the partial last block counts as whole
    for (uint64_t b = first; b < end; ++b) {
      disk_->allocated[b] = false;
      uint64_t from = b * block_bytes;
      std::memset(disk_->bytes.data() + from, 0, std::min<uint64_t>(block_bytes, size_ - from));
    }
  }

  std::shared_ptr<fake_disk> disk_;
  std::shared_ptr<std::atomic<uint32_t>> open_;
  uint64_t size_;
};

}  // namespace

std::shared_ptr<fake_disk> fake_volumes::add_export(const std::string& name, uint64_t size_bytes, bool read_only,
                                                    const std::string& description) {
  auto d = std::make_shared<fake_disk>();
  d->name = name;
  d->description = description;
  d->read_only = read_only;
  d->bytes.assign(size_bytes, 0);
  d->allocated.assign((size_bytes + block_bytes - 1) / block_bytes, false);
  std::lock_guard lock(mu_);
  disks_[name] = d;
  return d;
}

std::shared_ptr<fake_disk> fake_volumes::disk(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = disks_.find(name);
  return it == disks_.end() ? nullptr : it->second;
}

uint32_t fake_volumes::open_handles() const { return *open_handles_; }

result<volumes::volume_info> fake_volumes::create_volume(const std::string&, uint64_t) { return unsupported_call(); }
result<volumes::volume_info> fake_volumes::resize_volume(const std::string&, uint64_t) { return unsupported_call(); }
status fake_volumes::delete_volume(const std::string&) { return unsupported_call(); }
result<volumes::volume_info> fake_volumes::describe_volume(const std::string&) { return unsupported_call(); }
std::vector<volumes::volume_info> fake_volumes::list_volumes() { return {}; }
result<volumes::snapshot_info> fake_volumes::create_snapshot(const std::string&, const std::string&) {
  return unsupported_call();
}
status fake_volumes::delete_snapshot(const std::string&, const std::string&) { return unsupported_call(); }
result<std::vector<volumes::snapshot_info>> fake_volumes::list_snapshots(const std::string&) {
  return unsupported_call();
}
result<volumes::volume_info> fake_volumes::create_clone(const std::string&, const std::string&, const std::string&) {
  return unsupported_call();
}

std::vector<volumes::export_info> fake_volumes::list_exports() {
  std::lock_guard lock(mu_);
  std::vector<volumes::export_info> out;
  for (const auto& [name, d] : disks_) {
    out.push_back(volumes::export_info{name, d->description, d->bytes.size(), d->read_only});
  }
  return out;
}

result<std::shared_ptr<volumes::export_handle>> fake_volumes::open_export(const std::string& export_name) {
  auto d = disk(export_name);
  if (!d) return make_error(errc::not_found, "no export " + export_name);
  return std::shared_ptr<volumes::export_handle>(std::make_shared<fake_handle>(d, open_handles_));
}

}  // namespace strata::nbd::testing
