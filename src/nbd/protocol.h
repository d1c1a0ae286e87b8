// NBD wire constants, big-endian encoding, and the reply type, shared by the
// handshake and the command executor. Pure code: no sockets, no Asio, so the
// fuzz target and the unit tests drive it byte for byte. The subset Strata
// speaks is described in docs/formats/nbd-wire.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/aligned_buffer.h"

namespace strata::nbd {

// Magic numbers.
inline constexpr uint64_t nbd_magic = 0x4e42444d41474943ULL;        // "NBDMAGIC"
inline constexpr uint64_t ihaveopt_magic = 0x49484156454F5054ULL;   // "IHAVEOPT"
inline constexpr uint64_t option_reply_magic = 0x3e889045565a9ULL;
inline constexpr uint32_t request_magic = 0x25609513;
inline constexpr uint32_t simple_reply_magic = 0x67446698;
inline constexpr uint32_t structured_reply_magic = 0x668e33ef;

// Handshake flags (server) and client flags.
inline constexpr uint16_t flag_fixed_newstyle = 1 << 0;
inline constexpr uint16_t flag_no_zeroes = 1 << 1;
inline constexpr uint32_t client_flag_fixed_newstyle = 1 << 0;
inline constexpr uint32_t client_flag_no_zeroes = 1 << 1;

// Transmission flags.
inline constexpr uint16_t tflag_has_flags = 1 << 0;
inline constexpr uint16_t tflag_read_only = 1 << 1;
inline constexpr uint16_t tflag_send_flush = 1 << 2;
inline constexpr uint16_t tflag_send_fua = 1 << 3;
inline constexpr uint16_t tflag_rotational = 1 << 4;
inline constexpr uint16_t tflag_send_trim = 1 << 5;
inline constexpr uint16_t tflag_send_write_zeroes = 1 << 6;
inline constexpr uint16_t tflag_send_df = 1 << 7;
inline constexpr uint16_t tflag_can_multi_conn = 1 << 8;
inline constexpr uint16_t tflag_send_cache = 1 << 10;
inline constexpr uint16_t tflag_send_fast_zero = 1 << 11;

// Options.
inline constexpr uint32_t opt_export_name = 1;
inline constexpr uint32_t opt_abort = 2;
inline constexpr uint32_t opt_list = 3;
inline constexpr uint32_t opt_starttls = 5;
inline constexpr uint32_t opt_info = 6;
inline constexpr uint32_t opt_go = 7;
inline constexpr uint32_t opt_structured_reply = 8;
inline constexpr uint32_t opt_list_meta_context = 9;
inline constexpr uint32_t opt_set_meta_context = 10;
inline constexpr uint32_t opt_extended_headers = 11;

// Option reply types.
inline constexpr uint32_t rep_ack = 1;
inline constexpr uint32_t rep_server = 2;
inline constexpr uint32_t rep_info = 3;
inline constexpr uint32_t rep_meta_context = 4;
inline constexpr uint32_t rep_err_unsup = 0x80000001;
inline constexpr uint32_t rep_err_policy = 0x80000002;
inline constexpr uint32_t rep_err_invalid = 0x80000003;
inline constexpr uint32_t rep_err_platform = 0x80000004;
inline constexpr uint32_t rep_err_tls_reqd = 0x80000005;
inline constexpr uint32_t rep_err_unknown = 0x80000006;
inline constexpr uint32_t rep_err_shutdown = 0x80000007;
inline constexpr uint32_t rep_err_block_size_reqd = 0x80000008;
inline constexpr uint32_t rep_err_too_big = 0x80000009;

// NBD_REP_INFO types.
inline constexpr uint16_t info_export = 0;
inline constexpr uint16_t info_name = 1;
inline constexpr uint16_t info_description = 2;
inline constexpr uint16_t info_block_size = 3;

// Commands.
inline constexpr uint16_t cmd_read = 0;
inline constexpr uint16_t cmd_write = 1;
inline constexpr uint16_t cmd_disc = 2;
inline constexpr uint16_t cmd_flush = 3;
inline constexpr uint16_t cmd_trim = 4;
inline constexpr uint16_t cmd_cache = 5;
inline constexpr uint16_t cmd_write_zeroes = 6;
inline constexpr uint16_t cmd_block_status = 7;

// Command flags.
inline constexpr uint16_t cmd_flag_fua = 1 << 0;
inline constexpr uint16_t cmd_flag_no_hole = 1 << 1;
inline constexpr uint16_t cmd_flag_df = 1 << 2;
inline constexpr uint16_t cmd_flag_req_one = 1 << 3;
inline constexpr uint16_t cmd_flag_fast_zero = 1 << 4;

// Structured reply flags and chunk types.
inline constexpr uint16_t reply_flag_done = 1 << 0;
inline constexpr uint16_t reply_type_none = 0;
inline constexpr uint16_t reply_type_offset_data = 1;
inline constexpr uint16_t reply_type_offset_hole = 2;
inline constexpr uint16_t reply_type_block_status = 5;
inline constexpr uint16_t reply_type_error = 0x8001;
inline constexpr uint16_t reply_type_error_offset = 0x8002;

// Error values (the spec's, which match Linux errno).
inline constexpr uint32_t err_perm = 1;
inline constexpr uint32_t err_io = 5;
inline constexpr uint32_t err_nomem = 12;
inline constexpr uint32_t err_inval = 22;
inline constexpr uint32_t err_nospc = 28;
inline constexpr uint32_t err_overflow = 75;
inline constexpr uint32_t err_notsup = 95;
inline constexpr uint32_t err_shutdown = 108;

// base:allocation flags.
inline constexpr uint32_t state_hole = 1 << 0;
inline constexpr uint32_t state_zero = 1 << 1;

// Sizes on the wire.
inline constexpr size_t greeting_bytes = 18;           // NBDMAGIC, IHAVEOPT, handshake flags
inline constexpr size_t client_flags_bytes = 4;
inline constexpr size_t option_header_bytes = 16;      // IHAVEOPT, option, length
inline constexpr size_t option_reply_header_bytes = 20;
inline constexpr size_t request_header_bytes = 28;
inline constexpr size_t simple_reply_header_bytes = 16;
inline constexpr size_t structured_reply_header_bytes = 20;
inline constexpr size_t string_bytes_max = 4096;       // the spec's limit on names and messages
inline constexpr size_t export_name_zeroes_bytes = 124;

// The metadata context Strata serves, and the id it gets once selected.
inline constexpr std::string_view base_allocation = "base:allocation";
inline constexpr uint32_t base_allocation_id = 1;

// Why the server hung up on a client (for logs and metrics). The spec lets a
// server hard-disconnect on these; every other bad input gets an error reply.
enum class rejection {
  none,
  bad_client_flags,     // unknown client flags, or no FIXED_NEWSTYLE
  bad_option_magic,     // an option header without IHAVEOPT
  too_many_options,     // more than options_max options in one handshake
  unknown_export,       // NBD_OPT_EXPORT_NAME of an export that cannot be opened
  handshake_timeout,    // the handshake stalled for handshake_timeout_ms
  bad_request_magic,    // a request header without NBD_REQUEST_MAGIC
  payload_timeout,      // a WRITE payload stalled for payload_timeout_ms
  idle_timeout,         // no request for idle_timeout_ms
};
const char* rejection_name(rejection r);

const char* command_name(uint16_t command);   // "read", ..., "unknown"
const char* option_name(uint32_t option);     // "go", ..., "unknown"
const char* error_name(uint32_t error);       // "EINVAL", ..., "0" for success

// Big-endian loads.
inline uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t load_u64(const uint8_t* p) { return (uint64_t{load_u32(p)} << 32) | load_u32(p + 4); }

// Request payloads and read replies: not zeroed first (they are overwritten
// at once), 4 KiB-aligned for direct I/O, and reused from a shared pool so a
// large request does not fault in fresh pages.
using buffer = aligned_buffer;

// Appends big-endian fields to a byte vector.
class writer {
 public:
  explicit writer(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void zeroes(size_t n) { out_.insert(out_.end(), n, 0); }

 private:
  std::vector<uint8_t>& out_;
};

// Reads big-endian fields from a span; a read past the end marks the reader
// failed and returns zeros, so decoders check ok() once at the end.
class reader {
 public:
  explicit reader(std::span<const uint8_t> in) : in_(in) {}
  uint16_t u16() { return take(2) ? load_u16(at_ - 2) : 0; }
  uint32_t u32() { return take(4) ? load_u32(at_ - 4) : 0; }
  uint64_t u64() { return take(8) ? load_u64(at_ - 8) : 0; }
  std::string text(size_t n) { return take(n) ? std::string(reinterpret_cast<const char*>(at_ - n), n) : std::string(); }
  size_t remaining() const { return ok_ ? static_cast<size_t>(in_.data() + in_.size() - at_) : 0; }
  bool ok() const { return ok_; }

 private:
  bool take(size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    at_ += n;
    return true;
  }
  std::span<const uint8_t> in_;
  const uint8_t* at_ = in_.data();
  bool ok_ = true;
};

// One whole reply to a transmission request, ready for a gathered write: the
// small header bytes live in `head`, bulk data (a READ's bytes) in `payload`,
// and `pieces` lists what goes on the wire, in order, without copying the
// payload.
struct reply {
  struct piece {
    bool from_payload = false;
    size_t offset = 0;
    size_t length = 0;
  };
  std::vector<uint8_t> head;
  buffer payload;
  std::vector<piece> pieces;
  uint32_t error = 0;  // the NBD error the reply carries, 0 on success (for metrics)

  // Appends head bytes written since `from` as one piece.
  void close_head_piece(size_t from);
  void add_payload_piece(size_t offset, size_t length);
  size_t size() const;
  std::vector<uint8_t> flatten() const;  // for tests and the fuzz target
};

}  // namespace strata::nbd
