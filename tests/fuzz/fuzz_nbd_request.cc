// libFuzzer target: arbitrary bytes as what an NBD client sends, through the
// sans-IO protocol core (src/nbd/handshake and src/nbd/commands) against the
// in-memory fake volumes of the NBD unit tests. No sockets and no Asio: the
// loop below plays the connection's part byte for byte.
//
// The first input byte picks the start:
//   bit 7 clear: a full handshake (client flags, then options) and, if it
//                reaches transmission, requests;
//   bit 7 set:   straight to requests, with bit 0 = structured replies,
//                bit 1 = base:allocation selected, bit 2 = the read-only export.
//
// Besides the sanitizers, every reply is checked against the spec's rules:
// option replies are well formed and end with ACK or an error; a transmission
// reply is one simple reply with the request's handle, or structured chunks
// with that handle where only the last has DONE, content chunks stay inside
// the request and do not overlap, and a successful READ covers every byte.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "nbd/commands.h"
#include "nbd/handshake.h"
#include "nbd/protocol.h"
#include "nbd/tests/fake_volumes.h"

namespace {

using namespace strata;
using namespace strata::nbd;

constexpr uint64_t export_bytes = 256 * 1024;   // every READ fits in memory cheaply
constexpr uint32_t block_bytes_max = 128 * 1024;
constexpr size_t requests_per_input_max = 64;

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "NBD reply contract violated: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) violation(what);
}

