#include "nbd/handshake.h"

#include <fmt/format.h>

#include <algorithm>

namespace strata::nbd {

namespace {

uint32_t option_error_for(errc code) {
  switch (code) {
    case errc::unavailable: return rep_err_shutdown;
    default: return rep_err_unknown;  // "the requested export is not available"
  }
}

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// The payload of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT.
struct meta_request {
  std::string export_name;
  std::vector<std::string> queries;
};

bool parse_meta_request(std::span<const uint8_t> payload, meta_request& out) {
  reader r(payload);
  uint32_t name_bytes = r.u32();
  if (!r.ok() || name_bytes > string_bytes_max || name_bytes > r.remaining()) return false;
  out.export_name = r.text(name_bytes);
  uint32_t count = r.u32();
  if (!r.ok() || count > r.remaining() / 4) return false;  // each query takes at least its length field
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t query_bytes = r.u32();
    if (!r.ok() || query_bytes > string_bytes_max || query_bytes > r.remaining()) return false;
    out.queries.push_back(r.text(query_bytes));
  }
  return r.ok() && r.remaining() == 0;
}

void put_meta_context(std::vector<uint8_t>& out, uint32_t option, uint32_t id) {
  std::vector<uint8_t> data;
  writer w(data);
  w.u32(id);
  w.text(base_allocation);
  put_option_reply(out, option, rep_meta_context, data);
}

void put_info(std::vector<uint8_t>& out, uint32_t option, uint16_t type, std::span<const uint8_t> body) {
  std::vector<uint8_t> data;
  writer w(data);
  w.u16(type);
  w.bytes(body);
  put_option_reply(out, option, rep_info, data);
}

}  // namespace

uint16_t transmission_flags(bool read_only, bool structured_replies) {
  uint16_t flags = tflag_has_flags | tflag_send_flush | tflag_send_fua | tflag_can_multi_conn | tflag_send_cache;
  if (read_only) {
    flags |= tflag_read_only;
  } else {
    flags |= tflag_send_trim | tflag_send_write_zeroes | tflag_send_fast_zero;
  }
  if (structured_replies) flags |= tflag_send_df;
  return flags;
}

void put_option_reply(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::span<const uint8_t> data) {
  writer w(out);
  w.u64(option_reply_magic);
  w.u32(option);
  w.u32(type);
  w.u32(static_cast<uint32_t>(data.size()));
  w.bytes(data);
}

void put_option_error(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::string_view message) {
  put_option_reply(out, option, type, as_bytes(message.substr(0, string_bytes_max)));
}

std::vector<uint8_t> handshake::greeting() {
  std::vector<uint8_t> out;
  writer w(out);
  w.u64(nbd_magic);
  w.u64(ihaveopt_magic);
  w.u16(flag_fixed_newstyle | flag_no_zeroes);
  return out;
}

handshake::step handshake::on_client_flags(std::span<const uint8_t> bytes) {
  STRATA_ASSERT(bytes.size() == client_flags_bytes, "client flags are 4 bytes");
  uint32_t flags = load_u32(bytes.data());
  constexpr uint32_t known = client_flag_fixed_newstyle | client_flag_no_zeroes;
  if ((flags & ~known) != 0 || (flags & client_flag_fixed_newstyle) == 0) {
    why_ = rejection::bad_client_flags;
    return step{{}, next::close, why_};
  }
  no_zeroes_ = (flags & client_flag_no_zeroes) != 0;
  return step{};
}

handshake::payload_plan handshake::on_option_header(std::span<const uint8_t> bytes, option_header& out) {
  STRATA_ASSERT(bytes.size() == option_header_bytes, "option headers are 16 bytes");
  if (load_u64(bytes.data()) != ihaveopt_magic) {
    why_ = rejection::bad_option_magic;
    return payload_plan::close;
  }
  if (++options_seen_ > limits_.options_max) {
    why_ = rejection::too_many_options;
    return payload_plan::close;
  }
  out.option = load_u32(bytes.data() + 8);
  out.length = load_u32(bytes.data() + 12);
  if (out.length > limits_.option_bytes_max) {
    // An export name cannot be refused with an error reply, and a client that
    // aborts needs no answer: hang up on those rather than skip gigabytes.
    if (out.option == opt_abort) return payload_plan::close;
    if (out.option == opt_export_name) {
      why_ = rejection::unknown_export;
      return payload_plan::close;
    }
    return payload_plan::discard;
  }
  return payload_plan::read;
}

