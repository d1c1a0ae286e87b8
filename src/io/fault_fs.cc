#include "io/fault_fs.h"

#include <algorithm>
#include <cstring>

namespace strata::io {

struct fault_fs::node {
  struct op {
    bool is_truncate = false;
    uint64_t offset = 0;  // write position, or the new size of a truncate
    std::vector<uint8_t> bytes;
  };
  std::vector<uint8_t> data;     // what reads see
  std::vector<uint8_t> durable;  // what a crash keeps
  std::vector<op> pending;       // unsynced changes, oldest first
};

namespace {

std::string normalize(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_below(const std::string& path, const std::string& dir) {
  if (dir == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

void apply_write(std::vector<uint8_t>& data, uint64_t offset, const uint8_t* bytes, size_t len) {
  if (len == 0) return;
  if (data.size() < offset + len) data.resize(offset + len, 0);
  std::memcpy(data.data() + offset, bytes, len);
}

error stale_error(const std::string& path) {
  return make_error(errc::io_error, "file handle for " + path + " is stale (closed, or opened before a crash)");
}

}  // namespace

class fault_file final : public file {
 public:
  fault_file(fault_fs* fs, std::shared_ptr<fault_fs::node> n, std::string path, bool writable, uint64_t generation)
      : fs_(fs), node_(std::move(n)), path_(std::move(path)), writable_(writable), generation_(generation) {
    ++fs_->open_handles_;  // the caller holds fs_->mu_
  }
  ~fault_file() override {
    std::lock_guard lock(fs_->mu_);
    --fs_->open_handles_;
  }

  result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    const auto& data = node_->data;
    if (offset >= data.size()) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), data.size() - offset);
    std::memcpy(out.data(), data.data() + offset, n);
    return n;
  }

  status writev_at(uint64_t offset, std::span<const std::span<const uint8_t>> parts) override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    if (!writable_) return make_error(errc::io_error, "write " + path_ + ": opened read-only");
    return fs_->write_locked(*node_, path_, offset, parts);
  }

  status sync() override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    return fs_->sync_locked(*node_, path_);
  }

  status truncate(uint64_t size_bytes) override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    if (!writable_) return make_error(errc::io_error, "truncate " + path_ + ": opened read-only");
    return fs_->truncate_locked(*node_, path_, size_bytes);
  }

  // Both are modelled as writes of zeros, which is what reads see and what a
  // crash may keep or drop; punch_hole never extends the file.
  status punch_hole(uint64_t offset, uint64_t length_bytes) override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    if (!writable_) return make_error(errc::io_error, "punch hole " + path_ + ": opened read-only");
    uint64_t size = node_->data.size();
    if (offset >= size) return {};
    return write_zeros_locked(offset, std::min(length_bytes, size - offset));
  }

  status zero_range(uint64_t offset, uint64_t length_bytes) override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    if (!writable_) return make_error(errc::io_error, "zero range " + path_ + ": opened read-only");
    return write_zeros_locked(offset, length_bytes);
  }

  result<uint64_t> size() override {
    std::lock_guard lock(fs_->mu_);
    if (!usable()) return stale_error(path_);
    return static_cast<uint64_t>(node_->data.size());
  }

  status close() override {
    std::lock_guard lock(fs_->mu_);
    closed_ = true;
    return {};
  }

  const std::string& path() const override { return path_; }

 private:
  bool usable() const { return !closed_ && generation_ == fs_->generation_; }
  status write_zeros_locked(uint64_t offset, uint64_t length_bytes) {
    if (length_bytes == 0) return {};
    std::vector<uint8_t> zeros(length_bytes, 0);
    std::span<const uint8_t> parts[1] = {zeros};
    return fs_->write_locked(*node_, path_, offset, parts);
  }

  fault_fs* fs_;
  std::shared_ptr<fault_fs::node> node_;
  std::string path_;
  bool writable_;
  uint64_t generation_;
  bool closed_ = false;
};

fault_fs::fault_fs() {
  dirs_.insert("/");
  dirs_.insert("");
}

fault_fs::~fault_fs() = default;

result<std::unique_ptr<file>> fault_fs::open(const std::string& raw_path, open_mode mode) {
  std::string path = normalize(raw_path);
  std::lock_guard lock(mu_);
  if (!dirs_.contains(parent_of(path))) return make_error(errc::not_found, "open " + path + ": no such directory");
  if (dirs_.contains(path)) return make_error(errc::io_error, "open " + path + ": is a directory");
  auto it = live_.find(path);
  bool create = mode == open_mode::create || mode == open_mode::create_exclusive;
  if (it == live_.end()) {
    if (!create) return make_error(errc::not_found, "open " + path + ": no such file");
    it = live_.emplace(path, std::make_shared<node>()).first;
  } else if (mode == open_mode::create_exclusive) {
    return make_error(errc::already_exists, "open " + path + ": file exists");
  }
  bool writable = mode != open_mode::read_only;
  return std::unique_ptr<file>(std::make_unique<fault_file>(this, it->second, path, writable, generation_));
}

