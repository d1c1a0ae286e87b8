#include "nbd/protocol.h"

namespace strata::nbd {

const char* rejection_name(rejection r) {
  switch (r) {
    case rejection::none: return "none";
    case rejection::bad_client_flags: return "bad_client_flags";
    case rejection::bad_option_magic: return "bad_option_magic";
    case rejection::too_many_options: return "too_many_options";
    case rejection::unknown_export: return "unknown_export";
    case rejection::handshake_timeout: return "handshake_timeout";
    case rejection::bad_request_magic: return "bad_request_magic";
    case rejection::payload_timeout: return "payload_timeout";
    case rejection::idle_timeout: return "idle_timeout";
  }
  return "unknown";
}

const char* command_name(uint16_t command) {
  switch (command) {
    case cmd_read: return "read";
    case cmd_write: return "write";
    case cmd_disc: return "disc";
    case cmd_flush: return "flush";
    case cmd_trim: return "trim";
    case cmd_cache: return "cache";
    case cmd_write_zeroes: return "write_zeroes";
    case cmd_block_status: return "block_status";
  }
  return "unknown";
}

const char* option_name(uint32_t option) {
  switch (option) {
    case opt_export_name: return "export_name";
    case opt_abort: return "abort";
    case opt_list: return "list";
    case opt_starttls: return "starttls";
    case opt_info: return "info";
    case opt_go: return "go";
    case opt_structured_reply: return "structured_reply";
    case opt_list_meta_context: return "list_meta_context";
    case opt_set_meta_context: return "set_meta_context";
    case opt_extended_headers: return "extended_headers";
  }
  return "unknown";
}

const char* error_name(uint32_t error) {
  switch (error) {
    case 0: return "0";
    case err_perm: return "EPERM";
    case err_io: return "EIO";
    case err_nomem: return "ENOMEM";
    case err_inval: return "EINVAL";
    case err_nospc: return "ENOSPC";
    case err_overflow: return "EOVERFLOW";
    case err_notsup: return "ENOTSUP";
    case err_shutdown: return "ESHUTDOWN";
  }
  return "other";
}

void reply::close_head_piece(size_t from) {
  if (head.size() > from) pieces.push_back(piece{false, from, head.size() - from});
}

void reply::add_payload_piece(size_t offset, size_t length) {
  if (length > 0) pieces.push_back(piece{true, offset, length});
}

size_t reply::size() const {
  size_t total = 0;
  for (const auto& p : pieces) total += p.length;
  return total;
}

std::vector<uint8_t> reply::flatten() const {
  std::vector<uint8_t> out;
  out.reserve(size());
  for (const auto& p : pieces) {
    const uint8_t* base = p.from_payload ? payload.data() : head.data();
    out.insert(out.end(), base + p.offset, base + p.offset + p.length);
  }
  return out;
}

}  // namespace strata::nbd
