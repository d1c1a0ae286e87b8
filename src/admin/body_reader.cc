#include "admin/body_reader.h"

#include <fmt/format.h>

#include <cstdint>

namespace strata::admin {

using nlohmann::json;

result<body_reader> body_reader::parse(const std::string& body, std::initializer_list<const char*> known) {
  json doc = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(errc::invalid_argument, "the request body is not a JSON object");
  }
  for (const auto& [key, value] : doc.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return make_error(errc::invalid_argument, fmt::format("unknown field {}; accepted: {}", key.substr(0, 64), list));
    }
  }
  return body_reader(std::move(doc));
}

status body_reader::str(const char* key, std::string& out) const {
  if (!present(key)) return {};
  if (!doc_[key].is_string()) return make_error(errc::invalid_argument, fmt::format("{} must be a string", key));
  out = doc_[key].get<std::string>();
  return {};
}

status body_reader::strings(const char* key, std::vector<std::string>& out) const {
  if (!present(key)) return {};
  const json& v = doc_[key];
  if (!v.is_array()) return make_error(errc::invalid_argument, fmt::format("{} must be an array of strings", key));
  for (const auto& e : v) {
    if (!e.is_string()) return make_error(errc::invalid_argument, fmt::format("{} must be an array of strings", key));
    out.push_back(e.get<std::string>());
  }
  return {};
}

status body_reader::u32(const char* key, uint32_t& out) const {
  if (!present(key)) return {};
  const json& v = doc_[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
    return make_error(errc::invalid_argument, fmt::format("{} must be a whole number", key));
  }
  out = v.get<uint32_t>();
  return {};
}

status body_reader::boolean(const char* key, bool& out) const {
  if (!present(key)) return {};
  if (!doc_[key].is_boolean()) return make_error(errc::invalid_argument, fmt::format("{} must be true or false", key));
  out = doc_[key].get<bool>();
  return {};
}

status body_reader::string_map(const char* key, std::map<std::string, std::string>& out) const {
  if (!present(key)) return {};
  const json& v = doc_[key];
  if (!v.is_object()) return make_error(errc::invalid_argument, fmt::format("{} must be an object of strings", key));
  for (const auto& [k, e] : v.items()) {
    if (e.is_string()) {
      out[k] = e.get<std::string>();
    } else if (e.is_number() || e.is_boolean()) {
      out[k] = e.dump();
    } else {
      return make_error(errc::invalid_argument, fmt::format("{}.{} must be a string", key, k.substr(0, 64)));
    }
  }
  return {};
}

status body_reader::i64(const char* key, int64_t min, int64_t max, int64_t& out) const {
  if (!present(key)) return {};
  const json& v = doc_[key];
  bool whole = v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max));
  if (!whole || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return make_error(errc::invalid_argument, fmt::format("{} must be a whole number from {} to {}", key, min, max));
  }
  out = v.get<int64_t>();
  return {};
}

}  // namespace strata::admin
