// Frontend messages built byte for byte, and a parser of backend messages,
// for driving pgwire::backend in tests and the fuzz target's seeds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgwire/protocol.h"

namespace strata::pgwire::testing {

inline std::string be32(uint32_t v) { return be32_bytes(v); }
inline std::string be16(uint16_t v) { return be16_bytes(v); }
inline std::string cstr(std::string_view s) { return std::string(s) + '\0'; }

inline std::string startup(const std::vector<std::pair<std::string, std::string>>& params,
                           uint32_t version = protocol_version_3) {
  std::string body = be32(version);
  for (const auto& [k, v] : params) body += cstr(k) + cstr(v);
  body.push_back('\0');
  return be32(uint32_t(body.size() + 4)) + body;
}
inline std::string ssl_request() { return be32(8) + be32(ssl_request_code); }
inline std::string cancel_request(int32_t pid, int32_t secret) {
  return be32(16) + be32(cancel_request_code) + be32(uint32_t(pid)) + be32(uint32_t(secret));
}

inline std::string msg(char type, std::string_view body) { return std::string(1, type) + be32(uint32_t(body.size() + 4)) + std::string(body); }
inline std::string query(std::string_view sql) { return msg('Q', cstr(sql)); }
inline std::string parse(std::string_view name, std::string_view sql, const std::vector<uint32_t>& oids = {}) {
  std::string b = cstr(name) + cstr(sql) + be16(uint16_t(oids.size()));
  for (uint32_t o : oids) b += be32(o);
  return msg('P', b);
}
struct bind_value {
  bool null = false;
  std::string bytes;
};
inline std::string bind(std::string_view portal, std::string_view stmt, const std::vector<int16_t>& param_formats,
                        const std::vector<bind_value>& values, const std::vector<int16_t>& result_formats) {
  std::string b = cstr(portal) + cstr(stmt) + be16(uint16_t(param_formats.size()));
  for (int16_t f : param_formats) b += be16(uint16_t(f));
  b += be16(uint16_t(values.size()));
  for (const auto& v : values) b += v.null ? be32(0xffffffffu) : be32(uint32_t(v.bytes.size())) + v.bytes;
  b += be16(uint16_t(result_formats.size()));
  for (int16_t f : result_formats) b += be16(uint16_t(f));
  return msg('B', b);
}
inline std::string describe(char what, std::string_view name) { return msg('D', std::string(1, what) + cstr(name)); }
inline std::string execute(std::string_view portal, uint32_t rows = 0) { return msg('E', cstr(portal) + be32(rows)); }
inline std::string close(char what, std::string_view name) { return msg('C', std::string(1, what) + cstr(name)); }
inline std::string sync() { return msg('S', ""); }
inline std::string flush() { return msg('H', ""); }
inline std::string terminate() { return msg('X', ""); }
inline std::string copy_data(std::string_view data) { return msg('d', data); }
inline std::string copy_done() { return msg('c', ""); }
inline std::string copy_fail(std::string_view why) { return msg('f', cstr(why)); }
inline std::string password(std::string_view p) { return msg('p', cstr(p)); }
inline std::string sasl_initial(std::string_view mechanism, std::string_view data) {
  return msg('p', cstr(mechanism) + be32(uint32_t(data.size())) + std::string(data));
}
inline std::string sasl_response(std::string_view data) { return msg('p', data); }

// One backend message.
struct message {
  char type = 0;
  std::string body;
};

// Splits backend output into messages; a lone 'N' (SSL refusal) is a message of type 'N' with no body.
inline std::vector<message> split_output(std::string_view out, bool first_is_ssl_answer = false) {
  std::vector<message> msgs;
  size_t pos = 0;
  if (first_is_ssl_answer && !out.empty()) {
    msgs.push_back({out[0], {}});
    pos = 1;
  }
  while (pos + 5 <= out.size()) {
    const uint32_t len = load_be32(reinterpret_cast<const uint8_t*>(out.data() + pos + 1));
    if (len < 4 || pos + 1 + len > out.size()) break;
    msgs.push_back({out[pos], std::string(out.substr(pos + 5, len - 4))});
    pos += 1 + len;
  }
  return msgs;
}

inline std::string types_of(const std::vector<message>& msgs) {
  std::string s;
  for (const auto& m : msgs) s.push_back(m.type);
  return s;
}

// An ErrorResponse's field (e.g. 'C' for the SQLSTATE, 'M' for the message).
inline std::string error_field(const message& m, char code) {
  size_t pos = 0;
  while (pos < m.body.size() && m.body[pos] != '\0') {
    const char c = m.body[pos];
    const size_t end = m.body.find('\0', pos + 1);
    if (end == std::string::npos) break;
    if (c == code) return m.body.substr(pos + 1, end - pos - 1);
    pos = end + 1;
  }
  return {};
}

// A DataRow's values (nullopt-free: NULL becomes "<NULL>").
inline std::vector<std::string> data_row(const message& m) {
  std::vector<std::string> values;
  const auto* p = reinterpret_cast<const uint8_t*>(m.body.data());
  const int n = (p[0] << 8) | p[1];
  size_t pos = 2;
  for (int i = 0; i < n; ++i) {
    const uint32_t len = load_be32(p + pos);
    pos += 4;
    if (len == 0xffffffffu) {
      values.emplace_back("<NULL>");
      continue;
    }
    values.push_back(m.body.substr(pos, len));
    pos += len;
  }
  return values;
}

}  // namespace strata::pgwire::testing
