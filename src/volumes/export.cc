// The export handles: each data call takes the topology lock shared, checks
// the range, and runs the chain_io operation on the volume's current top
// layer (or the snapshot's frozen one).
#include <fmt/format.h>

#include <shared_mutex>

#include "volumes/service_impl.h"

namespace strata::volumes {
namespace {

class handle final : public export_handle {
 public:
  handle(service_impl& svc, std::string name, std::shared_ptr<volume_entry> volume,
         std::shared_ptr<snapshot_entry> snapshot)
      : svc_(svc), name_(std::move(name)), volume_(std::move(volume)), snapshot_(std::move(snapshot)) {
    counter().fetch_add(1);
    size_bytes_ = top().size_blocks() * block_bytes;
  }
  ~handle() override { counter().fetch_sub(1); }

  const std::string& name() const override { return name_; }
  uint64_t size_bytes() const override { return size_bytes_; }
  bool read_only() const override { return snapshot_ != nullptr; }

  result<std::vector<data_run>> read(uint64_t offset, std::span<uint8_t> out) override {
    read_call one[1] = {read_call{offset, out}};
    read_batch(one);
    return std::move(one[0].runs);
  }

  void read_batch(std::span<read_call> calls) override {
    std::vector<chain_read> reads;
    std::vector<read_call*> owners;
    reads.reserve(calls.size());
    for (auto& c : calls) {
      if (status in_range = check_range(c.offset, c.out.size(), "read", true); !in_range.ok()) {
        c.runs = in_range.err();
        continue;
      }
      owners.push_back(&c);
    }
    std::shared_lock lock(svc_.topology());
    for (auto* c : owners) reads.push_back(chain_read{&top(), c->offset, c->out});
    read_chains(svc_.fs(), reads);
    for (size_t i = 0; i < reads.size(); ++i) owners[i]->runs = std::move(reads[i].runs);
  }

  bool batches_reads() const override { return svc_.batches_reads(); }

  status write(uint64_t offset, std::span<const uint8_t> data, bool fua) override {
    STRATA_TRY(check_writable("write"));
    STRATA_TRY(check_range(offset, data.size(), "write", true));
    std::shared_lock lock(svc_.topology());
    STRATA_TRY(write_chain(top(), svc_.stripes(), offset, data));
    svc_.counters().client_write_bytes += data.size();
    return fua ? top().flush() : status{};
  }

  status write_zeroes(uint64_t offset, uint64_t length_bytes, zero_options options, bool fua) override {
    return zero(offset, length_bytes, options, fua, false, "write zeroes");
  }

  status trim(uint64_t offset, uint64_t length_bytes, bool fua) override {
    return zero(offset, length_bytes, zero_options{}, fua, true, "trim");
  }

  status flush() override {
    if (read_only()) return {};
    std::shared_lock lock(svc_.topology());
    return top().flush();
  }

  result<std::vector<block_extent>> block_status(uint64_t offset, uint64_t length_bytes,
                                                 size_t extents_max) override {
    STRATA_TRY(check_range(offset, length_bytes, "block status", false));
    if (length_bytes == 0 || extents_max == 0) {
      return make_error(errc::invalid_argument, "block status needs a positive length and room for one extent");
    }
    std::shared_lock lock(svc_.topology());
    return block_status_chain(top(), offset, length_bytes, extents_max);
  }

 private:
  std::atomic<uint32_t>& counter() { return snapshot_ ? snapshot_->open_exports : volume_->open_exports; }
  layer& top() { return snapshot_ ? *snapshot_->frozen : *volume_->top; }

  status zero(uint64_t offset, uint64_t length_bytes, zero_options options, bool fua, bool trim, const char* what) {
    STRATA_TRY(check_writable(what));
    STRATA_TRY(check_range(offset, length_bytes, what, false));
    std::shared_lock lock(svc_.topology());
    STRATA_TRY(zero_chain(top(), svc_.stripes(), offset, length_bytes, options, trim));
    return fua ? top().flush() : status{};
  }

  status check_writable(const char* what) const {
    if (!read_only()) return {};
    return make_error(errc::invalid_argument, fmt::format("{}: export {} is a read-only snapshot; clone it to get a "
                                                          "writable volume", what, name_));
  }

  status check_range(uint64_t offset, uint64_t length_bytes, const char* what, bool bounded) const {
    if (offset > size_bytes_ || length_bytes > size_bytes_ - offset) {
      return make_error(errc::invalid_argument, fmt::format("{} of {} bytes at offset {} runs past the end of export "
                                                            "{} ({} bytes)", what, length_bytes, offset, name_,
                                                            size_bytes_));
    }
    if (bounded && length_bytes > svc_.config().write_bytes_max) {
      return make_error(errc::invalid_argument, fmt::format("{} of {} bytes is over the limit of {} bytes per request",
                                                            what, length_bytes, svc_.config().write_bytes_max));
    }
    return {};
  }

  service_impl& svc_;
  std::string name_;
  std::shared_ptr<volume_entry> volume_;
  std::shared_ptr<snapshot_entry> snapshot_;
  uint64_t size_bytes_ = 0;
};

}  // namespace

result<std::shared_ptr<export_handle>> service_impl::open_export(const std::string& export_name) {
  std::shared_lock lock(topology_);
  if (export_name.find('@') != std::string::npos) {
    auto it = snapshots_.find(export_name);
    if (it != snapshots_.end()) return std::shared_ptr<export_handle>(new handle(*this, export_name, nullptr, it->second));
  } else {
    auto it = volumes_.find(export_name);
    if (it != volumes_.end()) return std::shared_ptr<export_handle>(new handle(*this, export_name, it->second, nullptr));
  }
  return make_error(errc::not_found, fmt::format("export {} does not exist; exports are volume names and "
                                                 "VOLUME@SNAPSHOT", export_name));
}

}  // namespace strata::volumes