result<std::vector<std::string>> fault_fs::list(const std::string& raw_dir) {
  std::string dir = normalize(raw_dir);
  std::lock_guard lock(mu_);
  if (!dirs_.contains(dir)) return make_error(errc::not_found, "list " + dir + ": no such directory");
  std::vector<std::string> names;
  auto add_child = [&](const std::string& path) {
    if (path.empty() || path == "/" || parent_of(path) != dir) return;
    names.push_back(dir == "/" ? path.substr(1) : dir.empty() ? path : path.substr(dir.size() + 1));
  };
  for (const auto& [path, n] : live_) add_child(path);
  for (const auto& d : dirs_) add_child(d);
  std::sort(names.begin(), names.end());
  return names;
}

result<bool> fault_fs::exists(const std::string& raw_path) {
  std::string path = normalize(raw_path);
  std::lock_guard lock(mu_);
  return live_.contains(path) || dirs_.contains(path);
}

status fault_fs::remove(const std::string& raw_path) {
  std::string path = normalize(raw_path);
  std::lock_guard lock(mu_);
  if (live_.erase(path) == 0) return make_error(errc::not_found, "remove " + path + ": no such file");
  return {};
}

status fault_fs::remove_all(const std::string& raw_dir) {
  std::string dir = normalize(raw_dir);
  std::lock_guard lock(mu_);
  auto drop = [&](auto& names) {
    std::erase_if(names, [&](const auto& kv) { return kv.first == dir || is_below(kv.first, dir); });
  };
  drop(live_);
  drop(durable_);
  std::erase_if(dirs_, [&](const std::string& d) { return d == dir || is_below(d, dir); });
  dirs_.insert("/");
  dirs_.insert("");
  return {};
}

status fault_fs::rename(const std::string& raw_from, const std::string& raw_to) {
  std::string from = normalize(raw_from);
  std::string to = normalize(raw_to);
  std::lock_guard lock(mu_);
  auto it = live_.find(from);
  if (it == live_.end()) return make_error(errc::not_found, "rename " + from + ": no such file");
  if (!dirs_.contains(parent_of(to))) return make_error(errc::not_found, "rename to " + to + ": no such directory");
  auto n = it->second;
  live_.erase(it);
  live_[to] = std::move(n);
  return {};
}

status fault_fs::create_dirs(const std::string& raw_dir) {
  std::string dir = normalize(raw_dir);
  std::lock_guard lock(mu_);
  for (std::string d = dir; !d.empty() && d != "/"; d = parent_of(d)) {
    if (live_.contains(d)) return make_error(errc::io_error, "create_dirs " + dir + ": " + d + " is a file");
    dirs_.insert(d);
  }
  return {};
}

status fault_fs::sync_dir(const std::string& raw_dir) {
  std::string dir = normalize(raw_dir);
  std::lock_guard lock(mu_);
  if (!dirs_.contains(dir)) return make_error(errc::not_found, "sync_dir " + dir + ": no such directory");
  if (sync_fails_locked()) return make_error(errc::io_error, "fsync dir " + dir + ": injected failure");
  std::erase_if(durable_, [&](const auto& kv) { return parent_of(kv.first) == dir; });
  for (const auto& [path, n] : live_) {
    if (parent_of(path) == dir) durable_[path] = n;
  }
  return {};
}

void fault_fs::fail_write(uint64_t nth, uint64_t prefix_bytes) {
  std::lock_guard lock(mu_);
  writes_until_fail_ = nth;
  fail_prefix_bytes_ = prefix_bytes;
}

void fault_fs::set_disk_bytes_max(uint64_t disk_bytes) {
  std::lock_guard lock(mu_);
  disk_bytes_max_ = disk_bytes;
}

void fault_fs::fail_syncs(bool fail) {
  std::lock_guard lock(mu_);
  fail_syncs_ = fail;
}

void fault_fs::fail_sync(uint64_t nth) {
  std::lock_guard lock(mu_);
  syncs_until_fail_ = nth;
}

void fault_fs::fail_truncate(uint64_t nth) {
  std::lock_guard lock(mu_);
  truncates_until_fail_ = nth;
}

