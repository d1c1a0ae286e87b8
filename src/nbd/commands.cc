#include "nbd/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace strata::nbd {

namespace {

bool writes_data(uint16_t type) { return type == cmd_write || type == cmd_trim || type == cmd_write_zeroes; }

// The flags each command accepts. FUA is valid on every command once
// SEND_FUA is advertised (the spec makes the server accept and ignore it).
uint16_t allowed_flags(const session& s, uint16_t type) {
  switch (type) {
    case cmd_read: return cmd_flag_fua | (s.structured_replies ? cmd_flag_df : 0);
    case cmd_write_zeroes: return cmd_flag_fua | cmd_flag_no_hole | cmd_flag_fast_zero;
    case cmd_block_status: return cmd_flag_fua | cmd_flag_req_one;
    default: return cmd_flag_fua;
  }
}

bool limited_by_block_max(const request& r) {
  // The maximum block size bounds what carries data: READ, WRITE, CACHE.
  // The spec also asks clients to keep WRITE_ZEROES under it, but nbdcopy
  // sends zero requests past it, and they carry no payload, so they are
  // only bounded by the export (documented in docs/formats/nbd-wire.md).
  return r.type == cmd_read || r.type == cmd_write || r.type == cmd_cache;
}

void put_chunk_header(std::vector<uint8_t>& out, uint16_t flags, uint16_t type, uint64_t handle, uint32_t length) {
  writer w(out);
  w.u32(structured_reply_magic);
  w.u16(flags);
  w.u16(type);
  w.u64(handle);
  w.u32(length);
}

reply status_reply(const session& s, const request& r, const status& st, bool fast_zero = false) {
  if (st.ok()) return make_reply(s, r, 0);
  return make_reply(s, r, error_for(st.code(), fast_zero), st.err().message);
}

// Adjacent runs of the same kind, merged; empty runs dropped.
std::vector<volumes::data_run> merge_runs(const std::vector<volumes::data_run>& runs) {
  std::vector<volumes::data_run> out;
  for (const auto& run : runs) {
    if (run.length_bytes == 0) continue;
    if (!out.empty() && out.back().zero == run.zero) {
      out.back().length_bytes += run.length_bytes;
    } else {
      out.push_back(run);
    }
  }
  return out;
}

// Zero runs are not trusted to be zeroed in the buffer when they go out as data.
void zero_fill(buffer& data, const std::vector<volumes::data_run>& runs) {
  uint64_t at = 0;
  for (const auto& run : runs) {
    if (run.zero) std::memset(data.data() + at, 0, run.length_bytes);
    at += run.length_bytes;
  }
}

// A READ's reply, from the payload its read filled and the runs it gave.
reply finish_read(const session& s, const request& r, reply out,
                  const result<std::vector<volumes::data_run>>& read_runs) {
  if (!read_runs.ok()) return make_reply(s, r, error_for(read_runs.code(), false), read_runs.err().message);
  auto runs = merge_runs(*read_runs);
  uint64_t covered = 0;
  for (const auto& run : runs) covered += run.length_bytes;
  if (covered != r.length) {
    return make_reply(s, r, err_io, fmt::format("internal error: the read described {} of {} bytes", covered, r.length));
  }
  const bool any_hole = std::any_of(runs.begin(), runs.end(), [](const auto& run) { return run.zero; });
  const bool one_chunk = !s.structured_replies || (r.flags & cmd_flag_df) != 0 || !any_hole;
  if (one_chunk) {
    zero_fill(out.payload, runs);
    writer w(out.head);
    if (s.structured_replies) {
      put_chunk_header(out.head, reply_flag_done, reply_type_offset_data, r.handle, 8 + r.length);
      w.u64(r.offset);
    } else {
      w.u32(simple_reply_magic);
      w.u32(0);
      w.u64(r.handle);
    }
    out.close_head_piece(0);
    out.add_payload_piece(0, r.length);
    return out;
  }
  uint64_t at = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const uint16_t flags = i + 1 == runs.size() ? reply_flag_done : 0;
    const size_t head_from = out.head.size();
    writer w(out.head);
    if (run.zero) {
      put_chunk_header(out.head, flags, reply_type_offset_hole, r.handle, 12);
      w.u64(r.offset + at);
      w.u32(static_cast<uint32_t>(run.length_bytes));
      out.close_head_piece(head_from);
    } else {
      put_chunk_header(out.head, flags, reply_type_offset_data, r.handle, static_cast<uint32_t>(8 + run.length_bytes));
      w.u64(r.offset + at);
      out.close_head_piece(head_from);
      out.add_payload_piece(at, run.length_bytes);
    }
    at += run.length_bytes;
  }
  return out;
}

