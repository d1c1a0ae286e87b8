#include "pgwire/protocol.h"

#include <fmt/format.h>

#include <cstring>

namespace strata::pgwire {

namespace {
// A startup packet holds at least the length and the request code.
constexpr uint32_t startup_length_min = 8;
// A message length covers at least itself.
constexpr uint32_t message_length_min = 4;
}  // namespace

std::optional<uint32_t> startup_body_bytes(uint32_t length, uint32_t bytes_max) {
  if (length < startup_length_min || length > bytes_max) return std::nullopt;
  return length - uint32_t(startup_header_bytes);
}

std::optional<uint32_t> message_body_bytes(uint32_t length, uint32_t bytes_max) {
  if (length < message_length_min || length - message_length_min > bytes_max) return std::nullopt;
  return length - message_length_min;
}

uint8_t reader::u8() {
  auto b = bytes(1);
  return b.empty() ? 0 : b[0];
}

int16_t reader::i16() {
  auto b = bytes(2);
  if (b.empty()) return 0;
  return int16_t((uint16_t(b[0]) << 8) | b[1]);
}

int32_t reader::i32() {
  auto b = bytes(4);
  if (b.empty()) return 0;
  return int32_t(load_be32(b.data()));
}

std::string_view reader::cstr() {
  if (!ok_) return {};
  const auto* start = bytes_.data() + pos_;
  const void* nul = std::memchr(start, 0, bytes_.size() - pos_);
  if (nul == nullptr) {
    ok_ = false;
    return {};
  }
  size_t n = static_cast<const uint8_t*>(nul) - start;
  pos_ += n + 1;
  return {reinterpret_cast<const char*>(start), n};
}

std::span<const uint8_t> reader::bytes(size_t n) {
  if (!ok_ || n > bytes_.size() - pos_) {
    ok_ = false;
    return {};
  }
  auto s = bytes_.subspan(pos_, n);
  pos_ += n;
  return s;
}

void put_i16(std::string& out, int16_t v) { append_be16(out, uint16_t(v)); }

void put_i32(std::string& out, int32_t v) { append_be32(out, uint32_t(v)); }

void put_cstr(std::string& out, std::string_view s) {
  // A NUL inside would end the string early on the client's side.
  for (char c : s) out.push_back(c == '\0' ? ' ' : c);
  out.push_back('\0');
}

size_t begin_message(std::string& out, char type) {
  out.push_back(type);
  const size_t start = out.size();
  out.append(4, '\0');
  return start;
}

void end_message(std::string& out, size_t start) {
  const auto length = uint32_t(out.size() - start);
  out[start] = char(length >> 24);
  out[start + 1] = char((length >> 16) & 0xff);
  out[start + 2] = char((length >> 8) & 0xff);
  out[start + 3] = char(length & 0xff);
}

void put_error(std::string& out, const error_fields& e) {
  const size_t m = begin_message(out, be::error_response);
  auto field = [&](char code, const std::string& text) {
    if (text.empty()) return;
    out.push_back(code);
    put_cstr(out, text);
  };
  field('S', e.severity);
  field('V', e.severity);
  field('C', e.sqlstate.size() == 5 ? e.sqlstate : std::string(sqlstate::internal_error));
  field('M', e.message.empty() ? std::string("unknown error") : e.message);
  field('D', e.detail);
  field('H', e.hint);
  if (e.position > 0) field('P', std::to_string(e.position));
  out.push_back('\0');
  end_message(out, m);
}

startup_request decode_startup(std::span<const uint8_t> body) {
  startup_request req;
  reader r(body);
  req.version = uint32_t(r.i32());
  if (!r.ok()) {
    req.problem = "the startup packet is shorter than its request code";
    return req;
  }
  switch (req.version) {
    case ssl_request_code:
      req.what = r.at_end() ? startup_request::kind::ssl : startup_request::kind::malformed;
      req.problem = "SSLRequest carries extra bytes";
      return req;
    case gssenc_request_code:
      req.what = r.at_end() ? startup_request::kind::gssenc : startup_request::kind::malformed;
      req.problem = "GSSENCRequest carries extra bytes";
      return req;
    case cancel_request_code:
      req.process_id = r.i32();
      req.secret_key = r.i32();
      req.what = r.at_end() ? startup_request::kind::cancel : startup_request::kind::malformed;
      req.problem = "CancelRequest must carry exactly a process id and a secret key";
      return req;
    default: break;
  }
  // Any 3.x is accepted here; the backend negotiates a newer minor down to 3.0.
  if ((req.version >> 16) != (protocol_version_3 >> 16)) {
    req.what = startup_request::kind::bad_version;
    return req;
  }
  for (;;) {
    std::string_view name = r.cstr();
    if (!r.ok()) {
      req.problem = "startup parameters are not NUL-terminated";
      return req;
    }
    if (name.empty()) break;
    std::string_view value = r.cstr();
    if (!r.ok()) {
      req.problem = fmt::format("startup parameter \"{}\" has no NUL-terminated value", name.substr(0, 64));
      return req;
    }
    req.parameters.emplace_back(std::string(name), std::string(value));
  }
  if (!r.at_end()) {
    req.problem = "bytes follow the startup parameters' terminator";
    return req;
  }
  req.what = startup_request::kind::startup;
  req.problem.clear();
  return req;
}

}  // namespace strata::pgwire