// Bytes the "client" has sent, consumed in order.
class input {
 public:
  explicit input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool take(size_t n, std::span<const uint8_t>& out) {
    if (bytes_.size() - at_ < n) return false;
    out = bytes_.subspan(at_, n);
    at_ += n;
    return true;
  }
  size_t left() const { return bytes_.size() - at_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

void check_option_replies(const std::vector<uint8_t>& bytes, uint32_t option) {
  size_t at = 0;
  uint32_t last_type = 0;
  while (at < bytes.size()) {
    require(bytes.size() - at >= option_reply_header_bytes, "truncated option reply header");
    require(load_u64(&bytes[at]) == option_reply_magic, "option reply magic");
    require(load_u32(&bytes[at + 8]) == option, "option reply names another option");
    last_type = load_u32(&bytes[at + 12]);
    uint32_t length = load_u32(&bytes[at + 16]);
    at += option_reply_header_bytes;
    require(bytes.size() - at >= length, "option reply longer than its bytes");
    at += length;
    require(at == bytes.size() || (last_type != rep_ack && (last_type & 0x80000000u) == 0),
            "a reply follows the final option reply");
  }
  require(last_type == rep_ack || (last_type & 0x80000000u) != 0, "option replies end without ACK or an error");
}

void check_reply(const session& s, const request& r, const reply& rep) {
  auto bytes = rep.flatten();
  require(bytes.size() == rep.size(), "reply size");
  require(bytes.size() >= 4, "empty reply");
  if (load_u32(bytes.data()) == simple_reply_magic) {
    require(bytes.size() >= simple_reply_header_bytes, "short simple reply");
    require(load_u64(bytes.data() + 8) == r.handle, "simple reply handle");
    uint32_t error = load_u32(bytes.data() + 4);
    require(!(s.structured_replies && r.type == cmd_read), "simple reply to a structured READ");
    size_t data = (r.type == cmd_read && error == 0) ? r.length : 0;
    require(bytes.size() == simple_reply_header_bytes + data, "simple reply length");
    return;
  }
  require(s.structured_replies, "structured reply without negotiation");
  size_t at = 0;
  bool done = false;
  bool error = false;
  std::vector<std::pair<uint64_t, uint64_t>> content;  // [from, to)
  while (at < bytes.size()) {
    require(!done, "a chunk after DONE");
    require(bytes.size() - at >= structured_reply_header_bytes, "short chunk header");
    require(load_u32(&bytes[at]) == structured_reply_magic, "chunk magic");
    uint16_t flags = load_u16(&bytes[at + 4]);
    uint16_t type = load_u16(&bytes[at + 6]);
    require(load_u64(&bytes[at + 8]) == r.handle, "chunk handle");
    uint32_t length = load_u32(&bytes[at + 16]);
    at += structured_reply_header_bytes;
    require(bytes.size() - at >= length, "chunk longer than its bytes");
    const uint8_t* p = &bytes[at];
    done = (flags & reply_flag_done) != 0;
    if (type == reply_type_offset_data || type == reply_type_offset_hole) {
      require(r.type == cmd_read, "content chunk for a non-READ");
      uint64_t from = load_u64(p);
      uint64_t size = type == reply_type_offset_data ? length - 8 : load_u32(p + 8);
      require(type == reply_type_offset_data ? length > 8 : length == 12, "content chunk length");
      require(size > 0 && from >= r.offset && from + size <= r.offset + r.length, "content outside the request");
      content.emplace_back(from, from + size);
    } else if (type == reply_type_block_status) {
      require(r.type == cmd_block_status, "block status for another command");
      require(length >= 12 && (length - 4) % 8 == 0, "block status length");
      require(load_u32(p) == s.allocation_context_id, "block status context id");
      uint64_t sum = 0;
      for (uint32_t i = 4; i < length; i += 8) {
        require(load_u32(p + i) > 0, "empty extent");
        sum += load_u32(p + i);
      }
      require(sum <= r.length, "extents past the request");
      require(!(r.flags & cmd_flag_req_one) || length == 12, "REQ_ONE with several extents");
    } else if (type == reply_type_error) {
      require(length >= 6 && load_u16(p + 4) + 6u == length && load_u32(p) != 0, "error chunk");
      error = true;
    } else {
      require(type == reply_type_none && length == 0, "unknown chunk type");
    }
    at += length;
  }
  require(done, "structured reply without DONE");
  if (r.type == cmd_read && !error) {
    std::sort(content.begin(), content.end());
    uint64_t next = r.offset;
    for (auto [from, to] : content) {
      require(from == next, "content chunks overlap or leave a gap");
      next = to;
    }
    require(next == r.offset + r.length, "READ not covered");
    require(!(r.flags & cmd_flag_df) || content.size() <= 1, "DF with several content chunks");
  }
}

// Plays the connection's handshake loop; returns the export on transmission.
std::shared_ptr<volumes::export_handle> negotiate(input& in, handshake& hs) {
  std::span<const uint8_t> bytes;
  if (!in.take(client_flags_bytes, bytes)) return nullptr;
  if (hs.on_client_flags(bytes).then == handshake::next::close) return nullptr;
  for (;;) {
    if (!in.take(option_header_bytes, bytes)) return nullptr;
    handshake::option_header header;
    auto plan = hs.on_option_header(bytes, header);
    if (plan == handshake::payload_plan::close) return nullptr;
    handshake::step step;
    if (plan == handshake::payload_plan::discard) {
      if (!in.take(header.length, bytes)) return nullptr;
      step = hs.on_oversized_option(header);
    } else {
      if (!in.take(header.length, bytes)) return nullptr;
      step = hs.on_option(header, bytes);
    }
    if (step.then == handshake::next::transmission) {
      if (header.option != opt_export_name) check_option_replies(step.reply, header.option);
      return hs.take_export();
    }
    if (step.then == handshake::next::close) return nullptr;
    check_option_replies(step.reply, header.option);
  }
}

void transmit(input& in, volumes::export_handle& exp, const session& s) {
  std::span<const uint8_t> bytes;
  for (size_t n = 0; n < requests_per_input_max && in.take(request_header_bytes, bytes); ++n) {
    request r;
    if (!decode_request(bytes, r)) return;  // the connection hangs up
    if (r.type == cmd_disc) return;
    verdict v = check_request(s, r);
    std::span<const uint8_t> payload;
    if (has_payload(r)) {
      if (!in.take(r.length, payload)) return;
      if (v.error != 0) payload = {};
    }
    reply rep = v.error != 0 ? make_reply(s, r, v.error, v.message) : execute(exp, s, r, payload);
    check_reply(s, r, rep);
  }
}

struct environment {
  nbd::testing::fake_volumes volumes;
  environment() {
    volumes.add_export("vol", export_bytes, false, "fuzz volume");
    std::vector<uint8_t> data(8192, 0xA5);
    auto handle = volumes.open_export("vol");
    (void)(*handle)->write(8192, data, false);  // some data between holes
    volumes.add_export("vol@snap", export_bytes, true, "fuzz snapshot");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  environment env;
  input in(std::span<const uint8_t>(data + 1, size - 1));
  handshake_limits limits;
  limits.block_bytes_max = block_bytes_max;
  limits.options_max = 64;
  limits.option_bytes_max = 1024;  // small, so oversized options are cheap to reach
  limits.block_status_extents_max = 16;
  if ((data[0] & 0x80) == 0) {
    handshake hs(env.volumes, limits);
    auto exp = negotiate(in, hs);
    if (exp) transmit(in, *exp, hs.negotiated());
    return 0;
  }
  const bool read_only = (data[0] & 4) != 0;
  auto exp = env.volumes.open_export(read_only ? "vol@snap" : "vol");
  session s;
  s.export_name = (*exp)->name();
  s.size_bytes = (*exp)->size_bytes();
  s.read_only = read_only;
  s.structured_replies = (data[0] & 1) != 0;
  s.allocation_context_id = (s.structured_replies && (data[0] & 2)) ? base_allocation_id : 0;
  s.transmission_flags = transmission_flags(read_only, s.structured_replies);
  s.block_bytes_max = block_bytes_max;
  s.block_status_extents_max = limits.block_status_extents_max;
  transmit(in, **exp, s);
  return 0;
}