reply block_status(volumes::export_handle& exp, const session& s, const request& r) {
  const bool req_one = (r.flags & cmd_flag_req_one) != 0;
  const size_t extents_max = req_one ? 1 : s.block_status_extents_max;
  auto extents = exp.block_status(r.offset, r.length, extents_max);
  if (!extents.ok()) return make_reply(s, r, error_for(extents.code(), false), extents.err().message);
  struct descriptor {
    uint32_t length;
    uint32_t flags;
  };
  std::vector<descriptor> out_extents;
  uint64_t covered = 0;
  for (const auto& e : *extents) {
    if (covered >= r.length || out_extents.size() >= extents_max) break;
    const uint64_t length = std::min<uint64_t>(e.length_bytes, r.length - covered);
    if (length == 0) continue;
    const uint32_t flags = (e.hole ? state_hole : 0) | (e.zero ? state_zero : 0);
    if (!out_extents.empty() && out_extents.back().flags == flags) {
      out_extents.back().length += static_cast<uint32_t>(length);
    } else {
      out_extents.push_back(descriptor{static_cast<uint32_t>(length), flags});
    }
    covered += length;
  }
  if (out_extents.empty()) return make_reply(s, r, err_io, "internal error: block status found no extent");
  reply out;
  put_chunk_header(out.head, reply_flag_done, reply_type_block_status, r.handle,
                   static_cast<uint32_t>(4 + 8 * out_extents.size()));
  writer w(out.head);
  w.u32(s.allocation_context_id);
  for (const auto& d : out_extents) {
    w.u32(d.length);
    w.u32(d.flags);
  }
  out.close_head_piece(0);
  return out;
}

reply write_zeroes(volumes::export_handle& exp, const session& s, const request& r) {
  if (r.length == 0) return make_reply(s, r, 0);
  volumes::zero_options options;
  options.may_punch = (r.flags & cmd_flag_no_hole) == 0;
  options.fast_only = (r.flags & cmd_flag_fast_zero) != 0;
  return status_reply(s, r, exp.write_zeroes(r.offset, r.length, options, (r.flags & cmd_flag_fua) != 0),
                      options.fast_only);
}

}  // namespace

bool decode_request(std::span<const uint8_t> bytes, request& out) {
  STRATA_ASSERT(bytes.size() == request_header_bytes, "request headers are 28 bytes");
  if (load_u32(bytes.data()) != request_magic) return false;
  out.flags = load_u16(bytes.data() + 4);
  out.type = load_u16(bytes.data() + 6);
  out.handle = load_u64(bytes.data() + 8);
  out.offset = load_u64(bytes.data() + 16);
  out.length = load_u32(bytes.data() + 24);
  return true;
}

verdict check_request(const session& s, const request& r) {
  switch (r.type) {
    case cmd_read:
    case cmd_write:
    case cmd_flush:
    case cmd_trim:
    case cmd_cache:
    case cmd_write_zeroes:
    case cmd_block_status: break;
    default: return {err_inval, fmt::format("command {} is not supported by this server", r.type)};
  }
  if ((r.flags & ~allowed_flags(s, r.type)) != 0) {
    return {err_inval, fmt::format("command flags {:#x} are not valid for NBD_CMD_{}", r.flags, command_name(r.type))};
  }
  if (s.read_only && writes_data(r.type)) {
    return {err_perm, fmt::format("export '{}' is read-only (a snapshot); write to its volume or to a clone of it",
                                  s.export_name)};
  }
  if (r.type == cmd_block_status && s.allocation_context_id == 0) {
    return {err_inval, "select base:allocation with NBD_OPT_SET_META_CONTEXT before NBD_CMD_BLOCK_STATUS"};
  }
  if (limited_by_block_max(r) && r.length > s.block_bytes_max) {
    return {err_inval, fmt::format("length {} is over the maximum block size of {} bytes", r.length, s.block_bytes_max)};
  }
  if (r.type == cmd_flush) return {};  // offset and length are reserved
  if (r.offset > s.size_bytes || r.length > s.size_bytes - r.offset) {
    // The spec asks for ENOSPC on writes past the end and EINVAL otherwise.
    const uint32_t error = (r.type == cmd_write || r.type == cmd_write_zeroes) ? err_nospc : err_inval;
    return {error, fmt::format("range {}+{} is beyond the end of the export ({} bytes)", r.offset, r.length, s.size_bytes)};
  }
  if (r.type == cmd_block_status && r.length == 0) return {err_inval, "NBD_CMD_BLOCK_STATUS needs a nonzero length"};
  return {};
}

