#include "dbclone/conninfo.h"

#include <libpq-fe.h>

#include <fmt/format.h>

#include <memory>

namespace strata::dbclone {

std::string conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string conninfo_parts::with_password() const {
  if (password.empty()) return without_password;
  return without_password + " password=" + conninfo_value(password);
}

result<conninfo_parts> split_conninfo(const std::string& conninfo, const std::string& override_key,
                                      const std::string& override_value) {
  char* error_text = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error_text);
  if (options == nullptr) {
    std::string why = error_text ? error_text : "out of memory";
    if (error_text) PQfreemem(error_text);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return make_error(errc::invalid_argument,
                      fmt::format("conninfo is not a valid libpq connection string: {} (e.g. \"host=10.0.0.5 "
                                  "port=5432 user=replicator password=...\")", why));
  }
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> owned(options, PQconninfoFree);
  conninfo_parts parts;
  bool overridden = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    std::string key = o->keyword;
    std::string value = o->val ? o->val : "";
    if (!override_key.empty() && key == override_key) {
      value = override_value;
      overridden = true;
    } else if (o->val == nullptr) {
      continue;
    }
    if (key == "password") {
      parts.password = value;
      continue;
    }
    if (key == "user") parts.user = value;
    if (!parts.without_password.empty()) parts.without_password += ' ';
    parts.without_password += key + "=" + conninfo_value(value);
  }
  if (!override_key.empty() && !overridden) {
    if (!parts.without_password.empty()) parts.without_password += ' ';
    parts.without_password += override_key + "=" + conninfo_value(override_value);
  }
  return parts;
}

}  // namespace strata::dbclone
