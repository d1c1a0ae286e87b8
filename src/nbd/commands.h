// The transmission phase without I/O: decode a request header, check it
// against the session (before a WRITE payload is read, so a refused payload
// can be skipped instead of buffered), and run it against an export, which
// yields the whole reply. The connection runs execute() on a worker thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "nbd/handshake.h"
#include "nbd/protocol.h"
#include "volumes/service.h"

namespace strata::nbd {

struct request {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t handle = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// Decodes the 28 request header bytes; false if the magic is wrong (the
// connection cannot find the next request then, so it hangs up).
bool decode_request(std::span<const uint8_t> bytes, request& out);

// Whether `length` payload bytes follow the header on the wire.
inline bool has_payload(const request& r) { return r.type == cmd_write; }

// The answer a request gets before it runs: error 0 means run it.
struct verdict {
  uint32_t error = 0;
  std::string message;
};

// Checks the command, its flags, the export's mode, the block size limit and
// the range, in that order (see docs/formats/nbd-wire.md for each error).
// NBD_CMD_DISC is the caller's business and is not checked here.
verdict check_request(const session& s, const request& r);

// Runs a request that passed check_request. `payload` is the WRITE data
// (length bytes), empty otherwise.
reply execute(volumes::export_handle& exp, const session& s, const request& r, std::span<const uint8_t> payload);

// Runs READs that passed check_request as one batch of disk reads
// (export_handle::read_batch); replies[i] answers reads[i].
void execute_reads(volumes::export_handle& exp, const session& s, std::span<const request> reads,
                   std::span<reply> replies);

// A reply that carries only `error` (0 for success): a simple reply, or an
// NBD_REPLY_TYPE_ERROR chunk with the message when structured replies are on.
reply make_reply(const session& s, const request& r, uint32_t error, std::string_view message = {});

// The NBD error for a failed export call.
uint32_t error_for(errc code, bool fast_zero);

}  // namespace strata::nbd