void execute_reads(volumes::export_handle& exp, const session& s, std::span<const request> reads,
                   std::span<reply> replies) {
  STRATA_ASSERT(reads.size() == replies.size(), "one reply per read");
  std::vector<volumes::read_call> calls;
  std::vector<size_t> owners;  // the read each call serves
  for (size_t i = 0; i < reads.size(); ++i) {
    const request& r = reads[i];
    STRATA_ASSERT(r.type == cmd_read, "execute_reads runs READs");
    if (r.length == 0) {
      replies[i] = make_reply(s, r, 0);
      continue;
    }
    replies[i].payload = buffer(r.length);
    calls.push_back(volumes::read_call{r.offset, replies[i].payload.span()});
    owners.push_back(i);
  }
  if (calls.empty()) return;
  exp.read_batch(calls);
  for (size_t c = 0; c < calls.size(); ++c) {
    const size_t i = owners[c];
    replies[i] = finish_read(s, reads[i], std::move(replies[i]), calls[c].runs);
  }
}

namespace {

reply read(volumes::export_handle& exp, const session& s, const request& r) {
  reply out[1];
  execute_reads(exp, s, std::span(&r, 1), out);
  return std::move(out[0]);
}

}  // namespace

reply execute(volumes::export_handle& exp, const session& s, const request& r, std::span<const uint8_t> payload) {
  STRATA_ASSERT(payload.size() == (has_payload(r) ? r.length : 0), "a WRITE carries exactly its length");
  const bool fua = (r.flags & cmd_flag_fua) != 0;
  switch (r.type) {
    case cmd_read: return read(exp, s, r);
    case cmd_write: return r.length == 0 ? make_reply(s, r, 0) : status_reply(s, r, exp.write(r.offset, payload, fua));
    case cmd_flush: return s.read_only ? make_reply(s, r, 0) : status_reply(s, r, exp.flush());
    case cmd_trim: return r.length == 0 ? make_reply(s, r, 0) : status_reply(s, r, exp.trim(r.offset, r.length, fua));
    case cmd_cache: return make_reply(s, r, 0);  // a hint; reads need no warming
    case cmd_write_zeroes: return write_zeroes(exp, s, r);
    case cmd_block_status: return block_status(exp, s, r);
  }
  return make_reply(s, r, err_inval, "unknown command");
}

reply make_reply(const session& s, const request& r, uint32_t error, std::string_view message) {
  reply out;
  out.error = error;
  writer w(out.head);
  if (!s.structured_replies || (error == 0 && r.type != cmd_read)) {
    w.u32(simple_reply_magic);
    w.u32(error);
    w.u64(r.handle);
  } else if (error == 0) {
    put_chunk_header(out.head, reply_flag_done, reply_type_none, r.handle, 0);
  } else {
    message = message.substr(0, string_bytes_max);
    put_chunk_header(out.head, reply_flag_done, reply_type_error, r.handle, static_cast<uint32_t>(6 + message.size()));
    w.u32(error);
    w.u16(static_cast<uint16_t>(message.size()));
    w.text(message);
  }
  out.close_head_piece(0);
  return out;
}

uint32_t error_for(errc code, bool fast_zero) {
  switch (code) {
    case errc::ok: return 0;
    case errc::invalid_argument: return err_inval;
    case errc::no_space: return err_nospc;
    case errc::unsupported: return fast_zero ? err_notsup : err_io;
    default: return err_io;
  }
}

}  // namespace strata::nbd
