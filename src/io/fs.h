// The one path to disk. Storage code reads and writes files only through
// io::fs and io::file, so tests can swap in fault_fs (fault_fs.h), which
// models what survives a crash and injects disk-full, write and sync errors.
//
// Every call returns result/status. errno is mapped to errc::no_space for
// ENOSPC/EDQUOT, errc::not_found for ENOENT, errc::already_exists for EEXIST,
// errc::io_error for the rest; the message names the operation and the path.
//
// Threading: a file may be used from two threads at once (one writing, one
// syncing); fs methods are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::io {

enum class open_mode {
  read_only,         // must exist
  read_write,        // must exist
  create,            // read-write, created empty if missing
  create_exclusive,  // read-write, created empty; errc::already_exists if present
};

// The alignment a direct file's I/O needs for the zero-copy path: the
// largest logical block size of the devices Strata runs on.
inline constexpr uint64_t direct_io_alignment_bytes = 4096;

class file {
 public:
  virtual ~file() = default;

  // Reads up to out.size() bytes at offset. Returns the count read, which is
  // smaller only at end of file.
  virtual result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) = 0;

  // Writes the parts, in order and back to back, at offset in one gathered
  // write. On error a prefix of the bytes may have reached the file.
  virtual status writev_at(uint64_t offset, std::span<const std::span<const uint8_t>> parts) = 0;
  status write_at(uint64_t offset, std::span<const uint8_t> data) {
    std::span<const uint8_t> parts[1] = {data};
    return writev_at(offset, parts);
  }

  // Makes the written bytes and the file size durable (fdatasync).
  virtual status sync() = 0;
  virtual status truncate(uint64_t size_bytes) = 0;
  // Deallocates [offset, offset+length_bytes): it then reads as zeros and
  // uses no disk space. The file size does not change.
  virtual status punch_hole(uint64_t offset, uint64_t length_bytes) = 0;
  // Makes [offset, offset+length_bytes) read as zeros while keeping it
  // allocated, without writing the zeros (fallocate ZERO_RANGE), extending
  // the file if needed. errc::unsupported where the file system cannot.
  virtual status zero_range(uint64_t offset, uint64_t length_bytes) = 0;
  virtual result<uint64_t> size() = 0;
  // Closes the handle; later calls fail. The destructor closes too.
  virtual status close() = 0;
  virtual const std::string& path() const = 0;
};

// One read of a batch (fs::read_batch): what read_at would do, and its outcome.
struct read_request {
  file* from = nullptr;
  uint64_t offset = 0;
  std::span<uint8_t> out;
  result<size_t> got = size_t{0};  // set by read_batch: as read_at would return
};

class fs {
 public:
  virtual ~fs() = default;

  // Runs every request, in any order, and sets each one's `got`. Where the fs
  // can (batches_reads()), it hands the direct, aligned ones to the kernel
  // together in one system call (io_uring), so the device sees them as one
  // batch instead of paying a system call and a device notification each.
  // The files must come from this fs.
  virtual void read_batch(std::span<read_request> requests) {
    for (auto& r : requests) r.got = r.from->read_at(r.offset, r.out);
  }
  // Whether read_batch submits reads together. Callers that would otherwise
  // spread reads over threads to overlap them batch only when this is true.
  virtual bool batches_reads() const { return false; }

  virtual result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) = 0;
  // Like open(), but reads and writes bypass the page cache (O_DIRECT), so
  // data reaches the device without a copy through the kernel's cache; sync()
  // is still needed for the device's cache and the file's allocation. Any
  // offset, length and buffer work: parts not aligned to direct_io_alignment_bytes
  // go through an aligned bounce buffer, and a write that covers only part of
  // an aligned block reads that block first (read-modify-write), which may
  // also extend the file to the block's end with zeros. So two threads must not
  // write into the same aligned block at once. errc::unsupported where the
  // file system has no direct I/O (tmpfs).
  virtual result<std::unique_ptr<file>> open_direct(const std::string& path, open_mode mode) = 0;
  // Names (not paths) of the entries of dir, sorted, without "." and "..".
  virtual result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual result<bool> exists(const std::string& path) = 0;
  // Removes one file.
  virtual status remove(const std::string& path) = 0;
  // Removes dir and everything below it; success if it does not exist.
  virtual status remove_all(const std::string& dir) = 0;
  // Atomically replaces `to` with `from`.
  virtual status rename(const std::string& from, const std::string& to) = 0;
  // Creates dir and its missing parents; success if it exists.
  virtual status create_dirs(const std::string& dir) = 0;
  // Makes creations, renames and removals of dir's entries durable.
  virtual status sync_dir(const std::string& dir) = 0;
};

// Real files under whatever paths the caller passes.
std::unique_ptr<fs> make_posix_fs();

// "dir/name", without doubling a trailing slash.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace strata::io
