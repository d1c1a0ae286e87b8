// The fixed newstyle handshake as a state machine without I/O: the connection
// reads bytes off the socket, hands each decoded piece here, and writes back
// the bytes each step returns. Options are answered as the NBD spec says
// (unknown -> NBD_REP_ERR_UNSUP, malformed -> NBD_REP_ERR_INVALID, unknown
// export -> NBD_REP_ERR_UNKNOWN); the connection is closed only where the
// spec allows a hard disconnect (bad client flags, bad option magic,
// NBD_OPT_EXPORT_NAME of a missing export, a flood of options).
//
// on_option() calls volumes::service (list_exports, open_export), so the
// connection runs it on a worker thread. One handshake is used by one thread
// at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/units.h"
#include "nbd/protocol.h"
#include "volumes/service.h"

namespace strata::nbd {

struct handshake_limits {
  uint32_t option_bytes_max = 64 * KiB;      // larger option payloads are discarded and answered NBD_REP_ERR_TOO_BIG
  uint32_t options_max = 16384;              // per handshake; room for an INFO per export when listing every export
  uint32_t block_bytes_max = 32 * MiB;       // advertised maximum block size: the largest READ or WRITE
  uint32_t block_status_extents_max = 1024;  // descriptors in one BLOCK_STATUS reply
};

// What the transmission phase needs from a finished handshake.
struct session {
  std::string export_name;
  uint64_t size_bytes = 0;
  uint16_t transmission_flags = 0;
  bool read_only = false;
  bool structured_replies = false;
  uint32_t allocation_context_id = 0;  // 0 unless base:allocation was selected for this export
  uint32_t block_bytes_max = 32 * MiB;
  uint32_t block_status_extents_max = 1024;
};

// The transmission flags Strata sends for an export.
uint16_t transmission_flags(bool read_only, bool structured_replies);

// The advertised block size constraints: minimum 1 (any alignment works,
// partial blocks are read-modify-written), preferred volumes::block_bytes,
// maximum block_bytes_max.
inline constexpr uint32_t block_bytes_min = 1;
inline constexpr uint32_t block_bytes_preferred = static_cast<uint32_t>(volumes::block_bytes);

class handshake {
 public:
  enum class next { option, transmission, close };
  struct step {
    std::vector<uint8_t> reply;  // bytes to send before acting on `then`
    next then = next::option;
    rejection why = rejection::none;  // set when the server hangs up on a bad client
  };
  struct option_header {
    uint32_t option = 0;
    uint32_t length = 0;
  };
  // What the connection does with the payload that follows an option header.
  enum class payload_plan { read, discard, close };

  handshake(volumes::service& svc, handshake_limits limits) : service_(svc), limits_(limits) {}

  // NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE | NO_ZEROES.
  static std::vector<uint8_t> greeting();
  // The 4 client flag bytes. A client without FIXED_NEWSTYLE, or with flags
  // the server did not offer, is closed.
  step on_client_flags(std::span<const uint8_t> bytes);
  // The 16 option header bytes. `read`: pass the payload to on_option;
  // `discard`: skip length bytes, then call on_oversized_option; `close`:
  // hang up (why() says why).
  payload_plan on_option_header(std::span<const uint8_t> bytes, option_header& out);
  step on_option(const option_header& header, std::span<const uint8_t> payload);
  step on_oversized_option(const option_header& header);
  rejection why() const { return why_; }

  // After a step with next::transmission.
  const session& negotiated() const { return session_; }
  std::shared_ptr<volumes::export_handle> take_export() { return std::move(export_); }

 private:
  step export_name(std::span<const uint8_t> payload);
  step list(const option_header& header, std::span<const uint8_t> payload);
  step info_or_go(const option_header& header, std::span<const uint8_t> payload);
  step structured_reply(const option_header& header, std::span<const uint8_t> payload);
  step meta_context(const option_header& header, std::span<const uint8_t> payload);
  // Opens `name`, or returns the option error that says why not.
  result<std::shared_ptr<volumes::export_handle>> open(const std::string& name);
  void enter_transmission(const std::string& name, std::shared_ptr<volumes::export_handle> handle);

  volumes::service& service_;
  handshake_limits limits_;
  bool no_zeroes_ = false;
  bool structured_replies_ = false;
  bool allocation_selected_ = false;
  std::string meta_export_name_;  // the export the last SET_META_CONTEXT named
  uint32_t options_seen_ = 0;
  rejection why_ = rejection::none;
  session session_;
  std::shared_ptr<volumes::export_handle> export_;
};

// One option reply: magic, option, type, length, data.
void put_option_reply(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::span<const uint8_t> data);
void put_option_error(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::string_view message);

}  // namespace strata::nbd