handshake::step handshake::on_oversized_option(const option_header& header) {
  step s;
  put_option_error(s.reply, header.option, rep_err_too_big,
                   fmt::format("option data of {} bytes is over this server's limit of {} bytes", header.length,
                               limits_.option_bytes_max));
  return s;
}

handshake::step handshake::on_option(const option_header& header, std::span<const uint8_t> payload) {
  STRATA_ASSERT(payload.size() == header.length, "the option payload has the length its header gave");
  switch (header.option) {
    case opt_export_name: return export_name(payload);
    case opt_abort: {
      step s;
      put_option_reply(s.reply, header.option, rep_ack, {});
      s.then = next::close;
      return s;
    }
    case opt_list: return list(header, payload);
    case opt_starttls: {
      step s;
      if (!payload.empty()) {
        put_option_error(s.reply, header.option, rep_err_invalid, "NBD_OPT_STARTTLS takes no data");
      } else {
        put_option_error(s.reply, header.option, rep_err_unsup, "this server does not support TLS");
      }
      return s;
    }
    case opt_info:
    case opt_go: return info_or_go(header, payload);
    case opt_structured_reply: return structured_reply(header, payload);
    case opt_list_meta_context:
    case opt_set_meta_context: return meta_context(header, payload);
    default: {
      step s;
      put_option_error(s.reply, header.option, rep_err_unsup,
                       fmt::format("option {} is not supported by this server", header.option));
      return s;
    }
  }
}

result<std::shared_ptr<volumes::export_handle>> handshake::open(const std::string& name) {
  if (name.empty()) {
    return make_error(errc::not_found, "this server has no default export; name one (NBD_OPT_LIST shows them)");
  }
  auto handle = service_.open_export(name);
  if (!handle.ok()) {
    if (handle.code() == errc::not_found || handle.code() == errc::invalid_argument) {
      return make_error(handle.code(), fmt::format("export '{}' does not exist; NBD_OPT_LIST shows the exports", name));
    }
    return handle.err();
  }
  return std::move(*handle);
}

void handshake::enter_transmission(const std::string& name, std::shared_ptr<volumes::export_handle> handle) {
  session_.export_name = name;
  session_.size_bytes = handle->size_bytes();
  session_.read_only = handle->read_only();
  session_.structured_replies = structured_replies_;
  session_.transmission_flags = transmission_flags(session_.read_only, structured_replies_);
  session_.allocation_context_id =
      (structured_replies_ && allocation_selected_ && meta_export_name_ == name) ? base_allocation_id : 0;
  session_.block_bytes_max = limits_.block_bytes_max;
  session_.block_status_extents_max = std::max<uint32_t>(1, limits_.block_status_extents_max);
  export_ = std::move(handle);
}

handshake::step handshake::export_name(std::span<const uint8_t> payload) {
  step s;
  std::string name(payload.begin(), payload.end());
  if (name.size() > string_bytes_max) {
    why_ = rejection::unknown_export;
    return step{{}, next::close, why_};
  }
  auto handle = open(name);
  if (!handle.ok()) {
    why_ = rejection::unknown_export;
    return step{{}, next::close, why_};
  }
  enter_transmission(name, std::move(*handle));
  writer w(s.reply);
  w.u64(session_.size_bytes);
  w.u16(session_.transmission_flags);
  if (!no_zeroes_) w.zeroes(export_name_zeroes_bytes);
  s.then = next::transmission;
  return s;
}

handshake::step handshake::list(const option_header& header, std::span<const uint8_t> payload) {
  step s;
  if (!payload.empty()) {
    put_option_error(s.reply, header.option, rep_err_invalid, "NBD_OPT_LIST takes no data");
    return s;
  }
  for (const auto& e : service_.list_exports()) {
    std::vector<uint8_t> data;
    writer w(data);
    w.u32(static_cast<uint32_t>(e.name.size()));
    w.text(e.name);
    w.text(std::string_view(e.description).substr(0, string_bytes_max));
    put_option_reply(s.reply, header.option, rep_server, data);
  }
  put_option_reply(s.reply, header.option, rep_ack, {});
  return s;
}