void fault_fs::crash(crash_plan plan) {
  std::lock_guard lock(mu_);
  live_ = durable_;
  std::set<node*> done;
  for (auto& [path, n] : live_) {
    if (!done.insert(n.get()).second) continue;
    std::vector<uint8_t> kept = n->durable;
    for (size_t i = 0; i < n->pending.size() && i <= plan.unsynced_ops_kept; ++i) {
      const auto& o = n->pending[i];
      if (i == plan.unsynced_ops_kept) {
        if (!o.is_truncate) apply_write(kept, o.offset, o.bytes.data(), std::min<uint64_t>(plan.torn_bytes, o.bytes.size()));
      } else if (o.is_truncate) {
        kept.resize(o.offset, 0);
      } else {
        apply_write(kept, o.offset, o.bytes.data(), o.bytes.size());
      }
    }
    n->durable = kept;
    n->data = std::move(kept);
    n->pending.clear();
  }
  ++generation_;
}

uint64_t fault_fs::used_bytes() const {
  std::lock_guard lock(mu_);
  return used_bytes_locked();
}

uint64_t fault_fs::used_bytes_locked() const {
  uint64_t total = 0;
  for (const auto& [path, n] : live_) total += n->data.size();
  return total;
}

uint64_t fault_fs::write_count() const {
  std::lock_guard lock(mu_);
  return write_count_;
}

size_t fault_fs::open_handle_count() const {
  std::lock_guard lock(mu_);
  return open_handles_;
}

uint64_t fault_fs::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

result<std::vector<uint8_t>> fault_fs::contents(const std::string& raw_path) const {
  std::string path = normalize(raw_path);
  std::lock_guard lock(mu_);
  auto it = live_.find(path);
  if (it == live_.end()) return make_error(errc::not_found, "contents " + path + ": no such file");
  return it->second->data;
}

status fault_fs::corrupt_byte(const std::string& raw_path, uint64_t offset) {
  std::string path = normalize(raw_path);
  std::lock_guard lock(mu_);
  auto it = live_.find(path);
  if (it == live_.end()) return make_error(errc::not_found, "corrupt_byte " + path + ": no such file");
  node& n = *it->second;
  if (offset >= n.data.size()) return make_error(errc::invalid_argument, "corrupt_byte " + path + ": offset past end");
  n.data[offset] ^= 0xFF;
  if (offset < n.durable.size()) n.durable[offset] ^= 0xFF;
  return {};
}

status fault_fs::write_locked(node& n, const std::string& path, uint64_t offset,
                              std::span<const std::span<const uint8_t>> parts) {
  ++write_count_;
  std::vector<uint8_t> bytes;
  for (auto p : parts) bytes.insert(bytes.end(), p.begin(), p.end());
  uint64_t len = bytes.size();
  status outcome;
  if (writes_until_fail_ > 0 && --writes_until_fail_ == 0) {
    len = std::min(len, fail_prefix_bytes_);
    outcome = make_error(errc::io_error, "write " + path + ": injected failure");
  }
  uint64_t used = used_bytes_locked();
  uint64_t room = used >= disk_bytes_max_ ? 0 : disk_bytes_max_ - used;
  uint64_t cap = n.data.size() + room;  // largest size this file may reach
  uint64_t fits = offset >= cap ? 0 : cap - offset;
  if (fits < len) {
    len = fits;
    outcome = make_error(errc::no_space, "write " + path + ": no space left on device (injected disk size)");
  }
  if (len > 0) {
    bytes.resize(len);
    apply_write(n.data, offset, bytes.data(), len);
    n.pending.push_back(node::op{false, offset, std::move(bytes)});
  }
  return outcome;
}

status fault_fs::truncate_locked(node& n, const std::string& path, uint64_t size_bytes) {
  if (truncates_until_fail_ > 0 && --truncates_until_fail_ == 0) {
    return make_error(errc::io_error, "truncate " + path + ": injected failure");
  }
  n.data.resize(size_bytes, 0);
  n.pending.push_back(node::op{true, size_bytes, {}});
  return {};
}

bool fault_fs::sync_fails_locked() {
  bool nth_due = syncs_until_fail_ > 0 && --syncs_until_fail_ == 0;
  return fail_syncs_ || nth_due;
}

status fault_fs::sync_locked(node& n, const std::string& path) {
  if (sync_fails_locked()) return make_error(errc::io_error, "fdatasync " + path + ": injected failure");
  n.durable = n.data;
  n.pending.clear();
  ++sync_count_;
  return {};
}

}  // namespace strata::io