handshake::step handshake::info_or_go(const option_header& header, std::span<const uint8_t> payload) {
  step s;
  reader r(payload);
  uint32_t name_bytes = r.u32();
  if (!r.ok() || name_bytes > string_bytes_max || name_bytes > r.remaining()) {
    put_option_error(s.reply, header.option, rep_err_invalid, "the export name length does not fit the option data");
    return s;
  }
  std::string name = r.text(name_bytes);
  uint16_t requests = r.u16();
  bool want_name = false;
  bool want_description = false;
  for (uint16_t i = 0; r.ok() && i < requests; ++i) {
    uint16_t type = r.u16();
    want_name |= type == info_name;
    want_description |= type == info_description;
  }
  if (!r.ok() || r.remaining() != 0) {
    put_option_error(s.reply, header.option, rep_err_invalid,
                     "the information request list does not match the option data length");
    return s;
  }
  auto handle = open(name);
  if (!handle.ok()) {
    put_option_error(s.reply, header.option, option_error_for(handle.code()), handle.err().message);
    return s;
  }
  const bool read_only = (*handle)->read_only();
  std::vector<uint8_t> body;
  writer w(body);
  w.u64((*handle)->size_bytes());
  w.u16(transmission_flags(read_only, structured_replies_));
  put_info(s.reply, header.option, info_export, body);
  body.clear();
  w.u32(block_bytes_min);
  w.u32(block_bytes_preferred);
  w.u32(limits_.block_bytes_max);
  put_info(s.reply, header.option, info_block_size, body);
  if (want_name) put_info(s.reply, header.option, info_name, as_bytes(name));
  if (want_description) {
    for (const auto& e : service_.list_exports()) {
      if (e.name == name && !e.description.empty()) {
        put_info(s.reply, header.option, info_description,
                 as_bytes(std::string_view(e.description).substr(0, string_bytes_max)));
        break;
      }
    }
  }
  put_option_reply(s.reply, header.option, rep_ack, {});
  if (header.option == opt_go) {
    enter_transmission(name, std::move(*handle));
    s.then = next::transmission;
  }
  return s;
}

handshake::step handshake::structured_reply(const option_header& header, std::span<const uint8_t> payload) {
  step s;
  if (!payload.empty()) {
    put_option_error(s.reply, header.option, rep_err_invalid, "NBD_OPT_STRUCTURED_REPLY takes no data");
    return s;
  }
  structured_replies_ = true;
  put_option_reply(s.reply, header.option, rep_ack, {});
  return s;
}

handshake::step handshake::meta_context(const option_header& header, std::span<const uint8_t> payload) {
  step s;
  const bool set = header.option == opt_set_meta_context;
  if (set) {
    allocation_selected_ = false;  // SET replaces the selection, even when it fails
    meta_export_name_.clear();
    if (!structured_replies_) {
      put_option_error(s.reply, header.option, rep_err_invalid,
                       "negotiate NBD_OPT_STRUCTURED_REPLY before NBD_OPT_SET_META_CONTEXT");
      return s;
    }
  }
  meta_request request;
  if (!parse_meta_request(payload, request)) {
    put_option_error(s.reply, header.option, rep_err_invalid, "malformed metadata context request");
    return s;
  }
  bool match = !set && request.queries.empty();  // LIST with no query lists everything
  for (const auto& q : request.queries) {
    auto colon = q.find(':');
    if (colon == std::string::npos || colon == 0) {
      put_option_error(s.reply, header.option, rep_err_invalid,
                       fmt::format("metadata context query '{}' does not start with a namespace and a colon", q));
      return s;
    }
    match |= q == base_allocation || (!set && q == "base:");
  }
  auto handle = open(request.export_name);
  if (!handle.ok()) {
    put_option_error(s.reply, header.option, option_error_for(handle.code()), handle.err().message);
    return s;
  }
  if (match) put_meta_context(s.reply, header.option, set ? base_allocation_id : 0);
  if (set) {
    allocation_selected_ = match;
    meta_export_name_ = request.export_name;
  }
  put_option_reply(s.reply, header.option, rep_ack, {});
  return s;
}

}  // namespace strata::nbd
